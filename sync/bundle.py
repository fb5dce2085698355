"""Bundles: the same records moved by file, for a village with no link (a USB stick).

A bundle is a zip file:
- `manifest.json`: canonical JSON (sync/canonical.py) describing the bundle, listing every other
  file in it with its size and SHA-256;
- `manifest.sig`: 64 bytes, Ed25519 over `BUNDLE_DOMAIN + manifest.json` by the sender's key;
- `records.bin`: records in the wire framing of sync/client.py (`<len>[;<pos>]:<raw><sig>`);
- `answer.json` (replies only): central's answer to the records, the signed receipt inside;
- `blobs/<sha256>`: attachments, optional.

Export (a node): its records not yet receipted, optionally the blobs not yet sent, its pull cursor
and its last checkpoint size. Import (central, or a town relaying it over its own link with
`POST /sync/v1/bundle`): the WHOLE bundle is checked before anything is stored: the zip must open,
the manifest must be canonical, of this network, signed by the sender's current enrolled key, and
every file must be present, listed, of the listed size and hash, with nothing extra. Only then
are the records ingested with exactly the checks of a push (`server.accept_batch`). A tampered,
truncated or padded bundle is refused whole, and nothing from it is stored.
The reply (central's signed receipt and the records routed to the node since its cursor) is a
bundle signed by central, carried home and imported with `import_reply`, with the same checks as
the HTTP client's (receipt verified and stored with the records marked sent, pulled records
ingested with the cursor moved, in one transaction each).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sync.blobs import BlobStore, check_name
from sync.canonical import Refusal, decode, encode
from sync.client import encode_batch, encode_frames, ingest_routed, split_frames, take_receipt
from sync.envelope import now_iso
from sync.keys import NodeKey, public_key, verify_statement
from sync.logstore import LogStore

if TYPE_CHECKING:
    from sync.server import Routes

BUNDLE_DOMAIN = b"bianmin/bundle/v1\x00"
FORMAT = "bianmin-bundle/1"
MAX_BUNDLE_BYTES = 1024 * 1024 * 1024
FIXED = ("manifest.json", "manifest.sig")


@dataclass
class Bundle:
    """A bundle whose manifest signature and every file have been checked."""

    manifest: dict[str, Any]
    files: dict[str, bytes] = field(repr=False)

    @property
    def sender(self) -> str:
        return self.manifest["from"]

    def frames(self) -> list[tuple[int | None, bytes, bytes]]:
        """Its records; a reply's may include elisions (central's, like a pull's)."""
        return split_frames(self.files.get("records.bin", b""), elisions=self.manifest.get("kind") == "reply")


