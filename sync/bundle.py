"""Bundles: the same records moved by file, for a village with no link (a USB stick).

A bundle is a zip file (format `bianmin-bundle/2`, sync/PROTOCOL.md section 15):
- `manifest.json`: canonical JSON (sync/canonical.py) describing the bundle, listing every other
  file in it with its size and SHA-256 (of the bytes in the zip);
- `manifest.sig`: 64 bytes, Ed25519 over `BUNDLE_DOMAIN + manifest.json` by the sender's key;
- `records.bin`: records in the wire framing of sync/client.py (`<len>[;<pos>]:<raw><sig>`);
- `answer.json` (replies only): central's answer to the records, the signed receipt inside;
- `blobs/<sha256>` (exports only): scans, each SEALED to central (sync/sealing.py), named by the
  SHA-256 of the plain bytes as everywhere else.

Why sealed: the records are signed, not secret (a town relays them, an auditor reads them), but a
stick lost on the bus must not show anyone an ID-card scan. Each scan is sealed to central's X25519
sealing key, bound to its name, this bundle's random `id`, the sender, the network and central,
so only central can open it and a sealed scan cannot be moved to another name or bundle unseen. A
town that relays the bundle never needs to open it and cannot. A node that has not received
central's sealing key yet (`sealing.key` record) exports its records only and keeps its scans for
the next bundle (`held_back` in the manifest). Replies carry no scans: a node fetches a scan over
a link only (node.housekeeping), so a reply holding a blob is refused.

Export (a node): its records not yet receipted, its unsent scans sealed, its pull cursor and its
last checkpoint size. The zip is written piece by piece to a temporary file beside the target and
renamed, so memory is one segment whatever the scans weigh, and a stick pulled out early never
holds half a bundle that looks whole.

Import (central, or a town relaying it over its own link with `POST /sync/v1/bundle`): the WHOLE
bundle is checked before anything is stored: the zip must open, the manifest must be canonical, of
this network, signed by the sender's current enrolled key; every file must be present, listed, of
the listed size and hash, with nothing extra; and every sealed scan must open with central's key
and hash to its name. Only then are the records ingested with exactly the checks of a push
(`server.accept_batch`) and the scans stored, in plain, in central's store (the server room). A
tampered, truncated, padded or misaddressed bundle is refused whole, and nothing from it is stored.

Old bundles (`bianmin-bundle/1`, scans in plain) made before a node was upgraded: central accepts
them only until the date its administrator sets (`plain_until`, central.toml
`plain_bundles_until`), with a warning that travels back in the reply; after it, or with no date,
they are refused (`bundle_plain`) and the node exports again once upgraded (its records and scans
are still on the node: nothing is lost). Old replies (format 1, never with scans) are read as ever.

The reply (central's signed receipt, the scans central now holds, and the records routed to the
node since its cursor) is a bundle signed by central, carried home and imported with
`import_reply`, with the same checks as the HTTP client's (receipt verified and stored with the
records marked sent, pulled records ingested with the cursor moved, in one transaction each).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import secrets
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sync.blobs import BlobError, BlobStore, check_name
from sync.canonical import Refusal, decode, encode
from sync.client import encode_batch, encode_frames, ingest_routed, split_frames, take_receipt
from sync.envelope import now_iso
from sync.keys import NodeKey, public_key, verify_statement
from sync.logstore import LogStore
from sync.sealing import ALGORITHM, Context, Recipient, SealError, SealingKey, seal_chunks

if TYPE_CHECKING:
    from sync.server import Routes

BUNDLE_DOMAIN = b"bianmin/bundle/v1\x00"
FORMAT = "bianmin-bundle/2"
PLAIN_FORMAT = "bianmin-bundle/1"
"""Scans in plain: read only, and an export only while central's `plain_until` allows it."""
MAX_BUNDLE_BYTES = 1024 * 1024 * 1024
FIXED = ("manifest.json", "manifest.sig")
BLOBS = "blobs/"
_READ = 1024 * 1024
Source = Path | str | bytes | IO[bytes]


