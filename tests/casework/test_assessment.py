"""The quarterly assessment's arithmetic: deductions, caps, part floor, bonus cap and overlap, ranking."""

from __future__ import annotations

import copy
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.assessment import (
    PACKAGED,
    AssessmentError,
    Bonus,
    Finding,
    QuarterScore,
    Source,
    SystemFacts,
    load_scorecard,
    packaged,
    parse_scorecard,
    propose_deductions,
    rank,
    score_quarter,
)
from casework.messages import RuleError

CARD = packaged()
RAW = tomllib.loads(PACKAGED.read_text(encoding="utf-8"))


def f(clause: str, count: int = 1, source: Source = Source.QUARTER_END) -> Finding:
    return Finding(clause, source, (f"photo-{clause}",), count=count)


def b(clause: str, deed: str) -> Bonus:
    return Bonus(clause, deed, (f"letter-{deed}",))


def test_packaged_scorecard_has_five_parts_base_95_bonus_5():
    assert [(p.code, p.max) for p in CARD.parts] == [
        ("rules", 20), ("handling", 20), ("innovation", 20), ("coordination", 20), ("evaluation", 15)]
    assert CARD.base == 95 and CARD.bonus_cap == 5


def test_clean_quarter_scores_95():
    s = score_quarter(CARD, [], [], unit="A")
    assert s.total == 95 and s.bonus == 0 and s.deductions == ()


def test_deductions_per_occurrence_and_cap():
    # H01: 1 point per overdue case, cap 10; H02: 2 per fee irregularity, cap 10
    s = score_quarter(CARD, [f("H01", 3), f("H02", 2)], [])
    assert s.parts["handling"] == 20 - 3 - 4
    s = score_quarter(CARD, [f("H01", 25)], [])
    assert s.parts["handling"] == 10 and s.deductions[0].points == 10 and s.deductions[0].occurrences == 25
    # occurrences of one clause from several findings add up before the cap
    s = score_quarter(CARD, [f("H01", 6), f("H01", 6, Source.UNDERCOVER)], [])
    assert s.parts["handling"] == 10


def test_part_never_below_zero():
    # handling: H05 cap 20 + H01 cap 10 + H02 cap 10 = 40 > 20
    s = score_quarter(CARD, [f("H05", 4), f("H01", 10), f("H02", 5)], [])
    assert s.parts["handling"] == 0
    assert s.total == 75


def test_bonus_capped_at_five():
    s = score_quarter(CARD, [], [b("B04", "d1"), b("B04", "d2"), b("B05", "d3")])
    assert s.bonus == 5 and s.total == 100


def test_overlapping_clauses_for_one_deed_count_once_at_highest():
    # one newspaper story that the centre's management also praised: B04 (3) and B03 (2) overlap
    s = score_quarter(CARD, [], [b("B03", "story"), b("B04", "story")])
    assert s.bonus == 3
    assert [(line.clause, line.counted) for line in s.bonus_lines] == [("B03", False), ("B04", True)]
    # different deeds count separately; a different group for the same deed also counts
    s = score_quarter(CARD, [], [b("B01", "letter1"), b("B01", "letter2"), b("B05", "letter1")])
    assert s.bonus == 3
    # the same clause claimed twice for one deed counts once
    s = score_quarter(CARD, [], [b("B02", "x"), b("B02", "x")])
    assert s.bonus == 2


def test_overlap_result_does_not_depend_on_order():
    claims = [b("B01", "d"), b("B03", "d"), b("B02", "d")]
    a = score_quarter(CARD, [], claims)
    z = score_quarter(CARD, [], list(reversed(claims)))
    assert a.bonus == z.bonus == 2
    assert sorted(line.clause for line in a.bonus_lines if line.counted) == ["B02"]
    assert sorted(line.clause for line in z.bonus_lines if line.counted) == ["B02"]


def test_bad_findings_all_reported():
    bad = [Finding("ZZZ", Source.QUARTER_END, ("e",)), Finding("H01", Source.UNDERCOVER, ()),
           Finding("H01", Source.SYSTEM, ("e",), confirmed=False), Finding("H02", Source.SYSTEM, ("e",), count=0)]
    with pytest.raises(AssessmentError) as exc:
        score_quarter(CARD, bad, [Bonus("B99", "d", ("e",)), Bonus("B01", " ", ())])
    codes = [e.code for e in exc.value.errors]
    assert codes.count("assessment.unknown_clause") == 2
    assert "assessment.no_evidence" in codes and "assessment.unconfirmed" in codes
    assert "assessment.bad_count" in codes and "assessment.no_deed" in codes
    assert isinstance(exc.value, RuleError)


def test_propose_deductions_from_system_data_unconfirmed():
    facts = SystemFacts(overdue_cases=["C2", "C1", "C1"], fee_irregularities=["C3"],
                        late_monthly_reports=["2026-04"], satisfied=94, rated=100,
                        unrectified_bad_reviews=["C9"])
    proposals = propose_deductions(facts)
    by = {p.clause: p for p in proposals}
    assert set(by) == {"H01", "H02", "K03", "E01", "E02"}
    assert by["H01"].evidence == ("C1", "C2") and by["H01"].count == 2
    assert all(not p.confirmed and p.source is Source.SYSTEM for p in proposals)
    with pytest.raises(AssessmentError):
        score_quarter(CARD, proposals, [])
    s = score_quarter(CARD, [p.confirm("inspector Wang") for p in proposals], [])
    assert s.parts["handling"] == 20 - 2 - 2
    assert s.parts["coordination"] == 18 and s.parts["evaluation"] == 15 - 5 - 2
    for clause in ("H01", "H02", "K03", "E01", "E02"):
        assert CARD.deduction(clause) is not None


