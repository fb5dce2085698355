"""The auditor bundle: central's whole log written out so that an outsider can check it offline.

"The machine manages people" only holds if someone outside the machine can check it. `export`
writes, from central's LogStore, a folder an auditor takes away and checks with the standalone
verifier (`python -m sync.verify BUNDLE`, sync/verify.py), which shares no code with this module.
The format is specified in sync/AUDIT.md; in short:

    BUNDLE/2026-01/  manifest.json manifest.sig records.jsonl forks.jsonl receipts.jsonl checkpoint.json
    BUNDLE/2026-02/  ...                              one archive per month of central's receipt time
    BUNDLE/state/    manifest.json manifest.sig directory.json quarantine.jsonl suspects.jsonl

- every record, as its exact signed bytes and signature, with its position in central's Merkle log
  and central's receipt time, in the archive of the month central received it;
- fork evidence (the second record of an origin+seq, bytes kept) in the month it was detected;
- every receipt handed to us (central's own `receipts` table, plus those collected from nodes or
  reply bundles: `receipts=`), in the month of its receipt time;
- per month, a checkpoint of the log at the month's end signed by central, and the consistency
  proof from the previous month's checkpoint;
- per month a manifest (SHA-256 and size of each file, the previous archive's manifest digest),
  signed by central: the archives form a chain, so a month cannot be dropped or swapped unseen;
- `state/`: what can still change (the node directory with every key ever enrolled, revoked ones
  included with their compromise points; the quarantine; the suspects), chained after the last month.

Closed months never change: a month's archive depends only on records, forks and receipts of that
month and earlier, and nothing in it carries the export's own time. So the same log always gives
byte-identical files (Ed25519 signatures are deterministic), and an auditor who kept last year's
bundle can compare it byte for byte with this year's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click

from sync import merkle
from sync.canonical import Refusal, encode, nfc
from sync.envelope import parse_record
from sync.keys import Directory, KeyFileError, NodeKey, fingerprint
from sync.logstore import LogStore, StoreError

FORMAT = "bianmin-audit/1"
MANIFEST_DOMAIN = b"bianmin/audit/v1\x00"
STATE = "state"
_PAGE = 2000


class AuditError(Exception):
    """The log cannot be exported as asked (no such file, not central's log, a folder in the way)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _line(obj: Any) -> bytes:
    """One JSON Lines line: canonical JSON (no size limit: a line is a file's unit, not a record) + LF."""
    return encode(obj, max_size=1 << 40) + b"\n"


def month_of(time: str) -> str:
    """The archive a central time belongs to: `YYYY-MM` as central wrote the time (central writes UTC)."""
    return time[:7]


class _File:
    """A bundle file written once, hashed as it is written (the manifest lists its SHA-256 and size)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: IO[bytes] = path.open("wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.digest.update(data)
        self.size += len(data)

    def close(self) -> dict[str, Any]:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        return {"sha256": self.digest.hexdigest(), "size": self.size}


@dataclass
class _Month:
    month: str
    first: int                  # first Merkle position in this archive
    end: int                    # one past the last
    last_time: str = ""         # central's receipt time of the archive's last record (its checkpoint's time)
    records: dict[str, Any] | None = None      # file entry of records.jsonl once closed
    forks: list[bytes] = field(default_factory=list)
    receipts: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class ExportSummary:
    """What `export` wrote: for the CLI to print and for tests."""

    path: Path
    months: list[str]
    records: int
    forks: int
    receipts: int
    tree_size: int
    root: str


def _open(source: LogStore | str | os.PathLike[str], central_key: NodeKey, network: str | None) -> LogStore:
    if isinstance(source, LogStore):
        if source.origin != "C" or not source.merkle_log:
            raise AuditError("an auditor bundle is written from central's log (origin C, with its Merkle log)")
        return source
    path = Path(source)
    if not path.is_file():
        raise AuditError(f"{path}: no such database")
    if network is None:
        raise AuditError("opening a log by path needs its network id")
    try:
        return LogStore.open(path, network=network, origin="C", signer=central_key)
    except StoreError as err:
        raise AuditError(str(err)) from err


def _within(store: LogStore, record_id: str | None, size: int) -> bool:
    """Is the record central holds under this id among the first `size` positions (the snapshot)?"""
    if record_id is None:
        return False
    pos = store.leaf_index(record_id)
    return pos is not None and pos < size


def _receipt_lines(store: LogStore, central_keys: list[bytes], extra: Iterable[Any],
                   size: int) -> list[tuple[str, bytes]]:
    """(central time, line) of every distinct receipt: central's own table and those handed in.

    Each is checked first (central's signature by one of its keys, the inclusion proof): a bundle
    must not carry something central never signed."""
    seen: dict[bytes, tuple[str, bytes]] = {}
    items: list[Any] = list(store.receipts()) + list(extra)
    for item in items:
        if isinstance(item, merkle.Receipt):
            raw, sig = item.raw, item.sig
        elif isinstance(item, dict):
            raw, sig = base64.b64decode(item["raw"]), base64.b64decode(item["sig"])
        else:
            raw, sig = item
        receipt = None
        for public in central_keys:
            try:
                receipt = merkle.verify_receipt(raw, sig, public, network=store.network)
                break
            except Refusal as refusal:
                if refusal.code != "bad_signature":
                    raise AuditError(f"a receipt handed in is not valid: {refusal}") from refusal
        if receipt is None:
            raise AuditError("a receipt handed in is not signed by central")
        if receipt.checkpoint["size"] > size:
            continue            # issued after the snapshot: the next export carries it
        seen.setdefault(raw + sig, (receipt.body["time"], _line({"raw": _b64(raw), "sig": _b64(sig)})))
    return sorted(seen.values())


def _records(store: LogStore) -> Iterator[tuple[int, str, bytes, bytes]]:
    """(central position, receipt time, raw, sig) in position order; refuses a log with holes."""
    after, expected = 0, 0
    while True:
        page = store.records_after(after, limit=_PAGE)
        if not page:
            return
        for stored in page:
            if stored.central_pos != expected:
                raise AuditError(f"record {stored.record.id} sits at Merkle position {stored.central_pos}, "
                                 f"expected {expected}: this is not a whole central log")
            expected += 1
            yield stored.central_pos, stored.received_at, stored.record.raw, stored.record.sig
        after = page[-1].pos


def export(source: LogStore | str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
           central_key: NodeKey, central_public_key: bytes | None = None, network: str | None = None,
           receipts: Iterable[Any] = ()) -> ExportSummary:
    """Write the auditor bundle of central's log to `out_dir` (which must not exist yet).

    `source`: central's LogStore, or the path of its database (then `network` is needed).
    `central_key`: central's signing key (it signs the month checkpoints and the manifests).
    `central_public_key`: the trust anchor nodes pinned at enrolment, if not `central_key`'s own
    (central's key was rotated since): written into every manifest for the auditor to compare.
    `receipts`: more receipts to include besides central's own `receipts` table (Receipt objects,
    wire dicts `{"raw","sig"}` base64, or `(raw, sig)` pairs), e.g. collected from nodes; each is
    checked (central's signature, inclusion proof) before it is written.

    The folder is written beside `out_dir` under a temporary name and renamed at the end, so a
    folder at `out_dir` is always a whole bundle.
    """
    out = Path(out_dir)
    if out.exists():
        raise AuditError(f"{out} already exists; an auditor bundle is written to a new folder")
    store = _open(source, central_key, network)
    anchor = central_public_key or central_key.public
    work = out.with_name(f".{out.name}.partial")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    try:
        summary = _write(store, work, central_key, anchor, list(receipts))
        os.replace(work, out)
        summary.path = out
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        if store is not source:
            store.close()
    return summary


def _write(store: LogStore, work: Path, key: NodeKey, anchor: bytes,
           extra_receipts: list[Any]) -> ExportSummary:
    months: dict[str, _Month] = {}
    order: list[str] = []
    current: _Month | None = None
    handle: _File | None = None
    n_records = 0
    # The export reads a live log: everything below is cut at the records read here (the snapshot),
    # so what central stores meanwhile waits for the next export instead of making this one disagree.
    directory = Directory(store.network, anchor)
    for pos, received_at, raw, sig in _records(store):
        month = month_of(received_at)
        if current is None or month > current.month:    # a clock set back never reopens a month
            if current is not None and handle is not None:
                current.records = handle.close()
            current = months[month] = _Month(month, pos, pos)
            order.append(month)
            (work / month).mkdir()
            handle = _File(work / month / "records.jsonl")
        assert handle is not None
        handle.write(_line({"pos": pos, "raw": _b64(raw), "received_at": received_at, "sig": _b64(sig)}))
        current.end = pos + 1
        current.last_time = received_at
        n_records += 1
        if b'"origin":"C"' in raw and b'"kind":"node.' in raw:
            record = parse_record(raw, sig)
            if record.origin == "C":
                with contextlib.suppress(Refusal):   # one that cannot apply: the verifier says so
                    directory.apply(record)
    if current is not None and handle is not None:
        current.records = handle.close()
    tree_size = n_records

    def month_for(time: str) -> _Month:
        """The archive of a fork or receipt: its own month, or the latest archive before it."""
        month = month_of(time)
        if month not in months:
            before = [m for m in order if m < month]
            start = months[before[-1]].end if before else 0
            months[month] = _Month(month, start, start)
            order.append(month)
            order.sort()
            (work / month).mkdir()
        return months[month]

    forks = sorted((f for f in store.forks() if _within(store, f["held_id"], tree_size)),
                   key=lambda f: (f["detected_at"], f["record"].id, f["status"]))
    for f in forks:
        target = month_for(f["detected_at"])
        r = f["record"]
        target.forks.append(_line({"detail": nfc(f["detail"]), "detected_at": f["detected_at"],
                                   "held_id": f["held_id"], "origin": f["origin"], "raw": _b64(r.raw),
                                   "seq": f["seq"], "sig": _b64(r.sig), "status": f["status"]}))
    central_keys = [directory.keys[k].public for k in directory.nodes["C"].keys]
    receipt_lines = _receipt_lines(store, central_keys, extra_receipts, tree_size)
    for time, line in receipt_lines:
        target = month_for(time)
        target.receipts.append((time, line))

    prev_digest: str | None = None
    prev_size, prev_root = 0, merkle.EMPTY_ROOT
    log_time = ""
    for index, month in enumerate(order, start=1):
        m = months[month]
        # the checkpoint states the log as its last record left it: that record's receipt time (a
        # month without records: the last before it, or the month's start), never the export's time
        log_time = m.last_time or log_time or f"{month}-01T00:00:00+00:00"
        folder = work / month
        files: dict[str, Any] = {}
        files["records.jsonl"] = m.records if m.records is not None else _write_lines(folder / "records.jsonl", [])
        files["forks.jsonl"] = _write_lines(folder / "forks.jsonl", m.forks)
        files["receipts.jsonl"] = _write_lines(folder / "receipts.jsonl", [line for _, line in m.receipts])
        root = store.tree_root(m.end)
        checkpoint = merkle.sign_checkpoint(key, net=store.network, size=m.end, root=root, time=log_time)
        consistency = store.consistency_proof(prev_size, m.end)
        files["checkpoint.json"] = _write_bytes(folder / "checkpoint.json", encode({
            "checkpoint": checkpoint.to_wire(), "consistency": [h.hex() for h in consistency],
            "previous": {"root": prev_root.hex(), "size": prev_size}}, max_size=1 << 30))
        manifest = {"format": FORMAT, "kind": "month", "net": store.network, "month": month, "index": index,
                    "prev": prev_digest, "anchor": anchor.hex(), "key": key.key_id,
                    "positions": {"first": m.first, "end": m.end},
                    "checkpoint": {"root": root.hex(), "size": m.end},
                    "counts": {"records": m.end - m.first, "forks": len(m.forks), "receipts": len(m.receipts)},
                    "files": files}
        prev_digest = _seal(folder, key, manifest)
        prev_size, prev_root = m.end, root

    state = work / STATE
    state.mkdir()
    files = {"directory.json": _write_bytes(state / "directory.json", _directory(directory)),
             "quarantine.jsonl": _write_lines(state / "quarantine.jsonl", _quarantine(store, tree_size)),
             "suspects.jsonl": _write_lines(state / "suspects.jsonl", _suspects(store, tree_size))}
    root = store.tree_root(tree_size)
    _seal(state, key, {"format": FORMAT, "kind": "state", "net": store.network, "index": len(order) + 1,
                       "prev": prev_digest, "anchor": anchor.hex(), "key": key.key_id,
                       "checkpoint": {"root": root.hex(), "size": tree_size}, "months": len(order),
                       "files": files})
    return ExportSummary(work, order, n_records, len(forks), len(receipt_lines), tree_size, root.hex())


def _write_lines(path: Path, lines: list[bytes]) -> dict[str, Any]:
    handle = _File(path)
    for line in lines:
        handle.write(line)
    return handle.close()


def _write_bytes(path: Path, data: bytes) -> dict[str, Any]:
    handle = _File(path)
    handle.write(data)
    return handle.close()


def _seal(folder: Path, key: NodeKey, manifest: dict[str, Any]) -> str:
    """Write manifest.json and its signature; the manifest's digest chains the next archive to it."""
    raw = encode(manifest, max_size=1 << 30)
    _write_bytes(folder / "manifest.json", raw)
    _write_bytes(folder / "manifest.sig", key.sign(MANIFEST_DOMAIN + raw))
    return hashlib.sha256(raw).hexdigest()


def _directory(directory: Directory) -> bytes:
    """Every key ever enrolled (revoked ones kept, with their compromise points), and every node."""
    keys = [{"key": e.key_id, "node": e.node, "public_key": e.public.hex(), "fingerprint": fingerprint(e.public),
             "from_seq": e.from_seq, "to_seq": e.to_seq, "revoked": e.revoked,
             "compromised_at": e.compromised_at, "reason": nfc(e.reason)}
            for e in sorted(directory.keys.values(), key=lambda e: e.key_id)]
    nodes = [{"node": n.node, "tier": n.tier, "name": nfc(n.name), "keys": list(n.keys)}
             for n in sorted(directory.nodes.values(), key=lambda n: n.node)]
    return encode({"keys": keys, "nodes": nodes}, max_size=1 << 30)


def _quarantine(store: LogStore, size: int) -> list[bytes]:
    rows = []
    for record, code, detail in store.quarantined():
        stored = store.stored(record.id)
        assert stored is not None and stored.central_pos is not None
        if stored.central_pos >= size:
            continue
        rows.append((stored.central_pos, _line({"code": code, "detail": nfc(detail), "id": record.id,
                                                "pos": stored.central_pos})))
    return [line for _, line in sorted(rows)]


def _suspects(store: LogStore, size: int) -> list[bytes]:
    rows = []
    for record in store.suspects():
        stored = store.stored(record.id)
        assert stored is not None and stored.central_pos is not None
        if stored.central_pos >= size:
            continue
        rows.append((stored.central_pos, _line({"id": record.id, "key": record.key, "pos": stored.central_pos})))
    return [line for _, line in sorted(rows)]


def audit_command(locate: Callable[[Path], tuple[Path, Path, str]]) -> click.Command:
    """`audit-export --data DIR --out BUNDLE`, for central's command line.

    `locate(data folder)` gives (central's database, its key file, the network id): only central
    knows its folder's layout, so central registers this with one line."""

    @click.command("audit-export")
    @click.option("--data", "data", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
                  help="central's data folder")
    @click.option("--out", "out", required=True, type=click.Path(path_type=Path),
                  help="a new folder for the bundle (it must not exist yet)")
    def command(data: Path, out: Path) -> None:
        """Write the auditor bundle: every record, receipt, checkpoint and key, in monthly archives
        chained and signed by central. Check it with `python -m sync.verify OUT` (sync/AUDIT.md)."""
        db, key_path, network = locate(data)
        try:
            summary = export(db, out, central_key=NodeKey.load(key_path), network=network)
        except (AuditError, KeyFileError) as err:
            raise click.ClickException(str(err)) from err
        months = f"{summary.months[0]} .. {summary.months[-1]}" if summary.months else "none"
        click.echo(f"auditor bundle written to {summary.path}: {summary.records} records, months {months}, "
                   f"{summary.forks} forks, {summary.receipts} receipts; Merkle root {summary.root}")
        click.echo(f"check it with: python -m sync.verify {summary.path}")

    return command