class SealedElsewhereError(Refusal):
    """The scans of a bundle whose signature checked out are sealed to a key this central does not
    hold (another central's, or one of ours that was lost and replaced). Nothing from it is stored,
    but its sender is proven, so central still answers with a reply carrying its records and its
    current `sealing.key`: the node then seals again to the right key, instead of being stuck
    with no reply to learn it from."""

    def __init__(self, detail: str, manifest: dict[str, Any]) -> None:
        super().__init__("bundle_sealed_elsewhere", detail)
        self.manifest = manifest


@dataclass
class Bundle:
    """A bundle whose manifest signature, every file and every sealed scan have been checked.
    It keeps the zip open so that scans are read piece by piece: use it in a `with` block."""

    manifest: dict[str, Any]
    files: dict[str, bytes] = field(repr=False)   # the small members: records.bin, answer.json
    zip: zipfile.ZipFile | None = field(default=None, repr=False)
    blobs: list[str] = field(default_factory=list)  # names (plain SHA-256) of the scans it carries

    def __enter__(self) -> Bundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()
            self.zip = None

    @property
    def sender(self) -> str:
        return self.manifest["from"]

    @property
    def plain(self) -> bool:
        """An old (format 1) bundle: its scans, if any, travelled unsealed."""
        return self.manifest.get("format") == PLAIN_FORMAT

    def frames(self) -> list[tuple[int | None, bytes, bytes]]:
        """Its records; a reply's may include elisions (central's, like a pull's)."""
        return split_frames(self.files.get("records.bin", b""), elisions=self.manifest.get("kind") == "reply")

    def context(self, name: str) -> Context:
        """What the sealed scan `name` of this bundle is bound to (sync/sealing.py)."""
        return Context(net=self.manifest["net"], sender=self.sender, recipient=self.manifest["to"],
                       bundle=str(self.manifest.get("id", "")), blob=name)

    def member(self, name: str) -> IO[bytes]:
        assert self.zip is not None, "the bundle is closed"
        return self.zip.open(BLOBS + name)


# --- writing ----------------------------------------------------------------------------------------

