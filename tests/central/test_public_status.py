"""The public status query: no sign-in, the last 4 phone digits unlock only non-personal facts, a
wrong suffix and an unknown number read the same, tries are limited per address, CSRF holds."""

from __future__ import annotations

import re

from centralkit import Clerk

from central.views_public import TryLimiter

PHONE = "13812345678"


def _case(app) -> str:
    central = app.extensions["central"]
    wang = Clerk(app, "wang")
    assert wang.post("/window/choose", {"window": "W06"}).status_code == 302
    item = central.catalogue().item("BDC001")
    response = wang.post("/window/intake?item=BDC001", {
        "applicant_type": "person", "name": "王小明", "id_number": "11010519491231002X", "phone": PHONE,
        "materials": [m.name for m in item.materials], "card": ""})
    assert response.status_code == 302, response.text[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _ask(client, case: str, suffix: str):
    page = client.get("/status", query_string={"case": case})
    assert page.status_code == 200
    return client.post("/status", data={"case": case, "phone4": suffix, "csrf_token": _token(page.text)})


def _result(html: str) -> str:
    found = re.search(r'<section class="panel" id="status-result".*?</section>', html, re.S)
    return found.group(0) if found else ""


def test_right_suffix_shows_status_and_nothing_personal(app):
    number = _case(app)
    client = app.test_client()
    page = client.get("/status", query_string={"case": number})
    assert page.status_code == 200 and f'value="{number}"' in page.text  # the QR code's number is filled in
    shown = _result(_ask(client, number, "5678").text)
    assert "BDC001" in shown or app.extensions["central"].catalogue().item("BDC001").name in shown
    assert 'id="status-value"' in shown and "2026-11-25" in shown
    for secret in ("王小明", "1101", "002X", PHONE, "138", "5678"):
        assert secret not in shown


def test_wrong_suffix_and_unknown_case_read_the_same(app):
    number = _case(app)
    client = app.test_client()
    wrong = _result(_ask(client, number, "5679").text)
    other = number[:-1]
    # an unknown but well-formed number: same origin and day, another counter, its own check character
    from casework.numbering import case_number, parse_case_number

    parsed = parse_case_number(number)
    unknown = case_number(parsed.origin, parsed.day, parsed.counter + 7).compact
    missing = _result(_ask(client, unknown, "5678").text)
    assert wrong and wrong.replace(number, "") == missing.replace(unknown, "")
    assert 'id="status-value"' not in wrong and number not in wrong
    typo = _ask(client, other + ("0" if number[-1] != "0" else "1"), "5678")
    assert 'id="case-error"' in typo.text and not _result(typo.text)


def test_tries_are_limited_per_address_and_csrf_is_required(app):
    client = app.test_client()
    number = _case(app)
    assert client.post("/status", data={"case": number, "phone4": "5678"}).status_code == 400  # no CSRF token
    for _ in range(10):
        assert _ask(client, number, "0000").status_code == 200
    limited = _ask(client, number, "5678")  # even the right answer waits now
    assert limited.status_code == 429 and 'id="status-limit"' in limited.text and 'id="status-value"' not in limited.text


def test_limiter_window_slides():
    limiter = TryLimiter(limit=2, seconds=10)
    assert limiter.allow("a", 0) and limiter.allow("a", 1) and not limiter.allow("a", 2)
    assert limiter.allow("b", 2)
    assert limiter.allow("a", 10.5) and not limiter.allow("a", 10.6)


def test_status_query_in_chromium(app, central_url, page, artifacts):
    number = _case(app)
    page.goto(f"{central_url}/status?case={number}")
    page.fill("#phone4", "1234")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("#status-result").count() == 1 and page.locator("#status-value").count() == 0
    assert "王小明" not in page.content()
    page.screenshot(path=str(artifacts / "status-wrong.png"), full_page=True)
    page.fill("#phone4", "5678")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.locator("#status-value").count() == 1
    assert "王小明" not in page.content() and PHONE not in page.content()
    page.screenshot(path=str(artifacts / "status-right.png"), full_page=True)