def _pack(manifest: dict[str, Any], files: dict[str, bytes], key: NodeKey) -> bytes:
    """The zip bytes: the files and the manifest listing them, signed by `key`."""
    manifest = dict(manifest)
    manifest["files"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                         for name, data in sorted(files.items())}
    raw = encode(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("manifest.json", raw, zipfile.ZIP_DEFLATED)
        z.writestr("manifest.sig", key.sign(BUNDLE_DOMAIN + raw), zipfile.ZIP_STORED)
        for name, data in sorted(files.items()):
            # attachments are scans, already compressed; records compress well
            z.writestr(name, data, zipfile.ZIP_STORED if name.startswith("blobs/") else zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> Path:
    """Write atomically: a half-written stick never holds something that looks like a bundle."""
    tmp = path.with_name(f".{path.name}.part")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_bundle(source: Path | str | bytes, *, network: str, lookup: Any, kind: str,
                max_bytes: int = MAX_BUNDLE_BYTES) -> Bundle:
    """Open and check a whole bundle; `lookup(node, key_id) -> public key bytes or key object`
    (raises Refusal when the key may not speak for node). Any problem is a Refusal, raised before
    the caller stores anything."""
    try:
        if isinstance(source, bytes):
            if len(source) > max_bytes:
                raise Refusal("bundle_too_large", f"more than {max_bytes} bytes")
            z = zipfile.ZipFile(io.BytesIO(source))
        else:
            if os.path.getsize(source) > max_bytes:
                raise Refusal("bundle_too_large", f"more than {max_bytes} bytes")
            z = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise Refusal("bundle_corrupt", f"not a readable bundle (cut short?): {err}") from None
    with z:
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
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
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
        total = 0
        for name, meta in listed.items():
            try:
                data = z.read(name)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
                raise Refusal("bundle_corrupt", f"{name} cannot be read: {err}") from None
            total += len(data)
            if total > max_bytes:
                raise Refusal("bundle_too_large", f"more than {max_bytes} bytes unpacked")
            if len(data) != meta.get("size") or hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                raise Refusal("bundle_tampered", f"{name} is not the file the manifest lists")
            if name.startswith("blobs/"):
                check_name(name[len("blobs/"):])
                if hashlib.sha256(data).hexdigest() != name[len("blobs/"):]:
                    raise Refusal("bundle_tampered", f"{name} does not hash to its name")
            files[name] = data
    return Bundle(manifest, files)


# --- at the node ------------------------------------------------------------------------------------

def export_bundle(store: LogStore, key: NodeKey, path: Path | str, *, blobs: BlobStore | None = None,
                  blob_names: Iterable[str] | None = None) -> dict[str, Any]:
    """Write this node's records not yet receipted (and, if given, its unsent blobs) to `path`.

    Exporting twice, or carrying a bundle whose records also went by network, is harmless:
    central answers duplicates as duplicates. Returns the manifest."""
    sent = store.cursor("C", "sent")
    head = store.head()[0]
    records = store.records_of(store.origin, sent + 1, head) if head > sent else []
    files = {"records.bin": encode_batch(records)}
    if blobs is not None:
        for name in (blob_names if blob_names is not None else blobs.unsent()):
            files[f"blobs/{name}"] = blobs.read(name)
    known = store.last_checkpoint()
    manifest = {"format": FORMAT, "kind": "export", "net": store.network, "from": store.origin, "to": "C",
                "key": key.key_id, "created": now_iso(), "records": len(records),
                "first_seq": records[0].seq if records else 0, "last_seq": records[-1].seq if records else 0,
                "pull_after": store.cursor("C", "pulled"), "since": known["size"] if known else 0}
    _write(Path(path), _pack(manifest, files, key))
    return manifest


def import_reply(store: LogStore, central_public: bytes, path: Path | str | bytes, *,
                 blobs: BlobStore | None = None) -> dict[str, Any]:
    """Take central's reply home: verify it whole, then its receipt, then its routed records.

    Returns `{"receipt_seq", "pulled", "answer"}`; raises Refusal (bundle problems) or
    client.SyncError (receipt or records refused) with nothing stored from the failing step."""

    def lookup(node: str, key_id: str) -> bytes:
        if node != "C" or key_id != hashlib.sha256(central_public).hexdigest()[:16]:
            raise Refusal("unknown_key", "a reply must be signed by central's key")
        return central_public

    bundle = read_bundle(path, network=store.network, lookup=lookup, kind="reply")
    if bundle.manifest.get("to") != store.origin:
        raise Refusal("bundle_format", f"this reply is for {bundle.manifest.get('to')}, not {store.origin}")
    answer = json.loads(bundle.files.get("answer.json", b"{}"))
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
        for name, data in bundle.files.items():
            if name.startswith("blobs/"):
                blobs.write_chunk(name[len("blobs/"):], 0, len(data), data)
    return {"receipt_seq": receipt_seq, "pulled": pulled, "answer": answer}


# --- at central -------------------------------------------------------------------------------------

def answer_bundle(store: LogStore, routes: Routes, source: Path | str | bytes, *,
                  blobs: BlobStore | None = None, max_reply_records: int = 100_000) -> tuple[dict[str, Any], bytes]:
    """Import a node's export bundle at central and build the signed reply.

    Returns (the push answer, the reply bundle's bytes). The import is all or nothing up to the
    record checks: a bundle that fails any whole-bundle check raises Refusal before anything is
    stored; its records then meet exactly the checks of `POST /sync/v1/push`."""
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

    bundle = read_bundle(source, network=store.network, lookup=lookup, kind="export")
    node = bundle.sender
    pairs = [(raw, sig) for _, raw, sig in bundle.frames()]
    since = bundle.manifest.get("since", 0)
    status, answer = accept_batch(store, node, pairs, since=since if isinstance(since, int) else 0)
    answer["status"] = status
    if blobs is not None:
        for name, data in bundle.files.items():
            if name.startswith("blobs/"):
                blobs.write_chunk(name[len("blobs/"):], 0, len(data), data)
    after = bundle.manifest.get("pull_after", 0)
    after = after if isinstance(after, int) else 0
    rows: list[tuple[int | None, bytes, bytes]] = []
    cursor, more = after, True
    while more and len(rows) < max_reply_records:
        batch, cursor, more = routes.pull(node, cursor, 1000)
        rows.extend(batch)
    files = {"records.bin": encode_frames(rows),
             "answer.json": json.dumps(answer, sort_keys=True, ensure_ascii=False).encode()}
    manifest = {"format": FORMAT, "kind": "reply", "net": store.network, "from": "C", "to": node,
                "key": store.signer.key_id, "created": now_iso(), "records": len(rows),
                "pull_cursor": cursor, "more": more}
    return answer, _pack(manifest, files, store.signer)