class _Hashing:
    """A write-only file object that hashes and counts what passes through it."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out, self.sha, self.size = out, hashlib.sha256(), 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.sha.update(data)
        self.size += len(data)

    def listing(self) -> dict[str, Any]:
        return {"sha256": self.sha.hexdigest(), "size": self.size}


def _write_zip(path: Path, manifest: dict[str, Any], key: NodeKey, small: dict[str, bytes],
               streamed: Iterable[tuple[str, Iterable[bytes]]] = ()) -> None:
    """Write the bundle to `path` atomically: `streamed` members first, piece by piece and stored
    uncompressed (sealed scans do not compress), then the small ones, then the manifest listing
    them all and its signature. The temporary file is removed if anything fails."""
    tmp = path.with_name(f".{path.name}.part")
    listed: dict[str, dict[str, Any]] = {}
    try:
        with open(tmp, "wb") as raw_file:
            with zipfile.ZipFile(raw_file, "w") as z:
                for name, pieces in streamed:
                    with z.open(zipfile.ZipInfo(name, date_time=time.localtime()[:6]), "w") as member:
                        out = _Hashing(member)
                        for piece in pieces:
                            out.write(piece)
                    listed[name] = out.listing()
                for name, data in sorted(small.items()):
                    z.writestr(name, data, zipfile.ZIP_DEFLATED)
                    listed[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                manifest = {**manifest, "files": dict(sorted(listed.items()))}
                raw = encode(manifest)
                z.writestr("manifest.json", raw, zipfile.ZIP_DEFLATED)
                z.writestr("manifest.sig", key.sign(BUNDLE_DOMAIN + raw), zipfile.ZIP_STORED)
            raw_file.flush()
            os.fsync(raw_file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _pack(manifest: dict[str, Any], files: dict[str, bytes], key: NodeKey) -> bytes:
    """A small bundle (a reply) as bytes: the files and the manifest listing them, signed by `key`."""
    manifest = dict(manifest)
    manifest["files"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                         for name, data in sorted(files.items())}
    raw = encode(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("manifest.json", raw, zipfile.ZIP_DEFLATED)
        z.writestr("manifest.sig", key.sign(BUNDLE_DOMAIN + raw), zipfile.ZIP_STORED)
        for name, data in sorted(files.items()):
            z.writestr(name, data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


# --- reading ----------------------------------------------------------------------------------------

def _open_zip(source: Source, max_bytes: int) -> zipfile.ZipFile:
    try:
        if isinstance(source, bytes):
            size = len(source)
            target: Any = io.BytesIO(source)
        elif isinstance(source, str | Path):
            size = os.path.getsize(source)
            target = source
        else:
            size = source.seek(0, io.SEEK_END)
            source.seek(0)
            target = source
        if size > max_bytes:
            raise Refusal("bundle_too_large", f"more than {max_bytes} bytes")
        return zipfile.ZipFile(target)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise Refusal("bundle_corrupt", f"not a readable bundle (cut short?): {err}") from None


def _hash_member(z: zipfile.ZipFile, name: str, budget: list[int], keep: bool) -> tuple[str, int, bytes]:
    """SHA-256 and size of a member, read piece by piece; its bytes only if `keep` (small ones).
    `budget` is what may still be unpacked: a zip bomb stops at the bundle's limit."""
    sha, size, kept = hashlib.sha256(), 0, []
    try:
        with z.open(name) as f:
            while piece := f.read(_READ):
                size += len(piece)
                budget[0] -= len(piece)
                if budget[0] < 0:
                    raise Refusal("bundle_too_large", "the bundle unpacks to more than its limit")
                sha.update(piece)
                if keep:
                    kept.append(piece)
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise Refusal("bundle_corrupt", f"{name} cannot be read: {err}") from None
    return sha.hexdigest(), size, b"".join(kept)


def read_bundle(source: Source, *, network: str, lookup: Any, kind: str, max_bytes: int = MAX_BUNDLE_BYTES,
                sealing: SealingKey | None = None, plain_until: dt.date | None = None,
                today: dt.date | None = None) -> Bundle:
    """Open and check a whole bundle; `lookup(node, key_id) -> public key bytes or key object`
    (raises Refusal when the key may not speak for node). An export's sealed scans are opened with
    `sealing` and must hash to their names; an old plain export is accepted only on or before
    `plain_until`. Any problem is a Refusal, raised before the caller stores anything. The Bundle
    returned holds the zip open: close it (`with read_bundle(...) as bundle:`)."""
    z = _open_zip(source, max_bytes)
    try:
        bundle = _check(z, network=network, lookup=lookup, kind=kind, max_bytes=max_bytes)
        if kind == "export":
            _check_scans(bundle, sealing=sealing, plain_until=plain_until,
                         today=today or dt.datetime.now(_CHINA).date())
    except BaseException:
        z.close()
        raise
    return bundle


_CHINA = dt.timezone(dt.timedelta(hours=8))


