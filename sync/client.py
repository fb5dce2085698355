"""A node's side of the sync protocol: push, pull, recover, blobs; once or in a background loop.

`SyncClient(store, url, key=..., central_public=..., state_path=...)` talks to central's
blueprint (sync/server.py) with `requests`. `sync_once()` is one complete exchange:
1. recover: ask central what it holds of this node's OWN origin (`GET head`). A node restored
   from an old backup learns here that central holds more of its history, and pulls it back
   BEFORE it pushes or writes anything; the same seq with another record is a fork: stop.
2. push: this node's records not yet receipted, in batches; each answer carries central's signed
   receipt, which is verified (signature, inclusion of the head, consistency with the last
   checkpoint this node holds) and stored in the same transaction that marks the records sent.
3. pull: what central routed to this node after its cursor, records and elisions of the rest, in
   pages central signs whole (sync/pullpage.py); ingested with the same checks as anywhere
   (signatures, chains across elisions, directory), cursor advanced in the same transaction.
4. blobs: attachments not yet at central, in resumable chunks.
Every step is idempotent: a SIGKILL at any instant leaves a state from which the next run
simply resumes (at-least-once delivery, exactly-once effect).

Failures never raise out of `sync_once`: they become the status the screens show
(sync/status.py), with a reason code and plain English. `SyncLoop` runs `sync_once` on a thread
with exponential backoff and full jitter, and after `attention_after` failures in a row flags
"needs attention" (it keeps trying, slowly).

This module also holds the wire form of a batch of records (`encode_frames` / `split_frames`),
which central and bundles read too.
"""

from __future__ import annotations

import gzip
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from sync import merkle
from sync.blobs import BlobError, BlobStore
from sync.canonical import Refusal
from sync.elision import Elision, parse_elision
from sync.envelope import Record, parse_record
from sync.keys import NodeKey, enrolment_request
from sync.logstore import LogStore, StoreError
from sync.pullpage import HEADER as PAGE_HEADER
from sync.pullpage import check_page
from sync.requestauth import sign_request
from sync.status import StateFile, SyncStatus, snapshot

# --- the wire form of a batch of records -------------------------------------------------------
# Each record is framed as `<len(raw)>[;<central position>]:<raw><64-byte signature>`, back to
# back. The exact signed bytes travel untouched (a JSON array would lose them: central must refuse
# a record whose signed bytes are pretty-printed, which it cannot see once parsed), the framing
# costs a few bytes per record, and gzip then squeezes a batch to about gzip of the records alone.
# Pulls and replies may also hold elisions (sync/elision.py), framed `<len(raw)>;e:<raw><sig>`:
# the `e` stands where a record's position would, so a reader that does not know elisions refuses
# the batch (`bad_batch`) instead of taking an elision for a record.
BATCH_TYPE = "application/x-bianmin-records"
SIG_LEN = 64
ELIDED = -1   # the position slot of an elision's frame
Frame = tuple[int | None, bytes, bytes]


def encode_frames(rows: Iterable[Frame]) -> bytes:
    out = bytearray()
    for pos, raw, sig in rows:
        if pos is None:
            out += b"%d:" % len(raw)
        elif pos == ELIDED:
            out += b"%d;e:" % len(raw)
        else:
            out += b"%d;%d:" % (len(raw), pos)
        out += raw
        out += sig
    return bytes(out)


def encode_batch(records: Iterable[Record]) -> bytes:
    return encode_frames((None, r.raw, r.sig) for r in records)


