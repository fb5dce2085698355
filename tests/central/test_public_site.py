"""The public site at central, signed out: the guide looks like a public site (no staff menu, links
to the status query and the kiosk, the centre's hours and address), finds items by pinyin initials,
shows the six public things, and hands out every item's application form as an A4 page and as a
Word file that opens and lists the item's materials.

Screenshots and PDFs go to test-artifacts/test_public_site/ for a person to look at.
"""

from __future__ import annotations

import io
import re
import subprocess

import pytest
from centralkit import Clerk
from docx import Document

STAFF_PATHS = ("/window", "/supervision", "/settlement", "/admin", "/card", "/reports", "/login")


def _docx_text(data: bytes) -> tuple[str, list[list[str]]]:
    doc = Document(io.BytesIO(data))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [[c.text for c in row.cells] for table in doc.tables for row in table.rows]
    return text, cells


def test_guide_pages_signed_out_are_a_public_site(app):
    client = app.test_client()
    page = client.get("/guide/").text
    nav = re.search(r'<nav class="main-nav public-nav".*?</nav>', page, re.S).group(0)
    for path in ("/guide/", "/guide/forms", "/status", "/kiosk/"):
        assert f'href="{path}"' in nav, path
    assert not any(f'href="{p}' in page for p in STAFF_PATHS)
    centre = app.extensions["central"].catalogue().centre
    foot = re.search(r'<div class="public-foot" id="centre-info">.*?</div>', page, re.S).group(0)
    assert centre.address in foot and centre.hours in foot
    item = client.get("/guide/item/SCJG001").text
    assert "window/intake" not in item  # the clerk's "take in" button is for staff only
    status = client.get("/status").text
    assert 'class="main-nav public-nav"' in status and centre.hours in status


def test_staff_keep_their_own_menu_on_the_guide(app):
    wang = Clerk(app, "wang")
    page = wang.get("/guide/").text
    assert "public-nav" not in page and 'href="/window/"' in page
    assert 'id="forms-link"' in page


def test_forms_index_by_department_and_searchable(app):
    client = app.test_client()
    catalogue = app.extensions["central"].catalogue()
    every = client.get("/guide/forms").text
    assert every.count('/form.docx"') == len(catalogue.items)
    assert every.index('id="dept-fgw"') < every.index('id="dept-bdc"')  # catalogue order
    found = client.get(
        "/guide/forms", query_string={"q": "bdczydj"}
    ).text  # 不动产转移登记 by pinyin initials
    sections = re.findall(r'<section class="forms-dept" id="dept-(\w+)"', found)
    assert sections == ["bdc"] and "不动产登记申请书" in found
    one = client.get("/guide/forms", query_string={"department": "mzj"}).text
    assert re.findall(r'<section class="forms-dept" id="dept-(\w+)"', one) == ["mzj"]


def test_form_download_is_a_word_file_with_the_items_materials(app):
    client = app.test_client()
    item = app.extensions["central"].catalogue().item("SCJG004")
    response = client.get("/guide/item/SCJG004/form.docx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    disposition = response.headers["Content-Disposition"]
    assert 'filename="SCJG004.docx"' in disposition and "filename*=UTF-8''SCJG004-" in disposition
    text, cells = _docx_text(response.data)
    assert "个体工商户登记（备案）申请书" in text and "承诺" in text
    names = [row[1] for row in cells if row and row[0].isdigit()]
    assert names == [m.name for m in item.materials]
    labels = {c for row in cells for c in row}
    assert {
        "姓名",
        "公民身份号码",
        "代办人姓名",
    } <= labels and "统一社会信用代码" not in labels  # a person applies
    assert client.get("/guide/item/NOPE/form.docx").status_code == 404


@pytest.mark.browser
def test_public_guide_in_chromium(app, central_url, page, artifacts, tmp_path):
    catalogue = app.extensions["central"].catalogue()
    page.set_default_timeout(8000)
    page.goto(central_url + "/guide/")
    assert page.locator(".public-nav").is_visible()
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if h.startswith(STAFF_PATHS)], hrefs
    assert catalogue.centre.address in page.inner_text("footer")
    page.fill("#q", "zdshbz")  # 最低生活保障 by pinyin initials
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    assert "最低生活保障申请" in page.inner_text("table.guide-list")
    page.screenshot(path=str(artifacts / "guide_search.png"), full_page=True)
    page.click("text=最低生活保障申请")
    page.wait_for_load_state()
    for n, heading in enumerate(("事项", "设定依据", "办理程序", "申报材料", "办理时限", "收费标准"), 1):
        assert heading in page.inner_text(f"#six-{n} h2")
    for material in catalogue.item("MZJ001").materials:
        assert material.name in page.inner_text("#materials")
    page.screenshot(path=str(artifacts / "guide_item.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#item-form-docx")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "MZJ001-最低生活保障申请书.docx"
    _, cells = _docx_text(saved.read_bytes())
    assert "户口簿、共同生活家庭成员居民身份证" in {row[1] for row in cells if len(row) > 1}

    page.click("#item-form")
    page.wait_for_load_state()
    assert page.inner_text("#application-form h1").replace(" ", "") == "最低生活保障申请书"
    page.screenshot(path=str(artifacts / "form_screen.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator(".public-nav").is_visible() and not page.locator("[data-print]").is_visible()
    pdf = artifacts / "form_MZJ001.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1))
    assert 1 <= pages <= 2, info
    assert re.search(r"^Page size:.*\(A4\)$", info, re.M), info
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    for expected in (
        "最低生活保障申请书",
        "MZJ001",
        "公民身份号码",
        "代办人",
        "申请人（签字或盖章）",
        "办理须知",
        *(m.name for m in catalogue.item("MZJ001").materials),
    ):
        assert expected in text.replace(" ", ""), expected
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(artifacts / "form_MZJ001")], check=True)

    page.emulate_media(media="screen")
    page.goto(central_url + "/guide/forms?q=bdc")
    page.screenshot(path=str(artifacts / "forms_index.png"), full_page=True)
    # the widest form (an item either a person or an organisation applies for) still fits two pages
    page.goto(central_url + "/guide/item/BDC001/form")
    page.emulate_media(media="print")
    wide = artifacts / "form_BDC001.pdf"
    page.pdf(path=str(wide), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(wide)], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"^Pages:\s+(\d+)$", info, re.M).group(1)) <= 2, info