def _check(z: zipfile.ZipFile, *, network: str, lookup: Any, kind: str, max_bytes: int) -> Bundle:
    try:
        names = z.namelist()
        if len(names) != len(set(names)):
            raise Refusal("bundle_tampered", "a file appears twice in the bundle")
        raw = z.read("manifest.json")
        sig = z.read("manifest.sig")
    except KeyError:
        raise Refusal("bundle_corrupt", "manifest.json or manifest.sig is missing") from None
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
        raise Refusal("bundle_corrupt", f"the manifest cannot be read: {err}") from None
    manifest = decode(raw)
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT, PLAIN_FORMAT):
        raise Refusal("bundle_format", f"not a {FORMAT} manifest")
    if manifest.get("net") != network:
        raise Refusal("wrong_network", f"bundle of network {manifest.get('net')!r}, this is {network!r}")
    if manifest.get("kind") != kind:
        raise Refusal("bundle_format", f"a {manifest.get('kind')!r} bundle, expected {kind!r}")
    sender, key_id = manifest.get("from"), manifest.get("key")
    if not isinstance(sender, str) or not isinstance(key_id, str) or len(sig) != 64:
        raise Refusal("bundle_format", "the manifest names no sender or key")
    verify_statement(lookup(sender, key_id), BUNDLE_DOMAIN, raw, sig)
    listed = manifest.get("files")
    if not isinstance(listed, dict) or set(names) != set(listed) | set(FIXED):
        raise Refusal("bundle_tampered", "the files in the bundle are not the files its manifest lists")
    files: dict[str, bytes] = {}
    blobs: list[str] = []
    budget = [max_bytes]
    for name, meta in listed.items():
        is_blob = name.startswith(BLOBS)
        if is_blob:
            blobs.append(check_name(name[len(BLOBS):]))
        elif name not in ("records.bin", "answer.json"):
            raise Refusal("bundle_format", f"{name} has no place in a bundle")
        sha, size, data = _hash_member(z, name, budget, keep=not is_blob)
        if not isinstance(meta, dict) or size != meta.get("size") or sha != meta.get("sha256"):
            raise Refusal("bundle_tampered", f"{name} is not the file the manifest lists")
        if not is_blob:
            files[name] = data
    if blobs and kind == "reply":
        raise Refusal("bundle_format", "a reply carries no scans")
    return Bundle(manifest, files, z, sorted(blobs))


def _check_scans(bundle: Bundle, *, sealing: SealingKey | None, plain_until: dt.date | None,
                 today: dt.date) -> None:
    """Every scan of an export opens (sealed) or hashes (plain, while allowed) to its name."""
    if bundle.plain:
        if plain_until is None or today > plain_until:
            raise Refusal("bundle_plain", "a bundle made by an older version, scans unsealed"
                          + (f"; accepted only until {plain_until.isoformat()}" if plain_until else ""))
        for name in bundle.blobs:
            with bundle.member(name) as f:
                if _sha_of(iter(lambda f=f: f.read(_READ), b"")) != name:
                    raise Refusal("bundle_tampered", f"blobs/{name} does not hash to its name")
        return
    sealed = bundle.manifest.get("sealed")
    if not isinstance(sealed, dict) or sorted(sealed.get("blobs") or []) != bundle.blobs:
        raise Refusal("bundle_format", "the manifest's sealed scans are not the scans in the bundle")
    if bundle.manifest.get("to") != "C" or (bundle.blobs and sealed.get("to") != "C"):
        raise Refusal("bundle_format", "an export is addressed to central")
    if not bundle.blobs:
        return
    if sealing is None or sealed.get("key") != sealing.key_id:
        raise SealedElsewhereError(f"its scans are sealed to key {sealed.get('key')}, which this server does "
                                   "not hold", bundle.manifest)
    for name in bundle.blobs:
        if _sha_of(_open_scan(bundle, sealing, name)) != name:
            raise Refusal("bundle_tampered", f"the sealed scan {name[:16]} does not open to its name")


def _open_scan(bundle: Bundle, sealing: SealingKey, name: str) -> Iterator[bytes]:
    """The plain bytes of a sealed scan of the bundle, segment by segment; Refusal if it fails."""
    try:
        with bundle.member(name) as f:
            opened = sealing.open(bundle.context(name), f.read)
            yield from opened.chunks()
    except SealError as err:
        if err.code == "seal.wrong_recipient":
            raise SealedElsewhereError(err.message, bundle.manifest) from None
        raise Refusal("bundle_tampered", f"the sealed scan {name[:16]} fails to open: {err.message}") from None


def _sha_of(pieces: Iterable[bytes]) -> str:
    sha = hashlib.sha256()
    for piece in pieces:
        sha.update(piece)
    return sha.hexdigest()


