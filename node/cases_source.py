"""The node's answers to the shared case page (web.casepage.CaseSource).

A case's timeline shows, for every record: where and when it was made, whether its signature
checks against the key the directory holds for its origin (re-verified on every view: a record
altered in the file after it was stored shows as NOT verified), and when central receipted it
(the node's own records: from the signed receipts it keeps).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from flask_babel import gettext
from sqlite_utils import Database

from casework.cases import CaseState
from node import scans
from node.context import Node
from store import cases as store_cases
from store import directory as store_directory
from store import scans as store_scans
from sync.blobs import BlobError
from sync.canonical import Refusal
from sync.envelope import RECORD_DOMAIN, Record
from web.case_actions import FormErrors
from web.casepage import CaseSource, LoadedCase, TimelineEntry

CHINA = dt.timezone(dt.timedelta(hours=8))


def _verified(node: Node, record: Record) -> bool:
    try:
        if record.origin == node.config.node_id and node.log.signer is not None \
                and record.key == node.log.signer.key_id:
            public = node.log.signer.public_key()
        else:
            directory = node.log.directory
            if directory is None:
                return False
            public, _status = directory.check(record, 0)
        public.verify(record.sig, RECORD_DOMAIN + record.raw)
        return True
    except (InvalidSignature, Refusal, ValueError):
        return False


def china_time(iso: str | None) -> str | None:
    """An ISO time with offset as China local time (what a clerk reads), or as given if unreadable."""
    if not iso:
        return iso
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is None:
        return iso
    return moment.astimezone(CHINA).replace(tzinfo=None).isoformat(timespec="seconds")


def receipt_times(node: Node) -> tuple[list[int], list[str]]:
    """(seqs, central times) of this node's receipts, ascending: a record of seq s was receipted
    at the time of the first receipt with seq >= s."""
    pairs = sorted((r.seq, str(r.checkpoint.get("time", ""))) for r in node.log.receipts("C"))
    return [s for s, _ in pairs], [t for _, t in pairs]


def load_case(node: Node, db: Database, number: str) -> LoadedCase | None:
    state = store_cases.get_case_state(db, number)
    if state is None:
        return None
    records = store_cases.case_events(db, number)
    seqs, times = receipt_times(node)
    conflicts = {c.event_id: c.translated(gettext) for c in state.conflicts}
    pending = {p.event_id for p in state.pending}
    entries = []
    for r in records:
        place = f"node:{r.origin}" if r.origin != "C" else (
            f"window:{r.body['window']}" if isinstance(r.body.get("window"), str) else "central")
        receipted = None
        if r.origin == node.config.node_id:
            i = bisect.bisect_left(seqs, r.seq)
            receipted = times[i] if i < len(times) else None
        elif r.origin == "C":
            receipted = r.time
        entries.append(TimelineEntry(
            id=r.id, kind=r.kind, origin=r.origin, seq=r.seq, place=place, time=china_time(r.time) or "",
            verified=_verified(node, r), receipted_at=china_time(receipted), body=r.body,
            applied=r.id not in conflicts and r.id not in pending,
            conflict=conflicts.get(r.id, gettext("waiting for earlier records") if r.id in pending else ""),
        ))
    return LoadedCase(state, entries)


def forward_targets(node: Node, db: Database, state: CaseState) -> list[tuple[str, str]]:
    """Where this node may forward a case: the next tier that decides its item."""
    item = state.item or {}
    targets: list[tuple[str, str]] = []
    town = node.parent() if item.get("handle_tier") == "town" else ""
    if town:
        targets.append((f"node:{town}", store_directory.node_name(db, town)))
    window = item.get("window")
    if window:
        catalogue = node.catalogue(db)
        label = f"市行政服务中心 {window}"
        if catalogue is not None:
            try:
                w = catalogue.window(window)
                label = f"{catalogue.centre.name} {w.name}"
            except KeyError:
                pass
        targets.append((f"window:{window}", label))
    return [t for t in targets if t[0] != state.holder]


def save_upload(node: Node, upload: Any) -> str:
    """A FileStorage reduced and stored as a blob; FormErrors with a clear message otherwise."""
    try:
        data = scans.reduce(scans.read_upload(upload))
    except scans.ScanError as err:
        message = {
            "too_large": gettext("The file is larger than %(mb)s MB. Scan it at a lower resolution; nothing was saved.",
                                 mb=scans.MAX_UPLOAD_BYTES // (1024 * 1024)),
            "empty": gettext("The file is empty."),
        }.get(err.code, gettext("The file is not a picture or PDF that can be read (it may be cut short)."))
        raise FormErrors({"scan": message}) from err
    return node.blobs.put(data)


def node_case_source(node: Node, db_getter: Callable[[], Database]) -> CaseSource:
    def blob(sha: str) -> bytes | None:
        if not node.blobs.readable(sha):
            return None
        try:
            return node.blobs.read(sha)
        except BlobError:  # damaged on disk: shown as not here; housekeeping fetches it again
            return None

    def scan_state(sha: str) -> str:
        if node.blobs.readable(sha):
            return "here"
        return "archived" if store_scans.is_archived(db_getter(), sha) else "missing"

    def names() -> dict[str, str]:
        db = db_getter()
        return {f"node:{n.node}": n.name for n in store_directory.list_nodes(db) if n.name}

    return CaseSource(
        load=lambda number: load_case(node, db_getter(), number),
        append=node.append,
        place=lambda: node.config.place,
        calendar=lambda: node.calendar(db_getter()),
        catalogue=lambda: node.catalogue(db_getter()),
        blob=blob,
        save_blob=lambda upload: save_upload(node, upload),
        forward_targets=lambda state: forward_targets(node, db_getter(), state),
        place_names=names,
        now=lambda: dt.datetime.now(CHINA),
        list_endpoint="cases.index",
        scan_state=scan_state,
    )
