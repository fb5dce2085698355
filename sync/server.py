"""Central's side of the sync protocol: a Flask blueprint central's app mounts at /sync/v1.

`create_sync_blueprint(store, route=..., tokens=..., blobs=..., config=..., nonces=..., sealing=...)` needs only
central's LogStore (which holds central's signing key and folds the node directory), a routing
function `route(record) -> set[node id]`, and optionally the enrolment-token book and a blob store.
It owns no app: central decides where its files live and which pages surround it.

What every endpoint promises (sync/PROTOCOL.md, "HTTP API", is the normative text):
- every request but `time` and `enrol` is signed by the node's current key (sync/requestauth.py);
  central acts only for the node the signature proves, never for one a request names;
- a push is one batch, one transaction, a decision per record, and a signed receipt;
- a pull returns the records routed to the asking node and, for what lies between them in each
  origin's chain, central's signed elisions: never another place's records (see `Routes`); each
  page is signed as a whole (sync/pullpage.py), so nothing on the link can drop part of it;
- errors are JSON `{"error": code, "message": plain English, ...}` with a fitting HTTP status.

The plain functions `accept_batch` and `Routes.pull` do the work; the HTTP handlers only unwrap
and wrap, so a bundle carried on a USB stick (sync/bundle.py) gets exactly the same checks.
"""

from __future__ import annotations

import datetime as dt
import gzip
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils
from flask import Blueprint, Response, current_app, g, jsonify, request

from sync.blobs import BlobError, BlobStore, check_name
from sync.canonical import Refusal
from sync.client import BATCH_TYPE, ELIDED, Frame, encode_frames, split_frames
from sync.elision import Elision, sign_elision
from sync.envelope import Record, parse_record
from sync.keys import (
    EnrolmentToken,
    check_token,
    fingerprint,
    key_id,
    new_token,
    tier_of,
    token_hash,
    verify_enrolment_request,
)
from sync.logstore import IngestResult, LogStore
from sync.pullpage import HEADER as PAGE_HEADER
from sync.pullpage import sign_page
from sync.requestauth import AuthError, NonceStore, directory_lookup, verify_request
from sync.sealing import KIND as SEALING_KIND
from sync.sealing import SealingKey, record_wire

Route = Callable[[Record], set[str]]
Group = Callable[[Record], "str | None"]
PREFIX = "/sync/v1"


@dataclass(frozen=True)
class SyncConfig:
    """Limits central enforces (and tells nodes about in `GET /sync/v1/time`)."""

    max_batch_records: int = 1000
    max_batch_bytes: int = 16 * 1024 * 1024  # uncompressed; the wire form is smaller
    max_pull_records: int = 1000
    replay_window: int = 300  # seconds
    max_blob_size: int = 64 * 1024 * 1024
    max_chunk_bytes: int = 1024 * 1024
    max_bundle_bytes: int = 256 * 1024 * 1024
    gzip_min_bytes: int = 512

    def to_json(self) -> dict[str, int]:
        return {"max_batch_records": self.max_batch_records, "max_batch_bytes": self.max_batch_bytes,
                "max_pull_records": self.max_pull_records, "replay_window": self.replay_window,
                "max_blob_size": self.max_blob_size, "max_chunk_bytes": self.max_chunk_bytes}


class ProtocolError(Exception):
    """A refusal on the wire: JSON `{"error": code, "message": ..., **detail}` with `status`."""

    def __init__(self, code: str, message: str, status: int = 400, **detail: object) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.detail = code, message, status, detail


def route_everything(record: Record) -> set[str]:
    """The simplest routing: every record to every enrolled node except its origin (tests, demos)."""
    return {"*"}


# --- routing: which records each node pulls -------------------------------------------------------