# --- at the node ------------------------------------------------------------------------------------

def export_bundle(store: LogStore, key: NodeKey, path: Path | str, *, blobs: BlobStore | None = None,
                  blob_names: Iterable[str] | None = None, seal_to: Recipient | None = None) -> dict[str, Any]:
    """Write this node's records not yet receipted, and (if `blobs` is given) its unsent scans
    sealed to `seal_to` (central's published sealing key), to `path`.

    Without `seal_to` (central's key has not reached this node yet) no scan is written: the
    manifest's `held_back` counts them, and they go with a later bundle. A scan found damaged while
    it is written is left out (`damaged` in the result) and the bundle written again without it.
    Exporting twice, or carrying a bundle whose records also went by network, is harmless: central
    answers duplicates as duplicates. Returns the manifest (with `damaged`)."""
    sent = store.cursor("C", "sent")
    head = store.head()[0]
    records = store.records_of(store.origin, sent + 1, head) if head > sent else []
    names = list(blob_names if blob_names is not None else blobs.unsent()) if blobs is not None else []
    held_back = len(names) if seal_to is None else 0
    if seal_to is None:
        names = []
    elif seal_to.node != "C":
        raise ValueError("an export is sealed to central")
    known = store.last_checkpoint()
    damaged: list[str] = []
    while True:
        manifest = {"format": FORMAT, "kind": "export", "id": secrets.token_hex(16), "net": store.network,
                    "from": store.origin, "to": "C", "key": key.key_id, "created": now_iso(),
                    "records": len(records), "first_seq": records[0].seq if records else 0,
                    "last_seq": records[-1].seq if records else 0, "pull_after": store.cursor("C", "pulled"),
                    "since": known["size"] if known else 0, "held_back": held_back,
                    "sealed": {"to": "C", "key": seal_to.key_id if seal_to else None, "algorithm": ALGORITHM,
                               "blobs": sorted(names)}}
        ctx = Bundle(manifest, {})

        def streamed(ctx: Bundle = ctx) -> Iterator[tuple[str, Iterable[bytes]]]:
            for name in sorted(names):
                assert blobs is not None and seal_to is not None
                try:
                    size = blobs.size(name)
                except BlobError as err:
                    raise _DamagedScanError(name) from err
                yield BLOBS + name, seal_chunks(seal_to, ctx.context(name), _plain(blobs, name), size)
        try:
            _write_zip(Path(path), manifest, key, {"records.bin": encode_batch(records)}, streamed())
        except _DamagedScanError as bad:
            damaged.append(bad.name)
            names.remove(bad.name)
            continue
        return {**manifest, "damaged": damaged}