def split_frames(data: bytes, *, max_records: int = 1_000_000, elisions: bool = False) -> list[Frame]:
    """The frames of a batch, or Refusal `bad_batch` (broken or cut short, or an elision where
    none may be: a push) / `batch_too_large`. An elision's frame has position `ELIDED`."""
    frames: list[Frame] = []
    pos, end = 0, len(data)
    while pos < end:
        colon = data.find(b":", pos, pos + 40)
        header = data[pos:colon].split(b";") if colon > 0 else []
        elided = elisions and len(header) == 2 and header[1] == b"e"
        if not header or len(header) > 2 or not (header[0].isdigit() and (elided or header[-1].isdigit())):
            raise Refusal("bad_batch", f"framing broken at byte {pos}")
        size = int(header[0])
        start = colon + 1
        stop = start + size + SIG_LEN
        if stop > end:
            raise Refusal("bad_batch", "the batch ends in the middle of a record (cut short)")
        at = ELIDED if elided else int(header[1]) if len(header) == 2 else None
        frames.append((at, data[start:start + size], data[start + size:stop]))
        if len(frames) > max_records:
            raise Refusal("batch_too_large", f"more than {max_records} records in one batch")
        pos = stop
    return frames


# --- errors and backoff -----------------------------------------------------------------------------

class SyncError(Exception):
    """Why an exchange failed: a reason code (sync/status.py MESSAGES), its parameters, and
    whether trying again later can help (`stop`: a person must act first)."""

    def __init__(self, code: str, message: str = "", *, stop: bool = False, **params: object) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.message, self.stop, self.params = code, message, stop, params


