"""Sync status in plain words, and the "sync now" button."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from node.views.common import NODE_ROLES, db, node, sync
from store import projections
from sync.status import MESSAGES
from web.access_log import record_export
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
    problems = {
        "quarantined": [(r.kind, r.origin, r.seq, code, detail) for r, code, detail in the_node.log.quarantined()],
        "projection": projections.problems(db()),
        "forks": the_node.log.forks(),
    }
    return render_template("node/sync.html", status=status, error=describe_error(status.error_code, status.error_params),
                           receipts=list(reversed(receipts)), has_client=sync().client is not None,
                           config=the_node.config, problems=problems)


@bp.post("/export")
@roles_required(*NODE_ROLES)
def export() -> Any:
    """The unsent records and scans as a signed bundle file, for a USB stick (no link needed)."""
    import tempfile
    from pathlib import Path

    from sync.bundle import export_bundle
    from sync.keys import NodeKey, default_key_path

    the_node = node()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bundle.zip"
        manifest = export_bundle(the_node.log, NodeKey.load(default_key_path(the_node.db_path)), path,
                                 blobs=the_node.blobs)
        data = path.read_bytes()
    name = f"{the_node.config.node_id}-{manifest['first_seq']}-{manifest['last_seq']}.zip"
    # the bundle holds applicants' records and scans: taking it away is an export, recorded first
    record_export(name, manifest["records"], scans=len(the_node.blobs.unsent()))
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/import")
@roles_required(*NODE_ROLES)
def import_() -> Any:
    """The city's reply brought back on the USB stick: checked whole, then stored."""
    from sync.bundle import import_reply
    from sync.canonical import Refusal
    from sync.client import SyncError

    upload = request.files.get("reply")
    if upload is None or not upload.filename:
        flash(gettext("Choose the reply file from the USB stick."), "error")
        return redirect(url_for("syncpage.index"))
    the_node = node()
    try:
        result = import_reply(the_node.log, the_node.config.central_public_bytes, upload.read(),
                              blobs=the_node.blobs)
    except (Refusal, SyncError):
        flash(gettext("The reply file was refused (damaged, altered or not for this service point). "
                      "Nothing from it was stored."), "error")
    else:
        flash(gettext("Reply imported: %(got)s records received.", got=result["pulled"]), "success")
    return redirect(url_for("syncpage.index"))


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
