"""What an app told `web.init_app`, kept on the app for the page pieces to read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlite_utils import Database

from store.accounts import LockoutPolicy, StaffAccount
from web.navigation import NavEntry

KEY = "bianmin_web"


@dataclass(frozen=True)
class WebSettings:
    store_db_getter: Callable[[], Database]
    place_name: str | Callable[[], str]
    nav: Sequence[NavEntry]
    may_log_in: Callable[[StaffAccount], bool] | None
    home_endpoint: str | None

    def place(self) -> str:
        return self.place_name() if callable(self.place_name) else self.place_name


def settings() -> WebSettings:
    """The settings of the app handling this request."""
    return current_app.extensions[KEY]


def store_db() -> Database:
    """This request's store database, as the app provides it."""
    return settings().store_db_getter()


def lockout_policy() -> LockoutPolicy:
    cfg = current_app.config
    return LockoutPolicy(
        max_failures=int(cfg["WEB_LOCKOUT_FAILURES"]),
        lock_seconds=float(cfg["WEB_LOCKOUT_SECONDS"]),
        window_seconds=float(cfg["WEB_LOCKOUT_SECONDS"]),
        max_failures_per_address=int(cfg["WEB_LOCKOUT_FAILURES_PER_ADDRESS"]),
    )
