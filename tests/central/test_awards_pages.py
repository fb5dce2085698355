"""The annual awards at central: a year of published quarters with a tie across the last place, the
sub-centres' nominations, and the director's meeting's decision recorded with its inputs."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from assessmentkit import finding, settle
from centralkit import CHINA, Clerk
from subcentrekit import SubCentre

from central import assessment_records, awards_store

# totals every quarter: S01 and S05 95 (rank 1), S02 and S03 94 (rank 3), S04 93 (rank 5)
LOST = {"S02": 1, "S03": 1, "S04": 2}


@pytest.fixture
def year(app, clock) -> dict[str, Any]:
    """Four published quarters of 2026, seen from 6 January 2027."""
    central = app.extensions["central"]
    units = {code: SubCentre(central, code) for code in ("S01", "S02", "S03", "S04", "S05")}
    clock.now = dt.datetime(2027, 1, 6, 10, 0, tzinfo=CHINA)
    xun, li = Clerk(app, "xun"), Clerk(app, "li")
    for n in (1, 2, 3, 4):
        quarter = f"2026-Q{n}"
        day = dt.date(2026, 3 * n, 15).isoformat()
        for unit, count in LOST.items():
            r = finding(xun, quarter, unit=unit, count=str(count), checked_on=day)
            assert r.status_code == 302, r.text[:300]
        settle(app, li, quarter)
        assert li.post(f"/assessment/{quarter}/publish").status_code == 302
    assert len(central.records_of_kind(assessment_records.PUBLISHED)) == 4
    return {"units": units, "li": li, "xun": xun, "central": central}


def nominate(li: Clerk, unit: str, name: str, **extra: str) -> Any:
    return li.post("/awards/2026/nominate", {"unit": unit, "name": name, "window": f"{unit}窗口",
                                             "reason": "全年无差错，群众满意", "review": "同意推荐", **extra})


def test_ties_nominations_and_the_decision(app, year):
    li, xun, central = year["li"], year["xun"], year["central"]
    page = li.get("/awards/2026").text
    standings = re.findall(r'<tr id="standing-(S\d+)" class="([a-z]*)">', page)
    assert standings == [("S01", "chosen"), ("S05", "chosen"), ("S02", "tied"), ("S03", "tied"), ("S04", "")]
    assert 'id="tie-note"' in page and "provisional" not in page

    # nominations: 1-2 per sub-centre, nobody twice, what was typed kept when refused
    names = {"S01": ["王敏", "李娜"], "S02": ["张伟", "刘洋"], "S03": ["陈静", "杨帆"], "S04": ["赵磊", "黄丽"],
             "S05": ["周杰", "吴芳"]}
    for unit, people in names.items():
        for person in people:
            assert nominate(li, unit, person).status_code == 302
    r = nominate(li, "S01", "孙强")
    assert r.status_code == 400 and "孙强" in r.text
    r = nominate(li, "S02", "张伟")
    assert r.status_code == 400
    r = nominate(li, "S02", "", reason="")
    assert r.status_code == 400
    assert xun.post("/awards/2026/nominate", {"unit": "S03", "name": "x"}).status_code == 403
    nominees = [n for n in awards_store.nominations(central.log.db, 2026) if n.active]
    assert len(nominees) == 10
    # a withdrawal frees the place
    first = next(n for n in nominees if n.name == "李娜")
    assert li.post(f"/awards/2026/nomination/{first.id}/withdraw", {"reason": "已调离窗口岗位"}).status_code == 302
    assert nominate(li, "S01", "孙强").status_code == 302
    nominees = [n for n in awards_store.nominations(central.log.db, 2026) if n.active]
    ids = [n.id for n in nominees]

    form = {"decided_by": "中心主任办公会议", "decided_on": "2027-01-05", "minutes_ref": "皋政服纪〔2027〕1号",
            "fill": "S02"}
    for i, nid in enumerate(ids):
        form[f"award-{nid}"] = "model" if i < 5 else "individual"
    for unit in ("S01", "S02", "S05"):
        form[f"director-{unit}"] = f"{unit}主任"
        form[f"opinion-{unit}"] = "部门同意"
        form[f"results-{unit}"] = "全年考核名列前茅"
    chosen = {"director_chosen": ["S01", "S02", "S05"]}

    # four models only: refused, nothing signed, everything typed still there
    bad = dict(form, **{f"award-{ids[4]}": ""})
    r = li.client.post("/awards/2026/decide", data={**bad, **chosen, "csrf_token": li.token(li.get("/guide/").text)})
    assert r.status_code == 400
    assert "皋政服纪〔2027〕1号" in r.text and 'value="S01主任"' in r.text
    assert not central.records_of_kind(assessment_records.DECIDED)
    # the tie must be filled
    r = li.client.post("/awards/2026/decide", data={**{k: v for k, v in form.items() if k != "fill"}, **chosen,
                                                    "csrf_token": li.token(li.get("/guide/").text)})
    assert r.status_code == 400 and not central.records_of_kind(assessment_records.DECIDED)

    r = li.client.post("/awards/2026/decide", data={**form, **chosen, "csrf_token": li.token(li.get("/guide/").text)})
    assert r.status_code == 302, r.text[:1000]
    (record, _at), = central.records_of_kind(assessment_records.DECIDED)
    body = record.body
    assert (body["decided_by"], body["decided_on"], body["minutes_ref"]) == ("中心主任办公会议", "2027-01-05",
                                                                            "皋政服纪〔2027〕1号")
    assert body["collectives"] == {"chosen": ["S01", "S05"], "for_meeting": ["S02", "S03"], "open_places": 1,
                                   "filled": ["S02"], "awarded": ["S01", "S05", "S02"]}
    assert body["models"] == ids[:5] and body["individuals"] == ids[5:]
    assert {n["id"] for n in body["nominations"]} == set(ids)  # the inputs, kept with the decision
    assert [s["unit"] for s in body["standings"]] == ["S01", "S05", "S02", "S03", "S04"]
    assert body["directors"]["chosen"] == ["S01主任", "S02主任", "S05主任"]
    assert body["quarters"] == ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]

    result = li.get("/awards/2026/result")
    assert result.status_code == 200
    for text in ("皋政服纪〔2027〕1号", "王敏", "S02主任", year["units"]["S02"].name):
        assert text in result.text
    assert xun.get("/awards/2026/result").status_code == 200
    # decided: closed
    assert nominate(li, "S04", "新人").status_code == 302
    assert len([n for n in awards_store.nominations(central.log.db, 2026) if n.active]) == 10
    assert li.client.post("/awards/2026/decide", data={**form, **chosen, "csrf_token": li.token(
        li.get("/guide/").text)}).status_code == 302
    assert len(central.records_of_kind(assessment_records.DECIDED)) == 1


def test_before_the_year_ends_the_standings_are_provisional_and_no_decision(app, clock):
    central = app.extensions["central"]
    for code in ("S01", "S02"):
        SubCentre(central, code)
    li = Clerk(app, "li")
    settle(app, li, "2026-Q3")
    assert li.post("/assessment/2026-Q3/publish").status_code == 302
    page = li.get("/awards/2026").text
    assert 'id="provisional"' in page and 'id="decision-wait"' in page and 'id="decide-form"' not in page
    assert li.post("/awards/2026/decide", {"decided_by": "x"}).status_code == 302
    assert not central.records_of_kind(assessment_records.DECIDED)
    assert li.get("/awards/2026/result").status_code == 302
    assert li.get("/awards/20x6").status_code == 404
