"""Sync status in plain words, and the "sync now" button."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from node.views.common import NODE_ROLES, node, sync
from sync.status import MESSAGES
from web.auth import roles_required, safe_next

bp = Blueprint("syncpage", __name__, url_prefix="/sync")


def describe_error(code: str | None, params: dict[str, Any]) -> str:
    """The last sync problem in the user's language (sync's msgids are in our catalogue)."""
    if not code:
        return ""
    msgid = MESSAGES.get(code, code)
    text = gettext(msgid)
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return text


@bp.get("/")
@roles_required(*NODE_ROLES)
def index() -> str:
    the_node = node()
    status = sync().status()
    receipts = the_node.log.receipts("C")[-10:]
    return render_template("node/sync.html", status=status, error=describe_error(status.error_code, status.error_params),
                           receipts=list(reversed(receipts)), has_client=sync().client is not None,
                           config=the_node.config)


@bp.post("/now")
@roles_required(*NODE_ROLES)
def now() -> Any:
    runner = sync()
    if runner.client is None:
        flash(gettext("This service point has no network address for the city; records travel by USB bundle."),
              "warning")
    else:
        report = runner.sync_now()
        if report is None:
            flash(gettext("Sync has been asked to run now."), "info")
        elif report.ok:
            flash(gettext("Synced: %(sent)s sent, %(got)s received.", sent=report.pushed, got=report.pulled),
                  "success")
        else:
            err = report.error
            flash(describe_error(err.code if err else None, dict(err.params) if err else {})
                  or gettext("Sync failed."), "warning")
    return redirect(safe_next(request.form.get("next")) or url_for("syncpage.index"))


def describe_error_english(code: str | None, params: dict[str, Any]) -> str:
    """The same, in English, for the command line (no request, no translation)."""
    if not code:
        return "unknown problem"
    msgid = MESSAGES.get(code, code)
    try:
        return msgid % params if params else msgid
    except (KeyError, TypeError, ValueError):
        return msgid