class Routes:
    """Per-node queues of what each node pulls: the records `route` sends it, and central's signed
    elisions of the ranges in between that it may not see (sync/elision.py, PROTOCOL.md 12a).

    A node's log refuses a record whose predecessor it does not hold, so when `route` sends node N
    record (origin X, seq s) and N's queue covers X only up to seq m < s - 1, the queue gets one
    elision "X seq m+1..s-1 withheld" and then the record: a village PC never receives another
    place's applicants or the city's password hashes to keep its chains whole, and a pull costs
    what is routed to it, one small elision per gap, not central's history.

    Groups: `group(record)` (optional) names the group a record belongs to (central: its case).
    A node routed any record of a group is sent the group's earlier records first, once: a town
    that a village forwards a case to receives the case's history with the forward. Such an
    earlier record usually lies inside a range already elided to that node: the queue then
    *re-cuts* that range, one unit of consecutive entries (the elisions before, between and after
    the records it now sends), which the node takes whole in place of the elision it holds; a page
    never splits a unit. `sync.rebased` records (sync's own: a node that recovered renames its
    records) go to every node that was sent records of their origin.

    Tables in central's database beside the log (`sync_route_*`): the queue (`n` is the node's
    pull cursor), each node's covered head per origin (`marks`) and withheld ranges (`gaps`), the
    group index and memberships, and which log positions have been routed (`meta`). They are not
    a rebuildable projection but central's promise to each node (its cursor points into the
    queue, and what it was told stays told): `Central.rebuild` leaves them, and replaying the log
    through the projector is a no-op. Records stored while no Routes listened (central's CLI,
    another process) are routed when next seen: at start, before a pull, or before a new record.
    """

    def __init__(self, store: LogStore, route: Route, group: Group | None = None) -> None:
        self.store = store
        self.route = route
        self.group = group
        with store.transaction() as db:
            self._ensure_schema(db)
        store.register_projector(self._project)
        with store.transaction() as db:
            self._catch_up(db)

    # -- schema --------------------------------------------------------------------------------
    def _ensure_schema(self, db: sqlite_utils.Database) -> None:
        conn = db.conn
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sync_routes)")}
        legacy = bool(columns) and "unit" not in columns
        if legacy:   # a queue from before elisions: whole chains, records only
            conn.execute("DROP INDEX IF EXISTS sync_routes_node")
            conn.execute("ALTER TABLE sync_routes RENAME TO sync_routes_v1")
        conn.executescript(
            "CREATE TABLE IF NOT EXISTS sync_routes (n INTEGER PRIMARY KEY, node TEXT NOT NULL, origin TEXT NOT NULL,"
            " first INTEGER NOT NULL, last INTEGER NOT NULL, pos INTEGER, unit INTEGER NOT NULL);"
            "CREATE INDEX IF NOT EXISTS sync_routes_node ON sync_routes (node, n);"
            "CREATE UNIQUE INDEX IF NOT EXISTS sync_routes_sent ON sync_routes (node, pos);"
            "CREATE TABLE IF NOT EXISTS sync_route_marks (node TEXT NOT NULL, origin TEXT NOT NULL,"
            " seq INTEGER NOT NULL, PRIMARY KEY (node, origin)) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS sync_route_gaps (node TEXT NOT NULL, origin TEXT NOT NULL,"
            " first INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY (node, origin, first)) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS sync_route_groups (grp TEXT NOT NULL, pos INTEGER NOT NULL,"
            " PRIMARY KEY (grp, pos)) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS sync_route_members (node TEXT NOT NULL, grp TEXT NOT NULL,"
            " PRIMARY KEY (node, grp)) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS sync_route_nodes (node TEXT PRIMARY KEY) WITHOUT ROWID;"
            "CREATE TABLE IF NOT EXISTS sync_route_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);")
        if legacy:
            conn.execute("INSERT INTO sync_routes (n, node, origin, first, last, pos, unit) SELECT q.n, q.node,"
                         " r.origin, r.seq, r.seq, q.pos, 0 FROM sync_routes_v1 q JOIN records r ON r.pos = q.pos")
            conn.execute("DROP TABLE sync_routes_v1")
            conn.execute("INSERT OR IGNORE INTO sync_route_nodes SELECT DISTINCT node FROM sync_route_marks")
            routed = 0
            while page := self.store.records_after(routed, limit=5000):
                for stored in page:
                    self._index(db, stored.pos, stored.record)
                routed = page[-1].pos
            self._set_routed(db, routed)

    @staticmethod
    def _routed(db: sqlite_utils.Database) -> int:
        row = db.conn.execute("SELECT value FROM sync_route_meta WHERE name = 'routed'").fetchone()
        return row[0] if row else 0

    @staticmethod
    def _set_routed(db: sqlite_utils.Database, pos: int) -> None:
        db.conn.execute("INSERT INTO sync_route_meta VALUES ('routed', ?) ON CONFLICT (name) DO UPDATE"
                        " SET value = excluded.value", (pos,))

    # -- routing records as they are stored ----------------------------------------------------------
    def _nodes(self) -> list[str]:
        directory = self.store.directory
        return [n for n in (directory.nodes if directory else {}) if n != "C"]

    def _targets(self, db: sqlite_utils.Database, record: Record) -> set[str]:
        targets = self.route(record)
        if "*" in targets:
            targets = set(self._nodes()) | (targets - {"*"})
        if record.kind == "sync.rebased":   # renames of records that nodes may hold
            targets = targets | {row[0] for row in db.conn.execute(
                "SELECT node FROM sync_route_marks WHERE origin = ?", (record.origin,))}
        return targets

    def _project(self, db: sqlite_utils.Database, record: Record) -> None:
        row = db.conn.execute("SELECT pos FROM records WHERE id = ?", (record.id,)).fetchone()
        if row is None:
            return
        pos = row[0]
        # the usual case in one statement: the record just before this one was routed
        if not db.conn.execute("UPDATE sync_route_meta SET value = ? WHERE name = 'routed' AND value = ?",
                               (pos, pos - 1)).rowcount:
            routed = self._routed(db)
            if pos <= routed:
                return       # a rebuild replaying the log: what each node was sent stays as it is
            if routed < pos - 1:
                self._catch_up(db, upto=pos - 1)
            self._set_routed(db, pos)
        self._route_one(db, pos, record)

    def _catch_up(self, db: sqlite_utils.Database, upto: int | None = None) -> None:
        """Route records stored while no Routes listened (in log order), up to `upto` (default: all)."""
        routed = self._routed(db)
        last = db.conn.execute("SELECT max(pos) FROM records").fetchone()[0] or 0
        upto = last if upto is None else min(upto, last)
        while routed < upto:
            page = [s for s in self.store.records_after(routed, limit=1000) if s.pos <= upto]
            if not page:
                break
            quarantined = {row[0] for row in db.conn.execute(
                f"SELECT id FROM quarantine WHERE id IN ({','.join('?' * len(page))})", [s.record.id for s in page])}
            for stored in page:
                if stored.record.id not in quarantined:   # projectors skip those too
                    self._route_one(db, stored.pos, stored.record)
            routed = page[-1].pos
            self._set_routed(db, routed)

    def _index(self, db: sqlite_utils.Database, pos: int, record: Record) -> str | None:
        group = self.group(record) if self.group is not None else None
        if group:
            db.conn.execute("INSERT OR IGNORE INTO sync_route_groups VALUES (?, ?)", (group, pos))
        return group

    def _with_group(self, db: sqlite_utils.Database, node: str, group: str | None, pos: int,
                    record: Record) -> list[tuple[int, str, int]]:
        """What routing `record` to `node` sends: the record, after the group's earlier records the
        first time this node is routed one of the group."""
        send = [(pos, record.origin, record.seq)]
        if group and db.conn.execute("INSERT OR IGNORE INTO sync_route_members VALUES (?, ?)",
                                     (node, group)).rowcount:
            send = [*db.conn.execute(
                "SELECT g.pos, r.origin, r.seq FROM sync_route_groups g JOIN records r ON r.pos = g.pos"
                " WHERE g.grp = ? AND g.pos < ? ORDER BY g.pos", (group, pos)), *send]
        return send

    def _route_one(self, db: sqlite_utils.Database, pos: int, record: Record) -> None:
        group = self._index(db, pos, record)
        for node in sorted(self._targets(db, record)):
            self._send(db, node, self._with_group(db, node, group, pos, record))
        if record.origin == "C" and record.kind == "node.enrolled":
            self._backfill(db, str(record.body.get("node", "")), pos)

    def _backfill(self, db: sqlite_utils.Database, node: str, upto: int) -> None:
        """A node's first enrolment: its queue is made afresh from the log up to its enrolment (what
        `route` sends it or everyone: the directory, the catalogue, staff who may sign in there, ...),
        in log order, so its first pull starts with one elision per origin before what it may see.
        Nothing was pulled before (a node pulls only once enrolled), so starting afresh is safe;
        a later enrolment (a new key after a lost PC) keeps the queue the node has pulled from."""
        if not node or db.conn.execute("INSERT OR IGNORE INTO sync_route_nodes VALUES (?)", (node,)).rowcount == 0:
            return
        for table in ("sync_routes", "sync_route_marks", "sync_route_gaps", "sync_route_members"):
            db.conn.execute(f"DELETE FROM {table} WHERE node = ?", (node,))
        send: dict[int, tuple[int, str, int]] = {}
        after = 0
        while page := [s for s in self.store.records_after(after, limit=5000) if s.pos <= upto]:
            for stored in page:
                record = stored.record
                targets = self.route(record)
                if "*" in targets or node in targets:
                    group = self.group(record) if self.group is not None else None
                    for item in self._with_group(db, node, group, stored.pos, record):
                        send[item[0]] = item
            after = page[-1].pos
            if after >= upto:
                break
        self._send(db, node, [send[p] for p in sorted(send)])

    # -- the queue ------------------------------------------------------------------------------
    _INSERT = "INSERT INTO sync_routes (n, node, origin, first, last, pos, unit) VALUES (?, ?, ?, ?, ?, ?, ?)"

    def _send(self, db: sqlite_utils.Database, node: str, items: Sequence[tuple[int, str, int]]) -> None:
        """Queue records (pos, origin, seq) for `node`, with the elisions and re-cuts their places
        in each origin's chain need. Records already sent are skipped; a node's own never queued."""
        if not node or node == "C":
            return
        conn = db.conn
        rows: list[tuple[int | None, str, str, int, int, int | None, int]] = []
        by_origin: dict[str, list[tuple[int, int]]] = {}
        for pos, origin, seq in items:
            if origin != node:
                by_origin.setdefault(origin, []).append((seq, pos))
        for origin, found in sorted(by_origin.items()):
            found.sort()
            row = conn.execute("SELECT seq FROM sync_route_marks WHERE node = ? AND origin = ?",
                               (node, origin)).fetchone()
            mark = row[0] if row else 0
            recut: dict[tuple[int, int], list[tuple[int, int]]] = {}
            for seq, pos in found:
                if seq > mark:
                    continue
                gap = conn.execute("SELECT first, last FROM sync_route_gaps WHERE node = ? AND origin = ?"
                                   " AND first <= ? ORDER BY first DESC LIMIT 1", (node, origin, seq)).fetchone()
                if gap is not None and gap[1] >= seq:   # else it was sent already
                    recut.setdefault((gap[0], gap[1]), []).append((seq, pos))
            for (first, last), inside in sorted(recut.items()):
                conn.execute("DELETE FROM sync_route_gaps WHERE node = ? AND origin = ? AND first = ?",
                             (node, origin, first))
                conn.executemany(self._INSERT, rows)     # a unit's numbers follow what is queued
                rows.clear()
                unit = (conn.execute("SELECT max(n) FROM sync_routes").fetchone()[0] or 0) + 1
                self._cut(conn, rows, node, origin, first, last, inside, unit)
            extend = [(seq, pos) for seq, pos in found if seq > mark]
            if extend:
                cursor = mark + 1
                for seq, pos in extend:
                    self._cut(conn, rows, node, origin, cursor, seq, [(seq, pos)], None)
                    cursor = seq + 1
                conn.execute("INSERT INTO sync_route_marks VALUES (?, ?, ?) ON CONFLICT (node, origin)"
                             " DO UPDATE SET seq = excluded.seq", (node, origin, extend[-1][0]))
        conn.executemany(self._INSERT, rows)

    @staticmethod
    def _cut(conn: Any, rows: list[tuple[int | None, str, str, int, int, int | None, int]], node: str,
             origin: str, first: int, last: int, inside: list[tuple[int, int]], unit: int | None) -> None:
        """Queue origin's range first..last for node as the records `inside` (seq, pos) with an
        elision for every stretch between them (and a withheld range for each). `unit` (the first
        entry's n) ties a re-cut's entries together; None: each entry stands alone (unit 0)."""
        n = unit
        cursor = first
        for seq, pos in [*inside, (last + 1, None)]:
            if seq > cursor and cursor <= last:
                end = min(seq - 1, last)
                rows.append((n, node, origin, cursor, end, None, unit or 0))
                conn.execute("INSERT INTO sync_route_gaps VALUES (?, ?, ?, ?)", (node, origin, cursor, end))
                n = n + 1 if n is not None else None
            if pos is not None:
                rows.append((n, node, origin, seq, seq, pos, unit or 0))
                n = n + 1 if n is not None else None
                cursor = seq + 1

    # -- pulling ---------------------------------------------------------------------------------
    _PULL = ("SELECT q.n, q.unit, q.origin, q.first, q.last, q.pos, r.central_pos, r.raw, r.sig FROM sync_routes q"
             " LEFT JOIN records r ON r.pos = q.pos WHERE q.node = ? AND q.n > ?")

    def pull(self, node: str, after: int, limit: int) -> tuple[list[Frame], int, bool]:
        """([(central position or ELIDED, raw, sig)], next cursor, more?) for `node` after its cursor.

        At most `limit` entries, except that a re-cut unit is never split across pages. Elisions are
        signed as they are read (Ed25519 is deterministic: the same elision is the same bytes)."""
        conn = self.store.db.conn
        with self.store.transaction() as db:
            self._catch_up(db)
            rows = conn.execute(self._PULL + " ORDER BY q.n LIMIT ?", (node, after, max(1, limit))).fetchall()
            if rows and rows[-1][1]:     # the page ends inside a re-cut: take the rest of it too
                rows += conn.execute(self._PULL + " AND q.unit = ? ORDER BY q.n",
                                     (node, rows[-1][0], rows[-1][1])).fetchall()
            more = rows != [] and conn.execute("SELECT 1 FROM sync_routes WHERE node = ? AND n > ? LIMIT 1",
                                               (node, rows[-1][0])).fetchone() is not None
            frames: list[Frame] = []
            for _, _, origin, first, last, pos, central_pos, raw, sig in rows:
                if pos is not None:
                    frames.append((central_pos, raw, sig))
                    continue
                elision = self._elision(conn, node, origin, first, last)
                frames.append((ELIDED, elision.raw, elision.sig))
        cursor = rows[-1][0] if rows else after
        return frames, cursor, more

    def _elision(self, conn: Any, node: str, origin: str, first: int, last: int) -> Elision:
        ids = dict(conn.execute("SELECT seq, id FROM records WHERE origin = ? AND seq IN (?, ?)",
                                (origin, first - 1, last)))
        assert self.store.signer is not None
        return sign_elision(self.store.signer, net=self.store.network, node=node, origin=origin, first=first,
                            last=last, prev=ids.get(first - 1), id=ids[last])


