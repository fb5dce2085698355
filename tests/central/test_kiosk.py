"""The touch-screen kiosk at /kiosk: public, every link stays inside it (none reaches a sign-in page),
tiles and an on-screen keyboard find an item by pinyin initials, the item's six public things and
printable checklist and form, the status query by on-screen digits revealing nothing personal, the
idle reset back home, and the pages without JavaScript.

Screenshots (1366x768 and 1920x1080) go to test-artifacts/test_kiosk/ for a person to look at.
"""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from centralkit import Clerk
from serving import serve

from central.views_public import MAX_TRIES

PHONE = "13912348765"


class _Links(HTMLParser):
    """Every address a page can lead to: links, form actions and anything loaded."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (
                (tag == "a" and name == "href")
                or (tag == "form" and name == "action")
                or name == "src"
                or (tag == "link" and name == "href")
            ):
                self.found.append(value)


def _links(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.found


def _case(app) -> str:
    """A real case taken in at a city window with a known phone (its number printed on the receipt)."""
    wang = Clerk(app, "wang")
    assert wang.post("/window/choose", {"window": "W06"}).status_code == 302
    item = app.extensions["central"].catalogue().item("GA005")
    response = wang.post(
        "/window/intake?item=GA005",
        {
            "applicant_type": "person",
            "name": "赵小红",
            "id_number": "11010519491231002X",
            "phone": PHONE,
            "materials": [m.name for m in item.materials],
            "card": "",
        },
    )
    assert response.status_code == 302, response.text[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def test_every_kiosk_link_stays_in_the_kiosk(app):
    """Walk the kiosk from its home page: every page answers without a sign-in, and every link,
    form and asset stays under /kiosk or the shared static files, never a staff page or /login."""
    client = app.test_client()
    seen, queue, walked = set(), deque(["/kiosk/"]), 0
    while queue:
        path = queue.popleft()
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        walked += 1
        for link in _links(response.text):
            parts = urlsplit(urljoin("http://kiosk" + path, link))
            assert parts.netloc == "kiosk", (path, link)
            assert parts.path.startswith(("/kiosk/", "/static/web/")), (path, link)
            assert "login" not in parts.path
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            # follow the kiosk's own pages; one item page per department list is enough to see them all
            if (
                parts.path.startswith("/kiosk/")
                and "/static/" not in parts.path
                and target not in seen
                and "lang=" not in parts.query
                and len(seen) < 120
            ):
                seen.add(target)
                queue.append(target)
    assert walked >= 60  # home, departments, every department, items, checklists, forms, status, find


def test_kiosk_item_and_unknown_codes(app):
    client = app.test_client()
    page = client.get("/kiosk/item/MZJ001").text
    for heading in ("事项", "设定依据", "受理条件", "办理程序", "申报材料", "办理时限", "收费标准"):
        assert f">{heading}</h2>" in page
    assert 'href="/kiosk/item/MZJ001/checklist"' in page and 'href="/kiosk/item/MZJ001/form"' in page
    checklist = client.get("/kiosk/item/MZJ001/checklist").text
    assert "办事材料一次性告知单" in checklist and 'id="kiosk-bar"' in checklist  # inside the kiosk's frame
    form = client.get("/kiosk/item/MZJ001/form").text
    assert "最低生活保障申请书" in form and 'id="kiosk-bar"' in form and "form.docx" not in form
    for path in ("/kiosk/item/NOPE", "/kiosk/item/NOPE/form", "/kiosk/department/nope"):
        assert client.get(path).status_code == 404


def test_kiosk_status_reveals_nothing_personal_and_shares_the_try_limit(app):
    number = _case(app)
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/kiosk/status").text).group(1)

    def ask(case: str, suffix: str):  # type: ignore[no-untyped-def]
        return client.post("/kiosk/status", data={"case": case, "phone4": suffix, "csrf_token": token})

    right = ask(number, PHONE[-4:])
    assert right.status_code == 200 and 'id="status-value"' in right.text
    for secret in ("赵小红", "1101", "002X", PHONE, PHONE[-4:]):
        assert secret not in right.text
    wrong = ask(number, "0000")
    assert 'id="status-result"' in wrong.text and 'id="status-value"' not in wrong.text
    typo = ask(number[:-1] + ("0" if number[-1] != "0" else "1"), PHONE[-4:])
    assert 'id="case-error"' in typo.text and 'value="' + number[:-1] in typo.text  # what was typed stays
    for _ in range(MAX_TRIES - 2):
        client.get("/status")  # the public page and the kiosk count tries together
        assert ask(number, "1111").status_code == 200
    assert ask(number, PHONE[-4:]).status_code == 429


def test_a_listed_hall_kiosk_gets_more_tries_than_one_device(make_app, central_dir):
    toml = central_dir / "central.toml"
    lines = [x for x in toml.read_text(encoding="utf-8").splitlines() if not x.startswith(("kiosk_addresses", "kiosk_tries"))]
    toml.write_text("\n".join([*lines, 'kiosk_addresses = "10.0.0.9, 10.0.0.8"', "kiosk_tries = 30", ""]), "utf-8")
    app = make_app()
    number = _case(app)

    def client_at(address: str):  # type: ignore[no-untyped-def]
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/kiosk/status").text).group(1)
        return lambda suffix: client.post("/kiosk/status", data={"case": number, "phone4": suffix,
                                                                  "csrf_token": token}).status_code

    kiosk, phone = client_at("10.0.0.9"), client_at("10.0.0.77")
    assert [kiosk("1111") for _ in range(30)] == [200] * 30
    assert kiosk("1111") == 429  # the kiosk's own, larger allowance, still a limit
    assert [phone("1111") for _ in range(MAX_TRIES)] == [200] * MAX_TRIES
    assert phone("1111") == 429


@pytest.mark.browser
def test_kiosk_by_touch_in_chromium(make_app, browser, artifacts):
    app = make_app(KIOSK_IDLE_SECONDS=8)  # the warning shows for 2 s: room for a slow screenshot
    number = _case(app)
    with serve(app) as base:
        for width, height in ((1366, 768), (1920, 1080)):
            context = browser.new_context(
                viewport={"width": width, "height": height}, locale="zh-CN", has_touch=True
            )
            page = context.new_page()
            page.set_default_timeout(8000)
            page.goto(base + "/kiosk/")
            for tile in ("#tile-departments", "#tile-find", "#tile-status", "#tile-forms"):
                box = page.locator(tile).bounding_box()
                assert box["height"] >= 100 and box["y"] + box["height"] <= height, (tile, box)
            assert page.evaluate("getComputedStyle(document.body).userSelect") == "none"
            page.screenshot(path=str(artifacts / f"home_{width}.png"))

            page.tap("#tile-find")
            page.wait_for_url(re.compile(r"/kiosk/find"))
            assert page.locator("#kiosk-keys").is_visible()
            assert (
                page.get_attribute("#kiosk-q", "inputmode") == "none"
            )  # the screen's own keyboard stays away
            for key in "ZDSHBZ":
                page.tap(f"#kiosk-keys [data-key='{key}']")
            assert page.input_value("#kiosk-q") == "ZDSHBZ"
            page.locator(
                "#kiosk-results a", has_text="最低生活保障申请"
            ).wait_for()  # the list follows the typing
            page.tap("[data-key=back]")
            assert page.input_value("#kiosk-q") == "ZDSHB"
            page.screenshot(path=str(artifacts / f"find_{width}.png"))
            page.tap("#kiosk-results >> text=最低生活保障申请")
            page.wait_for_url(re.compile(r"/kiosk/item/MZJ001$"))
            assert page.locator(".kiosk-section").count() == 7
            size = page.evaluate(
                "parseFloat(getComputedStyle(document.querySelector('.kiosk-section p')).fontSize)"
            )
            assert size >= 17  # large type
            page.screenshot(path=str(artifacts / f"item_{width}.png"))
            page.tap("#print-checklist")
            page.wait_for_url(re.compile(r"/checklist$"))
            assert page.locator(".sheet").is_visible()
            page.screenshot(path=str(artifacts / f"checklist_{width}.png"))

            # left alone, the kiosk goes home (in Chinese) with a warning first
            page.wait_for_selector("#kiosk-idle-warning", state="visible", timeout=12000)
            page.wait_for_url(re.compile(r"/kiosk/\?lang=zh$"), timeout=14000)
            assert page.locator("#tile-find").is_visible()

            page.tap("#tile-status")
            page.wait_for_url(re.compile(r"/kiosk/status"))
            page.tap("#kiosk-case")
            for char in number.replace("-", ""):
                page.tap(f"#kiosk-keys [data-key='{char}']")
            page.tap("[data-key=next]")
            for char in PHONE[-4:]:
                page.tap(f"#kiosk-keys [data-key='{char}']")
            assert page.input_value("#kiosk-phone4") == PHONE[-4:]
            page.tap("#status-go")
            page.wait_for_selector("#status-value")
            assert "赵小红" not in page.content() and PHONE not in page.content()
            page.screenshot(path=str(artifacts / f"status_{width}.png"))
            page.wait_for_url(re.compile(r"/kiosk/\?lang=zh$"), timeout=15000)  # the answer does not linger
            context.close()


@pytest.mark.browser
def test_kiosk_without_javascript(app, central_url, browser, artifacts):
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="zh-CN", java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(8000)
    page.goto(central_url + "/kiosk/find")
    assert not page.locator(
        "#kiosk-keys"
    ).is_visible()  # the keyboard needs the script; a plain field does not
    page.fill("#kiosk-q", "yyzz")
    page.click("#find-go")
    page.wait_for_load_state()
    assert "营业执照" in page.inner_text("#kiosk-results") or page.locator("#kiosk-results a").count() >= 1
    page.locator("#kiosk-results a").first.click()
    page.wait_for_load_state()
    assert page.locator(".kiosk-section").count() >= 6
    page.click("#kiosk-home")
    page.wait_for_load_state()
    page.click("#tile-departments")
    page.wait_for_load_state()
    assert page.locator(".kiosk-dept").count() == len(app.extensions["central"].catalogue().departments)
    page.screenshot(path=str(artifacts / "departments_nojs.png"))
    context.close()
