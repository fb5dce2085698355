"""Corrections after publishing, against a real central: a supervisor files one with its reason and evidence,
a second supervisor approves it, and the quarter (overview, unit page, public bulletin, the year's awards)
is shown as corrected with the published figures kept and the correction visible; nothing of the
publication is rewritten. Also: the four-eyes rule, rejection and withdrawal, what the projection refuses,
corrections of a decided year's awards when a quarter it rested on was corrected, and rebuilding."""

from __future__ import annotations

import re
from typing import Any

import pytest
from assessmentkit import Q3, board, photo, post_files
from centralkit import Clerk
from correctionkit import (
    correction_id,
    decide,
    file_correction,
    only_correction,
    published_q3,
    second_supervisor,
)

from central import (
    assessment_records,
    assessment_store,
    correction_records,
    correction_store,
    scorecard_store,
)


@pytest.fixture
def q3(app: Any) -> dict[str, Any]:
    return published_q3(app)


def test_a_correction_approved_by_a_second_supervisor_shows_everywhere_with_the_original_kept(app, q3):
    central, li = q3["central"], q3["li"]
    s01 = q3["entries"]["S01"]
    published_before = central.records_of_kind(assessment_records.PUBLISHED)
    anon = app.test_client()

    # the form offers the unit's entries; filing signs a record, nothing changes until approval
    form = li.get(f"/assessment/{Q3}/correction?unit=S01&op=withdraw&entry={s01.id}").text
    assert f'<option value="{s01.id}" selected>' in form and "R01 2026-09-15" in form
    r = file_correction(li, entry=s01.id)
    assert r.status_code == 302, r.text[:800]
    path = r.headers["Location"]
    c = only_correction(central)
    assert c.pending and c.staff == "li" and c.change == {"op": "withdraw", "entry": s01.id}
    assert c.evidence[0].name == "请假审批单.jpg"
    page = li.get(path).text
    assert "当日两名工作人员已请假" in page and 'id="effect-S01"' in page
    assert re.search(r'<del>93</del> → <ins>95</ins>', page)  # what approving would change
    assert "withdraw-button" in page and "approve-button" not in page  # the filer may only withdraw
    assert '<td class="num total">93</td>' in anon.get(f"/bulletin/{Q3}").text  # still as published

    # the filer cannot approve their own correction
    r = decide(li, path)
    assert r.status_code == 302 and only_correction(central).pending
    # a second supervisor approves: the figures as corrected are signed with the decision
    admin = second_supervisor(app)
    assert "approve-button" in admin.get(path).text
    r = decide(admin, path)
    assert r.status_code == 302
    c = only_correction(central)
    assert c.approved and c.decided_staff == "admin"
    (record, _at), = central.records_of_kind(correction_records.QUARTER_DECIDED)
    s01_after = next(u for u in record.body["units"] if u["unit"] == "S01")
    assert (s01_after["total"], s01_after["rank"]) == (95, 1)
    assert s01_after["deductions"] == []

    # the publication itself is untouched; the board is as corrected, the original beside it
    assert central.records_of_kind(assessment_records.PUBLISHED) == published_before
    assert assessment_store.published(central.log.db, Q3).body["units"] == published_before[0][0].body["units"]
    b = board(app)
    assert [(u.unit.code, u.rank, u.score.total) for u in b.units] == [("S01", 1, 95), ("S03", 1, 95), ("S02", 3, 94)]
    s01_board = b.unit("S01")
    assert s01_board.corrected and s01_board.original.total == 93 and s01_board.original_rank == 3
    overview = li.get(f"/assessment/{Q3}").text
    assert 'id="corrected-state"' in overview and '<del class="was">93</del> 95' in overview
    assert "当日两名工作人员已请假" in overview  # the corrections are listed under the table
    unit = li.get(f"/assessment/{Q3}/unit/S01").text
    assert 'id="unit-corrected"' in unit and 'id="unit-total">95<' in unit
    withdrawn = unit.split('id="withdrawn-h"', 1)[1]
    assert "当日两名工作人员已请假" in withdrawn and f"/correction/{c.id}" in withdrawn

    # the public bulletin: corrected figures, the published ones struck through, a correction note
    bulletin = anon.get(f"/bulletin/{Q3}").text
    assert '<del class="was">93</del> 95' in bulletin and '<del class="was">3</del> 1' in bulletin
    note = re.search(r'<p class="correction-note">(.*?)</p>', bulletin, re.S).group(1)
    assert "当日两名工作人员已请假，补办了手续" in note and "93" in note and "95" in note
    assert q3["units"]["S01"].name in note
    for private in ("xun", "admin", "请假审批单", "evidence"):
        assert private not in bulletin.split("<main", 1)[1], private
    assert "corrected" in anon.get("/bulletin/").text or "更正" in anon.get("/bulletin/").text