# --- enrolment tokens ---------------------------------------------------------------------------

class EnrolmentBook:
    """Central's single-use enrolment tokens: only their hashes are stored, with an expiry."""

    def __init__(self, store: LogStore) -> None:
        self.store = store
        with store.transaction() as db:
            db.conn.execute(
                "CREATE TABLE IF NOT EXISTS sync_enrolment_tokens (token_hash TEXT PRIMARY KEY,"
                " node TEXT NOT NULL, tier TEXT NOT NULL, name TEXT NOT NULL, expires_at TEXT NOT NULL,"
                " used_at TEXT)")

    def issue(self, node: str, name: str, *, valid_for: timedelta = timedelta(days=3),
              now: datetime | None = None) -> str:
        """A new token for `node` (shown once to the administrator, read out to the node's staff)."""
        tier = tier_of(node)
        token = new_token()
        expires = (now or datetime.now(UTC)) + valid_for
        with self.store.transaction() as db:
            db.conn.execute("INSERT INTO sync_enrolment_tokens VALUES (?, ?, ?, ?, ?, NULL)",
                            (token_hash(token), node, tier, name, expires.isoformat()))
        return token

    def find(self, token: str) -> EnrolmentToken | None:
        row = self.store.db.conn.execute(
            "SELECT node, tier, name, token_hash, expires_at, used_at FROM sync_enrolment_tokens"
            " WHERE token_hash = ?", (token_hash(token),)).fetchone()
        if row is None:
            return None
        return EnrolmentToken(row[0], row[1], row[2], row[3], datetime.fromisoformat(row[4]),
                              datetime.fromisoformat(row[5]) if row[5] else None)

    def enrol(self, body: Any, *, now: datetime | None = None) -> Record:
        """Check an enrolment request and token; sign `node.enrolled`; spend the token: one transaction."""
        now = now or datetime.now(UTC)
        node, public = verify_enrolment_request(body, net=self.store.network)
        with self.store.transaction() as db:
            stored = self.find(body["token"])
            if stored is None:
                raise Refusal("token_unknown", "the enrolment token does not match")
            check_token(body["token"], stored, now)
            if stored.node != node:
                raise Refusal("token_unknown", f"this token was issued for {stored.node}, not {node}")
            held_seq = self.store.head(node)[0]
            record = self.store.append("node.enrolled", {
                "node": node, "tier": stored.tier, "name": stored.name, "public_key": public.hex(),
                "key": key_id(public), "from_seq": held_seq + 1})
            db.conn.execute("UPDATE sync_enrolment_tokens SET used_at = ? WHERE token_hash = ?",
                            (now.isoformat(), stored.token_hash))
        return record


