"""The record log in SQLite: the one place sync's record SQL lives.

A `LogStore` holds every record a node (or central) has, as the exact bytes and signature it was
signed with, plus columns parsed from them. It is opened on the app's SQLite file (WAL mode,
through sqlite-utils), so the app's projections live in the same file and are written in the
same transaction as the records they come from.

Tables (all created here):
- `records`: `pos` (INTEGER PRIMARY KEY: local arrival order), `id`, `origin`, `seq`, `prev`,
  `kind`, `key`, `origin_time`, `received_at` (local clock, UTC), `central_pos` (position in
  central's receipt log where known: central sets it, nodes learn it when pulling), `raw`, `sig`;
- `heads` (origin -> seq, id), `cursors` (peer, name -> integer), `receipts` (verbatim),
  `forks` (evidence: the other record of an origin+seq, bytes kept), `quarantine` (records stored
  but refused for business reasons: not projected, listed for a person), `suspects` (records of a
  compromised key receipted after its compromise point: projected, flagged for review),
  `merkle_leaves` / `merkle_nodes` (central only: the Merkle log, sync/merkle.py), `meta`.

Writing
- `append(kind, body)` / `append_many(items)`: this store's own origin; next seq, prev = own head,
  signed, stored and projected in ONE transaction.
- `ingest(records, *, directory=None, checker=None, positions=None) -> IngestResult`: others'
  records (uploads at central, pulls and bundles at nodes). One decision per record:
  `accepted`, `duplicate` (already held: harmless), `quarantined` (stored, business refusal from
  `checker`), `refused` (code) or `skipped`. Records are processed in (origin, seq) order, so a
  reordered batch is fine. The first chain-level refusal (`wrong_network`, `unknown_key`,
  `wrong_key`, `revoked_key`, `bad_signature`, `gap`, `broken_chain`, `fork`, `bad_directory`)
  STOPS the batch: records before it are committed, nothing after it is stored (`skipped`).
  A fork (same origin and seq, another id) keeps both records: the held one in `records`, the
  other in `forks`. One transaction per batch; signatures are checked before the write lock,
  on every core (`LogStore.verify_workers` threads: Ed25519 verification releases the GIL).
- A record refused by `checker` for business reasons is still a link in its origin's chain, so it
  IS stored (the chain would break otherwise) but listed in `quarantine` and not projected.
- Projectors: `register_projector(fn)`, `fn(db: sqlite_utils.Database, record: Record)`, run in
  the storing transaction for every stored, non-quarantined record, in log order; an exception
  rolls the whole batch back and propagates (a projection bug must be loud, never half-applied).
  `rebuild_projections(reset)` calls `reset(db)` and replays the log in `pos` order.

Reading: `head(origin)`, `heads()`, `get(id)`, `records_after(pos, ...)`, `records_of(origin, ...)`,
`count_pending(peer)`, `cursor` / `set_cursor`, `mark_sent(peer, upto_seq, receipt)`, `receipts`,
`quarantined()`, `suspects()`, `forks()`, `last_checkpoint()`. Central: `tree_size()`, `tree_root()`,
`inclusion_proof`, `consistency_proof`, `checkpoint()`, `make_receipt(origin, from_size)`.

Threads: one LogStore may be shared by a server's threads (an internal lock serialises use);
several LogStores (processes) may share a file: every write re-reads state under SQLite's write lock.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils
from cryptography.exceptions import InvalidSignature

from sync import merkle
from sync.canonical import Refusal
from sync.elision import Elision, check_elision, parse_elision, verify_elision
from sync.envelope import RECORD_DOMAIN, Record, parse_record, sign_record
from sync.keys import DIRECTORY_KINDS, Directory, NodeKey

SCHEMA_VERSION = 1
CACHE_LEVEL = 4          # Merkle subtrees of >= 16 leaves are stored; smaller ones are rehashed from leaves
_CHUNK = 500             # ids per IN (...) query
REBASED_PER_RECORD = 1000   # old/new id pairs per sync.rebased record (well inside the record size limit)

Projector = Callable[[sqlite_utils.Database, Record], None]
Checker = Callable[[Record], "tuple[str, str] | None"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    pos INTEGER PRIMARY KEY AUTOINCREMENT,   -- never reused, even after a recovery moves records out
    id TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    prev TEXT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    origin_time TEXT NOT NULL,
    received_at TEXT NOT NULL,
    central_pos INTEGER,
    raw BLOB NOT NULL,
    sig BLOB NOT NULL,
    UNIQUE (origin, seq)
);
CREATE TABLE IF NOT EXISTS heads (origin TEXT PRIMARY KEY, seq INTEGER NOT NULL, id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cursors (peer TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (peer, name));
CREATE TABLE IF NOT EXISTS receipts (n INTEGER PRIMARY KEY, peer TEXT NOT NULL, origin TEXT NOT NULL,
    seq INTEGER NOT NULL, head TEXT NOT NULL, size INTEGER NOT NULL, root TEXT NOT NULL,
    raw BLOB NOT NULL, sig BLOB NOT NULL, stored_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS forks (n INTEGER PRIMARY KEY, origin TEXT NOT NULL, seq INTEGER NOT NULL,
    held_id TEXT, id TEXT NOT NULL, raw BLOB NOT NULL, sig BLOB NOT NULL, status TEXT NOT NULL,
    detail TEXT NOT NULL, detected_at TEXT NOT NULL, UNIQUE (id, status));
CREATE TABLE IF NOT EXISTS quarantine (id TEXT PRIMARY KEY, code TEXT NOT NULL, detail TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suspects (id TEXT PRIMARY KEY, key TEXT NOT NULL, detail TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS elisions (origin TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
    prev TEXT, id TEXT NOT NULL, raw BLOB NOT NULL, sig BLOB NOT NULL, received_at TEXT NOT NULL,
    PRIMARY KEY (origin, first));
CREATE TABLE IF NOT EXISTS elision_forks (n INTEGER PRIMARY KEY, origin TEXT NOT NULL, first INTEGER NOT NULL,
    last INTEGER NOT NULL, raw BLOB NOT NULL, sig BLOB NOT NULL, detail TEXT NOT NULL, detected_at TEXT NOT NULL,
    UNIQUE (raw));
CREATE TABLE IF NOT EXISTS merkle_leaves (pos INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS merkle_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)) WITHOUT ROWID;
"""


class StoreError(Exception):
    """The store cannot be used as asked (another network's file, no signing key, ...)."""


@dataclass(frozen=True, slots=True)
class Stored:
    """A record as this store holds it: local position, central position if known, arrival time."""

    pos: int
    central_pos: int | None
    received_at: str
    record: Record


@dataclass(frozen=True, slots=True)
class Decision:
    index: int            # position in the batch as given
    id: str
    origin: str
    seq: int
    outcome: str          # accepted | duplicate | quarantined | refused | skipped
    code: str = ""
    detail: str = ""
    elision: bool = False  # an elision (its `id` is the elision's digest, its `seq` where it starts)


