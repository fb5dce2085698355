"""Bad reviews at central: due dates in working days (over the National Day holiday), overdue, the
call-back / rectification / appeal workflow through the pages with each role, satisfaction rates
with an upheld appeal taken out, `unrectified()` for the assessment, node ratings, and rebuilding
the tables from the log (also on a file that had evaluations before the tables existed)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from centralkit import CHINA, Clerk
from openpyxl import load_workbook

from casework.cases import item_snapshot, new_event_body
from casework.numbering import case_number
from central import reviews_store
from central.datadir import DataDir
from central.runtime import Central
from store.config_records import calendar_year_body
from sync.envelope import sign_record
from sync.keys import NodeKey, enrolment_request
from sync.server import EnrolmentBook


def _at(clock, day: dt.date, hour: int = 10) -> None:
    clock.now = dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=CHINA)


def _finished(central, clock, day: dt.date, *, code: str = "BDC001", phone: str = "13812345678") -> str:
    """A case received, accepted and finished at its item's window on `day`."""
    _at(clock, day, 9)
    item = central.catalogue().item(code)
    number = central.next_number("case")
    central.act(number, "case.received", window=item.window, staff="wang", item=item_snapshot(item),
                applicant={"type": "person", "name": "张三", "phone": phone}, materials=[m.name for m in item.materials])
    central.act(number, "case.accepted", window=item.window, staff="wang", due_date=(day + dt.timedelta(days=20)).isoformat())
    central.act(number, "case.finished", window=item.window, staff="wang", outcome="granted")
    return number


def _rate(central, clock, number: str, day: dt.date, level: int, *, window: str = "W52", real_name: bool = True,
          channel: str = "counter") -> str:
    _at(clock, day)
    extra = {"reason": "等候时间太长"} if level <= 2 else {}
    record = central.act(number, "case.evaluated", window=window, staff="wang", level=level, channel=channel,
                         real_name=real_name, **extra)
    return record.id


def _tables(db) -> list[tuple]:
    return (db.execute("SELECT * FROM review_evaluations ORDER BY id").fetchall()
            + db.execute("SELECT * FROM review_records ORDER BY evaluation, record_id").fetchall())