# --- the work, without HTTP ------------------------------------------------------------------------

def parse_batch(pairs: Sequence[tuple[bytes, bytes]], network: str) -> tuple[list[Record], Refusal | None]:
    """Parse framed records strictly; stop at the first that is not a well-formed record."""
    records: list[Record] = []
    for raw, sig in pairs:
        try:
            records.append(parse_record(raw, sig, network=network))
        except Refusal as refusal:
            return records, refusal
    return records, None


CLOCK_FLAG_SECONDS = 24 * 3600


def clock_flags(records: Sequence[Record], now: float) -> list[dict[str, Any]]:
    """Records whose origin time is more than a day from central's clock. They are accepted all
    the same (the origin time is information only; central's receipt time is the legal one), and
    the node is told, so a clerk can fix the PC's clock."""
    flags = []
    for r in records:
        try:
            t = datetime.fromisoformat(r.time).timestamp()
        except ValueError:
            continue
        if abs(t - now) > CLOCK_FLAG_SECONDS:
            flags.append({"seq": r.seq, "time": r.time, "off_by_days": round((t - now) / 86400)})
    return flags


def accept_batch(store: LogStore, node: str, pairs: Sequence[tuple[bytes, bytes]], *,
                 since: int = 0, now: float | None = None) -> tuple[int, dict[str, Any]]:
    """Push (or bundle import) of `node`'s records: (HTTP status, JSON answer).

    Records are parsed strictly first; a record that does not parse stops the batch there (those
    before it still go in). Every record must be `node`'s own: a record of any other origin makes
    the whole batch refused, nothing stored (a node speaks only for itself). Then one `ingest`
    (one transaction), and a signed receipt for whatever of `node` central now holds."""
    records, bad = parse_batch(pairs, store.network)
    for i, r in enumerate(records):
        if r.origin != node:
            raise ProtocolError("wrong_origin", f"Record {i + 1} of the batch is from {r.origin}, but this "
                                f"request was signed by {node}. A node may only push its own records.",
                                status=403, index=i)
    result: IngestResult = store.ingest(records) if records else IngestResult([])
    outcomes = [d.outcome for d in result.decisions]
    refused = None
    if result.refused is not None:
        d = result.refused
        refused = {"index": d.index, "id": d.id, "seq": d.seq, "code": d.code, "detail": d.detail}
    elif bad is not None:
        refused = {"index": len(records), "code": bad.code, "detail": bad.detail}
        outcomes.append("refused")
    outcomes += ["skipped"] * (len(pairs) - len(outcomes))
    answer: dict[str, Any] = {"outcomes": outcomes, "accepted": result.count("accepted"),
                              "duplicate": result.count("duplicate")}
    if refused is not None:
        answer["refused"] = refused
    accepted_ids = {d.id for d in result.decisions if d.outcome in ("accepted", "quarantined")}
    flags = clock_flags([r for r in records if r.id in accepted_ids], time.time() if now is None else now)
    if flags:
        answer["clock_flags"] = flags[:20]
        answer["clock_flagged"] = len(flags)
    seq, head = store.head(node)
    answer["head"] = {"seq": seq, "id": head}
    if head is not None:
        answer["receipt"] = store.make_receipt(node, from_size=since).to_wire()
    status = 200
    if refused is not None:
        status = 409 if refused["code"] == "fork" else 422
        answer["error"] = refused["code"]
        answer["message"] = refusal_message(refused["code"], refused.get("detail", ""))
    return status, answer


