"""The administrator's USB bundle page in real Chromium: a bundle sealed for another central is
refused in Chinese (nothing stored, the reply that brings the current key offered), a good one is
imported and its reply downloaded for the stick. Screenshots in test-artifacts/."""

from __future__ import annotations

import zipfile

import pytest
from villagekit import make_village

from sync.sealing import SealingKey

pytestmark = pytest.mark.browser


def _login(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.set_default_timeout(8000)
    page.goto(url + "/login")
    page.fill("#username", "admin")
    page.fill("#password", "admin-pass-1")
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_the_bundle_page_refuses_and_imports(page, central_url, app, artifacts, tmp_path) -> None:  # type: ignore[no-untyped-def]
    village = make_village(app, tmp_path / "village")
    try:
        wrong = tmp_path / "wrong.zip"
        wrong.write_bytes(village.export("wrong.zip", seal_to=SealingKey.generate().recipient("C")))
        good = tmp_path / "V000101-1-3.zip"
        good.write_bytes(village.export("good.zip"))
        _login(page, central_url)
        page.goto(central_url + "/admin/")
        page.click("text=U盘数据包")
        page.wait_for_load_state()
        assert "服务点U盘数据包" in page.inner_text("h1")
        assert page.inner_text("#plain-policy") == "拒收"
        page.screenshot(path=artifacts / "bundle_page.png", full_page=True)

        page.set_input_files("#bundle", str(wrong))
        with page.expect_navigation():
            page.click("#import-bundle")
        problem = page.inner_text("#bundle-problem")
        assert "为其他市中心服务器加封" in problem and "其中的内容均未保存" in problem
        assert page.locator("#reply-download").is_visible()
        assert app.extensions["central"].log.head("V000101")[0] == 0
        page.screenshot(path=artifacts / "bundle_page_sealed_elsewhere.png", full_page=True)

        page.set_input_files("#bundle", str(good))
        with page.expect_navigation():
            page.click("#import-bundle")
        result = page.inner_text("#bundle-result")
        assert "数据包已导入" in result and "3" in result
        assert app.extensions["central"].log.head("V000101")[0] == 3
        page.screenshot(path=artifacts / "bundle_page_imported.png", full_page=True)
        with page.expect_download() as info:
            page.click("#bundle-result #reply-download")
        reply = tmp_path / info.value.suggested_filename
        info.value.save_as(reply)
        assert reply.name.startswith("V000101-reply-")
        with zipfile.ZipFile(reply) as z:
            assert "answer.json" in z.namelist() and not [n for n in z.namelist() if n.startswith("blobs/")]
        assert page.locator("#replies tbody tr").count() == 2  # the refused one's reply and this one
    finally:
        village.blobs.close()
        village.log.close()
