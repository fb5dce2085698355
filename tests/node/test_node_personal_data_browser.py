"""A village clerk in real Chromium: the case page masks the ID and phones, "show in full" asks why and
records it, and a scan the city has archived is shown as such. Screenshots go to
test-artifacts/test_node_personal_data_browser/ for a person to look at."""

from __future__ import annotations

import pytest
from nodekit import ingest, sign_in
from PIL import Image

from node.context import Node
from store import scans as store_scans

pytestmark = pytest.mark.browser
ID = "11010519491231002X"


def _photo(tmp_path, shade: int):  # type: ignore[no-untyped-def]
    path = tmp_path / f"scan-{shade}.png"
    Image.new("RGB", (1200, 800), (shade, 230, 220)).save(path, "PNG")
    return path


def test_show_in_full_and_an_archived_scan(village, village_dir, page, artifacts, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base, app = village
    sign_in(page, base)
    page.goto(base + "/intake/new?item=GA006")
    page.fill("#name", "姚大")
    page.fill("#id_number", ID)
    page.fill("#phone", "13812345678")
    page.set_input_files("#scan_0", str(_photo(tmp_path, 200)))
    page.set_input_files("#scan_1", str(_photo(tmp_path, 120)))
    for box in page.locator("input[id^=have_]").all():
        box.check()
    page.click("#intake-form button[type=submit]")
    page.wait_for_load_state()
    number = page.inner_text("#case-number").strip()
    page.goto(base + f"/case/{number}")
    assert ID not in page.content()
    page.click("#number-id summary")
    page.screenshot(path=artifacts / "case_unmask_form.png", full_page=True)
    page.select_option("#reason-id", "applicant_present")
    page.fill("#reason-text-id", "本人到场核对")
    page.click("#number-id button[type=submit]")
    page.wait_for_load_state()
    assert page.inner_text("#number-id .revealed") == ID
    page.screenshot(path=artifacts / "case_unmasked.png", full_page=True)

    # the city archives one of the two scans; the village drops its copy
    the_node: Node = app.extensions["bianmin_node"]
    first = store_scans.scans_of(the_node.log.db, number)[0]
    folder, central = village_dir
    ingest(folder, "V000101", central, [central.sign("scans.archived", {
        "case": number, "scans": [first], "ended": "delivered", "closed_at": "", "after_days": 30, "policy": 0})])
    the_node.blobs.drop(first)
    page.goto(base + f"/case/{number}")
    assert page.locator(".scan-archived").count() == 1 and "已在市中心归档" in page.inner_text(".scan-archived")
    assert page.locator("a[href*='/scan/']").count() == 1
    page.screenshot(path=artifacts / "case_scan_archived.png", full_page=True)
    records = [s.record.body for s in the_node.log.records_after(0, kinds=["access.logged"], limit=100)]
    assert [b["action"] for b in records] == ["unmask_id"] and records[0]["reason"]["text"] == "本人到场核对"