STOPPING = {"sync.fork", "sync.refused", "receipt.invalid", "auth.revoked", "auth.unknown_key",
            "auth.wrong_key", "auth.old_key", "wrong_origin"}


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter (a village's PCs must not retry in lockstep)."""

    base: float = 2.0
    cap: float = 300.0

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        rng = rng or random.Random()
        return rng.uniform(0, min(self.cap, self.base * (2 ** min(failures, 20))))


@dataclass
class SyncReport:
    ok: bool = True
    recovered: int = 0
    pushed: int = 0
    duplicates: int = 0
    pulled: int = 0
    blobs_sent: int = 0
    blob_bytes: int = 0
    receipts: int = 0
    rebased: int = 0
    error: SyncError | None = None
    notes: list[str] = field(default_factory=list)


# --- steps shared by the HTTP client and bundles ----------------------------------------------------------

def parse_pulled(store: LogStore, raw: bytes, sig: bytes) -> Record:
    try:
        return parse_record(raw, sig, network=store.network)
    except Refusal as refusal:
        raise SyncError("sync.refused", refusal.detail, stop=True, reason=refusal.code) from None


def parse_routed(store: LogStore, frame: Frame) -> Record | Elision:
    """A pulled frame as what it is: a record, or central's elision of records withheld from us."""
    pos, raw, sig = frame
    if pos != ELIDED:
        return parse_pulled(store, raw, sig)
    try:
        return parse_elision(raw, sig, network=store.network)
    except Refusal as refusal:
        raise SyncError("sync.refused", refusal.detail, stop=True, reason=refusal.code) from None


def take_receipt(store: LogStore, central_public: bytes, wire: Any, known: dict[str, Any] | None) -> merkle.Receipt:
    """Verify central's receipt completely (signature, the head's inclusion, consistency with the
    checkpoint this node holds, that the head is OUR record), then store it and mark the records
    it covers sent, in one transaction."""
    try:
        receipt = merkle.receipt_from_wire(wire, central_public, network=store.network, known=known)
    except Refusal as refusal:
        raise SyncError("receipt.invalid", f"{refusal.code}: {refusal.detail}", stop=True) from None
    if receipt.origin != store.origin:
        raise SyncError("receipt.invalid", f"receipt for {receipt.origin}, not {store.origin}", stop=True)
    mine = store.records_of(store.origin, receipt.seq, receipt.seq)
    if not mine or mine[0].id != receipt.head:
        # central holds a head we do not: a restore from backup, or a fork; recover() sorts it out
        raise SyncError("sync.fork", f"central's head seq {receipt.seq} is not ours", stop=True)
    store.mark_sent("C", receipt.seq, receipt)
    return receipt


def ingest_routed(store: LogStore, frames: Sequence[Frame], cursor: int) -> int:
    """Ingest what central routed to this node (records, and elisions of what it withholds) and
    advance the pull cursor, in one transaction. Returns how many records were stored.

    The page is taken in the order central sent it (per origin): a re-cut of a withheld range
    (sync/PROTOCOL.md section 12a) is a run of consecutive entries. A refusal stops sync (central
    sent something this node's log cannot take, or the page was tampered with: a person looks):
    as for any batch, what came before the refused entry stays stored and nothing after it, fork
    evidence is kept, and the cursor does not move, so the page is asked for again."""
    items = []
    for index, frame in enumerate(frames):
        try:
            items.append(parse_routed(store, frame))
        except SyncError as err:
            err.params["index"] = index
            raise
    positions = {x.id: pos for (pos, _, _), x in zip(frames, items, strict=True)
                 if isinstance(x, Record) and pos is not None}
    with store.transaction():
        result = store.ingest(items, positions=positions, keep_order=True)
        if result.ok and cursor > store.cursor("C", "pulled"):
            store.set_cursor("C", "pulled", cursor)
    refused = result.refused
    if refused is not None:
        raise SyncError("sync.refused", refused.detail, stop=True, reason=refused.code, index=refused.index,
                        seq=refused.seq)
    return len(result.stored)


# --- the client ----------------------------------------------------------------------------------------

class SyncClient:
    """One node's connection to central. Not thread-safe: one exchange at a time (SyncLoop)."""

    def __init__(self, store: LogStore, url: str, *, key: NodeKey, central_public: bytes,
                 state_path: Path | str, blobs: BlobStore | None = None, batch: int = 500,
                 timeout: float = 30.0, retries: int = 1, session: requests.Session | None = None,
                 reset: Callable[[Any], None] | None = None) -> None:
        self.store = store
        self.node = store.origin
        self.url = url.rstrip("/")
        self.key = key
        self.central_public = central_public
        self.state_file = StateFile(state_path)
        self.state = self.state_file.load()
        self.blobs = blobs
        self.batch = batch
        self.timeout = timeout
        self.retries = retries
        self.session = session or requests.Session()
        self._time_checked = False
        self.reset = reset  # the node app's projection reset, for a rebase after a fork

    # -- HTTP ----------------------------------------------------------------------------------
    def now(self) -> float:
        """Central's time as best this node knows it: its own clock corrected by the measured offset."""
        return time.time() + self.state.clock_offset

    def check_time(self) -> float:
        """Measure the offset of central's clock from ours (`GET /time` is unauthenticated)."""
        t0 = time.time()
        resp = self._send("GET", "/sync/v1/time", b"", {}, sign=False)
        t1 = time.time()
        server = float(self._json(resp)["time"])
        self.state.clock_offset = server - (t0 + t1) / 2
        self._time_checked = True
        return self.state.clock_offset

    def _send(self, method: str, path: str, body: bytes, headers: dict[str, str], *,
              sign: bool = True, stream: bool = False) -> requests.Response:
        headers = dict(headers)
        if sign:
            headers.update(sign_request(self.key, self.node, self.key.key_id, method, path, body, now=self.now()))
        try:
            return self.session.request(method, self.url + path, data=body or None, headers=headers,
                                        timeout=self.timeout, stream=stream)
        except requests.Timeout as err:
            raise SyncError("net.timeout", str(err)) from err
        except requests.ConnectionError as err:
            cut = "RemoteDisconnected" in str(err) or "Connection aborted" in str(err)
            raise SyncError("net.cut" if cut else "net.unreachable", str(err)) from err
        except requests.RequestException as err:
            raise SyncError("net.cut", str(err)) from err

    def request(self, method: str, path: str, body: bytes = b"", *, headers: dict[str, str] | None = None,
                ok: Sequence[int] = (200,)) -> requests.Response:
        """A signed request; retried (bounded, jittered) on network trouble, once on a clock error."""
        attempt = 0
        clock_fixed = False
        while True:
            try:
                resp = self._send(method, path, body, headers or {})
                if resp.status_code in ok:
                    _ = resp.content  # read it all now: a cut mid-answer is a network failure here
                    return resp
                problem = self._problem(resp)
                if problem.code == "auth.clock_skew" and not clock_fixed:
                    server_time = problem.params.get("server_time")
                    if isinstance(server_time, int | float):
                        self.state.clock_offset = float(server_time) - time.time()
                    else:
                        self.check_time()
                    clock_fixed = True
                    continue
                raise problem
            except SyncError as err:
                if not (err.code.startswith("net.") or err.code in ("server.error", "auth.replay")):
                    raise
                if attempt >= self.retries:
                    raise
                attempt += 1
                time.sleep(Backoff(base=0.2, cap=2.0).delay(attempt))
            except requests.RequestException as err:
                if attempt >= self.retries:
                    raise SyncError("net.cut", str(err)) from err
                attempt += 1

    def _problem(self, resp: requests.Response) -> SyncError:
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        code = str(data.get("error") or ("server.error" if resp.status_code >= 500 else "server.bad_answer"))
        params = {k: v for k, v in data.items() if k not in ("error", "message")}
        params.setdefault("status", resp.status_code)
        if code == "auth.clock_skew":
            params["minutes"] = round(abs(float(params.get("skew_seconds", 0))) / 60)
        return SyncError(code, str(data.get("message", "")), stop=code in STOPPING, **params)

    @staticmethod
    def _json(resp: requests.Response) -> dict[str, Any]:
        try:
            data = resp.json()
        except ValueError as err:
            raise SyncError("server.bad_answer", "not JSON") from err
        if not isinstance(data, dict):
            raise SyncError("server.bad_answer", "not a JSON object")
        return data

    # -- steps ---------------------------------------------------------------------------------
    def head(self) -> dict[str, Any]:
        return self._json(self.request("GET", "/sync/v1/head"))

    def recover(self, report: SyncReport | None = None) -> int:
        """Make this node's own history agree with central's before anything is pushed or written.

        First contact after a restore from an old backup: central holds more of this origin than
        the store does, so the missing records come back. If the histories differ (the node wrote
        before that first contact, or a fork was refused), `LogStore.recover` takes central's
        records and re-appends this node's own differing records after them (the originals kept
        as fork evidence, nothing deleted; PROTOCOL.md section 11). Writing is held meanwhile.
        Returns how many records came back from central."""
        report = report or SyncReport()
        info = self.head()
        central_seq, central_id = int(info.get("seq") or 0), info.get("id")
        local_seq, _ = self.store.head()
        if central_seq <= local_seq:
            mine = self.store.records_of(self.node, central_seq, central_seq) if central_seq else []
            if central_seq == 0 or (mine and mine[0].id == central_id):
                if self.store.writes_held():
                    self.store.release_writes()
                return 0
        self.store.hold_writes("recovering this service point's history from the city server")
        after = min(self.store.cursor("C", "sent"), central_seq)
        theirs: list[Record] = []
        positions: dict[str, int] = {}
        while after < central_seq:
            frames = self._frames(self.request("GET", f"/sync/v1/own?after={after}"))
            if not frames:
                break
            for pos, raw, sig in frames:
                r = self._parse(raw, sig)
                theirs.append(r)
                if pos is not None:
                    positions[r.id] = pos
            after = theirs[-1].seq
        missing = sum(1 for r in theirs if self.store.get(r.id) is None)
        try:
            mapping = self.store.recover(theirs, reset=self.reset, positions=positions)
        except (Refusal, StoreError) as err:
            raise SyncError("sync.fork", str(err), stop=True) from None
        if theirs:
            self.store.mark_sent("C", central_seq)
        if mapping:
            report.notes.append("sync.rebased")
            report.rebased = len(mapping)
        return missing

    def push(self, report: SyncReport | None = None) -> int:
        """Send every own record central has not receipted; return how many were accepted.

        Batches go one at a time (central must see them in chain order), but the next batch is
        read and gzipped on a helper thread while the current one travels and is verified."""
        report = report or SyncReport()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="push-prep") as pool:
            ahead: tuple[tuple[int, int], Future[bytes]] | None = None
            while True:
                sent = self.store.cursor("C", "sent")
                head_seq = self.store.head()[0]
                if sent >= head_seq:
                    return report.pushed
                span = (sent + 1, min(head_seq, sent + self.batch))
                body = ahead[1].result() if ahead is not None and ahead[0] == span else self._batch_body(*span)
                ahead = None
                if span[1] < head_seq:
                    following = (span[1] + 1, min(head_seq, span[1] + self.batch))
                    ahead = (following, pool.submit(self._batch_body, *following))
                self._push_body(body, report)

    def _batch_body(self, first: int, last: int) -> bytes:
        return gzip.compress(encode_batch(self.store.records_of(self.node, first, last)), 6)

    def push_batch(self, records: Sequence[Record], report: SyncReport | None = None) -> dict[str, Any]:
        return self._push_body(gzip.compress(encode_batch(records), 6), report or SyncReport())

    def _push_body(self, body: bytes, report: SyncReport) -> dict[str, Any]:
        known = self.store.last_checkpoint()
        since = known["size"] if known else 0
        resp = self.request("POST", f"/sync/v1/push?since={since}", body,
                            headers={"Content-Type": BATCH_TYPE, "Content-Encoding": "gzip"},
                            ok=(200, 409, 422))
        answer = self._json(resp)
        report.pushed += int(answer.get("accepted", 0))
        report.duplicates += int(answer.get("duplicate", 0))
        if answer.get("clock_flagged") and "sync.clock_flagged" not in report.notes:
            report.notes.append("sync.clock_flagged")  # accepted, but the PC's clock needs fixing
        if answer.get("receipt"):
            self._take_receipt(answer["receipt"], known)
            report.receipts += 1
        if resp.status_code == 409:
            raise SyncError("sync.fork", answer.get("message", ""), stop=True, **answer.get("refused", {}))
        if resp.status_code == 422:
            refused = answer.get("refused", {})
            raise SyncError("sync.refused", answer.get("message", ""), stop=True,
                            reason=refused.get("code", "?"), seq=refused.get("seq"))
        return answer

    def _take_receipt(self, wire: Any, known: dict[str, Any] | None) -> merkle.Receipt:
        return take_receipt(self.store, self.central_public, wire, known)

    def pull(self, report: SyncReport | None = None) -> int:
        """Fetch and ingest records routed to this node, advancing the cursor with each batch."""
        report = report or SyncReport()
        while True:
            after = self.store.cursor("C", "pulled")
            resp = self.request("GET", f"/sync/v1/pull?after={after}&limit={self.batch}")
            frames = self._frames(resp, elisions=True)
            if resp.headers.get(PAGE_HEADER) is None:
                # the link dropped inside the headers: an empty body parses as an empty page
                raise SyncError("net.cut", f"the answer ended before central's {PAGE_HEADER} statement")
            try:   # central's signature over the whole page: the cursor and `more` come from it
                page = check_page(resp.headers.get(PAGE_HEADER), resp.content, central=self.central_public,
                                  network=self.store.network, node=self.node, after=after, count=len(frames))
            except Refusal as refusal:
                # Nothing of the page is taken and the cursor stays, so asking again is safe. Not a
                # stop: a link cut inside the headers leaves the statement cut short, which looks
                # the same as one changed on the way, and a village must not wait days for a
                # person over a bad line. Pages failing again and again count as failures in a row,
                # which the sync page shows as needing attention.
                raise SyncError("sync.refused", refusal.detail, stop=False, reason=refusal.code) from None
            if frames:
                report.pulled += ingest_routed(self.store, frames, page["cursor"])
            elif page["cursor"] != after:
                self.store.set_cursor("C", "pulled", page["cursor"])
            if not page["more"]:
                return report.pulled

    def _frames(self, resp: requests.Response, *, elisions: bool = False) -> list[Frame]:
        try:
            return split_frames(resp.content, elisions=elisions)
        except Refusal as refusal:
            raise SyncError("net.cut", refusal.detail) from None

    def _parse(self, raw: bytes, sig: bytes) -> Record:
        return parse_pulled(self.store, raw, sig)

    # -- blobs ---------------------------------------------------------------------------------
    def upload_blob(self, sha256: str) -> int:
        """Send one blob from where central's copy stops; return the bytes sent (resume-aware)."""
        assert self.blobs is not None
        status = self._json(self.request("GET", f"/sync/v1/blobs/{sha256}/status"))
        size = self.blobs.size(sha256)
        offset = int(status.get("received", 0)) if not status.get("complete") else size
        sent = 0
        with self.blobs.open(sha256) as f:
            while offset < size:
                f.seek(offset)
                chunk = f.read(self.blobs.chunk_size)
                headers = {"Content-Range": f"bytes {offset}-{offset + len(chunk) - 1}/{size}",
                           "Content-Type": "application/octet-stream"}
                resp = self.request("PUT", f"/sync/v1/blobs/{sha256}", chunk, headers=headers,
                                    ok=(200, 201, 409))
                answer = self._json(resp)
                sent += len(chunk)
                if resp.status_code == 409 and answer.get("error") != "blob.offset_mismatch":
                    raise SyncError("sync.refused", answer.get("message", ""), stop=False,
                                    reason=answer.get("error"))
                offset = int(answer.get("received", offset))
        self.blobs.mark_sent(sha256)
        return sent

    def upload_blobs(self, report: SyncReport | None = None) -> int:
        report = report or SyncReport()
        if self.blobs is None:
            return 0
        for sha256 in self.blobs.unsent():
            report.blob_bytes += self.upload_blob(sha256)
            report.blobs_sent += 1
        return report.blobs_sent

    def download_blob(self, sha256: str) -> int:
        """Fetch a blob from central into the local store, resuming a partial copy; bytes fetched."""
        assert self.blobs is not None
        if self.blobs.has(sha256):
            return 0
        resp = self.request("HEAD", f"/sync/v1/blobs/{sha256}")
        size = int(resp.headers.get("X-Bianmin-Size", "0"))
        got = 0
        offset = self.blobs.status(sha256).received
        while offset < size:
            end = min(size, offset + self.blobs.chunk_size)
            resp = self.request("GET", f"/sync/v1/blobs/{sha256}", headers={"Range": f"bytes={offset}-{end - 1}"},
                                ok=(206, 200))
            data = resp.content
            try:
                st = self.blobs.write_chunk(sha256, offset, size, data[: end - offset])
            except BlobError as err:
                raise SyncError("sync.refused", err.message, reason=err.code) from None
            got += len(data)
            offset = st.received
        return got

    def carry_bundle(self, data: bytes) -> bytes:
        """Hand central another node's export bundle (this node is only the carrier, e.g. a town
        for its villages) and return central's signed reply bundle to carry back."""
        return self.request("POST", "/sync/v1/bundle", data, headers={"Content-Type": "application/zip"}).content

    # -- one complete exchange -------------------------------------------------------------------
    def sync_once(self) -> SyncReport:
        """Recover, push, pull, blobs; never raises for sync trouble: see the report and status."""
        report = SyncReport()
        self.state.last_attempt = time.time()
        try:
            if self.state.stopped:
                raise SyncError(self.state.last_error_code or "sync.refused",
                                "sync is stopped until a person clears it", stop=True,
                                **self.state.last_error_params)
            if not self._time_checked:
                self.check_time()
            report.recovered = self.recover(report)
            if report.recovered:
                report.notes.append("sync.restored")
            try:
                self.push(report)
            except SyncError as err:
                if err.code != "sync.fork":
                    raise
                report.recovered += self.recover(report)  # someone wrote our numbers first: rebase
                self.push(report)
            self.pull(report)
            self.upload_blobs(report)
        except SyncError as err:
            report.ok, report.error = False, err
            self.state.failures += 1
            self.state.last_error_code = err.code
            self.state.last_error_params = {k: v for k, v in err.params.items()
                                            if isinstance(v, str | int | float | bool) or v is None}
            if err.stop:
                self.state.stopped = True
        else:
            self.state.failures = 0
            self.state.needs_attention = False
            self.state.last_success = time.time()
            self.state.last_error_code = None
            self.state.last_error_params = {}
        self.state.notes = list(report.notes)
        self.state_file.save(self.state)
        return report

    def clear_stop(self) -> None:
        """A person has dealt with a fork or refusal: let sync go on."""
        self.state.stopped = False
        self.state.failures = 0
        self.state.last_error_code = None
        self.state.last_error_params = {}
        self.state_file.save(self.state)

    def status(self, now: float | None = None) -> SyncStatus:
        """The snapshot a screen shows: remembered state plus fresh counts from the log."""
        state = self.state_file.load()
        sent = self.store.cursor("C", "sent")
        pending = self.store.count_pending("C")
        oldest = None
        if pending:
            first = self.store.records_of(self.node, sent + 1, sent + 1)
            stored = self.store.stored(first[0].id) if first else None
            if stored is not None:
                oldest = datetime.fromisoformat(stored.received_at).timestamp()
        return snapshot(state, pending=pending, oldest_unsent=oldest, now=now)