@dataclass
class IngestResult:
    decisions: list[Decision]
    stored: list[Record] = field(default_factory=list)

    @property
    def refused(self) -> Decision | None:
        """The refusal that stopped the batch, if any."""
        return next((d for d in self.decisions if d.outcome == "refused"), None)

    @property
    def ok(self) -> bool:
        return self.refused is None

    def count(self, outcome: str) -> int:
        return sum(1 for d in self.decisions if d.outcome == outcome)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _trusted(raw: bytes, sig: bytes) -> Record:
    """A Record from bytes this store checked when it stored them (no canonical re-check: speed)."""
    o = json.loads(raw)
    return Record(raw=raw, sig=sig, id=hashlib.sha256(raw).hexdigest(), net=o["net"], origin=o["origin"],
                  key=o["key"], seq=o["seq"], prev=o["prev"], time=o["time"], kind=o["kind"],
                  body=o["body"], ckpt=o["ckpt"])


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
_PARALLEL_FROM = 64          # smaller batches are verified inline: threads would cost more than they save


def _verify_chunk(items: Sequence[tuple[Any, Record]]) -> int | None:
    for n, (key, r) in enumerate(items):
        try:
            key.verify(r.sig, RECORD_DOMAIN + r.raw)
        except InvalidSignature:
            return n
    return None


