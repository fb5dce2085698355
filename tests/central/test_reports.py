"""The monthly report against a history built through `Central.act` with answers known in advance."""

from __future__ import annotations

import datetime as dt

import pytest
from centralkit import CHINA

from casework.cases import item_snapshot
from store import reports


def _at(clock, day: int, month: int = 11) -> None:
    clock.now = dt.datetime(2026, month, day, 10, 0, tzinfo=CHINA)


def _received(central, clock, day: int, month: int = 11) -> tuple[str, str]:
    _at(clock, day, month)
    item = central.catalogue().item("BDC001")
    number = central.next_number("case")
    central.act(number, "case.received", window=item.window, staff="wang", item=item_snapshot(item),
                applicant={"type": "person", "name": "张三", "phone": "13812345678"},
                materials=[m.name for m in item.materials])
    return number, item.window


def _accepted(central, clock, number: str, window: str, day: int, due: dt.date, month: int = 11) -> None:
    _at(clock, day, month)
    central.act(number, "case.accepted", window=window, staff="wang", due_date=due.isoformat())


def _finished(central, clock, number: str, window: str, day: int, level: int | None = None) -> None:
    _at(clock, day)
    central.act(number, "case.finished", window=window, staff="wang", outcome="granted")
    if level is not None:
        extra = {"reason": "太慢"} if level <= 2 else {}
        central.act(number, "case.evaluated", window=window, staff="wang", level=level, channel="counter", **extra)


@pytest.fixture
def history(app, clock):
    """Six cases: known November figures (see the test)."""
    central = app.extensions["central"]
    n1, w = _received(central, clock, 2)
    _accepted(central, clock, n1, w, 2, dt.date(2026, 11, 10))
    _finished(central, clock, n1, w, 5, level=5)           # on time, satisfied
    n2, _ = _received(central, clock, 3)
    _accepted(central, clock, n2, w, 3, dt.date(2026, 11, 6))
    _finished(central, clock, n2, w, 9, level=2)           # late, a bad review
    n3, _ = _received(central, clock, 4)
    central.act(n3, "case.returned", window=w, staff="wang", reason="材料不符")
    n4, _ = _received(central, clock, 4)
    central.act(n4, "case.refused", window=w, staff="wang", reason="不属本机关职权")
    n5, _ = _received(central, clock, 5)
    _accepted(central, clock, n5, w, 5, dt.date(2026, 11, 12))  # still open: overdue by the 25th
    n6, _ = _received(central, clock, 30, month=10)
    _accepted(central, clock, n6, w, 30, dt.date(2026, 11, 4), month=10)
    _finished(central, clock, n6, w, 2, level=4)           # October's case finished in November
    _at(clock, 25)
    return central, w


def test_november_figures_match_the_known_history(history):
    central, window = history
    with central.log._lock:
        db = central.log.db
        rows = reports.monthly(db, "2026-11", "window", today=dt.date(2026, 11, 25))
        october = reports.total(reports.monthly(db, "2026-10", "node", today=dt.date(2026, 11, 25)))
    assert [r.key for r in rows] == [window]
    row = rows[0]
    assert (row.received, row.accepted, row.finished, row.on_time, row.overdue, row.returned, row.refused) == \
        (5, 3, 3, 2, 2, 1, 1)
    assert row.on_time_pct == 66.7 and (row.evaluated, row.satisfied) == (3, 2) and row.satisfaction_pct == 66.7
    assert row.fees_fen == 0
    assert (october.received, october.accepted, october.finished) == (1, 1, 0)
    assert october.on_time_pct is None and october.satisfaction_pct is None


def test_month_text_is_checked():
    assert reports.parse_month("2026-12") == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    for bad in ("2026-13", "2026/11", "", "26-11"):
        with pytest.raises(ValueError):
            reports.parse_month(bad)


def test_monthly_page_tables_chart_and_xlsx(history, app, page, central_url, artifacts):
    import io
    import re
    import xml.etree.ElementTree as ET

    from centralkit import Clerk
    from openpyxl import load_workbook

    _central, window = history
    li = Clerk(app, "li")
    html = li.get("/reports/monthly?month=2026-11")
    assert html.status_code == 200
    table = re.search(r'<table class="data compact" id="report-window">.*?</table>', html.text, re.S).group(0)
    assert "<td>5</td><td>3</td><td>3</td><td>66.7</td><td>2</td><td>1</td><td>1</td>" in table
    svg = re.search(r"<svg.*?</svg>", html.text, re.S).group(0)
    assert ET.fromstring(svg).tag.endswith("svg")
    assert li.get("/reports/monthly?month=2026-13").status_code == 400
    assert Clerk(app, "wang").get("/reports/monthly").status_code == 403

    xlsx = li.get("/reports/monthly.xlsx?month=2026-11")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    assert len(book.sheetnames) == 3
    rows = list(book[book.sheetnames[2]].iter_rows(values_only=True))
    assert rows[0][1] == "2026-11" and rows[2][0].startswith(window)
    assert list(rows[2][1:]) == [5, 3, 3, 66.7, 2, 1, 1, 0, 66.7]
    assert rows[-1][1] == 5  # the total line

    page.goto(f"{central_url}/login")
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", "window-pass-1")
    page.click("button[type=submit]")
    page.goto(f"{central_url}/reports/monthly?month=2026-11")
    assert page.locator("svg.bar-chart rect").count() >= 1
    page.screenshot(path=str(artifacts / "monthly.png"), full_page=True)


def test_fees_collected_count_what_the_settlement_centre_took(history, app):
    from centralkit import Clerk

    from central import settlement_store

    central, bdc_window = history
    wang = Clerk(app, "wang")
    assert wang.post("/window/choose", {"window": "W06"}).status_code == 302
    item = central.catalogue().item("GA005")
    response = wang.post("/window/intake?item=GA005", {
        "applicant_type": "person", "name": "王小明", "id_number": "11010519491231002X", "phone": "13812345678",
        "materials": [m.name for m in item.materials], "card": ""})
    number = response.headers["Location"].rsplit("/", 1)[1]
    assert wang.post(f"/window/case/{number}/fees", {"use_F0203": "1"}).status_code == 302
    notice = settlement_store.notices_of_case(central.log.db, number)[0]
    assert Clerk(app, "qian").post(f"/settlement/notice/{notice.assessment}/pay", {"method": "cash"}).status_code == 302
    fee = central.catalogue().fee("F0203").assess()
    assert fee > 0
    with central.log._lock:
        rows = {r.key: r for r in reports.monthly(central.log.db, "2026-11", "window", today=dt.date(2026, 11, 25))}
    assert rows[item.window].fees_fen == fee and rows[item.window].received == 1
    assert rows[bdc_window].fees_fen == 0
