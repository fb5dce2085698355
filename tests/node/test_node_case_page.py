"""The case page: reprinting any notice, the paper evaluation form entered later, notes, conflicts."""

from __future__ import annotations

import re

import pytest
from nodekit import ingest, sign_in

from casework.cases import new_event_body
from store import cases as store_cases
from store.db import open_db

pytestmark = pytest.mark.browser


def _take_in(page, base: str) -> str:  # type: ignore[no-untyped-def]
    page.goto(base + "/intake/new?item=SW006")
    page.fill("#name", "周九")
    page.fill("#id_number", "11010519491231002X")
    page.check("#have_0")
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    return page.inner_text("#case-number").strip()


def test_reprint_every_notice_and_enter_a_paper_evaluation_later(village, village_dir, page, artifacts):  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    number = _take_in(page, base)
    page.goto(base + f"/case/{number}")
    kinds = [a.get_attribute("href").rsplit("/", 1)[1] for a in page.locator(".notice-links a").all()]
    assert {"receipt", "delivery"} <= set(kinds)
    for kind in kinds:                                   # each can be printed again, any time
        page.goto(base + f"/case/{number}/notice/{kind}")
        assert number in page.inner_text(".sheet .case-number")
        assert page.locator(".sheet-qr svg").count() == 1
        pdf = page.pdf(path=str(artifacts / f"reprint_{kind}.pdf"), format="A4")
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, kind     # one A4 sheet, nothing spills over
    page.goto(base + f"/case/{number}")
    page.screenshot(path=str(artifacts / "case_page_delivered.png"), full_page=True)

    # the applicant left without rating; the paper form comes in a week later
    page.click("#action-evaluated summary")
    page.select_option("#action-evaluated select[name=level]", "1")
    with page.expect_navigation():
        page.click("#action-evaluated button[type=submit]")
    assert page.locator("#action-evaluated[open] .field-error").count() >= 1   # a bad review needs its reason
    page.fill("#action-evaluated textarea[name=reason]", "材料要求没有一次说清")
    page.select_option("#action-evaluated select[name=channel]", "paper")
    page.click("#action-evaluated button[type=submit]")
    page.wait_for_load_state()
    db = open_db(village_dir[0] / "bianmin.sqlite")
    try:
        state = store_cases.get_case_state(db, number)
        assert [(e.level, e.channel) for e in state.evaluations] == [(1, "paper")]
        assert store_cases.get_case_row(db, number).bad_review
    finally:
        db.close()

    # a note from anyone who may see the case
    page.click("#action-note_added summary")
    page.fill("#action-note_added textarea[name=text]", "已电话回访申请人")
    page.click("#action-note_added button[type=submit]")
    page.wait_for_load_state()
    assert "已电话回访申请人" in page.inner_text(".timeline")


def test_a_conflicting_record_is_shown_for_a_person_to_settle(village, village_dir, page, artifacts):  # type: ignore[no-untyped-def]
    """The town accepts a case the village still holds (say, after a restored backup): the record
    is kept, not applied, and shown on the page."""
    folder, central = village_dir
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/intake/new?item=SFJ002")
    page.fill("#name", "吴十")
    page.fill("#id_number", "11010519491231002X")
    page.check("#have_0")
    page.check("#have_1")
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    number = page.inner_text("#case-number").strip()
    db = open_db(folder / "bianmin.sqlite")
    try:
        heads = list(store_cases.get_case_state(db, number).heads)
    finally:
        db.close()
    # central (a window) tries to accept it without being its holder
    body = new_event_body("case.refused", case=number, after=heads, reason="不属于受理范围", window="W12")
    ingest(folder, "V000101", central, [central.sign("case.refused", body)])
    page.goto(base + f"/case/{number}")
    conflicts = page.locator(".conflicts")
    assert conflicts.is_visible()
    assert "W12" in conflicts.inner_text() or "办件" in conflicts.inner_text()
    assert page.locator("tr.not-applied").count() == 1
    page.screenshot(path=str(artifacts / "case_page_conflict.png"), full_page=True)
    # the holder settles it with a note; the conflict stays on record, marked settled
    page.fill(".settle-form input[name=text]", "已与市民政窗口核实，由本站继续办理")
    page.click(".settle-form button")
    page.wait_for_load_state()
    assert page.locator(".conflicts .tag.ok").count() == 1
