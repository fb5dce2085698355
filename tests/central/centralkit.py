"""What central's tests share: the staff password, China time, and a signed-in clerk driving the app
through Flask's test client (CSRF tokens included). A uniquely named module: every test package
has a `conftest`, and the whole suite runs in one process."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

CHINA = dt.timezone(dt.timedelta(hours=8))
PASSWORD = "window-pass-1"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clerk:
    """One signed-in member of staff driving central through the test client."""

    def __init__(self, app: Any, username: str, password: str = PASSWORD) -> None:
        self.client = app.test_client()
        self.username = username
        page = self.client.get("/login")
        response = self.client.post("/login", data={"username": username, "password": password,
                                                    "csrf_token": self.token(page.text)})
        assert response.status_code == 302, response.text[:500]

    @staticmethod
    def token(html: str) -> str:
        found = _TOKEN.search(html)
        assert found, "no CSRF token on the page"
        return found.group(1)

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict[str, Any] | None = None, *, page: str | None = None) -> Any:
        # the session's CSRF token is the same on every page: read it from the sign-out form
        html = self.client.get(page or "/guide/").text
        payload = dict(data or {})
        payload["csrf_token"] = self.token(html)
        return self.client.post(path, data=payload)


def sign_in(page: Any, url: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real login form in Chromium, and wait for the page it leads to."""
    page.set_default_timeout(8000)
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def sign_out(page: Any) -> None:
    with page.expect_navigation():
        page.click(".logout-form button")
