"""The quarterly assessment at central: records -> projection -> pages, against a real central.

Sub-centres are enrolled with their own keys and sign their own case records (subcentrekit), so the
proposals read what real uploads would give. The arithmetic itself is casework's (tested there);
here: findings with evidence, bad input kept, proposals from the records confirmed or dismissed,
withdrawals, publishing freezes a quarter, the public bulletin shows only published quarters and
no personal data, the tables rebuild identically, and who may do what.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from assessmentkit import Q3, board, finding, pdf, photo, post_files, settle
from centralkit import Clerk
from subcentrekit import SubCentre

from central import assessment_records, assessment_store, awards_store


@pytest.fixture
def units(app: Any) -> dict[str, SubCentre]:
    central = app.extensions["central"]
    return {code: SubCentre(central, code) for code in ("S01", "S02", "S03")}


def _promised_item(central: Any) -> str:
    return next(i.code for i in central.catalogue().items if i.kind == "promised" and i.handle_tier == "city")


# --- findings and evidence --------------------------------------------------------------------------------

def test_finding_with_photo_is_signed_projected_scored_and_shown(app, units):
    xun = Clerk(app, "xun")
    response = finding(xun)
    assert response.status_code == 302, response.text[:800]
    assert response.headers["Location"].endswith("/assessment/2026-Q3/unit/S01")
    central = app.extensions["central"]
    (record, _at), = central.records_of_kind(assessment_records.FINDING)
    body = record.body
    assert (body["unit"], body["clause"], body["count"], body["source"], body["staff"]) == \
        ("S01", "R01", 2, "undercover", "xun")
    (item,) = body["evidence"]
    assert item["type"] == "image/jpeg" and item["name"] == "迟到.jpg"  # photos are re-encoded, EXIF dropped
    blob = app.extensions["central_blobs"].read(item["sha256"])
    assert blob[:3] == b"\xff\xd8\xff" and len(blob) == item["size"]

    page = xun.get("/assessment/2026-Q3/unit/S01")
    assert page.status_code == 200
    assert "9月15日上午暗访" in page.text and f"/assessment/evidence/{item['sha256']}" in page.text
    assert re.search(r'id="unit-total">93<', page.text)  # 95 - 2 x R01
    shown = xun.get(f"/assessment/evidence/{item['sha256']}")
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg" and shown.data == blob
    assert "attachment" not in shown.headers.get("Content-Disposition", "")
    # only blobs named by an assessment record are served, whoever asks
    other = app.extensions["central_blobs"].put(photo("blue"))
    assert xun.get(f"/assessment/evidence/{other}").status_code == 404

    scores = board(app)
    s01 = scores.unit("S01")
    assert s01.score.parts["rules"] == 18 and s01.score.total == 93 and s01.rank == 3
    assert [u.unit.code for u in scores.units] == ["S02", "S03", "S01"]  # 95, 95 (rank 1, 1), then 93
    assert [u.rank for u in scores.units] == [1, 1, 3]


def test_documents_are_downloads_and_other_files_are_refused_by_name(app, units):
    xun = Clerk(app, "xun")
    response = finding(xun, files=[(pdf(), "检查记录表.pdf"), (b"MZ\x90\x00 not a photo", "病毒.exe")])
    assert response.status_code == 400
    assert "病毒.exe" in response.text  # the refusal names the file
    assert "检查记录表.pdf" in response.text and 'name="kept"' in response.text  # the good file is kept
    kept = re.search(r'name="kept" value="([0-9a-f]{64})\t检查记录表.pdf"', response.text)
    assert kept
    # sent again with the kept document only: recorded with it
    again = post_files(xun, "/assessment/2026-Q3/finding", {
        "unit": "S01", "clause": "R03", "count": "1", "source": "quarter_end", "checked_on": "2026-09-30",
        "text": "9月未召开学习例会", "kept": f"{kept.group(1)}\t检查记录表.pdf"})
    assert again.status_code == 302, again.text[:500]
    (record, _at), = app.extensions["central"].records_of_kind(assessment_records.FINDING)
    assert record.body["evidence"][0]["type"] == "application/pdf"
    download = xun.get(f"/assessment/evidence/{kept.group(1)}")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]


def test_bad_input_is_refused_with_everything_typed_kept(app, units):
    xun = Clerk(app, "xun")
    response = finding(xun, text="", count="0", checked_on="2026-12-01", clause="Z99")
    assert response.status_code == 400
    html = response.text
    assert 'class="error-summary"' in html
    assert re.search(r'<option value="S01" selected>', html)  # the sub-centre chosen is still chosen
    assert 'value="0"' in html and 'value="2026-12-01"' in html  # what was typed is shown again
    assert 'name="kept"' in html  # the photo uploaded is kept, not asked for again
    assert not app.extensions["central"].records_of_kind(assessment_records.FINDING)
    # no evidence at all
    response = finding(xun, files=[])
    assert response.status_code == 400 and "evidence" in response.text
    # a hidden field naming a blob this session did not upload is not taken as evidence
    stranger = app.extensions["central_blobs"].put(photo("green"))
    response = post_files(xun, "/assessment/2026-Q3/finding", {
        "unit": "S01", "clause": "R01", "count": "1", "source": "open_visit", "checked_on": "2026-09-01",
        "text": "明察", "kept": f"{stranger}\tx.jpg"})
    assert response.status_code == 400
    assert not app.extensions["central"].records_of_kind(assessment_records.FINDING)


def test_bonus_overlap_for_one_deed_counts_once_at_the_highest(app, units):
    xun = Clerk(app, "xun")
    deed = "10月市电视台报道“办税不排队”"
    for clause in ("B03", "B04"):  # the centre's management praised the same story the media reported
        r = post_files(xun, "/assessment/2026-Q3/bonus", {"unit": "S02", "clause": clause, "deed": deed,
                                                          "awarded_on": "2026-09-20", "text": ""},
                       [(photo("yellow"), "报道.png")])
        assert r.status_code == 302, r.text[:500]
    # the same deed under the same clause again is refused, the deed text kept
    r = post_files(xun, "/assessment/2026-Q3/bonus", {"unit": "S02", "clause": "B04", "deed": f" {deed} ",
                                                      "awarded_on": "2026-09-20"}, [(photo(), "a.png")])
    assert r.status_code == 400 and deed in r.text
    s02 = board(app).unit("S02")
    assert s02.score.bonus == 3 and s02.score.total == 98
    assert [(b.clause, b.counted) for b in s02.score.bonus_lines] == [("B03", False), ("B04", True)]
    page = xun.get("/assessment/2026-Q3/unit/S02").text
    assert "overlapped" in page and 'id="unit-bonus">3<' in page


def test_withdrawal_needs_a_reason_and_an_inspector_withdraws_only_their_own(app, units):
    xun, li = Clerk(app, "xun"), Clerk(app, "li")
    assert finding(li, clause="R02", count="1").status_code == 302  # the supervisor records too
    assert finding(xun).status_code == 302
    entries = {e.staff: e for e in assessment_store.entries(app.extensions["central"].log.db, Q3)}
    assert xun.post(f"/assessment/2026-Q3/withdraw/{entries['li'].id}", {"reason": "错"}).status_code == 403
    r = xun.post(f"/assessment/2026-Q3/withdraw/{entries['xun'].id}", {"reason": ""})
    assert r.status_code == 400 and '<details class="action withdraw" open>' in r.text and "field-error" in r.text
    assert board(app).unit("S01").score.total == 92
    r = xun.post(f"/assessment/2026-Q3/withdraw/{entries['xun'].id}", {"reason": "核实为请假，已补手续"})
    assert r.status_code == 302
    assert board(app).unit("S01").score.total == 94
    assert li.post(f"/assessment/2026-Q3/withdraw/{entries['li'].id}", {"reason": "重复"}).status_code == 302
    assert board(app).unit("S01").score.total == 95
    page = li.get("/assessment/2026-Q3/unit/S01").text
    assert "核实为请假，已补手续" in page  # the withdrawal and its reason stay on the record


# --- proposals from the system's records -------------------------------------------------------------------

def test_a_bad_review_upheld_on_appeal_does_not_count_against_satisfaction(app, units):
    from central import reviews_store

    central = app.extensions["central"]
    item = _promised_item(central)
    s01 = units["S01"]
    for day in (6, 7, 8):
        s01.case(item, dt.date(2026, 7, day), due=dt.date(2026, 7, 30), finished=dt.date(2026, 7, 20), level=5)
    bad = s01.case(item, dt.date(2026, 7, 9), due=dt.date(2026, 7, 30), finished=dt.date(2026, 7, 20), level=1)
    facts = board(app, only="S01").unit("S01").facts
    assert (facts.satisfied, facts.rated) == (3, 4)
    assert "E01" in {p.clause for p in board(app, only="S01").unit("S01").proposals}

    (review,) = [r for r in reviews_store.of_case(central.log.db, bad)]
    central.sign("review.appealed", {"case": bad, "evaluation": review.id, "staff": "li",
                                     "reason": "评价人并非申请人，监控可查"})
    central.sign("review.appeal_decided", {"case": bad, "evaluation": review.id, "staff": "chief", "upheld": True,
                                           "reason": "核实属实"})
    facts = board(app, only="S01").unit("S01").facts
    assert (facts.satisfied, facts.rated) == (3, 3)
    assert "E01" not in {p.clause for p in board(app, only="S01").unit("S01").proposals}


def test_proposals_from_records_confirmed_with_items_left_out_or_dismissed(app, units, clock):
    central = app.extensions["central"]
    item = _promised_item(central)
    s01 = units["S01"]
    late1 = s01.case(item, dt.date(2026, 7, 6), due=dt.date(2026, 7, 20), finished=dt.date(2026, 7, 23), level=2)
    late2 = s01.case(item, dt.date(2026, 8, 3), due=dt.date(2026, 8, 14))  # still open: overdue
    on_time = s01.case(item, dt.date(2026, 8, 3), due=dt.date(2026, 8, 14), finished=dt.date(2026, 8, 10), level=5)
    s01.case(item, dt.date(2026, 9, 1), due=dt.date(2026, 10, 20))  # due next quarter: not this one's
    li, xun = Clerk(app, "li"), Clerk(app, "xun")

    facts = board(app, only="S01").unit("S01").facts
    assert [c.number for c in facts.overdue] == [late1, late2]
    assert (facts.satisfied, facts.rated) == (1, 2)
    proposals = {p.clause: p for p in board(app, only="S01").unit("S01").proposals}
    assert [r.ref for r in proposals["H01"].refs] == [late1, late2]
    assert [r.ref for r in proposals["E01"].refs] == ["satisfaction:1/2"]
    page = li.get("/assessment/2026-Q3/unit/S01").text
    assert f'href="/case/{late1}"' in page and on_time not in page.split('id="proposals"')[1]

    # only the supervisor decides
    assert xun.post("/assessment/2026-Q3/unit/S01/proposal/H01", {"decision": "confirm", "refs": late1}).status_code \
        == 403
    # leaving an item out needs a note; what was ticked and typed stays
    r = li.post("/assessment/2026-Q3/unit/S01/proposal/H01", {"decision": "confirm", "refs": late1})
    assert r.status_code == 400 and "note-H01" in r.text
    assert not central.records_of_kind(assessment_records.CONFIRMED)
    r = li.post("/assessment/2026-Q3/unit/S01/proposal/H01",
                {"decision": "confirm", "refs": late1, "note": f"{late2}因听证中止，已补录暂停"})
    assert r.status_code == 302
    (record, _at), = central.records_of_kind(assessment_records.CONFIRMED)
    assert record.body["refs"] == [late1] and record.body["left_out"] == [late2]
    assert set(record.body["facts"]["refs"]) == {late1, late2}  # what the machine showed, kept with it
    # dismissing needs a reason
    assert li.post("/assessment/2026-Q3/unit/S01/proposal/E01", {"decision": "dismiss"}).status_code == 400
    assert li.post("/assessment/2026-Q3/unit/S01/proposal/E01",
                   {"decision": "dismiss", "note": "样本仅2件，不足以评价"}).status_code == 302

    s01_board = board(app, only="S01").unit("S01")
    assert [p.clause for p in s01_board.proposals if p.clause in ("H01", "E01")] == []
    assert s01_board.score.parts["handling"] == 19 and s01_board.deduction("H01").occurrences == 1
    # a new late case later reopens a proposal for that case alone
    late3 = s01.case(item, dt.date(2026, 9, 7), due=dt.date(2026, 9, 18), finished=dt.date(2026, 9, 25))
    again = {p.clause: p for p in board(app, only="S01").unit("S01").proposals}
    assert [r.ref for r in again["H01"].refs] == [late3]
    # withdrawing the confirmation reopens what it had decided
    confirmation = next(e for e in assessment_store.entries(central.log.db, Q3, "S01") if e.kind == "confirmed")
    assert li.post(f"/assessment/2026-Q3/withdraw/{confirmation.id}", {"reason": "重新核实"}).status_code == 302
    reopened = {p.clause: p for p in board(app, only="S01").unit("S01").proposals}
    assert [r.ref for r in reopened["H01"].refs] == [late1, late2, late3]
    assert board(app).unit("S01").score.parts["handling"] == 20
    # a decided proposal cannot be decided twice: the page says so
    r = li.post("/assessment/2026-Q3/unit/S01/proposal/E01", {"decision": "dismiss", "note": "again"})
    assert r.status_code == 302
    assert len(central.records_of_kind(assessment_records.DISMISSED)) == 1


def test_fee_irregularities_from_the_records(app, units):
    central = app.extensions["central"]
    s01 = units["S01"]
    catalogue = central.catalogue()
    item = next(i for i in catalogue.items if i.kind == "promised" and i.handle_tier == "city" and i.fees
                and catalogue.fee(i.fees[0]).kind == "fixed")
    fee = catalogue.fee(item.fees[0])
    good = dict(fee=fee.code, name=fee.name, kind=fee.kind, basis=fee.basis, quantity=1, unit="", base_fen=0,
                exemption=None, pre_fee=fee.pre_fee, amount_fen=fee.assess())
    wrong = {**good, "amount_fen": good["amount_fen"] + 5000}
    clean = s01.case(item.code, dt.date(2026, 8, 3), due=dt.date(2026, 8, 28),
                     extra=[("case.fee_assessed", {"lines": [good]}, dt.date(2026, 8, 3))])
    overcharged = s01.case(item.code, dt.date(2026, 8, 4), due=dt.date(2026, 8, 28),
                           extra=[("case.fee_assessed", {"lines": [wrong]}, dt.date(2026, 8, 4))])
    at_counter = s01.case(item.code, dt.date(2026, 8, 5), due=dt.date(2026, 8, 28),
                          extra=[("case.fee_assessed", {"lines": [good]}, dt.date(2026, 8, 5))])
    state = central.fold(at_counter)
    s01.push([s01.sign("case.fee_paid", {"case": at_counter, "after": list(state.heads),
                                         "assessment": state.assessments[0].event_id, "amount_fen": good["amount_fen"]},
                       "2026-08-05T11:00:00+08:00")])
    facts = board(app, only="S01").unit("S01").facts
    found = {f.number: f.reasons for f in facts.fees}
    assert clean not in found
    assert found[overcharged] == ("not_standard",) and found[at_counter] == ("paid_at_node",)
    page = Clerk(app, "li").get("/assessment/2026-Q3/unit/S01").text
    assert "proposal-H02" in page and overcharged in page


# --- publishing ---------------------------------------------------------------------------------------------

def test_publish_freezes_the_quarter_and_the_bulletin_shows_only_published_quarters(app, units, clock):
    li, xun = Clerk(app, "li"), Clerk(app, "xun")
    anon = app.test_client()
    assert finding(xun).status_code == 302
    central = app.extensions["central"]
    s01 = units["S01"]
    s01.case(_promised_item(central), dt.date(2026, 7, 6), due=dt.date(2026, 7, 20), finished=dt.date(2026, 7, 23),
             level=1)
    assert anon.get("/bulletin/2026-Q3").status_code == 404

    # open proposals block publishing, and so does a quarter not yet ended
    r = li.post("/assessment/2026-Q3/publish")
    assert r.status_code == 302 and not central.records_of_kind(assessment_records.PUBLISHED)
    assert li.post("/assessment/2026-Q4/publish").status_code == 302
    assert not central.records_of_kind(assessment_records.PUBLISHED)
    page = li.get("/assessment/2026-Q4").text
    assert "2026-12-31" in page and "publish-button" not in page
    assert xun.post("/assessment/2026-Q3/publish").status_code == 403

    settle(app, li)
    overview = li.get("/assessment/2026-Q3").text
    assert "publish-button" in overview and "<svg" in overview
    assert li.post("/assessment/2026-Q3/publish").status_code == 302
    (record, _at), = central.records_of_kind(assessment_records.PUBLISHED)
    units_body = {u["unit"]: u for u in record.body["units"]}
    assert units_body["S01"]["total"] == 93 and units_body["S01"]["rank"] == 3
    assert [p["max"] for p in record.body["scorecard"]["parts"]] == [20, 20, 20, 20, 15]

    # frozen: a finding for it is refused with a clear message and nothing is signed
    r = finding(xun, clause="R02")
    assert r.status_code == 409 and "2026-Q3" in r.text and 'name="kept"' in r.text
    assert len(central.records_of_kind(assessment_records.FINDING)) == 1
    assert "frozen" in xun.get("/assessment/2026-Q3/finding").text
    # a record that slipped past the page is not projected either
    central.sign(assessment_records.FINDING, {
        "unit": "S01", "quarter": Q3, "clause": "R04", "count": 2, "source": "open_visit", "checked_on": "2026-09-01",
        "text": "x", "evidence": record_evidence(central), "staff": "xun"})
    assert board(app).unit("S01").score.total == 93
    entry = assessment_store.entries(central.log.db, Q3)[0]
    assert xun.post(f"/assessment/2026-Q3/withdraw/{entry.id}", {"reason": "x"}).status_code == 302
    assert assessment_store.get_entry(central.log.db, entry.id).active

    # the public bulletin: no sign-in, unit names and scores, nothing about people or cases
    bulletin = anon.get("/bulletin/2026-Q3")
    assert bulletin.status_code == 200
    text = bulletin.text
    for unit in units.values():
        assert unit.name in text
    assert '<td class="num total">93</td>' in text
    for private in ("9月15日上午暗访", "xun", "S01-2607", "张三", "迟到", "evidence"):
        assert private not in re.sub(r"<(script|link)[^>]*>", "", text).split("<main", 1)[1], private
    assert Q3 in anon.get("/bulletin/").text
    assert anon.get("/bulletin/2026-Q2").status_code == 404 and anon.get("/bulletin/2026-q3").status_code == 404


def record_evidence(central: Any) -> list[dict[str, Any]]:
    return central.records_of_kind(assessment_records.FINDING)[0][0].body["evidence"]


# --- rebuild and roles -----------------------------------------------------------------------------------------

TABLES = ("assessment_entries", "assessment_published", "assessment_fee_marks", "awards_nominations",
          "awards_decisions")


def dump(central: Any) -> dict[str, list[tuple[Any, ...]]]:
    with central.log._lock:
        return {t: central.log.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


def test_rebuild_gives_the_same_tables(app, units):
    central = app.extensions["central"]
    xun, li = Clerk(app, "xun"), Clerk(app, "li")
    assert finding(xun).status_code == 302
    assert finding(xun, unit="S02", clause="H04", count="1").status_code == 302
    entry = assessment_store.entries(central.log.db, Q3)[1]
    assert li.post(f"/assessment/2026-Q3/withdraw/{entry.id}", {"reason": "误录"}).status_code == 302
    item = _promised_item(central)
    lines = [{"fee": "F9999", "name": "擅自收费", "kind": "fixed", "basis": "", "quantity": 1, "unit": "",
              "base_fen": 0, "exemption": None, "pre_fee": False, "amount_fen": 2000}]
    units["S01"].case(item, dt.date(2026, 7, 6), due=dt.date(2026, 7, 20), finished=dt.date(2026, 7, 23), level=2,
                      extra=[("case.fee_assessed", {"lines": lines}, dt.date(2026, 7, 6))])
    settle(app, li)
    assert li.post("/assessment/2026-Q3/publish").status_code == 302
    assert li.post("/awards/2026/nominate", {"unit": "S01", "name": "王敏", "window": "3号窗口",
                                              "reason": "全年零差错"}).status_code == 302
    before = dump(central)
    assert all(before[t] for t in TABLES if t != "awards_decisions"), before
    central.rebuild()
    assert dump(central) == before


def test_who_may_do_what(app, units):
    # (every route x role against docs/permissions.md: tests/test_access_review.py; `admin` here also supervises)
    admin = Clerk(app, "admin", "admin-pass-1")
    wang = Clerk(app, "wang")
    assert admin.get("/assessment/2026-Q3").status_code == 200
    assert admin.get("/assessment/2026-Q3/unit/S01").status_code == 200
    assert wang.get("/assessment/2026-Q3").status_code == 403
    assert wang.get("/awards/2026").status_code == 403
    assert app.test_client().get("/assessment/2026-Q3").status_code in (302, 401)
    li = Clerk(app, "li")
    assert li.get("/assessment/").headers["Location"].endswith("/assessment/2026-Q4")
    assert li.get("/assessment/2026-Q5").status_code == 404
    assert li.get("/assessment/2026-Q3/unit/S99").status_code == 404
    assert 'id="new-finding"' in Clerk(app, "xun").get("/assessment/2026-Q3").text


def test_projection_skips_records_not_signed_by_central(app, units):
    central = app.extensions["central"]
    s01 = units["S01"]
    body = {"unit": "S01", "quarter": Q3, "clause": "R01", "count": 5, "source": "open_visit",
            "checked_on": "2026-09-01", "text": "forged", "staff": "xun",
            "evidence": [{"sha256": "0" * 64, "name": "a.jpg", "type": "image/jpeg", "size": 1}]}
    s01.push([s01.sign(assessment_records.FINDING, body, "2026-09-02T10:00:00+08:00"),
              s01.sign(awards_store.records.NOMINATED, {"year": 2026, "unit": "S01", "name": "自己", "window": "1",
                                                        "reason": "x", "staff": "me"}, "2026-09-02T10:00:00+08:00")])
    assert assessment_store.entries(central.log.db, Q3) == []
    assert awards_store.nominations(central.log.db, 2026) == []
    # a malformed body from central is skipped, never raised
    central.sign(assessment_records.FINDING, {**body, "count": "many"})
    assert assessment_store.entries(central.log.db, Q3) == []


def test_demo_records_a_published_quarter_and_a_current_one(app):
    from central.assessment_demo import record_demo

    central = app.extensions["central"]
    assert record_demo(central).units == ()  # no sub-centre: nothing
    units = {code: SubCentre(central, code) for code in ("S01", "S02", "S03", "S04")}
    item = _promised_item(central)
    units["S01"].case(item, dt.date(2026, 8, 3), due=dt.date(2026, 8, 14), finished=dt.date(2026, 8, 20), level=1)
    units["S01"].case(item, dt.date(2026, 10, 26), due=dt.date(2026, 11, 10))  # open and late in Q4
    summary = record_demo(central)
    assert summary.published == Q3 and summary.findings > 0 and summary.bonuses >= 3
    decided = {(e.quarter, e.clause, e.kind) for q in (Q3, "2026-Q4") for e in assessment_store.entries(central.log.db, q)
               if e.kind in ("confirmed", "dismissed")}
    assert {(Q3, "H01", "confirmed"), (Q3, "E01", "dismissed"), ("2026-Q4", "H01", "confirmed")} <= decided
    assert summary.decisions == len(decided)
    blobs = app.extensions["central_blobs"]
    db = central.log.db
    published = assessment_store.published(db, Q3)
    assert [u["unit"] for u in sorted(published.body["units"], key=lambda u: u["unit"])] == ["S01", "S02", "S03",
                                                                                          "S04"]
    for entry in assessment_store.entries(db, Q3) + assessment_store.entries(db, "2026-Q4"):
        assert all(blobs.has(e.sha256) for e in entry.evidence)
    s02 = board(app).unit("S02")
    assert any(not line.counted for line in s02.score.bonus_lines)  # the overlapping clause shows
    assert board(app, "2026-Q4").published is None and assessment_store.entries(db, "2026-Q4")
    assert Clerk(app, "li").get("/assessment/2026-Q3/unit/S02").status_code == 200
    assert app.test_client().get("/bulletin/2026-Q3").status_code == 200
    before = len(central.log.db.execute("SELECT 1 FROM records").fetchall())
    assert record_demo(central).findings == 0  # a second run adds nothing
    assert len(central.log.db.execute("SELECT 1 FROM records").fetchall()) == before
