"""What the pages promise over plain HTTP: CSRF refusals, headers, error pages, the session key."""

from __future__ import annotations

import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from web_testapp import PASSWORD, make_app

from store import accounts
from store.db import open_db
from web.auth import safe_next
from web.security import load_or_create_secret


def token(session: requests.Session, url: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', session.get(url).text)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def signed_in(base_url: str, username: str = "zhangsan") -> requests.Session:
    s = requests.Session()
    r = s.post(base_url + "/login", data={"username": username, "password": PASSWORD,
                                          "csrf_token": token(s, base_url + "/login")})
    assert r.status_code == 200 and r.url == base_url + "/", r.text
    return s


def test_forged_post_without_token_is_refused_and_changes_nothing(served: Callable[..., Any]) -> None:
    app, base_url = served()
    s = signed_in(base_url)
    forged = s.post(base_url + "/form", data={"applicant": "伪造", "id_number": "320682199001011234"})
    assert forged.status_code == 400
    assert "表单已过期" in forged.text and "本次未保存任何内容" in forged.text
    assert "SAVED" not in app.config
    # a token from another session does not help either
    other = requests.Session()
    stolen = token(other, base_url + "/login")
    forged = s.post(base_url + "/form", data={"applicant": "伪造", "id_number": "320682199001011234",
                                              "csrf_token": stolen})
    assert forged.status_code == 400 and "SAVED" not in app.config
    # the genuine form still works afterwards: nothing was broken
    ok = s.post(base_url + "/form", data={"applicant": "王小明", "id_number": "320682199001011234",
                                          "csrf_token": token(s, base_url + "/form")})
    assert ok.status_code == 200 and "已保存" in ok.text
    assert len(app.config["SAVED"]) == 1


def test_login_itself_needs_the_token(base_url: str) -> None:
    r = requests.post(base_url + "/login", data={"username": "zhangsan", "password": PASSWORD})
    assert r.status_code == 400 and "表单已过期" in r.text


def test_logout_is_post_only(base_url: str) -> None:
    s = signed_in(base_url)
    assert s.get(base_url + "/logout").status_code == 405
    assert s.get(base_url + "/", allow_redirects=False).status_code == 200  # still signed in


def test_security_headers_and_no_store(base_url: str) -> None:
    s = signed_in(base_url)
    page = s.get(base_url + "/")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    css = s.get(base_url + "/static/web/css/bianmin.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("Cache-Control", "")
    assert "<script>" not in page.text and " onclick=" not in page.text


def test_session_cookie_flags(base_url: str) -> None:
    s = requests.Session()
    r = s.post(base_url + "/login", data={"username": "zhangsan", "password": PASSWORD,
                                          "csrf_token": token(s, base_url + "/login")},
               allow_redirects=False)
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("bianmin_webtest=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_session_is_rotated_at_sign_in(base_url: str) -> None:
    s = requests.Session()
    before = token(s, base_url + "/login")
    cookie_before = s.cookies.get("bianmin_webtest")
    s.post(base_url + "/login", data={"username": "zhangsan", "password": PASSWORD, "csrf_token": before})
    assert s.cookies.get("bianmin_webtest") != cookie_before
    # the pre-login token is no longer valid: the session (and its CSRF secret) is new
    r = s.post(base_url + "/form", data={"applicant": "x", "id_number": "320682199001011234",
                                         "csrf_token": before})
    assert r.status_code == 400


def test_a_new_account_version_ends_existing_sessions(served: Callable[..., Any], tmp_path: Path) -> None:
    _app, base_url = served()
    s = signed_in(base_url)
    assert s.get(base_url + "/form", allow_redirects=False).status_code == 200
    from web_testapp import account_body

    db = open_db(tmp_path / "data" / "app.sqlite")
    accounts.project(db, account_body("zhangsan", ["town_clerk"], version=2, password="new-password-9"))
    r = s.get(base_url + "/form", allow_redirects=False)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    accounts.project(db, account_body("zhangsan", ["town_clerk"], version=3, password="new-password-9",
                                      active=False))
    t = requests.Session()
    r = t.post(base_url + "/login", data={"username": "zhangsan", "password": "new-password-9",
                                          "csrf_token": token(t, base_url + "/login")})
    assert r.status_code == 403 and "该账号已停用" in r.text


def test_error_pages_speak_the_users_language(base_url: str) -> None:
    r = requests.get(base_url + "/no-such-page")
    assert r.status_code == 404 and "页面不存在" in r.text
    r = requests.get(base_url + "/no-such-page?lang=en")
    assert r.status_code == 404 and "Page not found" in r.text
    r = requests.get(base_url + "/boom")
    assert r.status_code == 500 and "系统出错" in r.text and "RuntimeError" not in r.text


def test_secret_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key = load_or_create_secret(tmp_path / "data")
    path = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 64
    assert load_or_create_secret(tmp_path / "data") == key
    app = make_app(tmp_path / "other")
    assert stat.S_IMODE((tmp_path / "other" / "secret_key").stat().st_mode) == 0o600
    assert app.secret_key == (tmp_path / "other" / "secret_key").read_bytes()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/cases/1?x=2", "/cases/1?x=2"),
        ("/", "/"),
        ("//evil.example/", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("javascript:alert(1)", None),
        ("cases", None),
        ("/a\nb", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_next(target: str | None, expected: str | None) -> None:
    assert safe_next(target) == expected


def test_session_ends_at_its_absolute_lifetime_even_when_active(served: Callable[..., Any]) -> None:
    import time

    _app, base_url = served(WEB_SESSION_LIFETIME=3, WEB_IDLE_TIMEOUT=2)
    s = signed_in(base_url)
    signed_at = time.monotonic()
    while time.monotonic() - signed_at < 3.3:  # busy all the time: the idle timeout never strikes
        r = s.get(base_url + "/", allow_redirects=False)
        if r.status_code != 200:
            break
        time.sleep(0.3)
    assert time.monotonic() - signed_at > 2.5, "the session ended long before its lifetime"
    r = s.get(base_url + "/")
    assert "/login" in r.url and "最长时限" in r.text
