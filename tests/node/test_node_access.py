"""Nothing of the node answers without a login, and the login holds against guessing."""

from __future__ import annotations

import re

import pytest
import requests
from nodekit import PASSWORD, sign_in

PUBLIC = {"auth.login", "auth.logout", "static", "web.static"}


def _fill(rule) -> str:  # type: ignore[no-untyped-def]
    values = {"number": "V000101-261125-0001-X", "kind": "receipt", "sha256": "0" * 64, "code": "MZJ001",
              "action": "note_added"}
    path = rule.rule
    for arg in rule.arguments:
        path = re.sub(rf"<(?:[^:>]+:)?{arg}>", values.get(arg, "x"), path)
    return path


def test_every_route_wants_a_login(village) -> None:  # type: ignore[no-untyped-def]
    base, app = village
    session = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(base + "/login").text).group(1)
    walked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = _fill(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                resp = session.get(base + path, allow_redirects=False)
                assert resp.status_code == 302, (path, resp.status_code)
                assert resp.headers["Location"].startswith("/login"), path
            else:
                resp = session.post(base + path, data={"csrf_token": token, "x": "1"}, allow_redirects=False)
                assert resp.status_code == 401, (method, path, resp.status_code)
                assert 'name="password"' in resp.text
            walked += 1
    assert walked >= 15


def test_a_clerk_of_another_place_cannot_sign_in_here(village) -> None:  # type: ignore[no-untyped-def]
    base, _ = village
    session = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(base + "/login").text).group(1)
    resp = session.post(base + "/login", data={"csrf_token": token, "username": "outsider", "password": PASSWORD},
                        allow_redirects=False)
    assert resp.status_code == 403


@pytest.mark.browser
def test_lockout_after_repeated_failures(village, page, artifacts) -> None:  # type: ignore[no-untyped-def]
    base, _ = village
    page.goto(base + "/login")
    for _ in range(5):
        page.fill("#username", "clerk")
        page.fill("#password", "wrong-password")
        page.click("button[type=submit]")
    assert "次数过多" in page.inner_text("#login-error")
    page.screenshot(path=str(artifacts / "lockout.png"), full_page=True)
    sign_in(page, base)                                   # the right password is refused while locked
    assert page.locator("#login-error").is_visible()
    assert "/login" in page.url


@pytest.mark.browser
def test_the_pages_a_clerk_uses_most_by_keyboard(village, page, artifacts) -> None:  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    page.screenshot(path=str(artifacts / "home.png"), full_page=True)
    # the guide: pinyin initials find 低保 (最低生活保障申请 -> zdshbzsq)
    page.goto(base + "/guide/")
    page.keyboard.type("zdshbz")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "最低生活保障申请" in page.inner_text("table")
    page.screenshot(path=str(artifacts / "guide_search.png"), full_page=True)
    page.goto(base + "/guide/item/MZJ001")
    text = page.inner_text("main")
    for heading in ("设定依据", "办理程序", "申报材料", "办理时限", "收费标准"):
        assert heading in text
    page.screenshot(path=str(artifacts / "guide_item.png"), full_page=True)
    page.goto(base + "/guide/item/MZJ001/checklist")
    assert "一次性告知" in page.inner_text(".sheet")
    page.pdf(path=str(artifacts / "checklist.pdf"), format="A4")
    # English on request
    page.goto(base + "/cases/?lang=en")
    assert "Cases" in page.inner_text("h1")
    page.screenshot(path=str(artifacts / "cases_en.png"), full_page=True)
    page.goto(base + "/?lang=zh")
    # keyboard only: tab to the big button and press Enter
    page.goto(base + "/")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent").strip() == "新建收件":
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/intake/" in page.url


def test_before_the_first_sync_the_guide_and_intake_say_what_to_do(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A freshly enrolled node with staff but no catalogue yet: a clear page, not an error."""
    from nodekit import TestCentral, ingest, staff
    from serving import serve

    from node.app import create_app
    from node.config import DB_FILE, NodeConfig, write_config
    from sync.keys import NodeKey, default_key_path

    central = TestCentral()
    folder = tmp_path / "fresh"
    folder.mkdir()
    NodeKey.generate().save(default_key_path(folder / DB_FILE))
    write_config(folder, NodeConfig(node_id="V000505", name="新站", network="test-rugao", central_url="",
                                    central_public=central.key.public.hex(), central_fingerprint=""))
    ingest(folder, "V000505", central, [central.sign("staff.account", staff("clerk", ["village_clerk"], ["V000505"]))])
    app = create_app({"DATA_DIR": str(folder)})
    try:
        with serve(app) as base:
            s = requests.Session()
            token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
            s.post(base + "/login", data={"csrf_token": token, "username": "clerk", "password": PASSWORD})
            for path in ("/guide/", "/intake/", "/intake/new?item=MZJ001"):
                resp = s.get(base + path)
                assert resp.status_code == 503 and "尚未从市中心收到事项目录" in resp.text, path
            assert s.get(base + "/").status_code == 200
    finally:
        app.extensions["bianmin_node"].close()
