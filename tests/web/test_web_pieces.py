"""Small pieces: money and date filters, masking, password hashes, role names, navigation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from web_testapp import make_app

from store.accounts import ROLES
from web.filters import date_cn, datetime_cn, mask_id, mask_phone, yuan
from web.passwords import hash_password, verify_password
from web.roles import ROLE_NAMES, role_name


@pytest.mark.parametrize(
    ("fen", "text"),
    [(0, "¥0.00"), (5, "¥0.05"), (100, "¥1.00"), (123450, "¥1,234.50"), (-2500, "-¥25.00"),
     (100000000, "¥1,000,000.00"), (None, "")],
)
def test_yuan(fen: int | None, text: str) -> None:
    assert yuan(fen) == text


def test_yuan_refuses_floats() -> None:
    with pytest.raises(TypeError):
        yuan(12.5)  # type: ignore[arg-type]


def test_dates_follow_the_language(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    with app.test_request_context("/"):
        assert date_cn(dt.date(2026, 3, 1)) == "2026年3月1日"
        assert date_cn("2026-11-25") == "2026年11月25日"
        assert datetime_cn(dt.datetime(2026, 11, 25, 9, 5)) == "2026年11月25日 09:05"
        # aware times (records) are shown in China time
        assert datetime_cn(dt.datetime(2026, 11, 24, 16, 5, tzinfo=dt.UTC)) == "2026年11月25日 00:05"
        assert datetime_cn("2026-11-25T01:05:00Z") == "2026年11月25日 09:05"
        assert datetime_cn("2026-11-25T09:05:00+08:00") == "2026年11月25日 09:05"
        assert date_cn(dt.datetime(2026, 11, 24, 16, 5, tzinfo=dt.UTC)) == "2026年11月25日"
        assert date_cn("not a date") == "not a date"
        assert date_cn(None) == ""
    with app.test_request_context("/?lang=en"):
        assert date_cn(dt.date(2026, 3, 1)) == "2026-03-01"


def test_masking() -> None:
    assert mask_id("320682199001011234") == "320682********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id("") == "" and mask_phone(None) == ""


def test_passwords() -> None:
    stored = hash_password("村里的密码2026")
    assert stored.startswith("scrypt:")
    assert verify_password(stored, "村里的密码2026")
    assert not verify_password(stored, "村里的密码2025")
    assert hash_password("same") != hash_password("same")  # salted
    # malformed or absurdly costly hashes are refused, not tried
    assert not verify_password("", "x")
    assert not verify_password("plain-text", "plain-text")
    assert not verify_password("scrypt:1073741824:8:1$salt$00", "x")
    assert not verify_password("pbkdf2:sha256:1$salt$00", "x")
    with pytest.raises(ValueError):
        hash_password("")


def test_every_role_has_a_name_in_both_languages(tmp_path: Path) -> None:
    assert set(ROLE_NAMES) == set(ROLES)
    app = make_app(tmp_path)
    chinese = {"village_clerk": "村代办员", "town_clerk": "镇窗口人员", "node_admin": "站点管理员",
               "window_clerk": "窗口人员", "card_clerk": "一卡通窗口人员", "cashier": "收费员",
               "supervisor": "监督员", "inspector": "行风监督员", "admin": "系统管理员"}
    with app.test_request_context("/"):
        assert {code: role_name(code) for code in ROLES} == chinese
    with app.test_request_context("/?lang=en"):
        assert role_name("inspector") == "Conduct inspector"
        assert role_name("unknown") == "unknown"


def test_per_request_db_opens_once_per_request_and_closes(tmp_path: Path) -> None:
    import sqlite3

    from flask import Flask

    from web.database import per_request_db

    app = Flask("dbtest")
    first = per_request_db(app, tmp_path / "a.sqlite")
    second = per_request_db(app, tmp_path / "b.sqlite")
    with app.app_context():
        db = first()
        assert first() is db
        assert second() is not db
        assert second().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.ProgrammingError):  # closed when the context ended
        db.execute("SELECT 1")