def test_due_date_counts_working_days_over_national_day_and_the_workflow_runs_by_role(app, clock):
    central = app.extensions["central"]
    tuesday = dt.date(2026, 9, 29)
    number = _finished(central, clock, tuesday)
    evaluation = _rate(central, clock, number, tuesday, 2)
    row = reviews_store.get(central.log.db, evaluation)
    # day 0 = 29 Sep; 30 Sep = 1; 1-7 Oct holidays; 8, 9 Oct, Saturday 10 Oct (a make-up working day), 12 Oct = 5
    assert row.due_date == "2026-10-12" and not row.due_provisional
    assert (row.unit, row.window, row.node, row.department) == ("window:W52", "W52", "", "bdc")
    assert row.status == "awaiting_callback" and row.received_day == "2026-09-29"

    _at(clock, dt.date(2026, 10, 12))
    li = Clerk(app, "li")
    assert 'id="kpi-overdue">0<' in li.get("/reviews/").text
    _at(clock, dt.date(2026, 10, 13))
    listing = li.get("/reviews/?status=overdue").text
    assert f'data-review="{evaluation}"' in listing and 'class="light-red"' in listing
    assert 'id="kpi-overdue">1<' in li.get("/reviews/").text

    # the window clerk of W52 may not rectify before the call-back; another window's clerk sees nothing
    wang = Clerk(app, "wang")
    assert f'data-review="{evaluation}"' in wang.get("/reviews/").text
    page = wang.get(f"/reviews/{evaluation}").text
    assert 'id="do-rectify"' not in page and 'id="do-callback"' not in page and 'id="do-appeal"' in page
    refused = wang.post(f"/reviews/{evaluation}/rectify", {"measures": "增加窗口"})
    assert refused.status_code == 400
    zhao = Clerk(app, "zhao")
    assert zhao.get(f"/reviews/{evaluation}").status_code == 403
    assert f'data-review="{evaluation}"' not in zhao.get("/reviews/").text
    xun = Clerk(app, "xun")  # the inspector reads, records nothing
    assert xun.get(f"/reviews/{evaluation}").status_code == 200
    assert xun.post(f"/reviews/{evaluation}/callback", {"reached": "1", "note": "x"}).status_code == 403

    # the supervisor calls back: a reached call needs a note, and the typed text survives the error
    bad = li.post(f"/reviews/{evaluation}/callback", {"reached": "1", "note": ""})
    assert bad.status_code == 400 and 'id="note-error"' in bad.text
    shown = li.get(f"/reviews/{evaluation}?call=1").text
    assert "13812345678" in shown  # the number to call, shown on purpose to the supervisor
    assert "13812345678" not in li.get(f"/reviews/{evaluation}").text and "138****5678" in li.get(
        f"/reviews/{evaluation}").text
    assert li.post(f"/reviews/{evaluation}/callback", {"reached": "1", "note": "申请人说排队两小时"}).status_code == 302
    assert reviews_store.get(central.log.db, evaluation).status == "called_back"

    typed = wang.post(f"/reviews/{evaluation}/rectify", {"measures": ""})
    assert typed.status_code == 400 and 'id="measures-error"' in typed.text
    assert wang.post(f"/reviews/{evaluation}/rectify", {"measures": "高峰时段增开一个窗口"}).status_code == 302
    row = reviews_store.get(central.log.db, evaluation)
    assert row.status == "rectified" and row.rectified_on == "2026-10-13" and row.late(dt.date(2026, 10, 13))
    page = li.get(f"/reviews/{evaluation}").text
    assert "高峰时段增开一个窗口" in page and "申请人说排队两小时" in page and 'id="nothing-to-do"' not in page
    assert page.count('data-kind="review.') == 2 and 'data-kind="case.evaluated"' in page
    # late: the assessment counts it against W52
    assert reviews_store.unrectified(central.log.db, "window:W52", dt.date(2026, 7, 1), dt.date(2026, 9, 30),
                                     today=dt.date(2026, 12, 31)) == [number]
    assert reviews_store.unrectified(central.log.db, "window:W52", dt.date(2026, 10, 1), dt.date(2026, 12, 31),
                                     today=dt.date(2026, 12, 31)) == []


def test_appeal_upheld_takes_the_review_out_of_satisfaction_and_the_assessment(app, clock):
    central = app.extensions["central"]
    day = dt.date(2026, 11, 2)
    numbers = [_finished(central, clock, day) for _ in range(3)]
    for number, level in zip(numbers, (5, 4, 1), strict=True):
        _rate(central, clock, number, day, level, real_name=False)
    (bad,) = reviews_store.of_case(central.log.db, numbers[2])
    assert bad.status == "awaiting_rectification" and bad.due_date == "2026-11-09"
    db = central.log.db
    first, last = dt.date(2026, 11, 1), dt.date(2026, 11, 30)
    (w52,) = reviews_store.satisfaction(db, first, last, "window")
    assert (w52.key, w52.rated, w52.satisfied, w52.bad, w52.upheld, w52.pct, w52.below_target) == \
        ("W52", 3, 2, 1, 0, 66.7, True)
    (bdc,) = reviews_store.satisfaction(db, first, last, "department")
    assert bdc.key == "bdc" and bdc.pct == 66.7
    assert reviews_store.satisfaction(db, first, last, "node") == []

    li = Clerk(app, "li")
    page = li.get("/reviews/satisfaction?from=2026-11-01&to=2026-11-30")
    assert page.status_code == 200 and 'class="light-red" data-key="W52"' in page.text and "<svg" in page.text

    _at(clock, dt.date(2026, 11, 20))
    wang = Clerk(app, "wang")
    assert wang.post(f"/reviews/{bad.id}/appeal", {"reason": "申请人当日未到窗口，监控可查"}).status_code == 302
    assert wang.post(f"/reviews/{bad.id}/decide", {"upheld": "1", "decision": "x"}).status_code == 403
    assert reviews_store.unrectified(db, "window:W52", first, last, today=dt.date(2026, 11, 20)) == [numbers[2]]
    assert li.post(f"/reviews/{bad.id}/decide", {"upheld": "1", "decision": "经核查监控，情况属实"}).status_code == 302
    row = reviews_store.get(db, bad.id)
    assert row.status == "upheld" and not row.overdue(dt.date(2026, 11, 20))
    (w52,) = reviews_store.satisfaction(db, first, last, "window")
    assert (w52.rated, w52.upheld, w52.counted, w52.pct, w52.below_target) == (3, 1, 2, 100.0, False)
    assert reviews_store.unrectified(db, "window:W52", first, last, today=dt.date(2026, 11, 20)) == []
    assert "W52" in li.get("/reviews/satisfaction?from=2026-11-01&to=2026-11-30").text

    workbook = li.get("/reviews/satisfaction.xlsx?from=2026-11-01&to=2026-11-30")
    assert workbook.status_code == 200
    sheets = load_workbook(io.BytesIO(workbook.data))
    rows = list(sheets.worksheets[0].iter_rows(values_only=True))
    assert rows[2][0].startswith("W52") and rows[2][1:] == (3, 2, 0, 1, 1, 2, 100.0)
    # bad dates are refused with a message, not a crash
    assert li.get("/reviews/satisfaction?from=2026-13-01").status_code == 400
    assert li.get("/reviews/satisfaction.xlsx?from=2026-11-30&to=2026-11-01").status_code == 400
    assert Clerk(app, "wang").get("/reviews/satisfaction").status_code == 403


