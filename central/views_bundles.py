"""USB bundles brought to the city: a service point's bundle imported, the city's reply handed back.

A village with no link saves its records and scans on a USB stick (sync/bundle.py). Usually a town
relays it over its own link (`POST /sync/v1/bundle`); when the stick comes to the city itself, an
administrator imports it here. The bundle is checked whole before anything is stored (signatures,
every file, every sealed scan opened with central's sealing key and hashed to its name), exactly as
over the sync API; a refused one is explained in the user's language and nothing from it is kept.

The reply (the receipt, and the records routed to that service point) is written to
`<data>/bundles/` and offered for download, to go back on the same stick; replies are listed there
until the retention policy's `bundle_days` (web.retention). Taking one away is an export, recorded
first (web.access_log), like any file with personal data that leaves the building.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_file
from flask_babel import gettext
from werkzeug.wrappers import Response

from central import sealing_key
from central.pages import central_of
from store.directory import list_nodes
from sync.bundle import answer_bundle
from sync.canonical import Refusal
from sync.server import ProtocolError
from web.access_log import record_export
from web.auth import roles_required
from web.bundle_texts import bundle_problem, held_back_note, plain_warning
from web.retention import BUNDLES_DIR
from web.settings import store_db

bp = Blueprint("bundles", __name__, url_prefix="/admin/bundles")
REPLY_NAME = re.compile(r"^[TVS][0-9]{2,6}-reply-[0-9]{8}-[0-9]{6}(-[0-9]+)?\.zip$")
MAX_UPLOAD = 256 * 1024 * 1024  # as over the sync API (SyncConfig.max_bundle_bytes)


@bp.before_request
def _bundle_size_limit() -> None:
    """A bundle is larger than any form: it gets the sync API's limit, not the app's 48 MB."""
    request.max_content_length = MAX_UPLOAD


def _folder() -> Path:
    folder = central_of().data.root / BUNDLES_DIR
    folder.mkdir(exist_ok=True)
    return folder


def _replies() -> list[dict[str, Any]]:
    """The replies still kept here, newest first."""
    found = []
    for path in _folder().glob("*.zip"):
        if REPLY_NAME.match(path.name):
            st = path.stat()
            found.append({"name": path.name, "node": path.name.split("-", 1)[0], "size": st.st_size,
                          "at": dt.datetime.fromtimestamp(st.st_mtime, dt.UTC).isoformat()})
    return sorted(found, key=lambda r: r["at"], reverse=True)[:30]


def _page(status: int = 200, **context: Any) -> tuple[str, int]:
    central = central_of()
    published = sealing_key.published(central)
    names = {n.node: n.name for n in list_nodes(store_db())}
    until = sealing_key.plain_until(central.config)
    return render_template("central/admin_bundles.html", replies=_replies(), published=published, names=names,
                           plain_until=until, **context), status


@bp.get("")
@roles_required("admin")
def index() -> Any:
    return _page()


@bp.post("")
@roles_required("admin")
def import_bundle() -> Any:
    upload = request.files.get("bundle")
    if upload is None or not upload.filename:
        return _page(400, problem=gettext("Choose the bundle file from the USB stick."), code="")
    central = central_of()
    sync = current_app.extensions["bianmin_sync"]
    try:
        answer, reply = answer_bundle(central.log, sync["routes"], upload.stream, blobs=sync["blobs"],
                                      sealing=current_app.extensions["central_sealing"],
                                      plain_until=sealing_key.plain_until(central.config), today=central.today(),
                                      max_bytes=MAX_UPLOAD)
    except (Refusal, ProtocolError) as err:
        return _page(422, problem=bundle_problem(err.code), code=err.code)
    node = str(answer.get("node", ""))
    name = f"{node}-reply-{central.now().strftime('%Y%m%d-%H%M%S')}.zip"
    path = _folder() / name
    n = 1
    while path.exists():
        path = _folder() / name.replace(".zip", f"-{n}.zip")
        n += 1
    path.write_bytes(reply)
    if answer.get("error"):  # refused, nothing stored; the reply brings the service point the current key
        return _page(422, problem=bundle_problem(str(answer["error"])), code=str(answer["error"]),
                     refused_reply=path.name)
    notes = []
    if answer.get("held_back"):
        notes.append(held_back_note(int(answer["held_back"])))
    for warning in answer.get("warnings") or []:
        if warning.get("code") == "plain_scans":
            notes.append(plain_warning(int(warning.get("scans", 0)), str(warning.get("until", ""))))
    return _page(result={"node": node, "accepted": answer.get("accepted", 0), "duplicate": answer.get("duplicate", 0),
                         "scans": len(answer.get("blobs") or []), "reply": path.name,
                         "refused": answer.get("refused"), "notes": notes})


@bp.get("/reply/<name>")
@roles_required("admin")
def reply(name: str) -> Response:
    """A reply kept here, to go back on the USB stick (an export of records: recorded first)."""
    if not REPLY_NAME.match(name):
        abort(404)
    path = _folder() / name
    if not path.is_file():
        abort(404)
    with zipfile.ZipFile(path) as z:
        manifest = json.loads(z.read("manifest.json"))
    record_export(name, int(manifest.get("records", 0)), node=str(manifest.get("to", "")))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name)