def test_satisfaction_threshold_exact():
    assert propose_deductions(SystemFacts(satisfied=95, rated=100)) == []
    assert propose_deductions(SystemFacts(satisfied=0, rated=0)) == []
    assert [p.clause for p in propose_deductions(SystemFacts(satisfied=189, rated=199))] == ["E01"]
    with pytest.raises(RuleError):
        propose_deductions(SystemFacts(satisfied=5, rated=3))
    with pytest.raises(RuleError):
        f("H01").confirm("  ")


def _score(unit: str, total: int) -> QuarterScore:
    return QuarterScore(unit, {}, (), 0, (), total)


def test_rank_ties_share_rank_competition_style():
    ranked = rank([_score("C", 90), _score("A", 95), _score("B", 95), _score("D", 80)])
    assert [(r.rank, r.score.unit) for r in ranked] == [(1, "A"), (1, "B"), (3, "C"), (4, "D")]
    assert rank([]) == []
    with pytest.raises(RuleError):
        rank([_score("A", 90), _score("A", 80)])


def test_loader_reports_every_problem(tmp_path):
    data = copy.deepcopy(RAW)
    data["part"][0]["max"] = 20.5
    data["part"][1]["deduction"][0]["cap"] = 0
    data["part"][2]["deduction"][0]["code"] = "R01"  # duplicate
    data["part"][3]["extra"] = 1
    data["bonus"][0]["points"] = 9
    data["bonus"][1]["text"] = ""
    with pytest.raises(AssessmentError) as exc:
        parse_scorecard(data)
    codes = sorted(e.code for e in exc.value.errors)
    assert codes == sorted(["assessment.not_integer", "assessment.out_of_range", "assessment.duplicate_code",
                            "assessment.unknown_key", "assessment.out_of_range", "assessment.missing_text"])
    over = copy.deepcopy(RAW)
    over["bonus_cap"] = 10
    with pytest.raises(AssessmentError, match="exceed 100"):
        parse_scorecard(over)
    capbelow = copy.deepcopy(RAW)
    capbelow["part"][0]["deduction"][0]["cap"] = 0
    capbelow["part"][0]["deduction"][3]["cap"] = 2  # points 5
    with pytest.raises(AssessmentError, match="below the points"):
        parse_scorecard(capbelow)
    broken = tmp_path / "card.toml"
    broken.write_text("bonus_cap = [", encoding="utf-8")
    with pytest.raises(AssessmentError, match="cannot be read"):
        load_scorecard(broken)
    with pytest.raises(AssessmentError):
        parse_scorecard({"bonus_cap": 5, "part": []})


def test_load_configurable_scorecard(tmp_path):
    path = tmp_path / "card.toml"
    path.write_text("""bonus_cap = 3
[[part]]
code = "p"
name = "one"
max = 50
[[part.deduction]]
code = "d"
text = "t"
points = 4
cap = 8
[[bonus]]
code = "b1"
text = "x"
points = 3
""", encoding="utf-8")
    card = load_scorecard(path)
    assert card.base == 50 and card.bonus("b1").group == "b1"
    assert score_quarter(card, [f("d", 5)], [b("b1", "q")]).total == 42 + 3


findings_st = st.lists(
    st.builds(f, st.sampled_from([c.code for p in CARD.parts for c in p.deductions]), st.integers(1, 30)),
    max_size=12)
bonuses_st = st.lists(st.builds(b, st.sampled_from([x.code for x in CARD.bonuses]), st.sampled_from("abcdef")),
                      max_size=10)


@settings(max_examples=150, deadline=None)
@given(findings_st, bonuses_st)
def test_total_between_0_and_100(findings, bonuses):
    s = score_quarter(CARD, findings, bonuses)
    assert 0 <= s.total <= 100
    assert 0 <= s.bonus <= 5
    assert all(0 <= s.parts[p.code] <= p.max for p in CARD.parts)
    assert s.total == sum(s.parts.values()) + s.bonus


@settings(max_examples=150, deadline=None)
@given(findings_st, bonuses_st, st.sampled_from([c.code for p in CARD.parts for c in p.deductions]),
       st.integers(1, 10))
def test_adding_a_deduction_never_raises_the_score(findings, bonuses, clause, count):
    before = score_quarter(CARD, findings, bonuses)
    after = score_quarter(CARD, [*findings, f(clause, count)], bonuses)
    assert after.total <= before.total
    assert all(after.parts[k] <= before.parts[k] for k in before.parts)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 100), max_size=12))
def test_rank_properties(totals):
    ranked = rank([_score(f"U{i:02d}", t) for i, t in enumerate(totals)])
    for i, r in enumerate(ranked):
        assert r.rank == 1 + sum(1 for t in totals if t > r.score.total)
        if i:
            prev = ranked[i - 1].score
            assert (-prev.total, prev.unit) < (-r.score.total, r.score.unit)  # the documented display order
