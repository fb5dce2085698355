"""Bundle helpers for tests and the benchmark: an OLD plain bundle exactly as a node wrote it before
scans were sealed (format `bianmin-bundle/1`), zips rewritten member by member, and a manifest
re-signed by a sender's own key (the only way past the manifest's hashes: a sender whose key is
misused), so that the seal itself is what a test puts to the proof."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sync.blobs import BlobStore
from sync.bundle import BUNDLE_DOMAIN, PLAIN_FORMAT
from sync.canonical import decode, encode
from sync.client import encode_batch
from sync.envelope import now_iso
from sync.keys import NodeKey
from sync.logstore import LogStore


def plain_bundle(store: LogStore, key: NodeKey, path: Path, *, blobs: BlobStore | None = None) -> dict[str, Any]:
    """What `export_bundle` wrote before this change: format 1, every unsent scan in plain."""
    sent = store.cursor("C", "sent")
    head = store.head()[0]
    records = store.records_of(store.origin, sent + 1, head) if head > sent else []
    files = {"records.bin": encode_batch(records)}
    if blobs is not None:
        for name in blobs.unsent():
            files[f"blobs/{name}"] = blobs.read(name)
    known = store.last_checkpoint()
    manifest = {"format": PLAIN_FORMAT, "kind": "export", "net": store.network, "from": store.origin, "to": "C",
                "key": key.key_id, "created": now_iso(), "records": len(records),
                "first_seq": records[0].seq if records else 0, "last_seq": records[-1].seq if records else 0,
                "pull_after": store.cursor("C", "pulled"), "since": known["size"] if known else 0}
    path.write_bytes(pack(manifest, files, key))
    return manifest


def pack(manifest: dict[str, Any], files: dict[str, bytes], key: NodeKey) -> bytes:
    """A bundle of `files` whose manifest lists them and is signed by `key`."""
    manifest = {**manifest, "files": {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                                      for n, d in sorted(files.items())}}
    raw = encode(manifest)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("manifest.json", raw)
        z.writestr("manifest.sig", key.sign(BUNDLE_DOMAIN + raw))
        for name, data in sorted(files.items()):
            z.writestr(name, data)
    return buf.getvalue()


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def resigned(data: bytes, key: NodeKey, change: Callable[[dict[str, bytes], dict[str, Any]], None]) -> bytes:
    """The bundle with its members and manifest changed by `change(files, manifest)` (in place), its
    file list recomputed and the manifest signed again by `key`."""
    files = members(data)
    manifest = decode(files.pop("manifest.json"))
    files.pop("manifest.sig")
    change(files, manifest)
    manifest.pop("files", None)
    return pack(manifest, files, key)


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]
