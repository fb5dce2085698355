"""Page pieces both apps register: layout, login, notices, translations, static assets.

An app (node or central) builds its Flask app and calls `init_app` once:

    from web import NavEntry, init_app, per_request_db
    from flask_babel import lazy_gettext as _l

    app = Flask(__name__)
    init_app(
        app,
        store_db_getter=per_request_db(app, data_dir / "node.sqlite"),
        place_name="如皋市丁堰镇便民服务中心",
        nav=[NavEntry("cases.index", _l("Cases"), roles=("town_clerk", "village_clerk"))],
        data_dir=data_dir,
        may_log_in=lambda staff: staff.acts_for("T0001"),
    )

Then its views use `login_required`, `roles_required(...)`, `current_staff()`, its templates
extend "base.html" and import the macros in "macros.html", and notices are returned with
`render_notice(content)`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path

from flask import Blueprint, Flask
from flask_wtf.csrf import CSRFProtect
from sqlite_utils import Database

from store import accounts
from store.accounts import StaffAccount
from web.auth import current_staff, init_auth, login_required, roles_required
from web.database import per_request_db
from web.errors import init_errors
from web.filters import init_filters
from web.i18n import init_i18n
from web.navigation import NavEntry, visible
from web.notices import render_notice
from web.roles import ROLE_NAMES, role_name
from web.security import init_security
from web.settings import KEY, WebSettings, settings

__all__ = [
    "ROLE_NAMES",
    "NavEntry",
    "current_staff",
    "init_app",
    "login_required",
    "per_request_db",
    "render_notice",
    "role_name",
    "roles_required",
]

HERE = Path(__file__).resolve().parent
log = logging.getLogger(__name__)
csrf = CSRFProtect()
"""The app's CSRF protection; views that must accept foreign POSTs (none should) use csrf.exempt."""


def init_app(
    app: Flask,
    *,
    store_db_getter: Callable[[], Database],
    place_name: str | Callable[[], str],
    nav: Sequence[NavEntry] = (),
    data_dir: str | Path | None = None,
    may_log_in: Callable[[StaffAccount], bool] | None = None,
    home_endpoint: str | None = None,
    public_base_url: str | None = None,
) -> None:
    """Register everything both apps share on `app`.

    - `store_db_getter`: returns this request's store Database (see `per_request_db`); the staff
      tables are created or upgraded through it at once.
    - `place_name`: shown in the header and on notices (or a function returning it, if it can
      change while running, e.g. after enrolment).
    - `nav`: the app's navigation entries; each user sees those their roles allow.
    - `data_dir`: where the session key file is created (default: the app's instance folder);
      ignored when the app already has a secret_key.
    - `may_log_in`: an extra check at sign-in (e.g. a node admits only staff who act for it).
    - `home_endpoint`: where sign-in lands (default: the user's first navigation entry).
    - `public_base_url`: the address printed in notices' QR codes (config WEB_PUBLIC_URL).

    Config keys (defaults): WEB_IDLE_TIMEOUT (1800 s), WEB_SESSION_LIFETIME (43200 s),
    WEB_LOCKOUT_FAILURES (5), WEB_LOCKOUT_SECONDS (900), WEB_LOCKOUT_FAILURES_PER_ADDRESS (20).
    """
    if public_base_url is not None:
        app.config["WEB_PUBLIC_URL"] = public_base_url
    app.config.setdefault("WEB_PUBLIC_URL", "")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session's own limits apply instead
    app.extensions[KEY] = WebSettings(
        store_db_getter=store_db_getter,
        place_name=place_name,
        nav=tuple(nav),
        may_log_in=may_log_in,
        home_endpoint=home_endpoint,
    )
    init_security(app, data_dir)
    csrf.init_app(app)  # before the session checks: a POST is checked against the session it came with
    init_i18n(app)
    init_auth(app)
    init_errors(app)
    init_filters(app)
    app.register_blueprint(
        Blueprint("web", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static/web")
    )

    @app.context_processor
    def _layout() -> dict[str, object]:
        try:
            staff = current_staff()
        except sqlite3.Error:  # the error page of a broken store must still render
            log.exception("could not read the signed-in account")
            staff = None
        return {
            "place_name": settings().place(),
            "nav_entries": visible(settings().nav, staff),
            "role_name": role_name,
        }

    with app.app_context():
        accounts.ensure_schema(store_db_getter())
