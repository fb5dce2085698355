"""Central's answers to the shared case page (web.casepage), so a window clerk, a supervisor and a
village clerk see a case the same way: its timeline with every signature re-verified, notices,
scans and the applicant's rating screen. What only central does there comes in as panels
(central.case_panels: fees and payment notices, the tolerated gap, finishing an immediate case on
the spot, joint opinions, the service card, the record-chain check), posting to central.views_window.

The acting place is the clerk's window (`window:W06`); a member of staff with no window (a
supervisor) acts as the centre as a whole and so may only add notes and ratings.
"""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import InvalidSignature
from flask import current_app
from flask_babel import gettext

from casework.case_state import CaseState
from central import case_panels
from central.pages import acting_place, central_of, china_time, current_window, staff_name
from sync.canonical import Refusal
from sync.envelope import RECORD_DOMAIN, parse_record
from web.casepage import CaseSource, LoadedCase, TimelineEntry
from web.settings import store_db


def load_case(number: str) -> LoadedCase | None:
    central = central_of()
    db = store_db()
    state = central.fold(number, db)
    if state is None:
        return None
    conflicts = {c.event_id: c.translated(gettext) for c in state.conflicts}
    pending = {p.event_id for p in state.pending}
    entries = []
    rows = db.execute(
        "SELECT r.raw, r.sig, r.central_pos, r.received_at FROM board_events e JOIN records r ON r.id = e.record_id"
        " WHERE e.case_number = ? ORDER BY r.pos", [number]).fetchall()
    directory = central.log.directory
    for raw, sig, central_pos, received_at in rows:
        record = parse_record(raw, sig)
        try:
            assert directory is not None
            public, _status = directory.check(record, central_pos)
            public.verify(record.sig, RECORD_DOMAIN + record.raw)
            verified = True
        except (InvalidSignature, Refusal, AssertionError):
            verified = False
        body = record.body
        place = f"node:{record.origin}" if record.origin != "C" else (
            f"window:{body['window']}" if isinstance(body.get("window"), str) else "central")
        entries.append(TimelineEntry(
            id=record.id, kind=record.kind, origin=record.origin, seq=record.seq, place=place,
            time=china_time(record.time), verified=verified, receipted_at=china_time(received_at), body=body,
            applied=record.id not in conflicts and record.id not in pending,
            conflict=conflicts.get(record.id, gettext("waiting for earlier records") if record.id in pending else "")))
    return LoadedCase(state, entries)


def _append(kind: str, body: dict[str, Any]) -> Any:
    fields = {k: v for k, v in body.items() if k not in ("case", "after", "by", "window")}
    window = current_window()
    return central_of().act(body["case"], kind, window=window, staff=staff_name(), **fields)


def _targets(state: CaseState) -> list[tuple[str, str]]:
    from central.views_window import forward_targets

    return forward_targets(state, current_window() or "")


def _blob(sha256: str) -> bytes | None:
    blobs = current_app.extensions["central_blobs"]
    return blobs.read(sha256) if blobs.has(sha256) else None


def _scan_state(sha256: str) -> str:
    """Here, or missing (not uploaded yet, or deleted after `central_scans_years`)."""
    return "here" if current_app.extensions["central_blobs"].has(sha256) else "missing"


def _names() -> dict[str, str]:
    rows = store_db().execute("SELECT node, name FROM directory_nodes").fetchall()
    return {f"node:{node}": name for node, name in rows if name}


def case_source() -> CaseSource:
    return CaseSource(
        load=load_case, append=_append, place=acting_place, calendar=lambda: central_of().calendar(),
        catalogue=lambda: central_of().catalogue(), blob=_blob, forward_targets=_targets, place_names=_names,
        now=lambda: central_of().now(), scan_state=_scan_state, panels=case_panels.panels,
        required=case_panels.REQUIRED)


__all__ = ["case_source", "load_case"]