class SyncLoop:
    """`sync_once` on a background thread: every `interval` seconds when all is well, with
    jittered exponential backoff after failures, and "needs attention" after `attention_after`
    failures in a row. `poke()` asks for a sync now (a clerk pressed "sync")."""

    def __init__(self, client: SyncClient, *, interval: float = 60.0, backoff: Backoff | None = None,
                 attention_after: int = 6, rng: random.Random | None = None) -> None:
        self.client = client
        self.interval = interval
        self.backoff = backoff or Backoff()
        self.attention_after = attention_after
        self.rng = rng or random.Random()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_report: SyncReport | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"sync-{self.client.node}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            report = self.client.sync_once()
            self.last_report = report
            state = self.client.state
            if not report.ok and state.failures >= self.attention_after and not state.needs_attention:
                state.needs_attention = True
                self.client.state_file.save(state)
            if report.ok:
                wait = self.interval
            elif state.stopped:
                wait = max(self.interval, self.backoff.cap)
            else:
                wait = self.backoff.delay(state.failures, self.rng)
            self._wake.wait(wait)
            self._wake.clear()


# --- enrolment ---------------------------------------------------------------------------------------

def enrol(url: str, *, network: str, node: str, token: str, key: NodeKey,
          session: requests.Session | None = None, timeout: float = 30.0) -> dict[str, Any]:
    """Enrol this node's key with its single-use token. Returns central's answer: its public key and
    fingerprint (show the fingerprint to the person enrolling, to compare with the city's), the
    network id, and the directory records. Raises SyncError with central's reason on refusal."""
    session = session or requests.Session()
    try:
        resp = session.post(url.rstrip("/") + "/sync/v1/enrol", timeout=timeout,
                            json=enrolment_request(key, net=network, node=node, token=token))
    except requests.RequestException as err:
        raise SyncError("net.unreachable", str(err)) from err
    try:
        data = resp.json()
    except ValueError:
        data = {}
    if resp.status_code != 201 or not isinstance(data, dict):
        raise SyncError(str(data.get("error", "server.bad_answer")), str(data.get("message", "")),
                        stop=True, status=resp.status_code)
    return data