def test_count_added_finding_and_bonus_and_a_correction_of_a_correction(app, q3):
    li = q3["li"]
    admin = second_supervisor(app)
    s02 = q3["entries"]["S02"]
    # a bonus deed missed at the time: S03 98 (95 + 3)
    r = file_correction(li, unit="S03", op="add_bonus", b_clause="B04", b_deed="如皋日报报道延时服务",
                        b_awarded_on="2026-09-10", reason="季度内媒体报道漏报，现补录")
    assert r.status_code == 302, r.text[:800]
    assert decide(admin, r.headers["Location"]).status_code == 302
    # S02's finding counted 1 occurrence, there were 3: 95 - 3 = 92
    r = file_correction(li, unit="S02", op="count", entry=s02.id, new_count="3", reason="复核录像，共三人次未佩戴工作牌")
    assert r.status_code == 302, r.text[:800]
    assert decide(admin, r.headers["Location"]).status_code == 302
    # a missed deduction for S01: H04 once, 93 - 1 = 92
    r = file_correction(li, unit="S01", op="add_finding", f_clause="H04", f_count="1", f_source="undercover",
                        f_checked_on="2026-09-20", f_text="暗访咨询时被推诿", reason="暗访记录漏报")
    assert r.status_code == 302, r.text[:800]
    added = correction_id(r)
    assert decide(admin, r.headers["Location"]).status_code == 302
    totals = {u.unit.code: (u.score.total, u.rank) for u in board(app).units}
    assert totals == {"S03": (98, 1), "S02": (92, 2), "S01": (92, 2)}
    # the added finding is itself an entry a later correction may name
    page = li.get(f"/assessment/{Q3}/correction?unit=S01").text
    assert f'value="{added}"' in page
    r = file_correction(li, unit="S01", op="withdraw", entry=added, reason="复核：该次推诿已在上季度处理")
    assert r.status_code == 302, r.text[:800]
    assert decide(admin, r.headers["Location"]).status_code == 302
    assert board(app).unit("S01").score.total == 93
    # every approval kept the earlier ones
    assert board(app).unit("S03").score.total == 98 and board(app).unit("S02").score.total == 92
    bulletin = app.test_client().get(f"/bulletin/{Q3}").text
    assert bulletin.count('class="correction-note"') == 4


def test_bad_input_is_refused_with_what_was_typed_kept(app, q3):
    central, li = q3["central"], q3["li"]
    r = file_correction(li, op="add_finding", f_clause="Z99", f_count="0", f_checked_on="2027-05-01",
                        f_text="漏报的检查", reason="")
    assert r.status_code == 400
    assert 'class="error-summary"' in r.text and "漏报的检查" in r.text and 'name="kept"' in r.text
    assert 'id="op-add_finding" checked' in r.text
    r = file_correction(li, files=[], entry=q3["entries"]["S01"].id)
    assert r.status_code == 400 and "evidence" in r.text
    r = file_correction(li, op="count", entry=q3["entries"]["S01"].id, new_count="2")  # it already counts 2
    assert r.status_code == 400
    assert not correction_store.of_subject(central.log.db, "quarter", Q3)
    # a quarter not yet published is not corrected: the page says how to change it instead
    r = li.get("/assessment/2026-Q4/correction")
    assert r.status_code == 302 and r.headers["Location"].endswith("/assessment/2026-Q4")


def test_reject_needs_a_reason_and_only_the_filer_withdraws(app, q3):
    central, li = q3["central"], q3["li"]
    admin = second_supervisor(app)
    entry = q3["entries"]["S01"].id
    path = file_correction(li, entry=entry).headers["Location"]
    assert decide(admin, path, "reject").status_code == 302 and only_correction(central).pending  # no note
    assert decide(admin, path, "withdraw", "不是我提交的").status_code == 403
    assert Clerk(app, "xun").post(f"{path}/decide", {"decision": "approve"}).status_code == 403
    # a second correction of the same entry waits behind the first
    r = file_correction(li, entry=entry)
    assert r.status_code == 400
    assert decide(admin, path, "reject", "请假手续系事后补办，不予认可").status_code == 302
    c = only_correction(central)
    assert c.outcome == "rejected" and c.note == "请假手续系事后补办，不予认可"
    assert board(app).unit("S01").score.total == 93 and not board(app).approved_corrections
    # filed again and withdrawn by its filer
    path = file_correction(li, entry=entry).headers["Location"]
    assert decide(li, path, "withdraw", "证据不足，撤回").status_code == 302
    assert [c.outcome for c in correction_store.of_subject(central.log.db, "quarter", Q3)] == ["rejected", "withdrawn"]
    assert "更正" not in app.test_client().get(f"/bulletin/{Q3}").text.split("<main", 1)[1]


