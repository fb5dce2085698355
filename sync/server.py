"""Central's side of the sync protocol: a Flask blueprint central's app mounts at /sync/v1.

`create_sync_blueprint(store, route=..., tokens=..., blobs=..., config=..., nonces=...)` needs only
central's LogStore (which holds central's signing key and folds the node directory), a routing
function `route(record) -> set[node id]`, and optionally the enrolment-token book and a blob store.
It owns no app: central decides where its files live and which pages surround it.

What every endpoint promises (sync/PROTOCOL.md, "HTTP API", is the normative text):
- every request but `time` and `enrol` is signed by the node's current key (sync/requestauth.py);
  central acts only for the node the signature proves, never for one a request names;
- a push is one batch, one transaction, a decision per record, and a signed receipt;
- a pull returns records routed to the asking node, each origin's chain complete (see `Routes`);
- errors are JSON `{"error": code, "message": plain English, ...}` with a fitting HTTP status.

The plain functions `accept_batch` and `Routes.pull` do the work; the HTTP handlers only unwrap
and wrap, so a bundle carried on a USB stick (sync/bundle.py) gets exactly the same checks.
"""

from __future__ import annotations

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
from sync.client import BATCH_TYPE, encode_frames, split_frames
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
from sync.requestauth import AuthError, NonceStore, directory_lookup, verify_request

Route = Callable[[Record], set[str]]
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
    """Per-node queues of record positions, filled in the same transaction that stores a record.

    A node's pull must never show it a gap: its log refuses seq 7 of an origin before seq 6. So
    when `route` sends record (origin X, seq s) to node N, every earlier record of X that N has not
    been sent yet is queued first (the chain closure), in seq order. The queue has its own order
    `n`, which is the node's pull cursor; central positions cannot be the cursor, because a closure
    queues older positions after newer ones.

    The tables live in central's database beside the log; they are a projection (rebuildable).
    """

    def __init__(self, store: LogStore, route: Route) -> None:
        self.store = store
        self.route = route
        with store.transaction() as db:
            db.conn.executescript(
                "CREATE TABLE IF NOT EXISTS sync_routes (n INTEGER PRIMARY KEY, node TEXT NOT NULL,"
                " pos INTEGER NOT NULL, UNIQUE (node, pos));"
                "CREATE INDEX IF NOT EXISTS sync_routes_node ON sync_routes (node, n);"
                "CREATE TABLE IF NOT EXISTS sync_route_marks (node TEXT NOT NULL, origin TEXT NOT NULL,"
                " seq INTEGER NOT NULL, PRIMARY KEY (node, origin)) WITHOUT ROWID;")
        store.register_projector(self._project)

    def _nodes(self) -> list[str]:
        directory = self.store.directory
        return [n for n in (directory.nodes if directory else {}) if n != "C"]

    def _targets(self, record: Record) -> set[str]:
        targets = self.route(record)
        return set(self._nodes()) | (targets - {"*"}) if "*" in targets else targets

    def _project(self, db: sqlite_utils.Database, record: Record) -> None:
        for node in sorted(self._targets(record)):
            self._queue(db, node, record.origin, record.seq)
        if record.origin == "C" and record.kind == "node.enrolled":
            self._backfill(db, str(record.body.get("node", "")), record)

    @staticmethod
    def _queue(db: sqlite_utils.Database, node: str, origin: str, seq: int) -> None:
        """Queue (origin, seq) and every earlier record of origin not yet queued for node."""
        if not node or node in (origin, "C"):
            return
        conn = db.conn
        row = conn.execute("SELECT seq FROM sync_route_marks WHERE node = ? AND origin = ?",
                           (node, origin)).fetchone()
        mark = row[0] if row else 0
        if seq <= mark:
            return
        conn.execute(
            "INSERT OR IGNORE INTO sync_routes (node, pos) SELECT ?, pos FROM records"
            " WHERE origin = ? AND seq > ? AND seq <= ? ORDER BY seq", (node, origin, mark, seq))
        conn.execute("INSERT INTO sync_route_marks VALUES (?, ?, ?) ON CONFLICT (node, origin)"
                     " DO UPDATE SET seq = excluded.seq", (node, origin, seq))

    def _backfill(self, db: sqlite_utils.Database, node: str, enrolled: Record) -> None:
        """A node just enrolled: queue what `route` sends it (or everyone) that was stored before it
        existed (the directory, the catalogue, ...). Rare, so a full scan is fine; done once per
        node (a projection rebuild replays enrolments and must not rescan)."""
        if db.conn.execute("SELECT 1 FROM sync_route_marks WHERE node = ? LIMIT 1", (node,)).fetchone():
            return
        after = 0
        while page := self.store.records_after(after, limit=5000):
            for stored in page:
                targets = self.route(stored.record)
                if "*" in targets or node in targets:
                    self._queue(db, node, stored.record.origin, stored.record.seq)
            after = page[-1].pos

    def pull(self, node: str, after: int, limit: int) -> tuple[list[tuple[int, bytes, bytes]], int, bool]:
        """([(central position, raw, sig)], next cursor, more?) for `node` after its cursor."""
        conn = self.store.db.conn
        with self.store.transaction():
            rows = conn.execute(
                "SELECT q.n, r.central_pos, r.raw, r.sig FROM sync_routes q JOIN records r ON r.pos = q.pos"
                " WHERE q.node = ? AND q.n > ? ORDER BY q.n LIMIT ?", (node, after, limit + 1)).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = rows[-1][0] if rows else after
        return [(pos, raw, sig) for _, pos, raw, sig in rows], cursor, more


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
    }.get(code, "The record was refused.")
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

def create_sync_blueprint(store: LogStore, *, route: Route = route_everything,
                          tokens: EnrolmentBook | None = None, blobs: BlobStore | None = None,
                          config: SyncConfig | None = None, nonces: NonceStore | None = None,
                          clock: Callable[[], float] = time.time) -> Blueprint:
    """The sync API for central's app: `app.register_blueprint(create_sync_blueprint(store, ...))`.

    `store` is central's LogStore opened with central's signing key (origin "C"); its directory
    says which node keys are enrolled. `route(record)` names the nodes that receive a record
    (`"*"`: all). `tokens` enables enrolment; `blobs` the attachment endpoints."""
    if store.origin != "C" or store.signer is None or store.directory is None:
        raise ValueError("the sync blueprint needs central's LogStore, opened with central's signing key")
    config = config or SyncConfig()
    nonces = nonces or NonceStore(window=config.replay_window)
    routes = Routes(store, route)
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
        return reply({"node": record.body["node"], "net": store.network,
                      "central_public_key": store.signer.public.hex(),
                      "central_fingerprint": fingerprint(store.signer.public),
                      "key": record.body["key"], "from_seq": record.body["from_seq"],
                      "directory": directory}, 201)

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
        resp = Response(body, mimetype=BATCH_TYPE)
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
        _, reply_bytes = answer_bundle(store, routes, data, blobs=blobs)
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
