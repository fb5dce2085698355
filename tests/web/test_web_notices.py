"""A notice printed from Chromium to an A4 PDF: one page, the texts on it, a QR code that scans."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from web_testapp import NOTICE, make_app, sign_in

from web.notices import notice_view, render_notice

pytestmark = pytest.mark.browser
STATUS_URL = "https://bianmin.rugao.example/status?case=T0001-20261125-0007"


def test_notice_prints_on_one_a4_page_with_a_scannable_qr(page: Any, base_url: str, artifacts: Path) -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    sign_in(page, base_url, "zhangsan", path="/notice")
    page.wait_for_url(base_url + "/notice")
    assert page.locator(".sheet h1").inner_text().replace(" ", "") == "补办件通知单"
    page.screenshot(path=str(artifacts / "notice_screen_zh.png"), full_page=True)
    assert page.locator("[data-print]").is_visible()

    pdf = artifacts / "notice_zh.pdf"
    page.emulate_media(media="print")
    assert not page.locator(".top-bar").is_visible()  # header, menu, buttons: not on paper
    assert not page.locator("[data-print]").is_visible()
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)

    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    assert re.search(r"^Page size:.*\(A4\)$", info, re.M), info
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    for expected in ("如皋市丁堰镇便民服务中心", "T0001-20261125-0007", "王小明", "经营者身份证明",
                     "2026年11月25日", "行政许可法", "扫码查询办理进度", "经办人（签字）"):
        assert expected in text, expected

    subprocess.run(["pdftoppm", "-png", "-r", "100", "-singlefile", str(pdf), str(artifacts / "notice_page")],
                   check=True)
    image = Image.open(artifacts / "notice_page.png")
    found = zxingcpp.read_barcodes(image)
    assert [b.text for b in found] == [STATUS_URL]


def test_notice_view_accepts_dataclasses_and_dicts(tmp_path: Path) -> None:
    import dataclasses

    @dataclasses.dataclass
    class Field:
        label: str
        value: str

    @dataclasses.dataclass
    class Content:
        title: str
        case: str
        fields: list[Field]
        total_fen: int

    app = make_app(tmp_path)
    with app.test_request_context("/?lang=en"):
        view = notice_view(Content("Payment notice", "C-20261125-0001", [Field("Fee", "x")], 123450))
        assert view.title == "Payment notice"
        assert view.fields == [("Fee", "x")]
        assert view.status_url == "https://bianmin.rugao.example/status?case=C-20261125-0001"
        assert "<svg" in view.qr
        html = render_notice(NOTICE)
        assert "¥" not in html  # no total given
        assert "<script>" not in html
    with app.test_request_context("/"):
        html = render_notice({**NOTICE, "total_fen": 123450, "title": "<b>x</b>"})
        assert "¥1,234.50" in html and "合计" in html
        assert "&lt;b&gt;x&lt;/b&gt;" in html  # content is escaped, never trusted as markup


def test_a_casework_notice_is_laid_out(tmp_path: Path) -> None:
    """casework.notices.Notice (dataclass with Field(key, label, value)) is read as it is."""
    notices = pytest.importorskip("casework.notices")
    import datetime as dt

    content = notices.Notice(
        kind="promise", title="承诺件通知单", number="T0001-20261125-0007", case="T0001-20261125-0007",
        date=dt.date(2026, 11, 25), place="如皋市丁堰镇便民服务中心", applicant="王小明",
        fields=(notices.Field("due", "承诺办结日期", "2026年12月9日"),),
        lines=("请于承诺办结日期后凭本通知单领取结果。",), provisional=True,
        status_path="/status?case=T0001-20261125-0007",
    )
    app = make_app(tmp_path)
    with app.test_request_context("/"):
        view = notice_view(content)
        assert view.fields == [("承诺办结日期", "2026年12月9日")]
        assert view.status_url == STATUS_URL
        html = render_notice(content)
    assert 'class="sheet notice-promise"' in html
    assert "尚未发布" in html  # the provisional date is said so on paper
