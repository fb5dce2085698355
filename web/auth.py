"""Signing in and out, sessions that end, and the decorators that guard every page.

Sessions are Flask's signed cookies (nothing to store server-side, which suits a village PC), so
the server enforces their limits itself: `seen` (last request) for the idle timeout and `login_at`
for the absolute lifetime. Each request re-reads the account, so deactivating an account or
changing its password (a new `staff.account` record) ends its sessions at once.

Failed sign-ins are counted per username and per client address (store.accounts); an unknown
username is counted and answered exactly like a wrong password, so the form never tells anyone
which usernames exist.

If a session ends while a clerk is filling in a form, the POST that arrives is not thrown away:
the sign-in page carries what was typed and, once signed in, offers to send it again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_time, gettext
from werkzeug.wrappers import Response

from store import accounts
from store.accounts import StaffAccount
from web.navigation import visible
from web.passwords import burn_time, verify_password
from web.settings import lockout_policy, settings, store_db

log = logging.getLogger(__name__)
bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])

_SESSION_KEYS = ("staff", "login_at", "seen", "pwfp")


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def _end_session() -> None:
    """Forget everything but the language choice (a new session: new CSRF token too)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    g.bianmin_staff = None


def current_staff() -> StaffAccount | None:
    """The signed-in member of staff, or None. Re-checked against the store on every request."""
    if "bianmin_staff" in g:
        return g.bianmin_staff
    staff = None
    username = session.get("staff")
    if username:
        account = accounts.find(store_db(), username)
        may = settings().may_log_in
        if (
            account is not None
            and account.active
            and session.get("pwfp") == _fingerprint(account.password_hash)
            and (may is None or may(account))
        ):
            staff = account
        else:
            _end_session()
    g.bianmin_staff = staff
    return staff


def check_session_age() -> None:
    """before_request: end a session idle or old beyond the configured limits."""
    if "staff" not in session or (request.endpoint or "").endswith("static"):
        return
    now = time.time()
    idle = float(current_app.config["WEB_IDLE_TIMEOUT"])
    lifetime = float(current_app.config["WEB_SESSION_LIFETIME"])
    if now - float(session.get("seen", 0)) > idle:
        _end_session()
        flash(gettext("Your session ended after %(minutes)s minutes without activity. Please sign in again.",
                      minutes=max(1, round(idle / 60))), "warning")
    elif now - float(session.get("login_at", 0)) > lifetime:
        _end_session()
        flash(gettext("Your session has reached its maximum length. Please sign in again."), "warning")
    else:
        session["seen"] = now


def home_url(staff: StaffAccount | None = None) -> str:
    """Where a user lands after signing in: the app's home, else their first navigation entry."""
    cfg = settings()
    if cfg.home_endpoint:
        return url_for(cfg.home_endpoint)
    entries = visible(cfg.nav, staff)
    return entries[0].url() if entries else "/"


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects after sign-in)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _login_page(status: int = 200, *, error: str | None = None, username: str = "",
                next_url: str | None = None, resume: str = "") -> tuple[str, int]:
    return (
        render_template("login.html", error=error, username=username, next_url=next_url or "",
                        resume=resume),
        status,
    )


def _form_snapshot() -> str:
    """What the clerk had typed in the POST that arrived after their session ended (JSON)."""
    pairs = [[k, v] for k, values in request.form.lists() if k != "csrf_token" for v in values]
    return json.dumps(pairs, ensure_ascii=False) if pairs else ""


def _to_login() -> Response | tuple[str, int]:
    if request.method == "POST":
        snapshot = _form_snapshot()
        if snapshot:
            return _login_page(401, next_url=request.path, resume=snapshot)
    target = request.full_path.rstrip("?") if request.method == "GET" else request.path
    return redirect(url_for("auth.login", next=target))


def login_required(view: F) -> F:
    """The view needs a signed-in user; others are sent to sign in (and come back after)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_staff() is None:
            return _to_login()
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    """The view needs a signed-in user holding at least one of `roles`; others get the 403 page."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            staff = current_staff()
            if staff is None:
                return _to_login()
            if not staff.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _lock_message(until: float) -> str:
    # round up to the minute: never name a time at which the lock still holds
    moment = dt.datetime.fromtimestamp(math.ceil(until / 60) * 60, tz=dt.UTC)
    return gettext("Too many failed sign-in attempts. You can try again after %(time)s.",
                   time=format_time(moment, "HH:mm"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        staff = current_staff()
        if staff is not None:
            return redirect(next_url or home_url(staff))
        return _login_page(next_url=next_url)

    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    resume = request.form.get("resume", "")
    db = store_db()
    keys = accounts.failure_keys(username, request.remote_addr)
    if not username or not password:
        return _login_page(400, error=gettext("Enter your username and password."), username=username,
                           next_url=next_url, resume=resume)
    until = accounts.locked_until(db, keys)
    if until is not None:
        return _login_page(429, error=_lock_message(until), username=username, next_url=next_url,
                           resume=resume)
    account = accounts.find(db, username)
    if account is None:
        burn_time(password)
        ok = False
    else:
        ok = verify_password(account.password_hash, password)
    if not ok:
        until = accounts.record_failure(db, keys, lockout_policy())
        log.info("sign-in failed for %r from %s", username, request.remote_addr)
        error = _lock_message(until) if until else gettext("Wrong username or password.")
        return _login_page(429 if until else 401, error=error, username=username, next_url=next_url,
                           resume=resume)
    assert account is not None
    if not account.active:
        return _login_page(403, error=gettext("This account has been disabled. Ask your administrator."),
                           username=username, next_url=next_url, resume=resume)
    may = settings().may_log_in
    if may is not None and not may(account):
        return _login_page(403, error=gettext("This account may not sign in at this place."),
                           username=username, next_url=next_url, resume=resume)

    accounts.clear_failures(db, keys[:1])
    _end_session()  # rotate: nothing from before sign-in survives, CSRF token included
    now = time.time()
    session.update(staff=account.username, login_at=now, seen=now, pwfp=_fingerprint(account.password_hash))
    g.bianmin_staff = account
    log.info("signed in: %s", account.username)
    if resume and next_url:
        try:
            fields = [(str(k), str(v)) for k, v in json.loads(resume)]
        except (ValueError, TypeError):
            fields = []
        if fields:
            return render_template("resume.html", action=next_url, fields=fields)
    return redirect(next_url or home_url(account))


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    if session.get("staff"):
        log.info("signed out: %s", session.get("staff"))
    _end_session()
    flash(gettext("You have signed out."), "info")
    return redirect(url_for("auth.login"))


def init_auth(app: Flask) -> None:
    app.config.setdefault("WEB_IDLE_TIMEOUT", 30 * 60)
    app.config.setdefault("WEB_SESSION_LIFETIME", 12 * 3600)
    app.config.setdefault("WEB_LOCKOUT_FAILURES", 5)
    app.config.setdefault("WEB_LOCKOUT_SECONDS", 15 * 60)
    app.config.setdefault("WEB_LOCKOUT_FAILURES_PER_ADDRESS", 20)
    app.before_request(check_session_age)
    app.register_blueprint(bp)
    app.jinja_env.globals.update(current_staff=current_staff)
