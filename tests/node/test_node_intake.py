"""The clerk's main flows in real Chromium against the node served by waitress.

Every test takes screenshots into test-artifacts/test_node_intake/ for a person to look at.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from nodekit import sign_in
from PIL import Image

from store import cases as store_cases
from store.db import open_db

pytestmark = pytest.mark.browser

ID = "11010519491231002X"   # the standard's own sample resident ID
PHONE = "13812345678"


def photo(tmp_path: Path, name: str = "scan.png", size: tuple[int, int] = (3000, 2000)) -> Path:
    """A large 'phone photo' of a document (reduced by the node before it is stored)."""
    img = Image.new("RGB", size, (240, 240, 230))
    for x in range(0, size[0], 50):
        img.paste((20, 20, 20), (x, 0, x + 5, size[1]))
    path = tmp_path / name
    img.save(path, "PNG")
    return path


def fill_applicant(page, name: str = "张三") -> None:  # type: ignore[no-untyped-def]
    page.fill("#name", name)
    page.fill("#id_number", ID)
    page.fill("#phone", PHONE)


def case_number(page) -> str:  # type: ignore[no-untyped-def]
    return page.inner_text("#case-number").strip()


def state_of(folder: Path, number: str):  # type: ignore[no-untyped-def]
    db = open_db(folder / "bianmin.sqlite")
    try:
        return store_cases.get_case_state(db, number)
    finally:
        db.close()


def test_immediate_item_finished_on_the_spot_with_delivery_notice_and_evaluation(
        village, village_dir, page, artifacts, tmp_path):  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/guide/?q=SW006")
    page.click("text=城乡居民社会保险费缴纳")
    page.screenshot(path=str(artifacts / "guide_item.png"), full_page=True)
    page.click("a[href*='/intake/new?item=SW006']")
    fill_applicant(page)
    page.set_input_files("#scan_0", str(photo(tmp_path)))
    page.screenshot(path=str(artifacts / "intake_form_immediate.png"), full_page=True)
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    number = case_number(page)
    assert re.fullmatch(r"V000101-\d{6}-\d{4}-[\dX]", number)
    page.screenshot(path=str(artifacts / "intake_done_immediate.png"), full_page=True)
    state = state_of(village_dir[0], number)
    assert state.status.value == "delivered"
    scans = [s for s in state.material_scans if s["sha256"]]
    assert len(scans) == 1
    # the photo was reduced on the node before it could travel
    blob = (village_dir[0] / "blobs")
    data = _blob(village_dir[0], scans[0]["sha256"])
    with Image.open(io.BytesIO(data)) as img:
        assert max(img.size) <= 1600 and img.format == "JPEG"
    del blob

    page.click("#print-notice")
    assert "送达通知书" in page.inner_text("h1")
    assert number in page.inner_text(".sheet")
    page.pdf(path=str(artifacts / "delivery_notice.pdf"), format="A4")
    page.screenshot(path=str(artifacts / "delivery_notice.png"), full_page=True)

    page.goto(base + f"/case/{number}/evaluate")
    page.check("input[name=level][value='2']")
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert page.locator(".error-summary").is_visible()
    page.screenshot(path=str(artifacts / "evaluate_bad_without_reason.png"), full_page=True)
    assert page.locator("input[name=level][value='2']").is_checked()  # the choice is kept
    page.fill("#reason", "等候时间太长")
    page.click("button[type=submit].primary")
    page.wait_for_selector("text=感谢")
    state = state_of(village_dir[0], number)
    assert [(e.level, e.reason, e.channel) for e in state.evaluations] == [(2, "等候时间太长", "counter")]


def _blob(folder: Path, sha: str) -> bytes:
    """A scan's plain bytes: on disk it is encrypted under the node's scan key (sync/blobcrypt.py)."""
    from sync.blobcrypt import DataKey, default_data_key_path
    from sync.blobs import BlobStore

    store = BlobStore(folder / "blobs", cipher=DataKey.load(default_data_key_path(folder / "bianmin.sqlite")))
    try:
        return store.read(sha)
    finally:
        store.close()


def test_incomplete_application_gets_one_notice_with_every_missing_material_then_is_supplemented(
        village, village_dir, page, artifacts):  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/intake/new?item=SFJ002")   # 人民调解申请: decided at the village
    fill_applicant(page, "李四")
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    number = case_number(page)
    assert "outcome-supplement" in page.get_attribute(".intake-done", "class")
    page.click("#print-notice")
    sheet = page.inner_text(".sheet")
    assert "补办件通知单" in page.inner_text("h1")
    assert "人民调解申请书" in sheet and "当事人身份证" in sheet   # both missing, in ONE notice
    page.screenshot(path=str(artifacts / "supplement_notice.png"), full_page=True)
    assert state_of(village_dir[0], number).status.value == "waiting_supplement"

    # the home page lists it as waiting
    page.goto(base + "/")
    assert number in page.inner_text("body")
    page.screenshot(path=str(artifacts / "home_waiting.png"), full_page=True)

    # the applicant comes back with everything
    page.goto(base + f"/case/{number}")
    page.click("#action-supplemented summary")
    page.click("#action-supplemented button[type=submit]")
    page.wait_for_load_state()
    assert state_of(village_dir[0], number).status.value == "received"
    page.click("#action-accepted summary")
    page.click("#action-accepted button[type=submit]")
    page.wait_for_load_state()
    page.click("#action-promised summary")
    page.click("#action-promised button[type=submit]")
    page.wait_for_load_state()
    assert "承诺件通知单" in page.inner_text("h1")
    state = state_of(village_dir[0], number)
    assert state.status.value == "promised" and state.due_date is not None
    page.goto(base + f"/case/{number}")
    page.screenshot(path=str(artifacts / "case_page_promised.png"), full_page=True)
    # every notice so far can be printed again from the case page
    links = page.locator(".notice-links a")
    kinds = [links.nth(i).get_attribute("href").rsplit("/", 1)[1] for i in range(links.count())]
    assert {"receipt", "supplement", "promise"} <= set(kinds)
    timeline = page.inner_text(".timeline")
    assert "未核验" not in timeline and timeline.count("已验证") >= 5


def test_forwarded_item_gets_a_receipt_naming_where_it_went(village, village_dir, page, artifacts):  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/intake/new?item=MZJ001")   # 低保: decided by the town
    fill_applicant(page, "王五")
    for i in range(4):
        page.check(f"#have_{i}")
    page.check("input[name=proxy]")
    page.fill("#proxy_name", "王村干")
    page.fill("#authorisation", "本人签字的代办委托书，已留存")
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    number = case_number(page)
    page.click("#print-notice")
    sheet = page.inner_text(".sheet")
    assert "受理回执" in page.inner_text("h1") and "转报" in sheet
    page.screenshot(path=str(artifacts / "receipt_forwarded.png"), full_page=True)
    state = state_of(village_dir[0], number)
    assert state.status.value == "forwarded" and state.pending_handover == "node:T0101"
    assert state.proxy["authorisation"].startswith("本人签字")
    # the village no longer holds it: no status action is offered
    page.goto(base + f"/case/{number}")
    summaries = page.locator("details.action summary").all_inner_texts()
    assert not any(s.strip() == "受理" for s in summaries)
    # home lists it as forwarded and not yet receipted by the city
    page.goto(base + "/")
    assert number in page.inner_text("body")


def test_tolerated_gap_accepted_with_signed_commitment(town, town_dir, page, artifacts):  # type: ignore[no-untyped-def]
    base, _ = town
    sign_in(page, base)
    page.goto(base + "/intake/new?item=SCJG009")   # 小餐饮经营登记: the health certificate may follow
    fill_applicant(page, "赵六")
    for i in (0, 1, 2, 4):
        page.check(f"#have_{i}")
    page.check("input[name=gap_3]")
    page.fill("#commitment_signed_by", "赵六")
    with page.expect_navigation():
        page.click("#intake-submit")   # no deadline, not signed: refused, nothing lost
    assert page.locator(".error-summary").is_visible()
    assert page.input_value("#name") == "赵六" and page.is_checked("input[name=gap_3]")
    page.screenshot(path=str(artifacts / "gap_refused_kept.png"), full_page=True)
    deadline = page.locator(".gap-commitment .hint").inner_text()
    assert deadline
    page.fill("#commitment_deadline", _date_in_days(3))
    page.check("input[name=commitment_signed]")
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    number = case_number(page)
    state = state_of(town_dir[0], number)
    assert state.status.value == "promised"
    assert state.gap is not None and state.gap.materials == ("从业人员健康证明",)
    page.click("#print-notice")
    assert "容缺" in page.inner_text(".sheet")
    page.screenshot(path=str(artifacts / "promise_notice_gap.png"), full_page=True)


def _date_in_days(n: int) -> str:
    import datetime as dt

    from casework.calendar import WorkCalendar

    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    return WorkCalendar.packaged().add_working_days(today.replace(tzinfo=None), n, allow_provisional=True).date.isoformat()


def test_bad_input_keeps_what_was_typed_and_uploaded(village, page, artifacts, tmp_path):  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/intake/new?item=SFJ002")
    page.fill("#name", "钱七")
    page.fill("#id_number", "110105194912310021")   # wrong check digit
    page.fill("#phone", "1381234")                  # too short
    page.set_input_files("#scan_0", str(photo(tmp_path, size=(800, 600))))
    with page.expect_navigation():
        page.click("#intake-submit")
    assert page.locator(".error-summary").is_visible()
    page.screenshot(path=str(artifacts / "intake_errors.png"), full_page=True)
    assert page.input_value("#name") == "钱七"
    assert page.input_value("#id_number") == "110105194912310021"
    assert page.locator(".hint.kept").count() == 1           # the scan is kept, not asked for again
    page.fill("#id_number", ID)
    page.fill("#phone", PHONE)
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    assert page.locator("#case-number").is_visible()
    # a broken upload is refused with a message, and the rest is kept
    page.goto(base + "/intake/new?item=SFJ002")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    fill_applicant(page)
    page.set_input_files("#scan_1", str(bad))
    with page.expect_navigation():
        page.click("#intake-submit")
    assert page.locator("#scan_1-error").is_visible()
    assert page.input_value("#name") == "张三"
