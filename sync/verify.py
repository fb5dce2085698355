"""The standalone verifier of an auditor bundle: `python -m sync.verify BUNDLE [--json] [--central-key HEX]`.

An auditor runs this on a bundle written by `bianmin central audit-export` (sync/audit.py) on a
machine of their own. It depends on the Python standard library and `cryptography` ONLY and
imports nothing else of this project, on purpose: it is a second implementation, written from
sync/AUDIT.md and sync/PROTOCOL.md, of canonical JSON, the record envelope, Ed25519 signatures,
origin chains, the node directory and RFC 9162 Merkle proofs. Where it disagrees with the code
that wrote the log, one of the two is wrong, and the disagreement is the finding. Copy this one
file anywhere and run it.

What it checks, and reports one finding per failure with where (archive, file, line, record id,
origin, seq) and which check failed:
- the archive chain: every manifest canonical and signed by central, every file's SHA-256 and size,
  each month's `prev` the digest of the previous month's manifest, positions contiguous;
- every record: canonical bytes, envelope fields, network, its Merkle position, its signature by a
  key the directory (folded from central's records in log order) allowed to sign that origin and
  seq at that position; every origin's chain (seq 1, 2, 3... and `prev`); records of a revoked key
  at or after its compromise point are listed as SUSPECT (not failures: central accepted them
  before the revocation reached it);
- every month's checkpoint: central's signature, its root against the root recomputed from the
  records, the consistency proof from the previous month's checkpoint;
- every receipt: central's signature, its checkpoint root against the records, the inclusion proof,
  that its head is the record at its index with the receipt's origin and seq, its consistency proof;
- every record's `ckpt` (a node's signed word on the log it had seen) against the records;
- fork evidence, the quarantine, the suspects and the directory central lists against all of the above.
Exit status: 0 all checks pass; 1 some failed; 2 the bundle could not be read at all.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "bianmin-audit/1"
DOMAIN_RECORD = b"bianmin/record/v1\x00"
DOMAIN_CHECKPOINT = b"bianmin/checkpoint/v1\x00"
DOMAIN_RECEIPT = b"bianmin/receipt/v1\x00"
DOMAIN_ROTATE = b"bianmin/rotate/v1\x00"
DOMAIN_AUDIT = b"bianmin/audit/v1\x00"
MAX_DEPTH = 32
MAX_RECORD = 256 * 1024
MAX_INT = 2**53 - 1
STATE = "state"
MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
NET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{0,62}")
ORIGIN_RE = re.compile(r"C|T[0-9]{4}|V[0-9]{6}|S[0-9]{2}")
KEY_RE = re.compile(r"[0-9a-f]{16}")
HEX64 = re.compile(r"[0-9a-f]{64}")
KIND_RE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})")
TIERS = {"T": "town", "V": "village", "S": "subcentre"}
ENVELOPE = {"v", "net", "origin", "key", "seq", "prev", "time", "kind", "body", "ckpt"}
RECEIPT = {"net", "origin", "seq", "head", "time", "checkpoint", "index", "inclusion", "from_size", "consistency"}
EMPTY_ROOT = hashlib.sha256(b"").digest()


class Bad(ValueError):  # noqa: N818 - a finding, not a crash
    """Something in the bundle is not as the format says: `check` names the rule, the text says how."""

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


# --- canonical JSON (PROTOCOL.md section 2), written again from the text ------------------------

_ESCAPE = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_NAME = re.compile(r"[ -~]*")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _ESCAPE.get(ch) or f"\\u{ord(ch):04x}"


def canonical(value: Any, depth: int = 0) -> str:
    """The canonical text of a value (Bad if the value is outside the profile)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        if not -MAX_INT <= value <= MAX_INT:
            raise Bad("canonical", f"integer {value} is outside (-2^53, 2^53)")
        return str(value)
    if type(value) is str:
        if not unicodedata.is_normalized("NFC", value):
            raise Bad("canonical", f"text not in NFC: {value[:30]!r}")
        return '"' + _NEEDS_ESCAPE.sub(_escape, value) + '"'
    if depth >= MAX_DEPTH:
        raise Bad("canonical", f"nested deeper than {MAX_DEPTH}")
    if type(value) is list:
        return "[" + ",".join(canonical(v, depth + 1) for v in value) + "]"
    if type(value) is dict:
        for k in value:
            if not _NAME.fullmatch(k):
                raise Bad("canonical", f"member name {k!r} is not printable ASCII")
        return "{" + ",".join(canonical(k) + ":" + canonical(value[k], depth + 1) for k in sorted(value)) + "}"
    raise Bad("canonical", f"a {type(value).__name__} is not a canonical JSON value")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise Bad("canonical", f"member {k!r} appears twice")
        out[k] = v
    return out


def _no_float(text: str) -> Any:
    raise Bad("canonical", f"floating-point number {text}")


def strict(raw: bytes, limit: int | None = None) -> Any:
    """Parse bytes that must be exactly the canonical encoding of what they hold."""
    if limit is not None and len(raw) > limit:
        raise Bad("canonical", f"{len(raw)} bytes, more than {limit}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise Bad("canonical", f"invalid UTF-8 at byte {err.start}") from None
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_float=_no_float, parse_constant=_no_float)
    except Bad:
        raise
    except (ValueError, RecursionError) as err:
        raise Bad("canonical", f"not JSON ({err})") from None
    try:
        again = canonical(value).encode("utf-8")
    except UnicodeEncodeError:
        raise Bad("canonical", "text holds a lone surrogate") from None
    if again != raw:
        raise Bad("canonical", "the bytes are not the canonical encoding of what they hold")
    return value