def refusal_message(code: str, detail: str) -> str:
    plain = {
        "fork": "Central already holds a different record with this origin and number. This node "
                "may have been restored from an old backup: stop and recover (the evidence is kept).",
        "gap": "A record is missing before this one; nothing after the gap was stored.",
        "broken_chain": "This record does not follow the previous one of its origin (history rewritten?).",
        "bad_signature": "The record's signature does not verify: it was changed after signing.",
        "unknown_key": "The record is signed by a key central does not know.",
        "revoked_key": "The record is signed by a revoked key.",
        "wrong_key": "The record is signed by a key that may not sign it.",
        "wrong_network": "The record belongs to another network.",
        "non_canonical": "The record's bytes are not in canonical form.",
        "too_large": "The record is too large.",
        "too_deep": "The record is nested too deeply.",
        "float": "The record holds a floating-point number.",
        "duplicate_key": "The record holds the same key twice in one object.",
        "bundle_corrupt": "The bundle cannot be read (cut short?); nothing from it was stored.",
        "bundle_format": "Not an export bundle of this protocol; nothing from it was stored.",
        "bundle_tampered": "A file of the bundle is not the one its signed manifest lists, or a sealed scan "
                           "does not open to its name; nothing from it was stored.",
        "bundle_too_large": "The bundle is over central's limit; nothing from it was stored.",
        "bundle_plain": "An old bundle with unsealed scans, past the date central accepts them; nothing from it "
                        "was stored. Upgrade the node and export again.",
        "bundle_sealed_elsewhere": "The bundle's scans are sealed to a key central does not hold; nothing from it "
                                   "was stored. Import the reply (it carries central's current key) and export "
                                   "again.",
    }.get(code, "The bundle was refused." if code.startswith("bundle_") else "The record was refused.")
    return f"{plain} ({code}: {detail})" if detail else f"{plain} ({code})"


