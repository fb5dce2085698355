"""The sync page: status in plain words, and USB-stick sync from the browser."""

from __future__ import annotations

import zipfile

import pytest
from nodekit import sign_in

pytestmark = pytest.mark.browser


def test_export_for_the_usb_stick_and_refuse_a_bad_reply(village, page, artifacts, tmp_path):  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/intake/new?item=SFJ002")
    page.fill("#name", "钱多")
    page.fill("#id_number", "11010519491231002X")
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    page.goto(base + "/sync/")
    assert "条记录" in page.inner_text(".sync-box")
    page.screenshot(path=str(artifacts / "sync_page.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#export-bundle")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.startswith("V000101-")
    with zipfile.ZipFile(path) as z:
        assert {"manifest.json", "manifest.sig", "records.bin"} <= set(z.namelist())
    # the bundle is not a reply: refused, nothing stored
    page.set_input_files("#reply", str(path))
    page.click("#import-reply")
    page.wait_for_load_state()
    assert "不是市中心发给本服务点的回执" in page.inner_text(".flashes") and "均未保存" in page.inner_text(".flashes")
    page.screenshot(path=str(artifacts / "sync_page_refused.png"), full_page=True)


def test_records_a_projection_cannot_use_are_listed(village, village_dir, page):  # type: ignore[no-untyped-def]
    from nodekit import ingest

    folder, central = village_dir
    ingest(folder, "V000101", central, [central.sign("catalogue.published", {"version": 2, "data": {"bad": 1}})])
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/sync/")
    assert "catalogue.published" in page.inner_text("#record-problems")
    page.goto(base + "/guide/")                      # the good version stays in use
    assert page.locator("table tbody tr").count() > 10