def test_a_second_step_signed_past_the_checks_is_skipped_and_a_rebuild_gives_the_same_tables(app, clock,
                                                                                            central_dir):
    central = app.extensions["central"]
    day = dt.date(2026, 11, 2)
    number = _finished(central, clock, day)
    evaluation = _rate(central, clock, number, day, 1, real_name=False)
    good = _finished(central, clock, day)
    _rate(central, clock, good, day, 5)
    body = {"case": number, "evaluation": evaluation, "staff": "li", "measures": "第一次"}
    central.sign("review.rectified", body)
    central.sign("review.rectified", {**body, "measures": "第二次"})  # past the page's checks: not applied
    central.sign("review.rectified", {**body, "evaluation": "f" * 64})  # names no review: skipped, no error
    central.sign("review.appealed", {"case": number, "evaluation": evaluation})  # malformed: skipped
    row = reviews_store.get(central.log.db, evaluation)
    assert row.status == "rectified" and reviews_store.record_ids(central.log.db, evaluation).__len__() == 1
    before = _tables(central.log.db)
    assert len(before) == 3
    central.rebuild()
    assert _tables(central.log.db) == before

    # a file whose review tables are new (an upgrade): filled from the log once, the same rows
    with central.log.transaction() as db:
        for table in ("review_evaluations", "review_records", "review_settings"):
            db.execute(f"DROP TABLE {table}")
        db.execute("DELETE FROM schema_version WHERE component = 'central_reviews'")
    again = Central(DataDir(central_dir), clock=clock)
    try:
        assert _tables(again.log.db) == before
    finally:
        again.close()


def test_a_new_rectify_setting_or_calendar_moves_due_dates_as_a_rebuild_would(app, clock, central_dir):
    central = app.extensions["central"]
    day = dt.date(2026, 11, 2)
    number = _finished(central, clock, day)
    evaluation = _rate(central, clock, number, day, 2)
    assert reviews_store.get(central.log.db, evaluation).due_date == "2026-11-09"
    config = central_dir / "central.toml"
    config.write_text(config.read_text().replace("review_rectify_days = 5", "review_rectify_days = 10"))
    again = Central(DataDir(central_dir), clock=clock)
    try:
        assert reviews_store.get(again.log.db, evaluation).due_date == "2026-11-16"
        # a corrected calendar (two extra holidays in the period) moves the due date too
        year = again.calendar().year_data(2026)
        year["holidays"] = sorted([*year["holidays"], "2026-11-05", "2026-11-06"])
        again.sign("calendar.year", calendar_year_body(year))
        assert reviews_store.get(again.log.db, evaluation).due_date == "2026-11-18"
        before = _tables(again.log.db)
        again.rebuild()
        assert _tables(again.log.db) == before
    finally:
        again.close()