# --- HTTP helpers --------------------------------------------------------------------------------

def read_body(limit: int) -> bytes:
    """The request body, gunzipped when sent gzipped, never more than `limit` bytes either way."""
    length = request.content_length
    if length is not None and length > limit:
        raise ProtocolError("batch_too_large", f"The request body is {length} bytes; the limit is {limit}.",
                            status=413, limit=limit)
    data = request.get_data(cache=True)
    if len(data) > limit:
        raise ProtocolError("batch_too_large", f"The request body is over the limit of {limit} bytes.",
                            status=413, limit=limit)
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(data, limit + 1)
        except zlib.error:
            raise ProtocolError("bad_gzip", "The request body is not valid gzip (cut short?).") from None
        if len(out) > limit:
            raise ProtocolError("batch_too_large", f"The batch is over the limit of {limit} bytes.",
                                status=413, limit=limit)
        if not d.eof:
            raise ProtocolError("bad_gzip", "The gzip body ends early (the upload was cut short).")
        return out
    return data


def reply(payload: dict[str, Any], status: int = 200, *, headers: dict[str, str] | None = None) -> Response:
    return compress(jsonify(payload), status, headers)


def compress(resp: Response, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    resp.status_code = status
    cfg: SyncConfig = current_app.extensions["bianmin_sync_config"]
    body = resp.get_data()
    if len(body) >= cfg.gzip_min_bytes and "gzip" in request.headers.get("Accept-Encoding", ""):
        resp.set_data(gzip.compress(body, 6))
        resp.headers["Content-Encoding"] = "gzip"
        resp.headers["Vary"] = "Accept-Encoding"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def error(code: str, message: str, status: int, **detail: object) -> Response:
    return reply({"error": code, "message": message, **detail}, status)


# --- the blueprint ---------------------------------------------------------------------------------

def create_sync_blueprint(store: LogStore, *, route: Route = route_everything, group: Group | None = None,
                          tokens: EnrolmentBook | None = None, blobs: BlobStore | None = None,
                          config: SyncConfig | None = None, nonces: NonceStore | None = None,
                          clock: Callable[[], float] = time.time, sealing: SealingKey | None = None,
                          plain_bundles_until: dt.date | None = None) -> Blueprint:
    """The sync API for central's app: `app.register_blueprint(create_sync_blueprint(store, ...))`.

    `store` is central's LogStore opened with central's signing key (origin "C"); its directory
    says which node keys are enrolled. `route(record)` names the nodes that receive a record
    (`"*"`: all); `group(record)` the group (a case) whose earlier records go with it to a node
    that has not had them (see `Routes`). `tokens` enables enrolment; `blobs` the attachment
    endpoints; `sealing` (central's sealing key, sync/sealing.py) opens the scans sealed in the
    bundles a town carries in, and `plain_bundles_until` is the last day an old bundle with
    unsealed scans is still accepted (None: refused). The enrolment answer carries central's
    latest `sealing.key` record, so that a node that never had a link can seal its first bundle."""
    if store.origin != "C" or store.signer is None or store.directory is None:
        raise ValueError("the sync blueprint needs central's LogStore, opened with central's signing key")
    config = config or SyncConfig()
    nonces = nonces or NonceStore(window=config.replay_window)
    routes = Routes(store, route, group)
    tokens = tokens or EnrolmentBook(store)
    lookup = directory_lookup(lambda: store.directory)  # type: ignore[arg-type, return-value]
    bp = Blueprint("bianmin_sync", __name__, url_prefix=PREFIX)
    lock = threading.Lock()  # enrolment's read-check-write of a token

    @bp.record_once
    def _remember(state: Any) -> None:
        state.app.extensions["bianmin_sync_config"] = config
        state.app.extensions["bianmin_sync"] = {"store": store, "routes": routes, "tokens": tokens,
                                                "blobs": blobs, "nonces": nonces}

    @bp.errorhandler(ProtocolError)
    def _protocol_error(err: ProtocolError) -> Response:
        return error(err.code, err.message, err.status, **err.detail)

    @bp.errorhandler(AuthError)
    def _auth_error(err: AuthError) -> Response:
        return error(err.code, err.message, err.status, **err.detail)

    @bp.errorhandler(BlobError)
    def _blob_error(err: BlobError) -> Response:
        return error(err.code, err.message, err.status, **err.detail)

    @bp.errorhandler(Refusal)
    def _refusal(err: Refusal) -> Response:
        return error(err.code, refusal_message(err.code, err.detail), 422)

    def authenticate(body: bytes = b"") -> str:
        path = request.full_path if request.query_string else request.path
        caller = verify_request(request.headers, request.method, path, body, lookup=lookup,
                                nonces=nonces, now=clock(), window=config.replay_window)
        g.sync_node = caller.node
        return caller.node

    @bp.get("/time")
    def server_time() -> Response:
        """Unauthenticated: lets a node measure its clock offset before it signs anything."""
        now = clock()
        return reply({"time": now, "net": store.network, "limits": config.to_json()},
                     headers={"Cache-Control": "no-store"})

    @bp.post("/enrol")
    def enrol() -> Response:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ProtocolError("bad_request", "An enrolment request is a JSON object.")
        with lock:
            record = tokens.enrol(body)
        assert store.signer is not None
        directory = [s.record.to_wire() for s in store.records_after(0, kinds=["node."], origins=["C"],
                                                                      limit=1_000_000)]
        answer = {"node": record.body["node"], "net": store.network,
                  "central_public_key": store.signer.public.hex(),
                  "central_fingerprint": fingerprint(store.signer.public),
                  "key": record.body["key"], "from_seq": record.body["from_seq"], "directory": directory}
        published = store.records_after(0, kinds=[SEALING_KIND], origins=["C"], limit=1_000_000)
        if published:  # the same signed record a pull would bring: checked with central's key at the node
            answer["sealing"] = record_wire(published[-1].record)
        return reply(answer, 201)

    def refuse_oversized(limit: int, code: str = "batch_too_large") -> None:
        """Before reading a byte of the body: a declared length over the limit is refused at once."""
        length = request.content_length
        if length is None and request.headers.get("Transfer-Encoding"):
            raise ProtocolError("length_required", "Send a Content-Length.", status=411)
        if length is not None and length > limit:
            raise ProtocolError(code, f"The request body is {length} bytes; the limit is {limit}.",
                                status=413, limit=limit)

    @bp.post("/push")
    def push() -> Response:
        refuse_oversized(config.max_batch_bytes)
        raw_body = request.get_data(cache=True)
        node = authenticate(raw_body)
        since = request.args.get("since", "0")
        if not since.isdigit():
            raise ProtocolError("bad_request", "`since` is the size of the node's last checkpoint.")
        data = read_body(config.max_batch_bytes)
        try:
            pairs = split_frames(data, max_records=config.max_batch_records)
        except Refusal as refusal:
            status = 413 if refusal.code == "batch_too_large" else 400
            raise ProtocolError(refusal.code, refusal.detail, status=status) from None
        status, answer = accept_batch(store, node, [(raw, sig) for _, raw, sig in pairs], since=int(since),
                                      now=clock())
        return reply(answer, status)

    @bp.get("/pull")
    def pull() -> Response:
        node = authenticate()
        after, limit = request.args.get("after", "0"), request.args.get("limit", str(config.max_pull_records))
        if not (after.isdigit() and limit.isdigit()):
            raise ProtocolError("bad_request", "`after` and `limit` are non-negative integers.")
        rows, cursor, more = routes.pull(node, int(after), min(int(limit), config.max_pull_records))
        body = encode_frames(rows)
        assert store.signer is not None
        page = sign_page(store.signer, net=store.network, node=node, after=int(after), cursor=cursor, more=more,
                         count=len(rows), body=body)
        resp = Response(body, mimetype=BATCH_TYPE)
        resp.headers[PAGE_HEADER] = page
        return compress(resp, 200, {"X-Bianmin-Cursor": str(cursor), "X-Bianmin-More": "1" if more else "0",
                                    "X-Bianmin-Count": str(len(rows))})

    @bp.get("/head")
    def head() -> Response:
        node = authenticate()
        seq, head_id = store.head(node)
        forks = [{"seq": f["seq"], "held_id": f["held_id"], "id": f["record"].id, "status": f["status"]}
                 for f in store.forks(node)]
        return reply({"node": node, "seq": seq, "id": head_id, "forks": forks,
                      "tree_size": store.tree_size()})

    @bp.get("/own")
    def own() -> Response:
        """A node's own records that central holds (recovery after restoring an old backup)."""
        node = authenticate()
        after = request.args.get("after", "0")
        if not after.isdigit():
            raise ProtocolError("bad_request", "`after` is a seq.")
        records = store.records_of(node, int(after) + 1, int(after) + config.max_pull_records)
        rows = []
        for r in records:
            stored = store.stored(r.id)
            rows.append((stored.central_pos if stored else None, r.raw, r.sig))
        return compress(Response(encode_frames(rows), mimetype=BATCH_TYPE), 200,
                        {"X-Bianmin-Count": str(len(rows))})

    @bp.post("/bundle")
    def bundle() -> Response:
        """A carrier (a town, or any enrolled node with a link) hands in another node's export
        bundle and takes the signed reply back; the bundle's own signature says whose records
        they are, the request's signature only who carried them."""
        from sync.bundle import answer_bundle

        refuse_oversized(config.max_bundle_bytes, "bundle_too_large")
        data = request.get_data(cache=True)
        authenticate(data)
        _, reply_bytes = answer_bundle(store, routes, data, blobs=blobs, sealing=sealing,
                                       plain_until=plain_bundles_until, max_bytes=config.max_bundle_bytes)
        return Response(reply_bytes, mimetype="application/zip")

    # -- blobs --
    def need_blobs() -> BlobStore:
        if blobs is None:
            raise ProtocolError("blobs_disabled", "This server does not keep attachments.", status=404)
        return blobs

    @bp.get("/blobs/<sha256>/status")
    def blob_status(sha256: str) -> Response:
        authenticate()
        return reply(need_blobs().status(check_name(sha256)).to_json())

    @bp.route("/blobs/<sha256>", methods=["HEAD"])
    def blob_head(sha256: str) -> Response:
        authenticate()
        st = need_blobs().status(check_name(sha256))
        resp = Response(status=200 if st.complete else 404)
        resp.headers["X-Bianmin-Received"] = str(st.received)
        resp.headers["X-Bianmin-Size"] = str(st.size)
        if st.complete:
            resp.headers["Content-Length"] = str(st.size)
            resp.headers["Accept-Ranges"] = "bytes"
        return resp

    @bp.put("/blobs/<sha256>")
    def blob_put(sha256: str) -> Response:
        store_ = need_blobs()
        check_name(sha256)
        refuse_oversized(config.max_chunk_bytes, "chunk_too_large")
        data = request.get_data(cache=True)
        authenticate(data)
        offset, total = parse_content_range(request.headers.get("Content-Range", ""), len(data))
        if total > config.max_blob_size:
            raise BlobError("blob.too_large", f"Attachments may be at most {config.max_blob_size} bytes.",
                            status=413, max_size=config.max_blob_size)
        st = store_.write_chunk(sha256, offset, total, data)
        return reply(st.to_json(), 201 if st.complete else 200)

    @bp.get("/blobs/<sha256>")
    def blob_get(sha256: str) -> Response:
        authenticate()
        store_ = need_blobs()
        size = store_.size(check_name(sha256))
        start, end = 0, size
        status = 200
        rng = request.headers.get("Range")
        if rng:
            start, end = parse_range(rng, size)
            status = 206
        resp = Response(store_.read_range(sha256, start, end), status=status,
                        mimetype="application/octet-stream")
        resp.headers["Accept-Ranges"] = "bytes"
        resp.headers["ETag"] = f'"{sha256}"'
        if status == 206:
            resp.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        return resp

    return bp


def parse_content_range(header: str, length: int) -> tuple[int, int]:
    """`bytes START-END/TOTAL` (END inclusive) of a chunk upload -> (START, TOTAL)."""
    try:
        unit, rest = header.split(" ", 1)
        span, total_text = rest.split("/", 1)
        total = int(total_text)
        if span == "*" and length == 0:
            return 0, total
        first, last = (int(x) for x in span.split("-", 1))
    except ValueError:
        raise ProtocolError("bad_range", "Content-Range must be `bytes START-END/TOTAL`.") from None
    if unit != "bytes" or last - first + 1 != length or first < 0:
        raise ProtocolError("bad_range", "Content-Range does not match the chunk's length.")
    return first, total


def parse_range(header: str, size: int) -> tuple[int, int]:
    """One `bytes=START-[END]` range -> (start, end exclusive); 416 if it is outside the blob."""
    try:
        unit, span = header.split("=", 1)
        first_text, last_text = span.split("-", 1)
        if first_text == "":
            n = int(last_text)
            first, last = max(0, size - n), size - 1
        else:
            first = int(first_text)
            last = int(last_text) if last_text else size - 1
    except ValueError:
        raise ProtocolError("bad_range", "Range must be `bytes=START-[END]`.", status=416) from None
    if unit != "bytes" or first >= size or first > last:
        raise ProtocolError("bad_range", f"The range is outside the blob ({size} bytes).", status=416)
    return first, min(last, size - 1) + 1
