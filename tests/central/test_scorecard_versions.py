"""The sub-centre scorecard as signed versions at central: version 1 from the packaged TOML on the first
start (a new central and one upgraded from before), a supervisor's revision checked and signed through the
form, each quarter scored with the version in force for it, a published quarter keeping its version, TOML
download and load, bad input kept, and the rules the projection keeps."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from assessmentkit import Q3, finding, post_files, settle
from centralkit import CHINA, Clerk
from correctionkit import form_fields, scorecard_post
from subcentrekit import SubCentre

from casework import scorecards
from casework.assessment import packaged, parse_scorecard
from central import assessment_records, scorecard_records, scorecard_store
from central.quarters import Quarter


def test_a_new_central_holds_version_one_from_the_packaged_toml_signed_once(app, make_app):
    central = app.extensions["central"]
    (only,) = scorecard_store.versions(central.log.db)
    assert (only.version, only.from_quarter, only.staff) == (1, scorecard_store.FROM_THE_START, "system")
    assert only.card == packaged()
    assert len(central.records_of_kind(scorecard_store.KIND)) == 1
    assert scorecard_records.seed(central) is None  # every start asks; it signs once in a central's life
    assert len(central.records_of_kind(scorecard_store.KIND)) == 1
    assert scorecard_store.for_quarter(central.log.db, "2031-Q2").version == 1


def _old_central(folder: Path) -> str:
    """A central as the release before made it: no scorecard record, a quarter published from the TOML.
    Returns the published quarter."""
    from casework.calendar import WorkCalendar
    from casework.catalogue import load
    from central import assessment_scores, config
    from central.admin_records import publish_catalogue, publish_year, sign_staff
    from central.datadir import DataDir
    from central.runtime import Central
    from sync.keys import NodeKey

    folder.mkdir(parents=True)
    data = DataDir(folder)
    config.save(config.CentralConfig(network="test"), data.config_file)
    NodeKey.generate().save(data.key)
    central = Central(data, clock=lambda: dt.datetime(2026, 11, 25, 10, tzinfo=CHINA))
    try:
        publish_catalogue(central, load(), note="initial catalogue")
        for year in WorkCalendar.packaged().to_years():
            publish_year(central, year)
        sign_staff(central, "li", roles=["supervisor"], places=["*"], password="window-pass-1")
        SubCentre(central, "S01")
        with central.log._lock:
            board = assessment_scores.board(central.log.db, Quarter.parse(Q3), scorecard=packaged(),
                                            today=central.today(), calendar=central.calendar())
        body = assessment_scores.publication(board, packaged(), "li")  # (no version: the old body)
        central.sign(assessment_records.PUBLISHED, assessment_records.check(assessment_records.PUBLISHED, body))
        assert not central.records_of_kind(scorecard_store.KIND)
    finally:
        central.close()
    import sqlite3

    with sqlite3.connect(data.db) as db:  # the tables this release adds were not there before it
        db.execute("DROP TABLE assessment_scorecards")
        db.execute("DROP TABLE assessment_corrections")
        db.execute("DELETE FROM schema_version WHERE component IN ('central_scorecards', 'central_corrections')")
    db.close()
    return Q3


def test_an_upgraded_central_gets_version_one_on_first_start_and_its_quarters_keep_their_scorecard(tmp_path):
    from central.app import create_app
    from installer.upgrade import upgrade

    folder = tmp_path / "old-central"
    quarter = _old_central(folder)
    report = upgrade(folder, take_backup=False)
    assert not report.error and report.rebuilt > 0
    assert {"central_scorecards", "central_corrections"} <= set(report.new_components)
    app = create_app({"DATA_DIR": str(folder), "SMS_SENDER": False, "TESTING": False,
                      "CENTRAL_CLOCK": lambda: dt.datetime(2026, 11, 25, 10, tzinfo=CHINA)})
    try:
        central = app.extensions["central"]
        (v1,) = scorecard_store.versions(central.log.db)
        assert v1.from_the_start and v1.card == packaged()
        assert scorecard_store.for_quarter(central.log.db, quarter).version == 1
        li = Clerk(app, "li")
        page = li.get(f"/assessment/{quarter}/unit/S01").text
        assert "工作人员无故缺勤、迟到早退" in page and 'id="card-version"' in li.get(f"/assessment/{quarter}").text
        listing = li.get("/assessment/scorecards/").text
        assert re.search(rf'id="version-1">.*?{quarter}', listing, re.S)
    finally:
        central.close()


def test_a_revision_is_checked_then_signed_and_scores_the_quarters_from_its_own(app, clock):
    central = app.extensions["central"]
    SubCentre(central, "S01")
    li = Clerk(app, "li")
    page = li.get("/assessment/scorecards/new").text
    assert 'id="based-on"' in page
    fields = form_fields(page, "scorecard-form")
    values = dict(fields)
    assert values["p0c0_code"] == "R01" and values["p0c0_points"] == "1" and values["from"] == "2027-Q1"

    # check: the differences against the version it replaces, nothing signed yet
    r = scorecard_post(li, fields, p0c0_points="2", note="如政服〔2026〕18号：迟到早退每次扣2分", action="check")
    assert r.status_code == 200, r.text[:800]
    changes = r.text.split('id="check-changes"', 1)[1].split("</table>", 1)[0]
    assert "R01" in changes and "<del>1</del>" in changes and "<ins>2</ins>" in changes
    assert changes.count("<tr class=") == 1
    checked = form_fields(r.text, "scorecard-form")
    assert dict(checked)["checked"]
    # signing what was not checked (changed after the check) shows the check again
    r = scorecard_post(li, checked, p0c0_points="3", action="sign")
    assert r.status_code == 200 and 'id="sign-button"' in r.text
    assert len(central.records_of_kind(scorecard_store.KIND)) == 1
    r = scorecard_post(li, checked, action="sign")
    assert r.status_code == 302, r.text[:800]
    assert r.headers["Location"].endswith("/assessment/scorecards/2")
    v2 = scorecard_store.get(central.log.db, 2)
    assert v2.from_quarter == "2027-Q1" and v2.card.deduction("R01").points == 2 and v2.staff == "li"
    assert scorecards.diff(packaged(), v2.card) == [scorecards.Change("deduction", "changed", "R01", "points", 1, 2)]

    # 2026-Q4 keeps version 1, 2027-Q1 is scored with version 2
    xun = Clerk(app, "xun")
    assert finding(xun, "2026-Q4", checked_on="2026-11-20").status_code == 302
    clock.now = dt.datetime(2027, 2, 10, 10, tzinfo=CHINA)
    xun = Clerk(app, "xun")
    assert finding(xun, "2027-Q1", checked_on="2027-02-03").status_code == 302
    assert 'id="unit-total">93<' in xun.get("/assessment/2026-Q4/unit/S01").text
    page = xun.get("/assessment/2027-Q1/unit/S01").text
    assert 'id="unit-total">91<' in page  # 2 occurrences x 2 points
    version_page = xun.get("/assessment/scorecards/2").text
    assert "如政服〔2026〕18号" in version_page and 'id="changes"' in version_page
    listing = xun.get("/assessment/scorecards/").text
    assert 'id="version-2"' in listing and 'id="new-version"' not in listing  # an inspector reads only
    assert xun.get("/assessment/scorecards/new").status_code == 403


def test_bad_rows_are_refused_beside_their_fields_with_everything_typed_kept(app):
    central = app.extensions["central"]
    li = Clerk(app, "li")
    fields = form_fields(li.get("/assessment/scorecards/new").text, "scorecard-form")
    r = scorecard_post(li, fields, p0c0_points="两分", p0c1_code="R01", p1c0_cap="0", p0c5_code="R09",
                       p0c5_text="新增：未按规定公示办事指南", p0c5_points="1", p0c5_cap="3", note="", action="check")
    assert r.status_code == 400
    html = r.text
    assert 'id="p0c0_points" name="p0c0_points" value="两分"' in html and 'id="p0c0_points-error"' in html
    assert 'id="p0c1_code-error"' in html  # R01 twice
    assert 'id="p1c0_cap-error"' in html and 'id="note-error"' in html
    assert 'value="新增：未按规定公示办事指南"' in html  # the new row as typed
    assert len(central.records_of_kind(scorecard_store.KIND)) == 1
    # a removed clause and an added one: the check lists both
    fields = form_fields(html, "scorecard-form")
    r = scorecard_post(li, fields, p0c0_points="1", p0c1_code="R02", p1c0_cap="10", p0c4_remove="1",
                       note="删除R05，新增R09", action="check")
    assert r.status_code == 200, r.text[:1500]
    changes = r.text.split('id="check-changes"', 1)[1].split("</table>", 1)[0]
    assert "R09" in changes and "R05" in changes and 'class="change-removed"' in changes
    # a version identical to the one in force is refused when signed
    fields = form_fields(li.get("/assessment/scorecards/new").text, "scorecard-form")
    r = scorecard_post(li, fields, note="无变化", action="check")
    checked = form_fields(r.text, "scorecard-form")
    assert scorecard_post(li, checked, action="sign").status_code == 409


def test_a_published_quarter_keeps_its_version_and_a_version_cannot_reach_back_to_it(app):
    central = app.extensions["central"]
    SubCentre(central, "S01")
    li = Clerk(app, "li")
    assert finding(Clerk(app, "xun")).status_code == 302
    settle(app, li)
    assert li.post(f"/assessment/{Q3}/publish").status_code == 302
    (published, _at), = central.records_of_kind(assessment_records.PUBLISHED)
    assert published.body["scorecard"]["version"] == 1
    assert published.body["scorecard"]["record"] == scorecard_store.get(central.log.db, 1).record_id

    page = li.get("/assessment/scorecards/new").text
    assert '<option value="2026-Q3"' not in page and '<option value="2026-Q4"' in page
    fields = form_fields(page, "scorecard-form")
    r = scorecard_post(li, fields, **{"from": "2026-Q3"}, note="x", action="check")
    assert r.status_code == 400 and 'id="from-error"' in r.text
    with pytest.raises(scorecard_records.ScorecardRefusedError):
        scorecard_records.publish(central, packaged(), from_quarter=Quarter.parse(Q3), note="x", staff="li")
    # signed past the page: the projection skips it
    data = packaged().to_data()
    data["part"][0]["deduction"][0]["text"] = "改写过的条款"
    central.sign(scorecard_store.KIND, {"version": 2, "from": Q3, "data": data, "note": "x", "staff": "li"})
    assert scorecard_store.current_version(central.log.db) == 1

    # a revision from Q4 rewords R01; Q3 still shows the wording it was scored with
    r = scorecard_post(li, fields, **{"from": "2026-Q4"}, p0c0_text="工作人员无故缺勤、迟到、早退或脱岗",
                       note="条款措辞调整", action="check")
    assert scorecard_post(li, form_fields(r.text, "scorecard-form"), action="sign").status_code == 302
    assert "工作人员无故缺勤、迟到早退" in li.get(f"/assessment/{Q3}/unit/S01").text
    assert "迟到、早退或脱岗" in li.get("/assessment/2026-Q4/unit/S01").text
    listing = li.get("/assessment/scorecards/").text
    assert re.search(r'id="version-1">.*?2026-Q3', listing, re.S)
    assert scorecard_store.spans(scorecard_store.versions(central.log.db))[1].last == "2026-Q3"


def test_download_as_toml_and_load_a_file_back(app):
    li = Clerk(app, "li")
    r = li.get("/assessment/scorecards/1/scorecard.toml")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    assert parse_scorecard(tomllib.loads(r.data.decode())) == packaged()
    edited = r.data.decode().replace('code = "K03"\ntext = "未按时报送月度办件报表（每月）"\npoints = 2',
                                     'code = "K03"\ntext = "未按时报送月度办件报表（每月）"\npoints = 3')
    assert edited != r.data.decode()
    page = li.get("/assessment/scorecards/new").text
    token = li.token(page)
    data: dict[str, Any] = {"csrf_token": token, "action": "load", "from": "2027-Q1", "note": ""}
    import io

    r = li.client.post("/assessment/scorecards/new", content_type="multipart/form-data",
                       data={**data, "toml_file": (io.BytesIO(edited.encode()), "评分表.toml")})
    assert r.status_code == 200, r.text[:800]
    assert 'id="check"' in r.text and "K03" in r.text.split('id="check-changes"', 1)[1].split("</table>", 1)[0]
    assert re.search(r'name="p3c2_points" value="3"', r.text)
    bad = edited.replace("points = 3", "points = 3.5")
    r = li.client.post("/assessment/scorecards/new", content_type="multipart/form-data",
                       data={**data, "toml_file": (io.BytesIO(bad.encode()), "评分表.toml")})
    assert r.status_code == 400 and 'id="toml_file-error"' in r.text
    r = post_files(li, "/assessment/scorecards/new", {"action": "load", "from": "2027-Q1"})
    assert r.status_code == 400


def test_proposals_only_for_clauses_the_quarters_version_has(app, clock):
    """A version without K03 (late monthly reports) proposes nothing under it for its quarters."""
    central = app.extensions["central"]
    SubCentre(central, "S01")
    card = packaged().to_data()
    card["part"][3]["deduction"] = [c for c in card["part"][3]["deduction"] if c["code"] != "K03"]
    scorecard_records.publish(central, parse_scorecard(card), from_quarter=Quarter.parse("2027-Q1"),
                              note="月报改由其他办法考核", staff="li")
    from assessmentkit import board

    clock.now = dt.datetime(2027, 1, 20, 10, tzinfo=CHINA)  # December's report is overdue
    assert "K03" in {p.clause for p in board(app, "2027-Q1", only="S01").unit("S01").proposals}  # (packaged card)
    with central.log._lock:
        q1 = scorecard_store.for_quarter(central.log.db, "2027-Q1").card
    from central import assessment_scores

    with central.log._lock:
        found = assessment_scores.board(central.log.db, Quarter.parse("2027-Q1"), scorecard=q1,
                                        today=central.today(), calendar=central.calendar(), only="S01")
    assert "K03" not in {p.clause for p in found.unit("S01").proposals}
    li = Clerk(app, "li")
    assert 'id="check-warnings"' in scorecard_post(
        li, form_fields(li.get("/assessment/scorecards/new").text, "scorecard-form"), note="x", action="check").text
    assert Clerk(app, "li").get("/assessment/2027-Q1/unit/S01").status_code == 200
