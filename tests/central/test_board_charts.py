"""The supervision board's charts: inline SVG drawn on the server (no script anywhere on the page),
named for screen readers, showing the figures the board counted from real case records; the daily
intake is read from its own index."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from centralkit import Clerk

from casework.cases import item_snapshot
from central import board_store

SVG = "{http://www.w3.org/2000/svg}"


def _case(central, code: str, *, due_in: int | None) -> str:
    """A case taken in at its city window today (central's clock), accepted with a due date `due_in`
    days from today (None: left waiting at reception)."""
    item = central.catalogue().item(code)
    number = central.next_number("case")
    central.act(
        number,
        "case.received",
        window=item.window,
        staff="wang",
        item=item_snapshot(item),
        applicant={"type": "person", "name": "张三"},
        materials=[m.name for m in item.materials],
    )
    if due_in is not None:
        central.act(
            number,
            "case.accepted",
            window=item.window,
            staff="wang",
            due_date=(central.today() + dt.timedelta(days=due_in)).isoformat(),
        )
    return number


def _figures(html: str) -> dict[str, ET.Element]:
    figures = dict(re.findall(r'<figure class="chart-panel" id="chart-(\w+)">(.*?)</figure>', html, re.S))
    return {name: ET.fromstring(svg) for name, svg in figures.items()}


def test_board_draws_its_tallies_as_svg_without_script(app, clock):
    central = app.extensions["central"]
    today = clock.now
    clock.now = today - dt.timedelta(days=3)
    _case(central, "GA005", due_in=1)  # due two days before today: overdue now
    clock.now = today
    _case(central, "GA005", due_in=1)  # due soon
    _case(central, "MZJ006", due_in=None)
    _case(central, "BDC001", due_in=10)
    html = Clerk(app, "li").get("/supervision/").text
    assert "<script>" not in html and "<script " not in html.replace(
        '<script src="/static/web/js/bianmin.js" defer></script>', ""
    )
    figures = _figures(html)
    assert set(figures) == {"department", "received", "window", "node"}
    for svg in figures.values():
        assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
        assert svg.find(f"{SVG}title").text and svg.find(f"{SVG}desc").text
        assert not list(svg.iter(f"{SVG}script"))
    department = figures["department"]
    labels = [t.text for t in department.iter(f"{SVG}text")]
    assert "市公安局" in labels and "市民政局" in labels and "市不动产登记中心" in labels
    tips = {t.text for t in department.iter(f"{SVG}title")}
    assert {"市公安局 已超期: 1", "市公安局 即将到期: 1", "市不动产登记中心 其他在办: 1"} <= tips
    assert "4" in figures["department"].find(f"{SVG}desc").text  # 4 open cases
    received = figures["received"].find(f"{SVG}desc").text
    assert "共收件 4 件" in received and "便民服务点 0 件" in received, received
    window = [t.text for t in figures["window"].iter(f"{SVG}text")]
    assert any(label and label.startswith("W06") for label in window)
    assert "没有超期或即将到期的办件" in figures["node"].find(f"{SVG}desc").text
    _case(central, "SW004", due_in=None)  # today's intake is counted on every view (past days are kept a while)
    again = _figures(Clerk(app, "li").get("/supervision/").text)["received"].find(f"{SVG}desc").text
    assert "共收件 5 件" in again, again


def test_received_per_day_counts_service_points_and_windows_from_its_index(app):
    central = app.extensions["central"]
    db = central.log.db
    rows = []
    for i, (day, node) in enumerate(
        [
            ("2026-11-20", ""),
            ("2026-11-20", "V000101"),
            ("2026-11-20", "T0101"),
            ("2026-11-24", ""),
            ("2026-10-01", ""),
            ("2026-11-26", "V000101"),
        ]
    ):
        rows.append(
            (
                f"C-X-{i}",
                "GA005",
                "x",
                "promised",
                "ga",
                "W06",
                "window:W06",
                "window:W06",
                "accepted",
                1,
                0,
                node,
                day,
                board_store.NO_DUE,
                None,
                "张*",
                None,
                0,
                0,
                0,
                "",
                "t",
            )
        )
    with central.log.transaction():
        board_store.insert_many(db, rows)
    counts = board_store.received_per_day(db, dt.date(2026, 10, 27), dt.date(2026, 11, 25))
    assert counts == {"2026-11-20": (2, 1), "2026-11-24": (0, 1)}
    plan = " ".join(
        str(r[-1])
        for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT received_day, node != '', count(*) FROM board_cases INDEXED BY board_received"
            " WHERE received_day >= '2026-10-27' AND received_day <= '2026-11-25' GROUP BY received_day, node != ''"
        )
    )
    assert "COVERING INDEX board_received" in plan


@pytest.mark.browser
def test_board_charts_in_chromium(app, central_url, page, artifacts, clock):
    central = app.extensions["central"]
    for days_ago, code, due in (
        (6, "GA005", 1),
        (4, "MZJ006", 2),
        (2, "BDC001", 1),
        (0, "GA005", 1),
        (0, "SW004", 9),
    ):
        clock.now = clock.now - dt.timedelta(days=days_ago)
        _case(central, code, due_in=due)
        clock.now = clock.now + dt.timedelta(days=days_ago)
    page.set_default_timeout(8000)
    page.goto(central_url + "/login")
    page.fill("#username", "li")
    page.fill("#password", "window-pass-1")
    page.click("main button[type=submit]")
    page.goto(central_url + "/supervision/")
    assert page.locator("#board-charts svg").count() == 4
    assert page.locator("script:not([src])").count() == 0
    box = page.locator("#chart-department svg").bounding_box()
    assert 300 < box["width"] < 700  # two charts a row at 1366 px
    page.screenshot(path=str(artifacts / "board.png"), full_page=True)
    page.emulate_media(media="print")
    page.pdf(path=str(artifacts / "board.pdf"), format="A4", print_background=True)