class _DamagedScanError(Exception):
    """A scan that could not be read whole while it was being written into a bundle."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _plain(blobs: BlobStore, name: str) -> Iterator[bytes]:
    try:
        yield from blobs.iter_plain(name)
    except BlobError as err:
        raise _DamagedScanError(name) from err


def import_reply(store: LogStore, central_public: bytes, path: Source, *,
                 blobs: BlobStore | None = None) -> dict[str, Any]:
    """Take central's reply home: verify it whole, then its receipt, then its routed records.

    Returns `{"receipt_seq", "pulled", "answer", "warnings", "error"}` (`error`: the bundle this
    answers was refused, e.g. `bundle_sealed_elsewhere`, while its routed records still came); raises Refusal (bundle problems) or
    client.SyncError (receipt or records refused) with nothing stored from the failing step. The
    scans central says it now holds are marked sent in `blobs`, so the next bundle leaves them out."""

    def lookup(node: str, key_id: str) -> bytes:
        if node != "C" or key_id != hashlib.sha256(central_public).hexdigest()[:16]:
            raise Refusal("unknown_key", "a reply must be signed by central's key")
        return central_public

    with read_bundle(path, network=store.network, lookup=lookup, kind="reply") as bundle:
        if bundle.manifest.get("to") != store.origin:
            raise Refusal("bundle_format", f"this reply is for {bundle.manifest.get('to')}, not {store.origin}")
        try:
            answer = json.loads(bundle.files.get("answer.json", b"{}"))
        except ValueError:
            raise Refusal("bundle_format", "the reply's answer is not JSON") from None
        if not isinstance(answer, dict):
            raise Refusal("bundle_format", "the reply's answer is not an object")
        receipt_seq = 0
        wire = answer.get("receipt")
        if wire:
            held = {r.raw for r in store.receipts("C")}
            if base64.b64decode(str(wire.get("raw", ""))) in held:  # this reply was imported already
                receipt_seq = store.cursor("C", "sent")
            else:
                receipt_seq = take_receipt(store, central_public, wire, store.last_checkpoint()).seq
        pulled = ingest_routed(store, bundle.frames(), int(bundle.manifest.get("pull_cursor", 0)))
    if blobs is not None:
        for name in answer.get("blobs") or []:
            if isinstance(name, str) and len(name) == 64:
                blobs.mark_sent(name)
    warnings = [w for w in answer.get("warnings") or [] if isinstance(w, dict)]
    error = answer.get("error") if isinstance(answer.get("error"), str) else None
    return {"receipt_seq": receipt_seq, "pulled": pulled, "answer": answer, "warnings": warnings, "error": error}


# --- at central -------------------------------------------------------------------------------------

def answer_bundle(store: LogStore, routes: Routes, source: Source, *, blobs: BlobStore | None = None,
                  sealing: SealingKey | None = None, plain_until: dt.date | None = None,
                  today: dt.date | None = None, max_reply_records: int = 100_000,
                  max_bytes: int = MAX_BUNDLE_BYTES) -> tuple[dict[str, Any], bytes]:
    """Import a node's export bundle at central and build the signed reply.

    Returns (the push answer, the reply bundle's bytes). The import is all or nothing up to the
    record checks: a bundle that fails any whole-bundle check (sealed scans opened with `sealing`
    included) raises Refusal before anything is stored; its records then meet exactly the checks of
    `POST /sync/v1/push`, and its scans are stored in `blobs` in plain. The answer adds `node`,
    `blobs` (the bundle's scans central now holds: the node marks them sent) and `warnings` (an
    old plain bundle accepted: `plain_scans`). One refusal still gets a reply: scans sealed to a
    key central does not hold (`SealedElsewhereError`): the answer's `error` says so, nothing
    from the bundle is stored, and the reply brings the node central's current sealing key."""
    from sync.server import accept_batch  # the same code path as a push

    assert store.signer is not None and store.directory is not None

    def lookup(node: str, key_id: str) -> Any:
        directory = store.directory
        assert directory is not None
        entry = directory.keys.get(key_id)
        current = directory.current(node)
        if entry is None or entry.node != node:
            raise Refusal("unknown_key", f"key {key_id} is not {node}'s")
        if entry.revoked:
            raise Refusal("revoked_key", f"key {key_id} of {node} is revoked")
        if current is None or current.key_id != key_id:
            raise Refusal("wrong_key", f"key {key_id} is not {node}'s current key")
        return public_key(entry.public)

    try:
        bundle = read_bundle(source, network=store.network, lookup=lookup, kind="export", max_bytes=max_bytes,
                             sealing=sealing, plain_until=plain_until, today=today)
    except SealedElsewhereError as err:
        from sync.server import refusal_message

        answer = {"error": err.code, "message": refusal_message(err.code, err.detail), "status": 422,
                  "node": err.manifest["from"], "accepted": 0, "duplicate": 0, "outcomes": [], "blobs": []}
        after = err.manifest.get("pull_after", 0)
        return answer, _reply(store, routes, err.manifest["from"], answer, after if isinstance(after, int) else 0,
                              max_reply_records)
    with bundle:
        node = bundle.sender
        pairs = [(raw, sig) for _, raw, sig in bundle.frames()]
        since = bundle.manifest.get("since", 0)
        status, answer = accept_batch(store, node, pairs, since=since if isinstance(since, int) else 0)
        answer["status"] = status
        answer["node"] = node
        held = _store_scans(bundle, blobs, sealing) if blobs is not None else []
        answer["blobs"] = held
        held_back = bundle.manifest.get("held_back")
        if isinstance(held_back, int) and held_back > 0:
            answer["held_back"] = held_back
        if bundle.plain:
            answer["warnings"] = [{"code": "plain_scans", "scans": len(bundle.blobs),
                                   "until": plain_until.isoformat() if plain_until else ""}]
        after = bundle.manifest.get("pull_after", 0)
    return answer, _reply(store, routes, node, answer, after if isinstance(after, int) else 0, max_reply_records)


def _reply(store: LogStore, routes: Routes, node: str, answer: dict[str, Any], after: int, limit: int) -> bytes:
    """The reply bundle central signs: its answer, and what is routed to `node` after its cursor."""
    assert store.signer is not None
    rows: list[tuple[int | None, bytes, bytes]] = []
    cursor, more = after, True
    while more and len(rows) < limit:
        batch, cursor, more = routes.pull(node, cursor, 1000)
        rows.extend(batch)
    files = {"records.bin": encode_frames(rows),
             "answer.json": json.dumps(answer, sort_keys=True, ensure_ascii=False).encode()}
    manifest = {"format": FORMAT, "kind": "reply", "id": secrets.token_hex(16), "net": store.network,
                "from": "C", "to": node, "key": store.signer.key_id, "created": now_iso(), "records": len(rows),
                "pull_cursor": cursor, "more": more}
    return _pack(manifest, files, store.signer)


def _store_scans(bundle: Bundle, blobs: BlobStore, sealing: SealingKey | None) -> list[str]:
    """Store the bundle's scans in plain, piece by piece; the names central now holds. A scan that
    cannot be stored now (an upload of it half done with another size) is left for the node to
    send again: it is simply not in the list."""
    held = []
    for name in bundle.blobs:
        if not blobs.has(name):
            try:
                if bundle.plain:
                    with bundle.member(name) as f:
                        size = bundle.zip.getinfo(BLOBS + name).file_size  # type: ignore[union-attr]
                        _write_pieces(blobs, name, size, iter(lambda f=f: f.read(blobs.chunk_size), b""))
                else:
                    assert sealing is not None
                    with bundle.member(name) as f:
                        opened = sealing.open(bundle.context(name), f.read)
                        _write_pieces(blobs, name, opened.size, opened.chunks())
            except BlobError:
                continue
        held.append(name)
    return held


def _write_pieces(blobs: BlobStore, name: str, size: int, pieces: Iterable[bytes]) -> None:
    if size == 0:  # nothing to append: an empty scan is stored as made here
        if b"".join(pieces) == b"" and name == hashlib.sha256(b"").hexdigest():
            blobs.put(b"")
        return
    offset = 0
    for piece in pieces:
        blobs.write_chunk(name, offset, size, piece)
        offset += len(piece)


def peek_answer(reply: bytes) -> dict[str, Any]:
    """The answer a reply carries, read WITHOUT any check: for a carrier's message only (the node it is
    for checks the reply whole with `import_reply`). {} if it cannot be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(reply)) as z:
            answer = json.loads(z.read("answer.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return {}
    return answer if isinstance(answer, dict) else {}


def export_summary(manifest: dict[str, Any]) -> dict[str, int]:
    """What a person is told an export holds: records, scans sealed, scans held back, damaged."""
    sealed = manifest.get("sealed") if isinstance(manifest.get("sealed"), dict) else {}
    return {"records": int(manifest.get("records", 0)), "scans": len((sealed or {}).get("blobs") or []),
            "held_back": int(manifest.get("held_back", 0) or 0), "damaged": len(manifest.get("damaged") or [])}