def unb64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise Bad("format", f"{what} is not a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Bad("format", f"{what} is not valid base64") from None


def unhex(text: Any, what: str, size: int = 32) -> bytes:
    if not isinstance(text, str) or len(text) != 2 * size or not re.fullmatch(r"[0-9a-f]*", text):
        raise Bad("format", f"{what} is not {2 * size} lower-case hex digits")
    return bytes.fromhex(text)


# --- Ed25519 and keys ----------------------------------------------------------------------------

def key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def fingerprint(public: bytes) -> str:
    d = hashlib.sha256(public).hexdigest()[:40]
    return " ".join(d[i:i + 4] for i in range(0, 40, 4))


_VERIFIERS: dict[bytes, Ed25519PublicKey] = {}


def signed(public: bytes, domain: bytes, raw: bytes, sig: bytes) -> bool:
    found = _VERIFIERS.get(public)
    if found is None:
        try:
            found = _VERIFIERS[public] = Ed25519PublicKey.from_public_bytes(public)
        except ValueError:
            return False
    try:
        found.verify(sig, domain + raw)
    except InvalidSignature:
        return False
    return True


def _failing_signatures(items: list[tuple[Rec, bytes]]) -> list[int]:
    """Positions of the records whose signature fails, checked on every core (Ed25519
    verification in `cryptography` releases the GIL, so threads run in parallel)."""
    def chunk(part: list[tuple[Rec, bytes]]) -> list[int]:
        return [r.pos for r, public in part if not signed(public, DOMAIN_RECORD, r.raw, r.sig)]

    workers = min(8, os.cpu_count() or 1)
    if workers < 2 or len(items) < 256:
        return chunk(items)
    size = -(-len(items) // (workers * 4))
    with ThreadPoolExecutor(workers) as pool:
        return [pos for found in pool.map(chunk, [items[i:i + size] for i in range(0, len(items), size)])
                for pos in found]


# --- Merkle (RFC 9162 section 2.1) -------------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def roots_at(leaves: list[bytes], sizes: set[int]) -> dict[int, bytes]:
    """MTH of the first n leaf hashes for every n in `sizes` (n <= len(leaves)), in one pass."""
    out = {0: EMPTY_ROOT} if 0 in sizes else {}
    stack: list[tuple[int, bytes]] = []      # complete subtrees, largest first: the binary digits of n
    for n, leaf in enumerate(leaves, start=1):
        level, h = 0, leaf
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
        stack.append((level, h))
        if n in sizes:
            acc = stack[-1][1]
            for _, left in reversed(stack[:-1]):
                acc = node_hash(left, acc)
            out[n] = acc
    return out


def check_inclusion(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def check_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2 (from the empty tree, or to the same size, the proof is empty)."""
    if not 0 <= first <= second:
        return False
    if first == second:
        return not path and first_root == second_root
    if first == 0:
        return not path
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_root and sr == second_root


# --- the record envelope (PROTOCOL.md section 4) -------------------------------------------------

def envelope(raw: bytes, sig: bytes) -> dict[str, Any]:
    """The fields of a record whose bytes obey the envelope rules; Bad otherwise."""
    try:
        obj = strict(raw, MAX_RECORD)
    except Bad as bad:
        raise Bad("record.canonical", str(bad)) from None
    if not isinstance(obj, dict) or obj.keys() != ENVELOPE:
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise Bad("record.fields", f"a record has exactly the members {sorted(ENVELOPE)}, not {got}")
    problems = []
    if type(obj["v"]) is not int or obj["v"] != 1:
        problems.append(f"v is {obj['v']!r}, not 1")
    for name, pattern in (("net", NET_RE), ("origin", ORIGIN_RE), ("key", KEY_RE), ("kind", KIND_RE)):
        if not isinstance(obj[name], str) or not pattern.fullmatch(obj[name]):
            problems.append(f"{name} {obj[name]!r} is malformed")
    seq, prev = obj["seq"], obj["prev"]
    if type(seq) is not int or seq < 1:
        problems.append(f"seq {seq!r} is not an integer >= 1")
    elif (seq == 1) != (prev is None) or (prev is not None and not (isinstance(prev, str) and HEX64.fullmatch(prev))):
        problems.append("prev must be null for seq 1 and a record id (64 hex) after")
    time = obj["time"]
    if not isinstance(time, str) or not TIME_RE.fullmatch(time):
        problems.append(f"time {time!r} is not ISO 8601 with an offset")
    else:
        try:
            datetime.fromisoformat(time.replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"time {time!r} is not a real time")
    if not isinstance(obj["body"], dict):
        problems.append("body is not an object")
    ckpt = obj["ckpt"]
    if ckpt is not None and not (isinstance(ckpt, dict) and ckpt.keys() == {"root", "size"}
                                 and type(ckpt["size"]) is int and ckpt["size"] >= 0
                                 and isinstance(ckpt["root"], str) and HEX64.fullmatch(ckpt["root"])):
        problems.append("ckpt is neither null nor {root, size}")
    if len(sig) != 64:
        problems.append(f"the signature is {len(sig)} bytes, not 64")
    if problems:
        raise Bad("record.fields", "; ".join(problems))
    obj["id"] = hashlib.sha256(raw).hexdigest()
    return obj


# --- findings ------------------------------------------------------------------------------------

@dataclass
class Finding:
    check: str
    message: str
    archive: str = ""
    file: str = ""
    line: int | None = None
    record: str = ""
    origin: str = ""
    seq: int | None = None
    pos: int | None = None

    def where(self) -> str:
        parts = []
        place = "/".join(p for p in (self.archive, self.file) if p)
        if place:
            parts.append(place + (f":{self.line}" if self.line is not None else ""))
        if self.origin:
            parts.append(f"{self.origin} seq {self.seq}")
        if self.pos is not None:
            parts.append(f"position {self.pos}")
        if self.record:
            parts.append(f"record {self.record[:16]}")
        return "  ".join(parts)


@dataclass
class Rec:
    pos: int
    archive: str
    line: int
    id: str
    origin: str
    seq: int
    key: str
    kind: str
    prev: str | None
    body: dict[str, Any]
    ckpt: dict[str, Any] | None
    raw: bytes
    sig: bytes


@dataclass
class Key:
    key: str
    public: bytes
    node: str
    from_seq: int
    to_seq: int | None = None
    revoked: bool = False
    compromised_at: int | None = None
    reason: str = ""
    revoked_pos: int | None = None


@dataclass
class Node:
    node: str
    tier: str
    name: str
    keys: list[str] = field(default_factory=list)


class Verifier:
    """One run over one bundle folder: `run()` fills `failures`, `suspects` and `summary`."""

    def __init__(self, root: Path, *, central_key: str | None = None) -> None:
        self.root = root
        self.central_key = central_key
        self.failures: list[Finding] = []
        self.suspects: list[Finding] = []
        self.summary: dict[str, Any] = {}
        self.records: list[Rec] = []        # by position, as far as the bundle holds them
        self.leaves: list[bytes] = []
        self.net: str | None = None
        self.anchor: bytes | None = None
        self.keys: dict[str, Key] = {}
        self.nodes: dict[str, Node] = {}
        self.archives: list[str] = []
        self._shift: int | None = 0      # how far the positions written are off the records' order

    def fail(self, check: str, message: str, **where: Any) -> None:
        self.failures.append(Finding(check, message, **where))

    # -- files --

    def _read(self, archive: str, name: str, listed: dict[str, Any] | None) -> bytes | None:
        path = self.root / archive / name
        try:
            data = path.read_bytes()
        except OSError:
            self.fail("file.missing", "the file is missing", archive=archive, file=name)
            return None
        if listed is not None:
            entry = listed.get(name)
            if not isinstance(entry, dict):
                self.fail("file.unlisted", "the manifest does not list this file", archive=archive, file=name)
            else:
                if len(data) != entry.get("size"):
                    self.fail("file.size", f"{len(data)} bytes, the manifest says {entry.get('size')} "
                              "(cut short or grown?)", archive=archive, file=name)
                if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
                    self.fail("file.digest", "SHA-256 differs from the manifest's: the file was changed",
                              archive=archive, file=name)
        return data

    def _lines(self, archive: str, name: str, data: bytes | None) -> list[tuple[int, dict[str, Any]]]:
        if data is None:
            return []
        out = []
        chunks = data.split(b"\n")
        if chunks[-1] != b"":
            self.fail("file.truncated", f"line {len(chunks)} has no end of line: the file is cut short",
                      archive=archive, file=name, line=len(chunks))
        for n, chunk in enumerate(chunks[:-1] if chunks[-1] == b"" else chunks, start=1):
            try:
                value = strict(chunk)
            except Bad as bad:
                self.fail("line.canonical", f"not a canonical JSON line: {bad}", archive=archive, file=name, line=n)
                continue
            if not isinstance(value, dict):
                self.fail("line.canonical", "a line is a JSON object", archive=archive, file=name, line=n)
                continue
            out.append((n, value))
        return out

    # -- the run --

    def run(self) -> None:
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root}: not a bundle folder")
        names = sorted(p.name for p in self.root.iterdir() if not p.name.startswith("."))
        months = [n for n in names if MONTH_RE.fullmatch(n) and (self.root / n).is_dir()]
        for other in sorted(set(names) - set(months) - {STATE}):
            self.fail("bundle.unknown", "not part of an auditor bundle (a month YYYY-MM or state)", archive=other)
        archives = [*months, STATE]
        if STATE not in names:
            self.fail("bundle.state", "the state archive is missing (the bundle is cut short)", archive=STATE)
            archives = months
        self.archives = archives
        manifests: dict[str, dict[str, Any]] = {}
        prev_digest: str | None = None
        prev_name = ""
        for index, archive in enumerate(archives, start=1):
            manifest, digest = self._manifest(archive)
            if manifest is None:
                prev_digest, prev_name = digest, archive
                continue
            manifests[archive] = manifest
            self._chain(archive, manifest, index, prev_digest, prev_name)
            prev_digest, prev_name = digest, archive
        self._records(months, manifests)
        self._fold_directory()
        sizes = {0, len(self.leaves)}
        checkpoints = self._checkpoints(months, manifests, sizes)
        receipts = self._receipts(months, manifests, sizes)
        for r in self.records:
            if r.ckpt is not None:
                sizes.add(r.ckpt["size"])
        for m in manifests.values():
            if isinstance(m.get("checkpoint"), dict) and type(m["checkpoint"].get("size")) is int:
                sizes.add(m["checkpoint"]["size"])
        roots = roots_at(self.leaves, {s for s in sizes if s <= len(self.leaves)})
        n_ckpt = self._check_checkpoints(checkpoints, roots)
        self._check_receipts(receipts, roots)
        self._check_vouching(roots)
        self._check_manifest_signatures(manifests, roots)
        forks = self._forks(months, manifests)
        quarantined = self._state(manifests.get(STATE))
        per_origin: dict[str, list[int]] = {}
        for r in self.records:
            per_origin.setdefault(r.origin, []).append(r.seq)
        self.summary = {
            "network": self.net, "central_key": self.anchor.hex() if self.anchor else None,
            "central_fingerprint": fingerprint(self.anchor) if self.anchor else None,
            "months": months, "records": len(self.records), "tree_size": len(self.leaves),
            "root": roots.get(len(self.leaves), EMPTY_ROOT).hex(),
            "origins": {o: {"records": len(s), "first_seq": min(s), "last_seq": max(s)}
                        for o, s in sorted(per_origin.items())},
            "checkpoints": n_ckpt, "receipts": len(receipts), "forks": forks, "quarantined": quarantined,
            "suspect": len(self.suspects), "keys": len(self.keys), "revoked_keys": sum(k.revoked for k in self.keys.values()),
        }

    # -- manifests and the archive chain --

    def _manifest(self, archive: str) -> tuple[dict[str, Any] | None, str | None]:
        raw = self._read(archive, "manifest.json", None)
        sig = self._read(archive, "manifest.sig", None)
        if raw is None:
            return None, None
        digest = hashlib.sha256(raw).hexdigest()
        try:
            manifest = strict(raw)
        except Bad as bad:
            self.fail("manifest.canonical", str(bad), archive=archive, file="manifest.json")
            return None, digest
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            self.fail("manifest.format", f"not a {FORMAT} manifest", archive=archive, file="manifest.json")
            return None, digest
        manifest["_raw"], manifest["_sig"] = raw, sig
        files = manifest.get("files")
        if not isinstance(files, dict):
            self.fail("manifest.format", "no files listed", archive=archive, file="manifest.json")
            files = {}
        present = {p.name for p in (self.root / archive).iterdir()} - {"manifest.json", "manifest.sig"}
        for extra in sorted(present - set(files)):
            self.fail("file.unlisted", "a file the manifest does not list", archive=archive, file=extra)
        manifest["_data"] = {name: self._read(archive, name, files) for name in sorted(files)}
        return manifest, digest

    def _chain(self, archive: str, m: dict[str, Any], index: int, prev_digest: str | None, prev_name: str) -> None:
        where = {"archive": archive, "file": "manifest.json"}
        kind = "state" if archive == STATE else "month"
        if m.get("kind") != kind or (kind == "month" and m.get("month") != archive):
            self.fail("manifest.format", f"the manifest is for {m.get('kind')} {m.get('month')}, "
                      f"found in {archive}", **where)
        if self.net is None:
            self.net = m.get("net")
            if not isinstance(self.net, str) or not NET_RE.fullmatch(self.net):
                self.fail("manifest.format", f"network {self.net!r} is malformed", **where)
        elif m.get("net") != self.net:
            self.fail("manifest.network", f"network {m.get('net')!r}, the bundle's is {self.net!r}", **where)
        try:
            anchor = unhex(m.get("anchor"), "anchor")
        except Bad as bad:
            self.fail("manifest.format", str(bad), **where)
        else:
            if self.anchor is None:
                self.anchor = anchor
                if self.central_key is not None and self.central_key.replace(" ", "").lower() not in (
                        anchor.hex(), hashlib.sha256(anchor).hexdigest()[:40]):
                    self.fail("anchor", "the bundle's central key is not the one you gave: "
                              f"{fingerprint(anchor)}", **where)
            elif anchor != self.anchor:
                self.fail("anchor", "this archive names another central key than the first", **where)
        if m.get("index") != index:
            self.fail("chain.index", f"archive number {m.get('index')}, but it is number {index} in the bundle "
                      "(an archive before it is missing, or one was added)", **where)
        if m.get("prev") != prev_digest:
            said = m.get("prev")
            if prev_digest is None:
                text = f"it names a previous archive ({str(said)[:16]}...) but is the first in the bundle"
            else:
                text = (f"prev is {str(said)[:16]}..., but {prev_name}/manifest.json has digest "
                        f"{prev_digest[:16]}...: the chain of months is broken")
            self.fail("chain.prev", text, **where)

    def _check_manifest_signatures(self, manifests: dict[str, dict[str, Any]], roots: dict[int, bytes]) -> None:
        for archive, m in manifests.items():
            where = {"archive": archive, "file": "manifest.sig"}
            if not self._central_signed(m.get("key"), DOMAIN_AUDIT, m["_raw"], m["_sig"] or b""):
                self.fail("manifest.signature", "central's signature of manifest.json does not verify", **where)
            cp = m.get("checkpoint")
            if isinstance(cp, dict) and cp.get("size") in roots and cp.get("root") != roots[cp["size"]].hex():
                self.fail("manifest.checkpoint", f"the manifest's root for size {cp['size']} is not the "
                              "root of the records", archive=archive, file="manifest.json")

    def _central_keys(self, named: Any = None) -> list[bytes]:
        keys = [k.public for k in self.keys.values() if k.node == "C" and (named is None or k.key == named)]
        if not keys and self.anchor is not None and (named is None or named == key_id(self.anchor)):
            keys = [self.anchor]
        return keys

    def _central_signed(self, named: Any, domain: bytes, raw: bytes, sig: bytes) -> bool:
        return any(signed(public, domain, raw, sig) for public in self._central_keys(named))

    # -- records --

    def _records(self, months: list[str], manifests: dict[str, dict[str, Any]]) -> None:
        end = 0
        for archive in months:
            m = manifests.get(archive)
            if m is None:
                continue
            positions = m.get("positions") if isinstance(m.get("positions"), dict) else {}
            first = positions.get("first")
            if first != end:
                self.fail("chain.positions", f"this month starts at position {first}, the months before end at "
                          f"{end}: records are missing or doubled", archive=archive, file="manifest.json")
            count = 0
            for n, line in self._lines(archive, "records.jsonl", m["_data"].get("records.jsonl")):
                count += 1
                self._record(archive, n, line)
            counts = m.get("counts") if isinstance(m.get("counts"), dict) else {}
            if counts.get("records") != count:
                self.fail("manifest.counts", f"{count} records, the manifest says {counts.get('records')}",
                          archive=archive, file="records.jsonl")
            if positions.get("end") != len(self.records):
                self.fail("chain.positions", f"this month ends at position {len(self.records)}, the manifest "
                          f"says {positions.get('end')}", archive=archive, file="records.jsonl")
            end = positions.get("end") if isinstance(positions.get("end"), int) else len(self.records)

    def _record(self, archive: str, n: int, line: dict[str, Any]) -> None:
        where: dict[str, Any] = {"archive": archive, "file": "records.jsonl", "line": n}
        if line.keys() != {"pos", "raw", "received_at", "sig"}:
            self.fail("line.format", "a record line is {pos, raw, received_at, sig}", **where)
            return
        try:
            raw, sig = unb64(line["raw"], "raw"), unb64(line["sig"], "sig")
            obj = envelope(raw, sig)
        except Bad as bad:
            self.fail(bad.check, str(bad), **where)
            return
        where.update(record=obj["id"], origin=obj["origin"], seq=obj["seq"], pos=line["pos"])
        expected = len(self.records)
        shift = line["pos"] - expected if type(line["pos"]) is int else None
        if shift != self._shift:        # reported where the numbering jumps, not for every record after it
            if shift != 0:
                self.fail("record.position", f"at position {line['pos']}, the next position is {expected} "
                          "(records dropped, added or reordered)", **where)
            self._shift = shift
        at = line["received_at"]
        if not isinstance(at, str) or at[:7] > archive:
            self.fail("record.month", f"received {at!r}, after this archive's month", **where)
        if obj["net"] != self.net:
            self.fail("record.network", f"a record of network {obj['net']!r}", **where)
        self.records.append(Rec(expected, archive, n, obj["id"], obj["origin"], obj["seq"], obj["key"], obj["kind"],
                                obj["prev"], obj["body"], obj["ckpt"], raw, sig))
        self.leaves.append(leaf_hash(bytes.fromhex(obj["id"])))

    # -- the directory, folded in log order, and every record's key, signature and chain --

    def _fold_directory(self) -> None:
        if self.anchor is not None:
            kid = key_id(self.anchor)
            self.keys[kid] = Key(kid, self.anchor, "C", 1)
            self.nodes["C"] = Node("C", "central", "central", [kid])
        heads: dict[str, tuple[int, str]] = {}
        pending: list[tuple[Rec, bytes]] = []      # signatures to check, with the key valid at the time
        for r in self.records:
            where = {"archive": r.archive, "file": "records.jsonl", "line": r.line, "record": r.id,
                     "origin": r.origin, "seq": r.seq, "pos": r.pos}
            seq, head = heads.get(r.origin, (0, None))
            if r.seq <= seq:
                self.fail("record.seq", f"{r.origin} seq {r.seq} again after seq {seq} (a fork or a reorder in "
                          "central's log)", **where)
            elif r.seq > seq + 1:
                self.fail("record.seq", f"{r.origin} seq {r.seq} follows seq {seq}: seq {seq + 1}.."
                          f"{r.seq - 1} missing (gap)", **where)
            elif r.prev != head:
                self.fail("record.prev", f"prev is not the id of {r.origin} seq {seq}: the chain is broken",
                          **where)
            heads[r.origin] = (max(seq, r.seq), r.id if r.seq > seq else head)
            key = self.keys.get(r.key)
            if key is None:
                self.fail("record.key", f"key {r.key} was not enrolled before position {r.pos}", **where)
            elif key.node != r.origin:
                self.fail("record.key", f"key {r.key} belongs to {key.node}, not {r.origin}", **where)
            elif r.seq < key.from_seq or (key.to_seq is not None and r.seq > key.to_seq):
                self.fail("record.key", f"key {r.key} may sign {r.origin} seqs {key.from_seq}.."
                          f"{key.to_seq or ''} only", **where)
            elif key.revoked_pos is not None:
                self.fail("record.key", f"key {r.key} was revoked at position {key.revoked_pos}, before this "
                          "record reached central", **where)
            if key is not None:
                pending.append((r, key.public))
            if r.kind in ("node.enrolled", "node.key_rotated", "node.revoked"):
                try:
                    if r.origin != "C":
                        raise Bad("directory.record", "only central signs directory records")
                    self._apply(r)
                except Bad as bad:
                    self.fail("directory.record", f"{r.kind} cannot apply: {bad}", **where)
                except (KeyError, TypeError, ValueError, AttributeError) as err:
                    self.fail("directory.record", f"{r.kind} is malformed ({err})", **where)
        bad = set(_failing_signatures(pending))
        for r, _ in pending:
            if r.pos in bad:
                self.fail("record.signature", f"the signature does not verify with key {r.key}", archive=r.archive,
                          file="records.jsonl", line=r.line, record=r.id, origin=r.origin, seq=r.seq, pos=r.pos)
        for r in self.records:
            key = self.keys.get(r.key)
            if key is not None and key.revoked and key.compromised_at is not None and r.pos >= key.compromised_at:
                self.suspects.append(Finding("suspect", f"signed by key {r.key}, revoked; received at or after its "
                                             f"compromise point {key.compromised_at}", archive=r.archive,
                                             file="records.jsonl", line=r.line, record=r.id, origin=r.origin,
                                             seq=r.seq, pos=r.pos))

    def _new_key(self, node: str, public_hex: Any, from_seq: Any, named: Any) -> Key:
        public = unhex(public_hex, "public_key")
        if type(from_seq) is not int or from_seq < 1:
            raise Bad("directory.record", "from_seq must be an integer >= 1")
        kid = key_id(public)
        if kid in self.keys:
            raise Bad("directory.record", f"key {kid} is already enrolled")
        if named != kid:
            raise Bad("directory.record", f"key id {named!r} is not the id of its public key ({kid})")
        key = self.keys[kid] = Key(kid, public, node, from_seq)
        return key

    def _apply(self, r: Rec) -> None:
        b = r.body
        if r.kind == "node.enrolled":
            node = b["node"]
            tier = TIERS.get(node[:1]) if isinstance(node, str) else None
            if tier is None or b["tier"] != tier:
                raise Bad("directory.record", f"{node!r} is not a {b['tier']!r}")
            existing = self.nodes.get(node)
            if existing is not None and not self.keys[existing.keys[-1]].revoked:
                raise Bad("directory.record", f"{node} already has a live key")
            key = self._new_key(node, b["public_key"], b.get("from_seq", 1), b["key"])
            if existing is None:
                self.nodes[node] = Node(node, tier, str(b["name"]), [key.key])
            else:
                existing.keys.append(key.key)
                existing.name = str(b["name"])
        elif r.kind == "node.key_rotated":
            node, old_id, from_seq = b["node"], b["old_key"], b["from_seq"]
            found = self.nodes.get(node)
            if found is None or found.keys[-1] != old_id or self.keys[old_id].revoked:
                raise Bad("directory.record", f"{old_id} is not {node}'s live key")
            old = self.keys[old_id]
            if type(from_seq) is not int or from_seq <= old.from_seq:
                raise Bad("directory.record", "from_seq must come after the old key's first seq")
            new_public = unhex(b["public_key"], "public_key")
            statement = canonical({"from_seq": from_seq, "net": self.net, "new_key": key_id(new_public),
                                   "node": node, "old_key": old_id, "public_key": new_public.hex()}).encode()
            if not signed(old.public, DOMAIN_ROTATE, statement, unhex(b["proof"]["old"], "proof", 64)):
                raise Bad("directory.record", "the old key's rotation proof does not verify")
            if not signed(new_public, DOMAIN_ROTATE, statement, unhex(b["proof"]["new"], "proof", 64)):
                raise Bad("directory.record", "the new key's rotation proof does not verify")
            key = self._new_key(node, b["public_key"], from_seq, b["new_key"])
            old.to_seq = from_seq - 1
            found.keys.append(key.key)
        else:
            kid, point = b["key"], b["compromised_at"]
            key = self.keys.get(kid)
            if key is None or key.node != b["node"]:
                raise Bad("directory.record", f"{kid} is not a key of {b['node']}")
            if type(point) is not int or point < 0:
                raise Bad("directory.record", "compromised_at must be an integer >= 0")
            if key.revoked and key.compromised_at is not None:
                point = min(point, key.compromised_at)
            else:
                key.revoked_pos = r.pos
            key.revoked, key.compromised_at, key.reason = True, point, str(b.get("reason", ""))

    # -- checkpoints and receipts --

    def _checkpoints(self, months: list[str], manifests: dict[str, dict[str, Any]],
                     sizes: set[int]) -> list[tuple[str, dict[str, Any], dict[str, Any], bytes, bytes]]:
        out = []
        for archive in months:
            m = manifests.get(archive)
            data = m["_data"].get("checkpoint.json") if m else None
            if data is None:
                continue
            where = {"archive": archive, "file": "checkpoint.json"}
            try:
                doc = strict(data)
                raw, sig = unb64(doc["checkpoint"]["raw"], "raw"), unb64(doc["checkpoint"]["sig"], "sig")
                cp = strict(raw)
                if not (isinstance(cp, dict) and cp.keys() == {"net", "root", "size", "time"}
                        and type(cp["size"]) is int and HEX64.fullmatch(str(cp["root"]))):
                    raise Bad("checkpoint.format", "a checkpoint is {net, root, size, time}")
                prev = doc["previous"]
                if type(prev["size"]) is not int or not HEX64.fullmatch(str(prev["root"])):
                    raise Bad("checkpoint.format", "previous is {root, size}")
                [unhex(h, "consistency proof hash") for h in doc["consistency"]]
            except Bad as bad:
                self.fail(bad.check if bad.check != "canonical" else "checkpoint.format", str(bad), **where)
                continue
            except (KeyError, TypeError):
                self.fail("checkpoint.format", "checkpoint.json is {checkpoint, consistency, previous}", **where)
                continue
            sizes.update((cp["size"], prev["size"]))
            out.append((archive, doc, cp, raw, sig))
        return out

    def _check_checkpoints(self, items: list[tuple[str, dict[str, Any], dict[str, Any], bytes, bytes]],
                           roots: dict[int, bytes]) -> int:
        last = {"root": EMPTY_ROOT.hex(), "size": 0}
        per_month: dict[str, int] = {}
        for r in self.records:
            per_month[r.archive] = per_month.get(r.archive, 0) + 1
        ends: dict[str, int] = {}          # records in the bundle up to each month's end
        running = 0
        for archive in sorted({a for a, *_ in items} | set(per_month)):
            running += per_month.get(archive, 0)
            ends[archive] = running
        for archive, doc, cp, raw, sig in items:
            where = {"archive": archive, "file": "checkpoint.json"}
            if not self._central_signed(None, DOMAIN_CHECKPOINT, raw, sig):
                self.fail("checkpoint.signature", "central's signature of the checkpoint does not verify", **where)
            if cp["net"] != self.net:
                self.fail("checkpoint.network", f"a checkpoint of network {cp['net']!r}", **where)
            size = cp["size"]
            if size not in roots:
                self.fail("checkpoint.size", f"a checkpoint of {size} records, the bundle holds {len(self.leaves)}",
                          **where)
            elif roots[size].hex() != cp["root"]:
                self.fail("checkpoint.root", f"the root for size {size} is not the root of the bundle's first {size} "
                          f"records ({roots[size].hex()[:16]}...): records or the checkpoint were altered", **where)
            month_end = ends.get(archive, 0)
            if size != month_end:
                self.fail("checkpoint.size", f"checkpoint size {size}, but the records up to this month number "
                          f"{month_end}", **where)
            prev = doc["previous"]
            if prev != last:
                self.fail("checkpoint.previous", f"previous is size {prev['size']}, the previous month's checkpoint "
                          f"is size {last['size']}", **where)
            proof = [bytes.fromhex(h) for h in doc["consistency"]]
            if not check_consistency(prev["size"], size, bytes.fromhex(prev["root"]), bytes.fromhex(cp["root"]), proof):
                self.fail("checkpoint.consistency", f"the consistency proof from size {prev['size']} to {size} does "
                          "not verify: central's log was rewritten between the two", **where)
            last = {"root": cp["root"], "size": size}
        return len(items)

    def _receipts(self, months: list[str], manifests: dict[str, dict[str, Any]],
                  sizes: set[int]) -> list[tuple[dict[str, Any], dict[str, Any], bytes, bytes]]:
        out = []
        for archive in months:
            m = manifests.get(archive)
            if m is None:
                continue
            lines = self._lines(archive, "receipts.jsonl", m["_data"].get("receipts.jsonl"))
            counts = m.get("counts") if isinstance(m.get("counts"), dict) else {}
            if counts.get("receipts") != len(lines):
                self.fail("manifest.counts", f"{len(lines)} receipts, the manifest says {counts.get('receipts')}",
                          archive=archive, file="receipts.jsonl")
            for n, line in lines:
                where = {"archive": archive, "file": "receipts.jsonl", "line": n}
                try:
                    raw, sig = unb64(line.get("raw"), "raw"), unb64(line.get("sig"), "sig")
                    body = strict(raw)
                    if not isinstance(body, dict) or body.keys() != RECEIPT:
                        raise Bad("receipt.format", f"a receipt has exactly the members {sorted(RECEIPT)}")
                    cp = body["checkpoint"]
                    for name in ("seq", "index", "from_size"):
                        if type(body[name]) is not int:
                            raise Bad("receipt.format", f"{name} is not an integer")
                    if type(cp["size"]) is not int:
                        raise Bad("receipt.format", "checkpoint size is not an integer")
                    unhex(cp["root"], "root")
                    unhex(body["head"], "head")
                    [unhex(h, "proof hash") for h in body["inclusion"] + body["consistency"]]
                except Bad as bad:
                    self.fail(bad.check if bad.check.startswith("receipt") else "receipt.format", str(bad), **where)
                    continue
                except (KeyError, TypeError):
                    self.fail("receipt.format", "a receipt's checkpoint is {root, size, time}", **where)
                    continue
                if str(body["time"])[:7] != archive:
                    self.fail("receipt.month", f"a receipt of {body['time']!r} in the archive of {archive}", **where)
                sizes.update((cp["size"], body["from_size"]))
                out.append((where, body, raw, sig))
        return out

    def _check_receipts(self, items: list[tuple[dict[str, Any], dict[str, Any], bytes, bytes]],
                        roots: dict[int, bytes]) -> None:
        for where, body, raw, sig in items:
            w = {**where, "origin": body["origin"], "seq": body["seq"], "record": body["head"]}
            if not self._central_signed(None, DOMAIN_RECEIPT, raw, sig):
                self.fail("receipt.signature", "central's signature of the receipt does not verify", **w)
            if body["net"] != self.net:
                self.fail("receipt.network", f"a receipt of network {body['net']!r}", **w)
            size, root = body["checkpoint"]["size"], body["checkpoint"]["root"]
            if size not in roots:
                self.fail("receipt.root", f"the receipt's tree has {size} records, the bundle {len(self.leaves)}", **w)
                continue
            if roots[size].hex() != root:
                self.fail("receipt.root", f"the receipt's root for size {size} is not the root of the bundle's "
                          "records: central's log differs from what it told this node", **w)
            index = body["index"]
            path = [bytes.fromhex(h) for h in body["inclusion"]]
            if not check_inclusion(index, size, leaf_hash(bytes.fromhex(body["head"])), path, bytes.fromhex(root)):
                self.fail("receipt.inclusion", f"the inclusion proof of the head at position {index} does not verify",
                          **w)
            held = self.records[index] if 0 <= index < len(self.records) else None
            if held is None or held.id != body["head"] or held.origin != body["origin"] or held.seq != body["seq"]:
                found = f"{held.origin} seq {held.seq} ({held.id[:16]}...)" if held else "nothing"
                self.fail("receipt.head", f"the receipt says position {index} holds {body['origin']} seq {body['seq']}; "
                          f"the bundle has {found} there", **w)
            from_size = body["from_size"]
            if from_size > size or from_size not in roots:
                self.fail("receipt.consistency", f"a consistency proof from size {from_size}", **w)
            elif not check_consistency(from_size, size, roots[from_size], bytes.fromhex(root),
                                       [bytes.fromhex(h) for h in body["consistency"]]):
                self.fail("receipt.consistency", f"the consistency proof from size {from_size} to {size} does not "
                          "verify", **w)

    def _check_vouching(self, roots: dict[int, bytes]) -> None:
        """Each record's `ckpt` is its origin's signed word on central's log as it had verified it."""
        for r in self.records:
            if r.ckpt is None:
                continue
            size = r.ckpt["size"]
            if size > r.pos or roots.get(size, b"").hex() != r.ckpt["root"]:
                self.fail("record.ckpt", f"{r.origin} signed that central's log of size {size} had root "
                          f"{r.ckpt['root'][:16]}...; the bundle's records before position {r.pos} do not give that",
                          archive=r.archive, file="records.jsonl", line=r.line, record=r.id, origin=r.origin,
                          seq=r.seq, pos=r.pos)

    # -- evidence and state --

    def _forks(self, months: list[str], manifests: dict[str, dict[str, Any]]) -> int:
        by_seq = {(r.origin, r.seq): r.id for r in self.records}
        total = 0
        for archive in months:
            m = manifests.get(archive)
            if m is None:
                continue
            lines = self._lines(archive, "forks.jsonl", m["_data"].get("forks.jsonl"))
            counts = m.get("counts") if isinstance(m.get("counts"), dict) else {}
            if counts.get("forks") != len(lines):
                self.fail("manifest.counts", f"{len(lines)} forks, the manifest says {counts.get('forks')}",
                          archive=archive, file="forks.jsonl")
            for n, line in lines:
                total += 1
                where: dict[str, Any] = {"archive": archive, "file": "forks.jsonl", "line": n}
                try:
                    obj = envelope(unb64(line.get("raw"), "raw"), unb64(line.get("sig"), "sig"))
                except Bad as bad:
                    self.fail("fork." + bad.check.split(".")[-1], str(bad), **where)
                    continue
                where.update(record=obj["id"], origin=obj["origin"], seq=obj["seq"])
                if line.get("origin") != obj["origin"] or line.get("seq") != obj["seq"]:
                    self.fail("fork.fields", "origin or seq differ from the record's", **where)
                if str(line.get("detected_at"))[:7] != archive:
                    self.fail("fork.month", f"detected {line.get('detected_at')!r}, in the archive of {archive}", **where)
                held = by_seq.get((obj["origin"], obj["seq"]))
                if held is None or held != line.get("held_id") or held == obj["id"]:
                    self.fail("fork.held", f"the log holds {held and held[:16]} at {obj['origin']} seq {obj['seq']}, "
                              f"the evidence names {str(line.get('held_id'))[:16]} and is {obj['id'][:16]}", **where)
                key = self.keys.get(obj["key"])
                if key is None or key.node != obj["origin"]:
                    self.fail("fork.key", f"key {obj['key']} is not a key of {obj['origin']}", **where)
                elif not signed(key.public, DOMAIN_RECORD, unb64(line["raw"], "raw"), unb64(line["sig"], "sig")):
                    self.fail("fork.signature", "the signature of the evidence does not verify", **where)
        return total

    def _state(self, m: dict[str, Any] | None) -> int:
        if m is None:
            return 0
        where: dict[str, Any] = {"archive": STATE}
        if m.get("months") != len([a for a in self.archives if a != STATE]):
            self.fail("chain.index", f"the state follows {m.get('months')} months, the bundle holds "
                      f"{len(self.archives) - 1}", file="manifest.json", **where)
        cp = m.get("checkpoint") if isinstance(m.get("checkpoint"), dict) else {}
        if cp.get("size") != len(self.leaves):
            self.fail("chain.positions", f"the state is of a log of {cp.get('size')} records, the months hold "
                      f"{len(self.leaves)} (a month or records missing)", file="manifest.json", **where)
        data = m["_data"].get("directory.json")
        if data is not None:
            try:
                self._compare_directory(strict(data))
            except Bad as bad:
                self.fail("directory.format", str(bad), file="directory.json", **where)
            except (KeyError, TypeError, AttributeError) as err:
                self.fail("directory.format", f"malformed ({err})", file="directory.json", **where)
        quarantined = 0
        for n, line in self._lines(STATE, "quarantine.jsonl", m["_data"].get("quarantine.jsonl")):
            quarantined += 1
            pos = line.get("pos")
            held = self.records[pos] if isinstance(pos, int) and 0 <= pos < len(self.records) else None
            if held is None or held.id != line.get("id"):
                self.fail("quarantine.record", f"quarantined record {str(line.get('id'))[:16]} is not at position "
                          f"{pos} of the log", file="quarantine.jsonl", line=n, **where)
        mine = {f.record for f in self.suspects}
        theirs: set[str] = set()
        for n, line in self._lines(STATE, "suspects.jsonl", m["_data"].get("suspects.jsonl")):
            theirs.add(str(line.get("id")))
            if line.get("id") not in mine:
                self.fail("suspects.mismatch", f"central flags {str(line.get('id'))[:16]} as suspect; its key and "
                          "position do not make it so", file="suspects.jsonl", line=n, **where)
        for f in self.suspects:
            if f.record not in theirs:
                self.fail("suspects.mismatch", "suspect (revoked key, at or after the compromise point) but not "
                          "flagged by central", file="suspects.jsonl", record=f.record, origin=f.origin, seq=f.seq,
                          pos=f.pos, **where)
        return quarantined

    def _compare_directory(self, listed: dict[str, Any]) -> None:
        where: dict[str, Any] = {"archive": STATE, "file": "directory.json"}
        mine = {k.key: {"key": k.key, "node": k.node, "public_key": k.public.hex(), "fingerprint": fingerprint(k.public),
                        "from_seq": k.from_seq, "to_seq": k.to_seq, "revoked": k.revoked,
                        "compromised_at": k.compromised_at, "reason": k.reason} for k in self.keys.values()}
        theirs = {e["key"]: e for e in listed["keys"]}
        for kid in sorted(set(mine) | set(theirs)):
            a, b = mine.get(kid), theirs.get(kid)
            if a is None:
                self.fail("directory.entry", f"key {kid} ({b.get('node')}) is listed but no central record enrolled "
                          "it", **where)
            elif b is None:
                self.fail("directory.entry", f"key {kid} of {a['node']} was enrolled but is not listed", **where)
            elif a != b:
                diff = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
                self.fail("directory.entry", f"key {kid} of {a['node']}: {', '.join(diff)} listed as "
                          f"{[b.get(k) for k in diff]}, central's records say {[a.get(k) for k in diff]}", **where)
        mine_nodes = {n.node: {"node": n.node, "tier": n.tier, "name": n.name, "keys": n.keys}
                      for n in self.nodes.values()}
        theirs_nodes = {e["node"]: e for e in listed["nodes"]}
        for node in sorted(set(mine_nodes) | set(theirs_nodes)):
            if mine_nodes.get(node) != theirs_nodes.get(node):
                self.fail("directory.entry", f"node {node} is listed as {theirs_nodes.get(node)}, central's records "
                          f"say {mine_nodes.get(node)}", **where)


# --- the command ------------------------------------------------------------------------------------

def report_text(v: Verifier) -> str:
    out = []
    s = v.summary
    for f in v.failures:
        out.append(f"FAIL  {f.check}  {f.where()}\n      {f.message}")
    for f in v.suspects:
        out.append(f"SUSPECT  {f.where()}\n      {f.message}")
    months = s.get("months") or []
    out.append(f"network {s.get('network')}; central key fingerprint {s.get('central_fingerprint')} "
               "(compare it with the one central's administrator reads out)")
    out.append(f"{len(months)} months ({months[0]} .. {months[-1]})" if months else "0 months")
    out.append(f"{s.get('records', 0)} records; Merkle log size {s.get('tree_size', 0)}, root {s.get('root')}")
    for origin, o in (s.get("origins") or {}).items():
        out.append(f"  {origin}: {o['records']} records, seq {o['first_seq']}..{o['last_seq']}")
    out.append(f"{s.get('checkpoints', 0)} checkpoints, {s.get('receipts', 0)} receipts, {s.get('forks', 0)} forks kept "
               f"as evidence, {s.get('quarantined', 0)} quarantined, {s.get('suspect', 0)} suspect; "
               f"{s.get('keys', 0)} keys ({s.get('revoked_keys', 0)} revoked)")
    out.append(f"FAILED: {len(v.failures)} checks failed" if v.failures else "OK: every check passed")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.verify",
                                     description="Check a bianmin auditor bundle offline (see sync/AUDIT.md).")
    parser.add_argument("bundle", type=Path, help="the bundle folder written by `bianmin central audit-export`")
    parser.add_argument("--json", action="store_true", help="print the findings and summary as JSON")
    parser.add_argument("--central-key", default=None,
                        help="central's public key (64 hex) or fingerprint, as you obtained it yourself")
    args = parser.parse_args(argv)
    verifier = Verifier(args.bundle, central_key=args.central_key)
    if not args.bundle.is_dir():
        print(f"cannot read the bundle: {args.bundle} is not a folder", file=sys.stderr)
        return 2
    try:
        verifier.run()
    except Exception as err:  # whatever stops the checks, the bundle must not pass
        verifier.fail("verifier.stopped", f"the checks could not finish ({type(err).__name__}: {err}); "
                      "the bundle is not shown to be sound")
    try:
        _print(verifier, as_json=args.json)
    except BrokenPipeError:         # `| head`: the reader has seen enough
        sys.stderr.close()
    return 1 if verifier.failures else 0


def _print(verifier: Verifier, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": not verifier.failures, "failures": [asdict(f) for f in verifier.failures],
                          "suspects": [asdict(f) for f in verifier.suspects], "summary": verifier.summary},
                         ensure_ascii=False, indent=1))
    else:
        print(report_text(verifier))


if __name__ == "__main__":
    sys.exit(main())