def _first_bad_signature(items: Sequence[tuple[Any, Record]], workers: int) -> int | None:
    """Index of the first item whose signature fails, or None; on `workers` threads (Ed25519
    verification releases the GIL, so this uses every core)."""
    global _POOL
    if workers <= 1 or len(items) < _PARALLEL_FROM:
        return _verify_chunk(items)
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 1)),
                                       thread_name_prefix="verify")
    size = -(-len(items) // workers)
    starts = range(0, len(items), size)
    found = _POOL.map(lambda start: _verify_chunk(items[start:start + size]), starts)
    return next((start + n for start, n in zip(starts, found, strict=True) if n is not None), None)


class LogStore:
    """See the module docstring. Open with `LogStore.open(path, network=..., origin=...)`."""

    verify_workers = max(1, min(8, os.cpu_count() or 1))

    def __init__(self, db: sqlite_utils.Database, *, network: str, origin: str, signer: NodeKey | None,
                 merkle_log: bool, central_public: bytes | None, clock: Callable[[], str]) -> None:
        self.db = db
        self.network = network
        self.origin = origin
        self.signer = signer
        self.merkle_log = merkle_log
        self.clock = clock
        self._lock = threading.RLock()
        self._projectors: list[Projector] = []
        self._frontier: merkle.Frontier | None = None
        self.directory: Directory | None = None
        self._central_public = central_public
        if central_public is not None:
            self.directory = self.load_directory(central_public)

    @classmethod
    def open(cls, path: str | Path, *, network: str, origin: str, signer: NodeKey | None = None,
             merkle_log: bool | None = None, central_public: bytes | None = None,
             clock: Callable[[], str] = _now) -> LogStore:
        """Open (creating if new) the log in the SQLite file at `path`.

        The file remembers its network and origin; opening it as another is a StoreError (a test
        network's file never becomes production's). `merkle_log` defaults to origin == "C".
        `central_public` (central's public key, the trust anchor) makes the store keep
        `self.directory` folded from the `node.*` records it holds; at central it defaults to the
        signer's key.
        """
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")     # a receipt must never outlive the data it covers
        conn.execute("PRAGMA foreign_keys=ON")
        conn.executescript(_SCHEMA)
        with conn:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('network', ?), ('origin', ?), ('schema', ?)",
                         (network, origin, str(SCHEMA_VERSION)))
        meta = dict(conn.execute("SELECT name, value FROM meta").fetchall())
        if meta["network"] != network or meta["origin"] != origin:
            conn.close()
            raise StoreError(f"{path} belongs to network {meta['network']!r}, origin {meta['origin']!r}")
        if meta["schema"] != str(SCHEMA_VERSION):
            conn.close()
            raise StoreError(f"{path} has log schema {meta['schema']}, this code reads {SCHEMA_VERSION}")
        if signer is not None and origin == "C" and central_public is None:
            central_public = signer.public
        return cls(db, network=network, origin=origin, signer=signer,
                   merkle_log=origin == "C" if merkle_log is None else merkle_log,
                   central_public=central_public, clock=clock)

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()

    # --- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction (BEGIN IMMEDIATE); nested use becomes a savepoint.

        Apps may use it to write their own rows atomically with records; sqlite-utils' own write
        methods nest inside it as savepoints.
        """
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:
                with self.db.atomic():
                    yield self.db
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                conn.rollback()
                self._frontier = None
                if self.directory is not None:   # it may have folded records that were rolled back
                    self.directory = self.load_directory(self._central_public)
                raise
            conn.commit()

    # --- projectors --------------------------------------------------------------------------

    def register_projector(self, fn: Projector) -> None:
        self._projectors.append(fn)

    def rebuild_projections(self, reset: Callable[[sqlite_utils.Database], None]) -> int:
        """`reset(db)`, then every stored, non-quarantined record through every projector, in log order."""
        with self.transaction():
            reset(self.db)
            n = 0
            rows = self.db.conn.execute(
                "SELECT raw, sig FROM records WHERE id NOT IN (SELECT id FROM quarantine) ORDER BY pos")
            for raw, sig in rows:
                record = _trusted(raw, sig)
                for fn in self._projectors:
                    fn(self.db, record)
                n += 1
            return n

    # --- the directory -----------------------------------------------------------------------

    def load_directory(self, central_public: bytes) -> Directory:
        """A Directory folded from the central `node.*` records this store holds, in central's order."""
        directory = Directory(self.network, central_public)
        kinds = sorted(DIRECTORY_KINDS)
        rows = self.db.conn.execute(
            f"SELECT raw, sig FROM records WHERE origin = 'C' AND kind IN ({','.join('?' * len(kinds))}) "
            "ORDER BY seq", kinds)
        for raw, sig in rows:
            directory.apply(_trusted(raw, sig))
        directory.folded_seq = self._head_row("C")[0]
        return directory

    def refresh_directory(self) -> Directory | None:
        """Fold central records another connection (process, thread) stored since; cheap when none."""
        if self.directory is None:
            return None
        with self._lock:
            seq = self._head_row("C")[0]
            if seq > self.directory.folded_seq:
                for r in self.records_of("C", self.directory.folded_seq + 1):
                    self.directory.apply(r)
                self.directory.folded_seq = seq
        return self.directory

    # --- writing: own records ----------------------------------------------------------------

    def append(self, kind: str, body: dict[str, Any], *, time: str | None = None) -> Record:
        """Sign and store one record of this store's origin (and project it) in one transaction."""
        return self.append_many([(kind, body)], time=time)[0]

    def append_many(self, items: Iterable[tuple[str, dict[str, Any]]], *, time: str | None = None) -> list[Record]:
        """Several own records in one transaction (imports, rebases, benchmarks)."""
        with self.transaction():
            self.refresh_directory()
            held = self.writes_held()
            if held is not None:
                raise StoreError(f"writing is held until this node recovers: {held}")
            return self._append(((kind, body, time) for kind, body in items), project=True)

    def _append(self, items: Iterable[tuple[str, dict[str, Any], str | None]], *, project: bool) -> list[Record]:
        if self.signer is None:
            raise StoreError("this store has no signing key")
        seq, prev = self._head_row(self.origin)
        ckpt = self.last_checkpoint()
        records = []
        for kind, body, time in items:
            seq += 1
            record = sign_record(self.signer, net=self.network, origin=self.origin, seq=seq, prev=prev,
                                 kind=kind, body=body, time=time, ckpt=ckpt)
            records.append(record)
            prev = record.id
        self._store(records, quarantine={}, suspect={}, positions=None, project=project)
        return records

    # --- holding writes, and recovering from a fork ----------------------------------------------

    def hold_writes(self, reason: str) -> None:
        """Refuse `append` until `recover` (or `release_writes`): central reported a fork of this origin,
        or this node was just restored from a backup and must first pull its own history back."""
        with self.transaction():
            self._set_meta("hold", reason)

    def release_writes(self) -> None:
        with self.transaction():
            self.db.conn.execute("DELETE FROM meta WHERE name = 'hold'")

    def writes_held(self) -> str | None:
        """Why writing is held, or None."""
        with self._lock:
            row = self.db.conn.execute("SELECT value FROM meta WHERE name = 'hold'").fetchone()
        return row[0] if row else None

    def recover(self, theirs: Sequence[Record], *, reset: Callable[[sqlite_utils.Database], None] | None = None,
                directory: Directory | None = None, positions: dict[str, int] | None = None) -> dict[str, str]:
        """Take back this origin's history as central holds it, and rebase what only this node has.

        `theirs`: this origin's records as central holds them (from some seq on, e.g. from this
        node's head + 1, or from the first seq central refused as a fork). In ONE transaction:
        records central has that this node lacks are stored; this node's own records from the first
        seq where the two histories differ are moved, byte for byte, into `forks` (status
        `rebased`: nothing is deleted), and their kinds and bodies are appended again after
        central's head, followed by one `sync.rebased` record mapping old ids to new ones; then the
        projections are rebuilt with `reset` (required when projectors are registered) and writing
        is released. Returns {old id: new id}.
        """
        directory = directory if directory is not None else self.directory
        if directory is None:
            raise StoreError("recover needs a Directory (open the store with central_public)")
        ordered = sorted(theirs, key=lambda r: r.seq)
        for r in ordered:      # all of it checked before anything changes
            if r.origin != self.origin or r.net != self.network:
                raise Refusal("wrong_origin", f"{r.origin} seq {r.seq} is not this node's record")
            key, _ = directory.check(r, positions.get(r.id) if positions else None)
            try:
                key.verify(r.sig, RECORD_DOMAIN + r.raw)
            except InvalidSignature as err:
                raise Refusal("bad_signature", f"{r.origin} seq {r.seq}") from err
        for a, b in itertools.pairwise(ordered):
            if b.seq != a.seq + 1 or b.prev != a.id:
                raise Refusal("broken_chain", f"central's records of seq {a.seq} and {b.seq} do not chain")
        with self.transaction():
            mine = {r.seq: r for r in self.records_of(self.origin, ordered[0].seq if ordered else 1)}
            split = next((r.seq for r in ordered if r.seq not in mine or mine[r.seq].id != r.id), None)
            if split is None:       # central holds nothing this node lacks
                self.release_writes()
                return {}
            if self._projectors and reset is None:
                raise StoreError("recover rebuilds the projections: pass reset")
            new = [r for r in ordered if r.seq >= split]
            base_seq, base_id = split - 1, None
            if base_seq:
                row = self.db.conn.execute("SELECT id FROM records WHERE origin = ? AND seq = ?",
                                           (self.origin, base_seq)).fetchone()
                base_id = row[0] if row else None
            if new[0].prev != base_id:
                raise Refusal("broken_chain", f"central's seq {split} does not follow this node's seq {base_seq}")
            moved = [r for seq, r in sorted(mine.items()) if seq >= split]
            central_at = {r.seq: r.id for r in new}
            for r in moved:
                self._keep_fork(r, "rebased", f"rebased after central's seq {new[-1].seq}", central_at.get(r.seq))
            ids = [r.id for r in moved]
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for table in ("quarantine", "suspects", "records"):
                    self.db.conn.execute(f"DELETE FROM {table} WHERE id IN ({marks})", chunk)
            if base_id is None:
                self.db.conn.execute("DELETE FROM heads WHERE origin = ?", (self.origin,))
            else:
                self.db.conn.execute("UPDATE heads SET seq = ?, id = ? WHERE origin = ?",
                                     (base_seq, base_id, self.origin))
            self._store(new, quarantine={}, suspect={}, positions=positions, project=False)
            mapping: dict[str, str] = {}
            if moved:
                again = self._append(((r.kind, r.body, r.time) for r in moved), project=False)
                mapping = {old.id: fresh.id for old, fresh in zip(moved, again, strict=True)}
                pairs = [[o, n] for o, n in mapping.items()]
                self._append([("sync.rebased", {"from_seq": split, "records": pairs[i:i + REBASED_PER_RECORD]}, None)
                              for i in range(0, len(pairs), REBASED_PER_RECORD)], project=False)
            # central holds its records: they are sent (a restored node's cursor may lag behind)
            self.db.conn.execute("INSERT INTO cursors VALUES ('C', 'sent', ?) ON CONFLICT (peer, name) DO UPDATE "
                                 "SET value = max(value, excluded.value)", (new[-1].seq,))
            self.db.conn.execute("DELETE FROM meta WHERE name = 'hold'")
            if reset is not None:
                self.rebuild_projections(reset)
            return mapping

    # --- writing: others' records ------------------------------------------------------------

    def ingest(self, records: Sequence[Record | Elision], *, directory: Directory | None = None,
               checker: Checker | None = None, positions: dict[str, int] | None = None,
               keep_order: bool = False) -> IngestResult:
        """Decide on and store a batch of others' records; see the module docstring for the rules.

        `positions` (record id -> central receipt-log position) comes with records pulled from
        central: it lets records of a since-revoked key that central receipted before the
        compromise point in (and flags later ones as suspect). Uploads have no positions.

        A pull may also hold central's elisions (sync/elision.py) among the records: each is
        checked (central's signature, made for this node, not of this node's own origin) and
        extends its origin's chain like a record; a run of entries that re-cuts a held elision
        (central now sends some of the records it withheld) replaces it whole or not at all.
        `keep_order` takes each origin's entries in the order given (a pull: central's queue
        order, which a re-cut needs) instead of sorting them by seq (an upload may be reordered).
        """
        directory = directory if directory is not None else self.refresh_directory()
        if directory is None:
            raise StoreError("ingest needs a Directory (open the store with central_public)")
        items = records
        if keep_order:
            order = sorted(range(len(items)), key=lambda i: items[i].origin)
        else:
            order = sorted(range(len(items)), key=lambda i: (items[i].origin, items[i].seq))
        decisions: dict[int, Decision] = {}

        def decide(i: int, outcome: str, code: str = "", detail: str = "") -> None:
            x = items[i]
            if isinstance(x, Elision):
                decisions[i] = Decision(i, x.digest, x.origin, x.first, outcome, code, detail, elision=True)
            else:
                decisions[i] = Decision(i, x.id, x.origin, x.seq, outcome, code, detail)

        # Phase 1, outside the write lock: keys looked up in order, then signatures (the expensive
        # part) checked on every core. A refusal found by the lookup and a bad signature found
        # later by a thread are ordered by their place in the batch: the first one stops it.
        # Elisions are few (one per withheld range): their one signature each is checked inline.
        held = self._held({x.id for x in items if isinstance(x, Record)})
        scout = directory.copy() if any(isinstance(x, Record) and x.kind in DIRECTORY_KINDS for x in items) \
            else directory
        stop: tuple[int, Refusal] | None = None
        seen: set[str] = set()
        copies: set[int] = set()        # second copies of a record within this batch
        lookups: list[tuple[int, Any]] = []
        elided: set[int] = set()         # elisions whose signature and addressing are good
        for i in order:
            x = items[i]
            try:
                if isinstance(x, Elision):
                    self._check_elision(x, scout)
                    elided.add(i)
                    continue
                if x.id in held:
                    continue
                if x.id in seen:
                    copies.add(i)
                    continue
                seen.add(x.id)
                if x.net != self.network:
                    raise Refusal("wrong_network", f"record of network {x.net!r}, this is {self.network!r}")
                key, _ = scout.check(x, positions.get(x.id) if positions else None)
                if scout is not directory and x.origin == "C" and x.kind in DIRECTORY_KINDS:
                    scout.apply(x)   # unverified yet: if its signature fails, the batch stops there
            except Refusal as refusal:
                stop = (i, refusal)
                break
            lookups.append((i, key))
        bad = _first_bad_signature([(key, items[i]) for i, key in lookups], self.verify_workers)
        if bad is not None:
            stop = (lookups[bad][0], Refusal("bad_signature", "the signature does not verify"))
            lookups = lookups[:bad]
            rank = {i: n for n, i in enumerate(order)}
            elided = {i for i in elided if rank[i] < rank[stop[0]]}
        verified = {i for i, _ in lookups} | elided

        # Phase 2, under the write lock: duplicates, chains, keys, business checks, storage.
        stored: list[Record] = []
        with self.transaction():
            if directory is self.directory:
                # Another writer may have stored directory records since phase 1. A key id names one
                # public key forever, so phase 1's signature checks stand; validity is checked again below.
                self.refresh_directory()
            held = self._held({x.id for x in items if isinstance(x, Record)})
            work = directory.copy() if scout is not directory else directory
            heads = {o: self._head_row(o) for o in {x.origin for x in items}}
            accepted: list[Record] = []
            extended: list[Elision] = []     # elisions that extend a chain, stored with the records
            quarantine: dict[str, tuple[str, str]] = {}
            suspect: dict[str, str] = {}
            stopped: tuple[int, Refusal] | None = None

            def flush() -> None:
                """Store what is decided so far, so that lookups of held ranges see it."""
                self._store(accepted, quarantine=quarantine, suspect=suspect, positions=positions)
                self._store_elisions(extended)
                stored.extend(accepted)
                accepted.clear()
                extended.clear()
                quarantine.clear()
                suspect.clear()

            def take(i: int, r: Record, status: str) -> None:
                """A record placed in its chain: business check, flags, and into the batch."""
                verdict = checker(r) if checker is not None else None
                if verdict is not None:
                    quarantine[r.id] = verdict
                    decide(i, "quarantined", *verdict)
                else:
                    decide(i, "accepted")
                if status == "suspect":
                    suspect[r.id] = r.key
                held.add(r.id)
                accepted.append(r)

            k = 0
            while k < len(order):
                i = order[k]
                x = items[i]
                if isinstance(x, Record) and (x.id in held or i in copies):
                    decide(i, "duplicate")
                    k += 1
                    continue
                if stop is not None and i == stop[0]:
                    stopped = stop
                    break
                if i not in verified:   # stored meanwhile by another writer past a phase-1 refusal
                    break
                try:
                    seq, head_id = heads.get(x.origin, (0, None))
                    if x.seq > seq:     # it extends its origin's chain
                        self._check_link(x, seq, head_id)
                        if isinstance(x, Elision):
                            extended.append(x)
                            decide(i, "accepted")
                            heads[x.origin] = (x.last, x.id)
                        else:
                            key, status = work.check(x, positions.get(x.id) if positions else None)
                            if x.origin == "C" and x.kind in DIRECTORY_KINDS:
                                work.apply(x)
                            take(i, x, status)
                            heads[x.origin] = (x.seq, x.id)
                        k += 1
                        continue
                    # within what this store holds of the origin: a replay, a fork, or a re-cut
                    flush()
                    withheld = self._placed(x)
                    if withheld is None:
                        decide(i, "duplicate")
                        k += 1
                        continue
                    k = self._recut(withheld, order, k, items, verified, stop, work, positions, take, decide)
                    flush()
                except Refusal as refusal:
                    stopped = (i, refusal)
                    break
            if stopped is not None:
                i, refusal = stopped
                decide(i, "refused", refusal.code, refusal.detail)
                if refusal.code == "fork":
                    x = items[i]
                    if isinstance(x, Elision):
                        self._keep_elision_fork(x, refusal.detail)
                    else:
                        self._keep_fork(x, "evidence", refusal.detail)
            flush()
        if work is not directory:
            directory.adopt(work)
        for i in order:
            if i not in decisions:
                decide(i, "skipped", "stopped", "not processed: an earlier record of the batch was refused")
        return IngestResult([decisions[i] for i in range(len(items))], stored)

    def _check_elision(self, e: Elision, directory: Directory) -> None:
        """Phase-1 checks of an elision (sync.elision.check_elision) with central's key as the
        directory knows it."""
        central = directory.current("C")
        if central is None:
            raise Refusal("unknown_key", "central's key is revoked: elisions cannot be checked")
        check_elision(e, network=self.network, node=self.origin, central=central.public)

    @staticmethod
    def _check_link(x: Record | Elision, seq: int, head_id: str | None) -> None:
        """`x` starts after the held head `seq`: it must start right after it and name its id."""
        if x.seq > seq + 1:
            raise Refusal("gap", f"{x.origin} seq {x.seq} arrived but seq {seq + 1} is missing")
        if x.prev != head_id:
            what = "elision" if isinstance(x, Elision) else "seq"
            raise Refusal("broken_chain", f"{x.origin} {what} {x.seq} does not follow the held seq {seq}")

    def _element_at(self, origin: str, seq: int) -> tuple[str, int, int, str | None, str] | None:
        """What this store holds at `origin` `seq`: ("record" | "elision", first, last, prev, id)."""
        row = self.db.conn.execute("SELECT prev, id FROM records WHERE origin = ? AND seq = ?",
                                   (origin, seq)).fetchone()
        if row is not None:
            return ("record", seq, seq, row[0], row[1])
        row = self.db.conn.execute(
            "SELECT first, last, prev, id FROM elisions WHERE origin = ? AND first <= ? ORDER BY first DESC LIMIT 1",
            (origin, seq)).fetchone()
        if row is not None and row[1] >= seq:
            return ("elision", row[0], row[1], row[2], row[3])
        return None

    def _placed(self, x: Record | Elision) -> tuple[int, int, str | None, str] | None:
        """`x` lies within what this store already holds of its origin (seq <= head). None: it says
        what is held (a harmless replay, e.g. a reply carried twice); else the held elision
        (first, last, prev, id) that `x` starts to re-cut. Raises `fork` when `x` contradicts what
        is held, `elision_overlap` when it overlaps held entries without re-cutting one."""
        if isinstance(x, Record):
            at = self._element_at(x.origin, x.seq)
            if at is None:
                raise Refusal("gap", f"{x.origin} seq {x.seq}: nothing is held there")
            if at[0] == "record":
                raise Refusal("fork", f"{x.origin} seq {x.seq} is already held as {at[4]}")
            if at[2] == x.seq and at[4] != x.id:
                raise Refusal("fork", f"{x.origin} seq {x.seq} is {x.id}, but a held elision says {at[4]}")
            if at[1] != x.seq:
                raise Refusal("elision_overlap", f"{x.origin} seq {x.seq} was withheld in {at[1]}..{at[2]}; it "
                              "may come back only with the elisions that re-cut that range")
            return at[1:]
        head = self._head_row(x.origin)[0]
        if x.last > head:
            raise Refusal("elision_overlap", f"elision of {x.origin} {x.first}..{x.last} overlaps the held "
                          f"chain up to seq {head}")
        start = self._element_at(x.origin, x.first)
        end = self._element_at(x.origin, x.last)
        if start is None or start[1] != x.first:
            raise Refusal("elision_overlap", f"elision of {x.origin} {x.first}..{x.last} starts inside a held entry")
        if end is not None and end[2] == x.last:
            if start[3] == x.prev and end[4] == x.id:
                return None   # the held entries say the same, in finer pieces
            raise Refusal("fork", f"elision of {x.origin} {x.first}..{x.last} contradicts the held chain "
                          f"(prev {start[3]}, seq {x.last} {end[4]})")
        if start[0] == "elision" and x.last < start[2]:
            return start[1:]
        raise Refusal("elision_overlap", f"elision of {x.origin} {x.first}..{x.last} overlaps held records")

    def _recut(self, withheld: tuple[int, int, str | None, str], order: list[int], k: int,
               items: Sequence[Record | Elision], verified: set[int], stop: tuple[int, Refusal] | None,
               work: Directory, positions: dict[str, int] | None,
               take: Callable[[int, Record, str], None], decide: Callable[..., None]) -> int:
        """Replace the held elision `withheld` by the run of entries starting at `order[k]`: records
        central now sends and elisions of what it still withholds, which together must cover exactly
        its range and chain from its prev to its id. All or nothing (a refusal names the run's first
        entry). Returns the index in `order` after the run."""
        first, last, prev, last_id = withheld
        origin = items[order[k]].origin
        expect, link = first, prev
        run: list[tuple[int, Record | Elision, str]] = []
        j = k
        while True:
            if j >= len(order) or items[order[j]].origin != origin:
                raise Refusal("elision_overlap", f"the re-cut of {origin} {first}..{last} stops at seq {expect - 1}")
            ij = order[j]
            y = items[ij]
            if stop is not None and ij == stop[0]:
                raise Refusal(stop[1].code, f"in the re-cut of {origin} {first}..{last}: {stop[1].detail}")
            if ij not in verified or (isinstance(y, Record) and y.id in self._held({y.id})):
                raise Refusal("elision_overlap", f"the re-cut of {origin} {first}..{last} holds a record "
                              "this store has")
            end = y.last if isinstance(y, Elision) else y.seq
            if y.seq != expect:
                raise Refusal("gap" if y.seq > expect else "elision_overlap",
                              f"the re-cut of {origin} {first}..{last} has seq {y.seq} where {expect} belongs")
            if y.prev != link:
                raise Refusal("broken_chain", f"in the re-cut of {origin} {first}..{last}, seq {y.seq} does not "
                              f"follow seq {expect - 1}")
            if end > last:
                raise Refusal("elision_overlap", f"the re-cut of {origin} {first}..{last} runs past it")
            status = ""
            if isinstance(y, Record):
                if y.origin == "C" and y.kind in DIRECTORY_KINDS:
                    raise Refusal("bad_directory", "a directory record cannot come back out of a withheld range")
                _, status = work.check(y, positions.get(y.id) if positions else None)
            run.append((ij, y, status))
            expect, link = end + 1, y.id
            j += 1
            if end == last:
                if y.id != last_id:
                    raise Refusal("fork", f"{origin} seq {last} is {y.id} in the re-cut, {last_id} in the held "
                                  "elision")
                break
        self.db.conn.execute("DELETE FROM elisions WHERE origin = ? AND first = ?", (origin, first))
        self._store_elisions([y for _, y, _ in run if isinstance(y, Elision)])
        for ij, y, status in run:
            if isinstance(y, Record):
                take(ij, y, status)
            else:
                decide(ij, "accepted")
        return j

    def _store_elisions(self, elisions: Sequence[Elision]) -> None:
        """Insert accepted elisions and move their origins' heads across them (never back)."""
        if not elisions:
            return
        now = self.clock()
        conn = self.db.conn
        conn.executemany(
            "INSERT INTO elisions (origin, first, last, prev, id, raw, sig, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(e.origin, e.first, e.last, e.prev, e.id, e.raw, e.sig, now) for e in elisions])
        conn.executemany(
            "INSERT INTO heads (origin, seq, id) VALUES (?, ?, ?) ON CONFLICT (origin) DO UPDATE "
            "SET seq = excluded.seq, id = excluded.id WHERE excluded.seq > heads.seq",
            [(e.origin, e.last, e.id) for e in elisions])

    def _keep_elision_fork(self, e: Elision, detail: str) -> None:
        """Keep an elision that contradicts the held chain as evidence (central and this node disagree)."""
        self.db.conn.execute(
            "INSERT OR IGNORE INTO elision_forks (origin, first, last, raw, sig, detail, detected_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (e.origin, e.first, e.last, e.raw, e.sig, detail, self.clock()))

    def _keep_fork(self, r: Record, status: str, detail: str, held_id: str | None = None) -> None:
        """Keep `r` as fork evidence beside the record that holds its place (`held_id`, else the stored one)."""
        if held_id is None:
            held = self.db.conn.execute("SELECT id FROM records WHERE origin = ? AND seq = ?",
                                        (r.origin, r.seq)).fetchone()
            held_id = held[0] if held else None
        self.db.conn.execute(
            "INSERT OR IGNORE INTO forks (origin, seq, held_id, id, raw, sig, status, detail, detected_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.origin, r.seq, held_id, r.id, r.raw, r.sig, status, detail, self.clock()))

    def _store(self, records: list[Record], *, quarantine: dict[str, tuple[str, str]], suspect: dict[str, str],
               positions: dict[str, int] | None, project: bool = True) -> None:
        """Insert records (already decided) with heads, Merkle leaves, flags and projections."""
        if not records:
            return
        conn, now = self.db.conn, self.clock()
        if self.merkle_log:
            frontier = self._load_frontier().copy()
            base = frontier.size
            central = {r.id: base + n for n, r in enumerate(records)}
        else:
            central = positions or {}
        conn.executemany(
            "INSERT INTO records (id, origin, seq, prev, kind, key, origin_time, received_at, central_pos, raw, sig) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(r.id, r.origin, r.seq, r.prev, r.kind, r.key, r.time, now, central.get(r.id), r.raw, r.sig)
             for r in records])
        last: dict[str, tuple[int, str]] = {}
        for r in records:
            if r.seq > last.get(r.origin, (0, ""))[0]:
                last[r.origin] = (r.seq, r.id)
        # never back: a record that comes out of a withheld range lies below its origin's head
        conn.executemany("INSERT INTO heads (origin, seq, id) VALUES (?, ?, ?) ON CONFLICT (origin) DO UPDATE "
                         "SET seq = excluded.seq, id = excluded.id WHERE excluded.seq > heads.seq",
                         [(o, s, i) for o, (s, i) in last.items()])
        if quarantine:
            conn.executemany("INSERT OR REPLACE INTO quarantine VALUES (?, ?, ?, ?)",
                             [(rid, code, detail, now) for rid, (code, detail) in quarantine.items()])
        if suspect:
            conn.executemany("INSERT OR IGNORE INTO suspects VALUES (?, ?, ?, ?)",
                             [(rid, key, "receipted after its key's compromise point", now)
                              for rid, key in suspect.items()])
        if self.merkle_log:
            nodes: list[tuple[int, int, bytes]] = []
            leaves: list[tuple[int, bytes]] = []
            for r in records:
                leaf = merkle.leaf_hash(bytes.fromhex(r.id))
                leaves.append((central[r.id], leaf))
                nodes.extend(n for n in frontier.append(leaf) if n[0] >= CACHE_LEVEL)
            conn.executemany("INSERT INTO merkle_leaves (pos, hash) VALUES (?, ?)", leaves)
            conn.executemany("INSERT INTO merkle_nodes VALUES (?, ?, ?)", nodes)
        for r in records:
            if r.kind == "node.revoked" and r.origin == "C":
                self._flag_suspects(r.body, now)
            if project and self._projectors and r.id not in quarantine:
                for fn in self._projectors:
                    fn(self.db, r)
        if self.merkle_log:
            self._frontier = frontier
        if self.directory is not None:
            for r in records:
                if r.origin == "C":
                    if r.kind in DIRECTORY_KINDS:
                        self.directory.apply(r)
                    self.directory.folded_seq = max(self.directory.folded_seq, r.seq)

    def _flag_suspects(self, body: dict[str, Any], now: str) -> None:
        """A revocation: flag held records of the key receipted at or after the compromise point.

        A full scan, without an index on `key`: revocations are rare, inserts are constant.
        """
        self.db.conn.execute(
            "INSERT OR IGNORE INTO suspects SELECT id, key, ?, ? FROM records WHERE key = ? AND central_pos >= ?",
            ("receipted after its key's compromise point", now, body["key"], body["compromised_at"]))

    # --- reading -----------------------------------------------------------------------------

    def _held(self, ids: set[str]) -> set[str]:
        found: set[str] = set()
        items = list(ids)
        with self._lock:
            for start in range(0, len(items), _CHUNK):
                chunk = items[start:start + _CHUNK]
                found.update(row[0] for row in self.db.conn.execute(
                    f"SELECT id FROM records WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def _head_row(self, origin: str) -> tuple[int, str | None]:
        row = self.db.conn.execute("SELECT seq, id FROM heads WHERE origin = ?", (origin,)).fetchone()
        return (row[0], row[1]) if row else (0, None)

    def head(self, origin: str | None = None) -> tuple[int, str | None]:
        """(highest seq, its id) held for `origin` (default: this store's own); (0, None) if none."""
        with self._lock:
            return self._head_row(origin or self.origin)

    def heads(self) -> dict[str, tuple[int, str]]:
        with self._lock:
            return {o: (s, i) for o, s, i in self.db.conn.execute("SELECT origin, seq, id FROM heads")}

    def get(self, record_id: str) -> Record | None:
        with self._lock:
            row = self.db.conn.execute("SELECT raw, sig FROM records WHERE id = ?", (record_id,)).fetchone()
        return _trusted(row[0], row[1]) if row else None

    def received_at(self, record_id: str) -> str | None:
        """When this store received the record (UTC ISO 8601): at central, the legal receipt time.

        Projectors may call it: the record is already stored when they run, in the same transaction.
        """
        with self._lock:
            row = self.db.conn.execute("SELECT received_at FROM records WHERE id = ?", (record_id,)).fetchone()
        return row[0] if row else None

    def stored(self, record_id: str) -> Stored | None:
        with self._lock:
            row = self.db.conn.execute("SELECT pos, central_pos, received_at, raw, sig FROM records WHERE id = ?",
                                       (record_id,)).fetchone()
        return Stored(row[0], row[1], row[2], _trusted(row[3], row[4])) if row else None

    def records_after(self, pos: int = 0, *, kinds: Sequence[str] | None = None,
                      origins: Sequence[str] | None = None, limit: int = 1000) -> list[Stored]:
        """Records with local position > `pos`, oldest first (pulls, bundles); the cursor is the last `.pos`.

        `kinds` entries ending in `.` match a prefix (`"case."`).
        """
        where, args = ["pos > ?"], [pos]
        if kinds:
            parts = []
            for kind in kinds:
                if kind.endswith("."):
                    parts.append("substr(kind, 1, ?) = ?")
                    args += [len(kind), kind]
                else:
                    parts.append("kind = ?")
                    args.append(kind)
            where.append(f"({' OR '.join(parts)})")
        if origins:
            where.append(f"origin IN ({','.join('?' * len(origins))})")
            args += list(origins)
        with self._lock:
            rows = self.db.conn.execute(
                f"SELECT pos, central_pos, received_at, raw, sig FROM records WHERE {' AND '.join(where)} "
                "ORDER BY pos LIMIT ?", [*args, limit]).fetchall()
        return [Stored(p, c, t, _trusted(raw, sig)) for p, c, t, raw, sig in rows]

    def records_of(self, origin: str, from_seq: int = 1, to_seq: int | None = None) -> list[Record]:
        """An origin's records with from_seq <= seq <= to_seq, in seq order (uploads, recovery)."""
        with self._lock:
            rows = self.db.conn.execute(
                "SELECT raw, sig FROM records WHERE origin = ? AND seq >= ? AND seq <= ? ORDER BY seq",
                (origin, from_seq, to_seq if to_seq is not None else 2**62)).fetchall()
        return [_trusted(raw, sig) for raw, sig in rows]

    def count(self) -> int:
        with self._lock:
            return self.db.conn.execute("SELECT count(*) FROM records").fetchone()[0]

    # --- cursors and receipts -----------------------------------------------------------------

    def cursor(self, peer: str, name: str = "sent") -> int:
        with self._lock:
            row = self.db.conn.execute("SELECT value FROM cursors WHERE peer = ? AND name = ?",
                                       (peer, name)).fetchone()
        return row[0] if row else 0

    def set_cursor(self, peer: str, name: str, value: int) -> None:
        with self.transaction():
            self.db.conn.execute("INSERT INTO cursors VALUES (?, ?, ?) ON CONFLICT (peer, name) DO UPDATE "
                                 "SET value = excluded.value", (peer, name, value))

    def count_pending(self, peer: str = "C") -> int:
        """How many of this store's own records `peer` has not yet receipted."""
        return max(0, self.head()[0] - self.cursor(peer, "sent"))

    def mark_sent(self, peer: str, upto_seq: int, receipt: merkle.Receipt | None = None) -> None:
        """Record that `peer` holds own records up to `upto_seq`, and keep its receipt, in one transaction.

        The caller verifies the receipt against `last_checkpoint()` (`merkle.verify_receipt` with
        `known=`); this checks again its signature by central's current key and its inclusion proof.
        Its checkpoint becomes this store's last verified checkpoint, carried by the next records.
        """
        if receipt is not None and self.directory is not None:
            central = self.directory.current("C")
            if central is None:
                raise StoreError("central's key is revoked: receipts cannot be checked")
            merkle.verify_receipt(receipt.raw, receipt.sig, central.public, network=self.network)
            if receipt.origin != self.origin:
                raise Refusal("bad_receipt", f"a receipt for {receipt.origin}, this is {self.origin}")
        with self.transaction():
            now = self.clock()
            self.db.conn.execute(
                "INSERT INTO cursors VALUES (?, 'sent', ?) ON CONFLICT (peer, name) DO UPDATE "
                "SET value = max(value, excluded.value)", (peer, upto_seq))
            if receipt is not None:
                cp = receipt.checkpoint
                self.db.conn.execute(
                    "INSERT INTO receipts (peer, origin, seq, head, size, root, raw, sig, stored_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (peer, receipt.origin, receipt.seq, receipt.head, cp["size"], cp["root"], receipt.raw,
                     receipt.sig, now))
                known = self.last_checkpoint()
                if known is None or cp["size"] >= known["size"]:
                    self._set_meta("checkpoint", json.dumps(receipt.ckpt(), sort_keys=True))

    def receipts(self, peer: str | None = None) -> list[merkle.Receipt]:
        with self._lock:
            rows = self.db.conn.execute(
                "SELECT raw, sig FROM receipts WHERE ? IS NULL OR peer = ? ORDER BY n", (peer, peer)).fetchall()
        return [merkle.Receipt(raw, sig, json.loads(raw)) for raw, sig in rows]

    def last_checkpoint(self) -> dict[str, Any] | None:
        """`{"root", "size"}` of the last central checkpoint this store verified, or None."""
        with self._lock:
            row = self.db.conn.execute("SELECT value FROM meta WHERE name = 'checkpoint'").fetchone()
        return json.loads(row[0]) if row else None

    def set_checkpoint(self, ckpt: dict[str, Any]) -> None:
        """Remember a checkpoint verified some other way (a pull's signed checkpoint)."""
        with self.transaction():
            known = self.last_checkpoint()
            if known is None or ckpt["size"] >= known["size"]:
                self._set_meta("checkpoint", json.dumps({"root": ckpt["root"], "size": ckpt["size"]}))

    def _set_meta(self, name: str, value: str) -> None:
        self.db.conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                             (name, value))

    # --- listings for people -----------------------------------------------------------------

    def quarantined(self) -> list[tuple[Record, str, str]]:
        """(record, code, detail) of business-refused records, oldest first."""
        with self._lock:
            rows = self.db.conn.execute("SELECT r.raw, r.sig, q.code, q.detail FROM quarantine q "
                                        "JOIN records r ON r.id = q.id ORDER BY r.pos").fetchall()
        return [(_trusted(raw, sig), code, detail) for raw, sig, code, detail in rows]

    def release(self, record_id: str) -> Record:
        """A person settled a quarantined record: take it out of quarantine and project it now.

        Projections are folds that do not depend on arrival order (records of different origins
        arrive in any order anyway), so projecting it late gives what projecting it on time would have.
        """
        with self.transaction():
            if self.db.conn.execute("DELETE FROM quarantine WHERE id = ?", (record_id,)).rowcount != 1:
                raise StoreError(f"{record_id} is not in quarantine")
            record = self.get(record_id)
            assert record is not None
            for fn in self._projectors:
                fn(self.db, record)
            return record

    def suspects(self) -> list[Record]:
        with self._lock:
            rows = self.db.conn.execute("SELECT r.raw, r.sig FROM suspects s JOIN records r ON r.id = s.id "
                                        "ORDER BY r.pos").fetchall()
        return [_trusted(raw, sig) for raw, sig in rows]

    def forks(self, origin: str | None = None) -> list[dict[str, Any]]:
        """Fork evidence: `{"origin", "seq", "held_id", "record", "status", "detail", "detected_at"}`."""
        with self._lock:
            rows = self.db.conn.execute(
                "SELECT origin, seq, held_id, raw, sig, status, detail, detected_at FROM forks "
                "WHERE ? IS NULL OR origin = ? ORDER BY n", (origin, origin)).fetchall()
        return [{"origin": o, "seq": s, "held_id": h, "record": _trusted(raw, sig), "status": st, "detail": d,
                 "detected_at": t} for o, s, h, raw, sig, st, d, t in rows]

    def elisions(self, origin: str | None = None) -> list[Elision]:
        """The elisions held (ranges central withholds from this node), by origin and seq."""
        with self._lock:
            rows = self.db.conn.execute("SELECT raw, sig FROM elisions WHERE ? IS NULL OR origin = ? "
                                        "ORDER BY origin, first", (origin, origin)).fetchall()
        return [parse_elision(raw, sig) for raw, sig in rows]

    def withheld(self) -> dict[str, int]:
        """How many records of each origin central withholds from this node (routing privacy)."""
        with self._lock:
            return dict(self.db.conn.execute(
                "SELECT origin, sum(last - first + 1) FROM elisions GROUP BY origin ORDER BY origin").fetchall())

    def elision_forks(self) -> list[dict[str, Any]]:
        """Elisions refused because they contradicted the held chain, kept as evidence."""
        with self._lock:
            rows = self.db.conn.execute("SELECT raw, sig, detail, detected_at FROM elision_forks ORDER BY n").fetchall()
        return [{"elision": parse_elision(raw, sig), "detail": d, "detected_at": t} for raw, sig, d, t in rows]

    # --- central's Merkle log --------------------------------------------------------------------

    def _complete(self, level: int, index: int) -> bytes:
        if level >= CACHE_LEVEL:
            row = self.db.conn.execute("SELECT hash FROM merkle_nodes WHERE level = ? AND idx = ?",
                                       (level, index)).fetchone()
            if row is None:
                raise StoreError(f"Merkle node ({level}, {index}) is missing")
            return row[0]
        start = index << level
        leaves = [row[0] for row in self.db.conn.execute(
            "SELECT hash FROM merkle_leaves WHERE pos >= ? AND pos < ? ORDER BY pos", (start, start + (1 << level)))]
        if len(leaves) != 1 << level:
            raise StoreError(f"Merkle leaves {start}..{start + (1 << level)} are missing")
        return merkle.root_of(leaves)

    def _hash_of(self, start: int, end: int) -> bytes:
        return merkle.subtree_hash(start, end, self._complete)

    def _load_frontier(self) -> merkle.Frontier:
        row = self.db.conn.execute("SELECT max(pos) FROM merkle_leaves").fetchone()
        size = 0 if row[0] is None else row[0] + 1
        if self._frontier is None or self._frontier.size != size:
            self._frontier = merkle.Frontier.load(size, self._hash_of)
        return self._frontier

    def tree_size(self) -> int:
        with self._lock:
            return self._load_frontier().size

    def tree_root(self, size: int | None = None) -> bytes:
        """The Merkle root now, or of the first `size` leaves."""
        with self._lock:
            frontier = self._load_frontier()
            if size is None or size == frontier.size:
                return frontier.root()
            if not 0 <= size <= frontier.size:
                raise ValueError(f"the log has {frontier.size} leaves, not {size}")
            return merkle.EMPTY_ROOT if size == 0 else self._hash_of(0, size)

    def leaf_index(self, record_id: str) -> int | None:
        with self._lock:
            row = self.db.conn.execute("SELECT central_pos FROM records WHERE id = ?", (record_id,)).fetchone()
        return row[0] if row else None

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        with self._lock:
            return merkle.inclusion_path(index, self._load_frontier().size if size is None else size, self._hash_of)

    def consistency_proof(self, old: int, new: int | None = None) -> list[bytes]:
        with self._lock:
            return merkle.consistency_path(old, self._load_frontier().size if new is None else new, self._hash_of)

    def checkpoint(self) -> merkle.Checkpoint:
        """A checkpoint of the log now, signed with this (central's) key."""
        if self.signer is None:
            raise StoreError("this store has no signing key")
        with self._lock:
            frontier = self._load_frontier()
            return merkle.sign_checkpoint(self.signer, net=self.network, size=frontier.size, root=frontier.root(),
                                          time=self.clock())

    def make_receipt(self, origin: str, from_size: int = 0) -> merkle.Receipt:
        """Central's signed receipt for `origin`'s head, proving it in the current tree and the tree
        consistent with the node's checkpoint of size `from_size` (0: none)."""
        if self.signer is None or not self.merkle_log:
            raise StoreError("only central (a signing store with the Merkle log) writes receipts")
        with self._lock:
            seq, head = self._head_row(origin)
            if head is None:
                raise StoreError(f"no records of {origin}")
            frontier = self._load_frontier()
            size, root = frontier.size, frontier.root()
            index = self.leaf_index(head)
            assert index is not None
            if not 0 <= from_size <= size:
                from_size = 0
            now = self.clock()
            receipt = merkle.sign_receipt(
                self.signer, net=self.network, origin=origin, seq=seq, head=head, time=now, size=size, root=root,
                checkpoint_time=now, index=index, inclusion=merkle.inclusion_path(index, size, self._hash_of),
                from_size=from_size, consistency=merkle.consistency_path(from_size, size, self._hash_of))
            # Central keeps every receipt it issues, so the auditor bundle holds them even when
            # no node hands its copies in (sync/AUDIT.md).
            with self.transaction():
                self.db.conn.execute(
                    "INSERT INTO receipts (peer, origin, seq, head, size, root, raw, sig, stored_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (origin, receipt.origin, receipt.seq, receipt.head, size, root, receipt.raw, receipt.sig, now))
            return receipt

    # --- integrity ---------------------------------------------------------------------------

    def verify_all(self, *, signatures: bool = False) -> list[str]:
        """Re-check the whole log; the problems found (an empty list: all is well).

        Every record's bytes (strict parse) and id, every chain link (across held elisions, which
        must be this node's, not of its own origin, and neither overlap records nor leave holes),
        every head; with `signatures`, every signature against the directory (records by keys
        revoked later are judged by their central position) and every elision's against central's
        key; at central, every Merkle leaf against its record and
        the stored tree against a root recomputed from the leaves.
        """
        problems: list[str] = []
        last: dict[str, tuple[int, str]] = {}
        with self._lock:
            rows = self.db.conn.execute(
                "SELECT id, central_pos, raw, sig FROM records ORDER BY origin, seq").fetchall()
            elision_rows = self.db.conn.execute("SELECT raw, sig FROM elisions ORDER BY origin, first").fetchall()
            heads = self.heads()
        directory = Directory(self.network, self._central_public) if signatures and self._central_public else None
        if signatures and directory is None:
            problems.append("signatures not checked: no trust anchor (open with central_public)")
        elided: dict[str, list[Elision]] = {}
        for raw, sig in elision_rows:
            try:
                e = parse_elision(raw, sig, network=self.network)
            except Refusal as refusal:
                problems.append(f"elision {hashlib.sha256(raw).hexdigest()}: {refusal}")
                continue
            if e.node != self.origin or e.origin == self.origin:
                problems.append(f"elision of {e.origin} {e.first}..{e.last}: made for {e.node}, this is {self.origin}")
            elided.setdefault(e.origin, []).append(e)
        taken: dict[str, int] = {}

        def cross(origin: str, before: int) -> None:
            """Walk the held elisions of `origin` that start before seq `before`, as chain links."""
            pending = elided.get(origin, [])
            while taken.get(origin, 0) < len(pending) and pending[taken.get(origin, 0)].first < before:
                e = pending[taken.get(origin, 0)]
                taken[origin] = taken.get(origin, 0) + 1
                seq, prev = last.get(origin, (0, None))
                if e.first != seq + 1 or e.prev != prev:
                    problems.append(f"{origin} elision {e.first}..{e.last}: chain broken")
                last[origin] = (e.last, e.id)

        checked: dict[str, Record] = {}
        for rid, central_pos, raw, sig in rows:
            try:
                r = parse_record(raw, sig, network=self.network)
            except Refusal as refusal:
                problems.append(f"{rid}: {refusal}")
                continue
            if r.id != rid:
                problems.append(f"{rid}: bytes hash to {r.id}")
            cross(r.origin, r.seq)
            seq, prev = last.get(r.origin, (0, None))
            if r.seq != seq + 1 or r.prev != prev:
                problems.append(f"{r.origin} seq {r.seq}: chain broken")
            last[r.origin] = (r.seq, r.id)
            checked[r.id] = r
            if directory is not None and r.origin == "C":
                try:
                    key, _ = directory.check(r, central_pos if central_pos is not None else 2**62)
                    key.verify(r.sig, RECORD_DOMAIN + r.raw)
                    directory.apply(r)
                except (Refusal, InvalidSignature) as err:
                    problems.append(f"C seq {r.seq}: {err or 'bad signature'}")
        for origin in elided:
            cross(origin, 2**62)
        if directory is not None:      # the directory is complete now: every other origin's records
            for rid, central_pos, _, _ in rows:
                r = checked.get(rid)
                if r is None or r.origin == "C":
                    continue
                try:
                    key, _ = directory.check(r, central_pos if central_pos is not None else 2**62)
                    key.verify(r.sig, RECORD_DOMAIN + r.raw)
                except (Refusal, InvalidSignature) as err:
                    problems.append(f"{r.origin} seq {r.seq}: {err or 'bad signature'}")
            central = directory.current("C")
            for origin, pending in elided.items():
                for e in pending:
                    try:
                        if central is None:
                            raise Refusal("unknown_key", "central's key is revoked")
                        verify_elision(e, central.public)
                    except Refusal as err:
                        problems.append(f"{origin} elision {e.first}..{e.last}: {err}")
        if heads != last:
            problems.append("heads do not match the records")
        if self.merkle_log:
            with self._lock:
                leaves = self.db.conn.execute("SELECT pos, hash FROM merkle_leaves ORDER BY pos").fetchall()
                by_pos = {p: rid for rid, p, _, _ in rows if p is not None}
                if [p for p, _ in leaves] != list(range(len(leaves))) or len(by_pos) != len(leaves):
                    problems.append("Merkle leaves and records' positions differ")
                for pos, leaf in leaves:
                    rid = by_pos.get(pos)
                    if rid is None or merkle.leaf_hash(bytes.fromhex(rid)) != leaf:
                        problems.append(f"Merkle leaf {pos} is not its record's")
                recomputed = merkle.Frontier()
                for _, leaf in leaves:
                    recomputed.append(leaf)
                if recomputed.root() != self.tree_root():
                    problems.append("the stored Merkle tree does not match its leaves")
            # Every node record vouches (signed) for a checkpoint it verified: a log rewritten
            # since then no longer has that root at that size.
            roots: dict[int, str | None] = {}
            for r in checked.values():
                if r.ckpt is None:
                    continue
                size = r.ckpt["size"]
                if size not in roots:
                    try:
                        roots[size] = self.tree_root(size).hex()
                    except (ValueError, StoreError):
                        roots[size] = None
                if roots[size] != r.ckpt["root"]:
                    problems.append(f"{r.origin} seq {r.seq} vouches for a checkpoint of size {size} "
                                    "that this log does not have")
        return problems
