"""Scorecard versions as data (casework.scorecards): the TOML text reads back to the same scorecard
whatever the wording holds, and `diff` names every change, by code, and nothing else."""

from __future__ import annotations

import tomllib

from hypothesis import given
from hypothesis import strategies as st

from casework.assessment import Scorecard, packaged, parse_scorecard
from casework.scorecards import Change, diff, missing_codes, to_toml


def _edited(card: Scorecard, edit) -> Scorecard:
    data = card.to_data()
    edit(data)
    return parse_scorecard(data)


def test_data_and_toml_round_trip_the_packaged_scorecard():
    card = packaged()
    assert parse_scorecard(card.to_data()) == card
    text = to_toml(card, heading="评分表第2版\n依据如政服〔2026〕18号")
    assert text.startswith("# 评分表第2版\n# 依据如政服〔2026〕18号\n")
    assert parse_scorecard(tomllib.loads(text)) == card


@given(st.text(min_size=1).filter(lambda t: t.strip()))
def test_any_wording_survives_the_toml(text):
    card = _edited(packaged(), lambda d: d["part"][0]["deduction"][0].update(text=text))
    assert parse_scorecard(tomllib.loads(to_toml(card))).deduction("R01").text == text


def test_odd_characters_are_escaped_for_toml():
    text = 'a "quoted" back\\slash\nnew line\ttab\x7fdel\x01ctl'
    card = _edited(packaged(), lambda d: d["bonus"][0].update(text=text))
    assert parse_scorecard(tomllib.loads(to_toml(card))).bonus("B01").text == text


def test_diff_names_each_change_by_code():
    old = packaged()
    assert diff(old, old) == []

    def edit(d):
        d["bonus_cap"] = 4
        d["part"][0]["deduction"][0].update(points=2, cap=8)  # R01
        d["part"][1]["name"] = "办件规范"
        d["part"][3]["deduction"] = [c for c in d["part"][3]["deduction"] if c["code"] != "K02"]
        d["part"][2]["deduction"].append({"code": "I04", "text": "创新举措未报送中心备案", "points": 2, "cap": 4})
        d["bonus"][0]["group"] = "letters"
        d["bonus"].pop()  # B06

    new = _edited(old, edit)
    assert diff(old, new) == [
        Change("bonus_cap", "changed", "", "", 5, 4),
        Change("deduction", "changed", "R01", "points", 1, 2),
        Change("deduction", "changed", "R01", "cap", 6, 8),
        Change("part", "changed", "handling", "name", "办件管理", "办件规范"),
        Change("deduction", "added", "I04", "", None, "创新举措未报送中心备案"),
        Change("deduction", "removed", "K02", "", "未完成中心交办事项", None),
        Change("bonus", "changed", "B01", "group", "praise", "letters"),
        Change("bonus", "removed", "B06", "", "参加中心组织的活动", None),
    ]
    assert missing_codes(new, ("H01", "K02", "K03")) == ["K02"]


def test_a_clause_moved_to_another_part_is_a_change_of_part():
    def move(d):
        clause = d["part"][0]["deduction"].pop(4)  # R05
        d["part"][1]["deduction"].append(clause)

    new = _edited(packaged(), move)
    assert diff(packaged(), new) == [Change("deduction", "changed", "R05", "part", "rules", "handling")]
