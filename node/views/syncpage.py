"""Sync status in plain words, the "sync now" button, and sync by USB stick: a bundle saved for the
stick (scans sealed to the city), the city's reply imported, and at a town with a link a village's
bundle relayed to the city."""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext

from node.views.common import NODE_ROLES, db, node, sync
from store import projections
from sync.status import MESSAGES
from web.access_log import record_export
from web.auth import roles_required, safe_next
from web.bundle_texts import (
    BUNDLE_PROBLEMS,
    bundle_problem,
    held_back_note,
    plain_warning,
    refused_with_reply,
)
from web.retention import BUNDLES_DIR

bp = Blueprint("syncpage", __name__, url_prefix="/sync")
CARRY_MAX_BYTES = 256 * 1024 * 1024  # a village's bundle, as central accepts it (SyncConfig.max_bundle_bytes)


@bp.before_request
def _bundle_size_limit() -> None:
    """A village's bundle is larger than any form: relaying one gets the city's bundle limit."""
    if request.endpoint == "syncpage.carry":
        request.max_content_length = CARRY_MAX_BYTES


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
                           config=the_node.config, problems=problems, sealing=the_node.seal_to(),
                           waiting_scans=len(the_node.blobs.unsent()))


@bp.post("/export")
@roles_required(*NODE_ROLES)
def export() -> Any:
    """The unsent records and scans as a signed bundle file, for a USB stick (no link needed). The
    scans are sealed to the city (sync/sealing.py): only the city opens them, not whoever finds the
    stick. The file is also kept in `<data>/bundles/` until the retention policy's `bundle_days`,
    and sent from there piece by piece (a bundle of scans can weigh a hundred megabytes)."""
    from sync.bundle import export_bundle, export_summary
    from sync.keys import NodeKey, default_key_path

    the_node = node()
    folder = the_node.data_dir / BUNDLES_DIR
    folder.mkdir(exist_ok=True)
    path = folder / f".{the_node.config.node_id}-export-{secrets.token_hex(4)}.zip"  # two clerks at once
    manifest = export_bundle(the_node.log, NodeKey.load(default_key_path(the_node.db_path)), path,
                             blobs=the_node.blobs, seal_to=the_node.seal_to())
    name = f"{the_node.config.node_id}-{manifest['first_seq']}-{manifest['last_seq']}.zip"
    path = path.replace(folder / name)
    summary = export_summary(manifest)
    # the bundle holds applicants' records and scans: taking it away is an export, recorded first
    record_export(name, manifest["records"], scans=summary["scans"], held_back=summary["held_back"])
    if summary["held_back"]:
        flash(held_back_note(summary["held_back"]), "warning")
    resp = send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'  # as every download here names it
    return resp


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
    except Refusal as err:
        flash(bundle_problem(err.code, reply=True), "error")
    except SyncError as err:
        flash(describe_error(err.code, dict(err.params)) or gettext("The reply file was refused."), "error")
    else:
        flash(gettext("Reply imported: %(got)s records received.", got=result["pulled"]), "success")
        if result["error"] == "bundle_sealed_elsewhere":
            flash(refused_with_reply(), "warning")
        refused = result["answer"].get("refused")
        if isinstance(refused, dict):
            flash(describe_error("sync.refused", {"reason": refused.get("code", "")}), "error")
        for warning in result["warnings"]:
            if warning.get("code") == "plain_scans":
                flash(plain_warning(int(warning.get("scans", 0)), str(warning.get("until", ""))), "warning")
    return redirect(url_for("syncpage.index"))


@bp.post("/carry")
@roles_required(*NODE_ROLES)
def carry() -> Any:
    """A village's bundle relayed to the city over this node's link (a town centre for its villages),
    and the city's reply handed back for the stick. This node only carries it: the bundle's own
    signature says whose records they are, and its scans are sealed to the city, so nothing here can
    open them (nor needs to)."""
    from sync.bundle import peek_answer
    from sync.client import SyncError

    runner = sync()
    upload = request.files.get("bundle")
    if runner.client is None:
        flash(gettext("This service point has no network address for the city; records travel by USB bundle."),
              "warning")
        return redirect(url_for("syncpage.index"))
    if upload is None or not upload.filename:
        flash(gettext("Choose the bundle file from the USB stick."), "error")
        return redirect(url_for("syncpage.index"))
    try:
        reply = runner.client.carry_bundle(upload.read())
    except SyncError as err:
        if err.code in BUNDLE_PROBLEMS:
            flash(bundle_problem(err.code), "error")
        else:
            flash(describe_error(err.code, dict(err.params)) or gettext("The bundle was refused."), "error")
        return redirect(url_for("syncpage.index"))
    answer = peek_answer(reply)  # to tell the carrier only: the village checks the reply whole
    village = str(answer.get("node", ""))
    if not re.fullmatch(r"[TVS][0-9]{2,6}", village):
        village = "bundle"
    if answer.get("error") == "bundle_sealed_elsewhere":
        flash(refused_with_reply(carrier=True), "warning")
    return Response(reply, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{village}-reply.zip"'})


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