def test_the_projection_keeps_the_rules_when_a_record_slips_past_the_pages(app, q3):
    central = q3["central"]
    s01 = q3["entries"]["S01"]
    evidence = q3["entries"]["S01"].evidence[0].to_body()
    body = {"quarter": Q3, "unit": "S01", "change": {"op": "withdraw", "entry": s01.id}, "reason": "x",
            "evidence": [evidence], "staff": "li"}
    # not published: skipped
    central.sign(correction_records.QUARTER_FILED, {**body, "quarter": "2026-Q4"})
    # an entry of another unit: skipped
    central.sign(correction_records.QUARTER_FILED, {**body, "unit": "S02"})
    # a node cannot file one
    s01_node = q3["units"]["S01"]
    s01_node.push([s01_node.sign(correction_records.QUARTER_FILED, body, "2026-11-20T10:00:00+08:00")])
    assert correction_store.of_subject(central.log.db, "quarter", Q3) == []
    filed = central.sign(correction_records.QUARTER_FILED, body)
    decided = {"correction": filed.id, "quarter": Q3, "outcome": "approved", "note": "",
               "units": assessment_store.published(central.log.db, Q3).body["units"]}
    central.sign(correction_records.QUARTER_DECIDED, {**decided, "staff": "li"})  # the filer approving: skipped
    assert correction_store.get(central.log.db, filed.id).pending
    central.sign(correction_records.QUARTER_DECIDED, {**decided, "outcome": "rejected", "note": "no", "staff": "admin"})
    central.sign(correction_records.QUARTER_DECIDED, {**decided, "staff": "chief"})  # decided already: skipped
    assert correction_store.get(central.log.db, filed.id).outcome == "rejected"
    central.sign(correction_records.QUARTER_DECIDED, {"correction": "f" * 64, "quarter": Q3})  # malformed: skipped


def test_rebuild_gives_the_same_tables(app, q3):
    central, li = q3["central"], q3["li"]
    admin = second_supervisor(app)
    assert decide(admin, file_correction(li, entry=q3["entries"]["S01"].id).headers["Location"]).status_code == 302
    path = file_correction(li, unit="S02", op="withdraw", entry=q3["entries"]["S02"].id).headers["Location"]
    assert decide(li, path, "withdraw", "重复").status_code == 302

    def dump() -> dict[str, list[Any]]:
        with central.log._lock:
            return {t: central.log.db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                    for t in ("assessment_corrections", "assessment_scorecards", "assessment_published")}

    before = dump()
    assert len(before["assessment_corrections"]) == 2 and before["assessment_scorecards"]
    central.rebuild()
    assert dump() == before


def test_who_may_do_what(app, q3):
    li, xun = q3["li"], q3["xun"]
    admin_only = Clerk(app, "wang")
    path = file_correction(li, entry=q3["entries"]["S01"].id).headers["Location"]
    assert xun.get(path).status_code == 200 and xun.get("/assessment/corrections").status_code == 200
    assert xun.get(f"/assessment/{Q3}/correction").status_code == 403
    assert post_files(xun, f"/assessment/{Q3}/correction", {"unit": "S01"}, [(photo(), "a.png")]).status_code == 403
    assert admin_only.get(path).status_code == 403
    assert app.test_client().get(path).status_code in (302, 401)
    listing = second_supervisor(app).get("/assessment/corrections").text
    assert 'id="waiting"' in listing and f"/correction/{path.rsplit('/', 1)[1]}#decide" in listing


def test_demo_revises_the_scorecard_and_corrects_the_published_quarter(app):
    from subcentrekit import SubCentre

    from central.assessment_demo import record_demo as assessment_demo
    from central.correction_demo import CorrectionDemo, record_demo

    central = app.extensions["central"]
    assert record_demo(central) == CorrectionDemo(2, None, None, False)  # no quarter yet
    for code in ("S01", "S02", "S03", "S04"):
        SubCentre(central, code)
    assessment_demo(central)
    summary = record_demo(central)
    assert summary.version is None and summary.corrected == Q3 and summary.approved  # version 2 came first
    v2 = scorecard_store.get(central.log.db, 2)
    assert v2.from_quarter == "2027-Q1" and v2.card.deduction("R01").points == 2
    c = correction_store.get(central.log.db, summary.correction)
    assert c.approved and c.staff != c.decided_staff
    assert board(app).approved_corrections and app.test_client().get(f"/bulletin/{Q3}").text.count("correction-note") == 1
    before = len(central.log.db.execute("SELECT 1 FROM records").fetchall())
    assert record_demo(central) == CorrectionDemo(None, None, None, False)
    assert len(central.log.db.execute("SELECT 1 FROM records").fetchall()) == before