def test_a_village_rating_counts_for_the_village_from_central_receipt_and_node_review_records_do_not_count(app):
    central = app.extensions["central"]
    key = NodeKey.generate()
    token = EnrolmentBook(central.log).issue("V000300", "试村")
    EnrolmentBook(central.log).enrol(enrolment_request(key, net=central.log.network, node="V000300", token=token))
    item = central.catalogue().item("SW006")
    number = case_number("V000300", dt.date(2026, 11, 25), 1).text
    steps = [("case.received", {"item": item_snapshot(item), "applicant": {"type": "person", "name": "李四"},
                                "materials": [m.name for m in item.materials]}),
             ("case.accepted", {}), ("case.finished", {"outcome": "granted"}),
             ("case.evaluated", {"level": 1, "reason": "态度生硬", "channel": "paper", "real_name": False})]
    records, prev, after = [], None, []
    for seq, (kind, fields) in enumerate(steps, start=1):
        body = new_event_body(kind, case=number, after=after, **fields)
        record = sign_record(key, net=central.log.network, origin="V000300", seq=seq, prev=prev, kind=kind, body=body)
        records.append(record)
        prev, after = record.id, [record.id]
    # a node cannot sign the centre's review steps: kept as evidence, never applied
    records.append(sign_record(key, net=central.log.network, origin="V000300", seq=5, prev=prev,
                               kind="review.appeal_decided",
                               body={"case": number, "evaluation": records[3].id, "staff": "x", "upheld": True,
                                     "reason": "自己批准"}))
    assert central.log.ingest(records).ok
    row = reviews_store.get(central.log.db, records[3].id)
    assert row is not None and (row.unit, row.node, row.window, row.channel) == ("node:V000300", "V000300", "", "paper")
    received = central.log.received_at(records[3].id)
    assert row.received_day == dt.datetime.fromisoformat(received).astimezone(CHINA).date().isoformat()
    assert row.status == "awaiting_rectification" and row.appeal == ""
    assert reviews_store.satisfaction(central.log.db, dt.date(2000, 1, 1), dt.date(2100, 1, 1), "node")[0].key == \
        "V000300"
    late = reviews_store.unrectified(central.log.db, "V000300", dt.date(2000, 1, 1), dt.date(2100, 1, 1),
                                     today=dt.date(2100, 1, 1))
    assert late == [number]
    li = Clerk(app, "li")  # the supervisor records the node's appeal for it; another supervisor would decide
    assert li.post(f"/reviews/{row.id}/appeal", {"reason": "村里反映评价人非申请人"}).status_code == 302
    row = reviews_store.get(central.log.db, row.id)
    assert row.status == "appealed" and row.appealed_by == "li"
    page = li.get(f"/reviews/{row.id}").text
    assert 'id="do-decide"' not in page  # not by the one who recorded it


@pytest.mark.parametrize("path", ["/reviews/", "/reviews/satisfaction", "/reviews/satisfaction.xlsx"])
def test_review_pages_need_a_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_demo_ratings_go_through_the_record_paths(app, clock):
    import random

    from central.reviews_demo import add_ratings

    central = app.extensions["central"]
    numbers = [_finished(central, clock, dt.date(2026, 11, 2 + i % 5)) for i in range(30)]
    _at(clock, dt.date(2026, 11, 10))
    summary = add_ratings(central, random.Random(7))
    db = central.log.db
    assert summary.rated == 30 and len(summary.bad) >= 2
    assert reviews_store.get(db, summary.rectified).status == "rectified"
    assert reviews_store.get(db, summary.appealed).status == "upheld"
    assert add_ratings(central, random.Random(7)).rated == 0  # rated cases are not rated again
    before = _tables(db)
    central.rebuild()
    assert _tables(db) == before and {r[1] for r in before if len(r) > 3} <= set(numbers)
