"""The application forms at a village room: the same pages as central's public site (written once in
web/), behind the clerk's sign-in, inside the node's own menu, printed on A4 for a villager."""

from __future__ import annotations

import io
import re
import subprocess

import pytest
import requests
from docx import Document
from nodekit import sign_in


def test_forms_need_a_sign_in_at_a_node(village) -> None:  # type: ignore[no-untyped-def]
    base, _ = village
    for path in ("/guide/forms", "/guide/item/MZJ001/form", "/guide/item/MZJ001/form.docx"):
        response = requests.get(base + path, allow_redirects=False, timeout=10)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


@pytest.mark.browser
def test_village_clerk_prints_a_form_for_a_villager(village, page, artifacts, tmp_path) -> None:  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/guide/")
    page.click("#forms-link")
    page.wait_for_load_state()
    assert page.locator(".main-nav").is_visible() and page.locator(".public-nav").count() == 0
    page.fill("#q", "zdshbz")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    assert re.findall(r'id="dept-(\w+)"', page.content()) == ["mzj"]
    page.screenshot(path=str(artifacts / "forms.png"), full_page=True)
    with page.expect_download() as download:
        page.click("a[href='/guide/item/MZJ001/form.docx']")
    doc = Document(io.BytesIO(download.value.path().read_bytes()))
    assert "最低生活保障申请书" in "\n".join(p.text for p in doc.paragraphs)
    page.click("a[href='/guide/item/MZJ001/form']")
    page.wait_for_load_state()
    page.emulate_media(media="print")
    assert not page.locator(".main-nav").is_visible()
    pdf = artifacts / "form.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info  # a person's form fits one sheet
