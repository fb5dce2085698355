"""Signing in and out in real Chromium against the test app served by waitress."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from web_testapp import PASSWORD, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_lands_on_the_page_asked_for_in_chinese(page: Any, base_url: str, artifacts: Path) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(base_url + "/form")
    assert "/login?next=/form" in page.url
    assert page.locator("h1").inner_text() == "工作人员登录"
    page.screenshot(path=str(artifacts / "login_zh.png"))
    page.fill("#username", "ZhangSan")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base_url + "/form")
    assert page.locator(".staff-name").inner_text() == "张三"
    assert page.locator(".roles").inner_text() == "镇窗口人员"
    nav = page.locator(".main-nav a").all_inner_texts()
    assert nav == ["办件", "新建申请"]  # no administration for a clerk
    page.goto(base_url + "/")
    assert "320682********1234" in page.content()
    assert "¥1,234.50" in page.content()
    assert "2026年11月25日" in page.content()
    page.screenshot(path=str(artifacts / "home_zh.png"))
    assert errors == []  # no CSP refusal, no missing asset


def test_wrong_password_and_unknown_user_get_the_same_message(page: Any, base_url: str) -> None:
    sign_in(page, base_url, "zhangsan", "wrong-password")
    wrong = page.locator("#login-error").inner_text()
    assert wrong == "用户名或密码错误。"
    assert page.input_value("#username") == "zhangsan"  # kept
    assert page.input_value("#password") == ""  # never sent back
    sign_in(page, base_url, "nobody", "wrong-password")
    assert page.locator("#login-error").inner_text() == wrong


def test_five_failures_lock_the_account_and_say_until_when(page: Any, base_url: str, artifacts: Path) -> None:
    for _ in range(4):
        sign_in(page, base_url, "zhangsan", "wrong-password")
        assert page.locator("#login-error").inner_text() == "用户名或密码错误。"
    sign_in(page, base_url, "zhangsan", "wrong-password")
    message = page.locator("#login-error").inner_text()
    assert re.fullmatch(r"登录失败次数过多，请于 \d\d:\d\d 之后再试。", message), message
    page.screenshot(path=str(artifacts / "locked_zh.png"))
    # the right password does not help while locked
    sign_in(page, base_url, "zhangsan", PASSWORD)
    assert page.locator("#login-error").inner_text() == message
    # an unknown username locks the same way: the form tells nothing about who exists
    for _ in range(5):
        sign_in(page, base_url, "ghost", "wrong-password")
    assert re.fullmatch(r"登录失败次数过多，请于 \d\d:\d\d 之后再试。", page.locator("#login-error").inner_text())
    # another clerk is not locked out
    sign_in(page, base_url, "wangwu", PASSWORD)
    page.wait_for_url(base_url + "/")


def test_sign_out_ends_the_session(page: Any, base_url: str) -> None:
    sign_in(page, base_url, "zhangsan")
    page.wait_for_url(base_url + "/")
    page.click(".logout-form button")
    page.wait_for_url(re.compile(r".*/login$"))
    assert "您已退出登录。" in page.content()
    page.goto(base_url + "/")
    assert "/login" in page.url


def test_idle_session_times_out(page: Any, served: Callable[..., Any]) -> None:
    _app, url = served(WEB_IDLE_TIMEOUT=2.5)
    sign_in(page, url, "zhangsan")
    page.wait_for_url(url + "/")
    page.goto(url + "/form")  # activity keeps the session
    assert page.url == url + "/form"
    time.sleep(3)
    page.goto(url + "/")
    assert "/login" in page.url
    assert "分钟未操作，登录已失效" in page.content()


def test_form_typed_before_a_timeout_is_not_lost(page: Any, served: Callable[..., Any],
                                                 artifacts: Path) -> None:
    app, url = served(WEB_IDLE_TIMEOUT=2.5)
    sign_in(page, url, "zhangsan")
    page.goto(url + "/form")
    page.fill("#applicant", "王小明")
    page.fill("#id_number", "320682199001011234")
    page.fill("#remark", "代办：村民委托")
    time.sleep(3)
    with page.expect_navigation():  # the answer is a new page: read it only once it has loaded
        page.click("button[type=submit].primary")
    assert "表单保存前登录已失效" in page.content()
    page.fill("#username", "zhangsan")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    assert "320682199001011234" in page.content()
    page.screenshot(path=str(artifacts / "resume_zh.png"))
    page.click("button[type=submit].primary")
    page.wait_for_url(url + "/form")
    assert "已保存" in page.content()
    assert app.config["SAVED"] == [
        {"applicant": "王小明", "id_number": "320682199001011234", "remark": "代办：村民委托",
         "csrf_token": app.config["SAVED"][0]["csrf_token"]}
    ]


def test_validation_errors_keep_what_was_typed(page: Any, base_url: str, artifacts: Path) -> None:
    sign_in(page, base_url, "zhangsan", path="/form")
    page.wait_for_url(base_url + "/form")
    page.fill("#applicant", "王小明")
    page.fill("#id_number", "12345")
    page.fill("#remark", "备注文字")
    with page.expect_navigation():
        page.click("#the-form button[type=submit]")
    assert page.input_value("#applicant") == "王小明"
    assert page.input_value("#id_number") == "12345"
    assert page.input_value("#remark") == "备注文字"
    assert page.locator(".field.has-error #id_number").count() == 1
    assert page.locator(".error-summary").is_visible()
    page.screenshot(path=str(artifacts / "form_errors_zh.png"))
    # keyboard: the first Tab reaches the skip link, which is then visible
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator(".skip-link").bounding_box()["x"] >= 0


def test_wrong_role_gets_the_403_page(page: Any, base_url: str, artifacts: Path) -> None:
    sign_in(page, base_url, "zhangsan")
    page.wait_for_url(base_url + "/")
    response = page.goto(base_url + "/admin")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "无权访问"
    page.screenshot(path=str(artifacts / "forbidden_zh.png"))
    # the administrator sees it, and its menu entry
    page.click(".logout-form button")
    sign_in(page, base_url, "wangwu", path="/admin")
    page.wait_for_url(base_url + "/admin")
    assert "系统管理" in page.locator(".main-nav").inner_text()
    assert page.locator(".roles").inner_text() == "系统管理员、监督员"


def test_staff_of_another_place_cannot_sign_in(page: Any, base_url: str) -> None:
    sign_in(page, base_url, "elsewhere")
    assert page.locator("#login-error").inner_text() == "该账号无权在本站点登录。"


def test_language_switch_zh_en_is_remembered(page: Any, base_url: str, artifacts: Path) -> None:
    sign_in(page, base_url, "zhangsan")
    page.wait_for_url(base_url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.click(".lang-switch a[lang=en]")
    page.wait_for_url(base_url + "/?lang=en")
    assert page.locator("h1").inner_text() == "Cases"
    assert page.locator(".roles").inner_text() == "Town centre clerk"
    assert page.locator("html").get_attribute("lang") == "en"
    assert "2026-11-25" in page.content()
    page.screenshot(path=str(artifacts / "home_en.png"))
    page.goto(base_url + "/form")  # remembered without ?lang
    assert page.locator("h1").inner_text() == "New application"
    page.click(".logout-form button")  # and past signing out (cookie)
    page.wait_for_url(re.compile(r".*/login$"))
    assert page.locator("h1").inner_text() == "Staff sign-in"
    page.screenshot(path=str(artifacts / "login_en.png"))
    page.click(".lang-switch a[lang=zh]")
    assert page.locator("h1").inner_text() == "工作人员登录"


def test_open_redirect_after_sign_in_is_refused(page: Any, base_url: str) -> None:
    sign_in(page, base_url, "zhangsan", path="/login?next=//evil.example/x")
    page.wait_for_url(base_url + "/")
