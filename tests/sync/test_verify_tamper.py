"""Tamper with an auditor bundle in each way and see the standalone verifier name what and where.

Two kinds of tamperer. An outsider changes files and cannot sign as central: the manifests'
digests and signatures catch them. Central itself (the party being audited) can re-sign its own
manifests, checkpoints and receipts: `reseal` plays that part, and then what catches the change is
what central cannot forge: the nodes' signatures on their records and chains, the Merkle roots
recomputed from the records, receipts as issued, and each node's signed word on the log (`ckpt`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sync import audit, merkle
from sync.canonical import encode
from sync.envelope import sign_record
from sync.keys import NodeKey
from tests.sync.test_audit_export import CENTRAL, NET, NODE_KEYS, World, build_log

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_log(tmp_path_factory.mktemp("tamper") / "log")


@pytest.fixture(scope="module")
def pristine(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tamper-bundle") / "bundle"
    world.export(out)
    return out


@pytest.fixture
def bundle(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "bundle"))


# --- helpers ---------------------------------------------------------------------------------------

def verify(bundle: Path) -> list[dict[str, Any]]:
    """Run `python -m sync.verify --json` as an auditor would; the failures (exit status must be 1)."""
    done = subprocess.run([sys.executable, "-m", "sync.verify", str(bundle), "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    return report["failures"]


def caught(failures: list[dict[str, Any]], check: str, **where: Any) -> dict[str, Any]:
    """The finding of `check` at `where`, or fail the test showing what was found instead."""
    for f in failures:
        if f["check"] == check and all(f.get(k) == val for k, val in where.items()):
            return f
    shown = "\n".join(f"{f['check']} {f['archive']}/{f['file']}:{f['line']} {f['origin']} {f['seq']} {f['message']}"
                      for f in failures)
    raise AssertionError(f"no {check} at {where}; found:\n{shown}")


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(encode(r, max_size=1 << 40) + b"\n" for r in rows))


def fields(line: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(line["raw"]))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def archives(root: Path) -> list[str]:
    return [*sorted(p.name for p in root.iterdir() if p.name != "state"), "state"]


def reseal(root: Path, *, chain: bool = True) -> None:
    """Central re-signs its manifests over the files as they are now (it holds the key)."""
    prev = None
    for archive in archives(root):
        path = root / archive / "manifest.json"
        manifest = json.loads(path.read_bytes())
        for name in manifest["files"]:
            data = (root / archive / name).read_bytes()
            manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        if chain:
            manifest["prev"] = prev
        raw = encode(manifest, max_size=1 << 30)
        path.write_bytes(raw)
        (root / archive / "manifest.sig").write_bytes(CENTRAL.sign(audit.MANIFEST_DOMAIN + raw))
        prev = hashlib.sha256(raw).hexdigest()


def find(root: Path, origin: str, seq: int) -> tuple[str, int, dict[str, Any]]:
    """(archive, 1-based line, line) of a record in the bundle."""
    for archive in archives(root)[:-1]:
        for n, line in enumerate(read_lines(root / archive / "records.jsonl"), start=1):
            f = fields(line)
            if (f["origin"], f["seq"]) == (origin, seq):
                return archive, n, line
    raise LookupError((origin, seq))


def replace_line(root: Path, archive: str, n: int, new: dict[str, Any] | None) -> None:
    path = root / archive / "records.jsonl"
    rows = read_lines(path)
    if new is None:
        del rows[n - 1]
    else:
        rows[n - 1] = new
    write_lines(path, rows)


def resign_checkpoints(root: Path) -> None:
    """Central rewrites its log consistently: checkpoints and proofs re-made from the records as they are."""
    tree = merkle.MemoryTree()
    prev_size = 0
    for archive in archives(root)[:-1]:
        for line in read_lines(root / archive / "records.jsonl"):
            tree.append(hashlib.sha256(base64.b64decode(line["raw"])).digest())
        size = len(tree.leaves)
        doc = json.loads((root / archive / "checkpoint.json").read_bytes())
        old = json.loads(base64.b64decode(doc["checkpoint"]["raw"]))
        cp = merkle.sign_checkpoint(CENTRAL, net=NET, size=size, root=tree.root(size), time=old["time"])
        doc = {"checkpoint": cp.to_wire(), "consistency": [h.hex() for h in merkle.consistency_path(
            prev_size, size, tree.hash_of)], "previous": {"root": tree.root(prev_size).hex(), "size": prev_size}}
        (root / archive / "checkpoint.json").write_bytes(encode(doc, max_size=1 << 30))
        manifest = json.loads((root / archive / "manifest.json").read_bytes())
        manifest["checkpoint"] = {"root": tree.root(size).hex(), "size": size}
        (root / archive / "manifest.json").write_bytes(encode(manifest, max_size=1 << 30))
        prev_size = size
    state = json.loads((root / "state" / "manifest.json").read_bytes())
    state["checkpoint"] = {"root": tree.root().hex(), "size": len(tree.leaves)}
    (root / "state" / "manifest.json").write_bytes(encode(state, max_size=1 << 30))


# --- a record's bytes --------------------------------------------------------------------------------

def test_flipped_byte_in_a_record_outsider(bundle: Path) -> None:
    archive, n, line = find(bundle, "V000001", 5)
    raw = base64.b64decode(line["raw"])
    at = raw.index(b"feb-1") + 4
    line["raw"] = b64(raw[:at] + bytes([raw[at] ^ 0x08]) + raw[at + 1:])     # "1" -> "9": still canonical
    replace_line(bundle, archive, n, line)
    failures = verify(bundle)
    caught(failures, "file.digest", archive="2026-02", file="records.jsonl")
    caught(failures, "record.signature", archive="2026-02", file="records.jsonl", line=n, origin="V000001", seq=5)


def test_flipped_byte_in_a_record_resealed_by_central(bundle: Path) -> None:
    archive, n, line = find(bundle, "T0001", 2)
    raw = bytearray(base64.b64decode(line["raw"]))
    raw[raw.index(b"jan-1") + 4] ^= 0x01
    line["raw"] = b64(bytes(raw))
    replace_line(bundle, archive, n, line)
    reseal(bundle)
    failures = verify(bundle)
    f = caught(failures, "record.signature", archive="2026-01", line=n, origin="T0001", seq=2)
    assert "does not verify" in f["message"]
    caught(failures, "record.prev", origin="T0001", seq=3)          # the next record names the true bytes
    caught(failures, "checkpoint.root", archive="2026-01")          # and the Merkle root moved
    caught(failures, "manifest.checkpoint", archive="2026-01")
    assert not any(f["check"].startswith("file.") or f["check"] == "manifest.signature" for f in failures)


def test_a_record_made_non_canonical(bundle: Path) -> None:
    archive, n, line = find(bundle, "C", 2)
    line["raw"] = b64(json.dumps(fields(line), indent=1, ensure_ascii=False).encode())
    replace_line(bundle, archive, n, line)
    reseal(bundle)
    f = caught(verify(bundle), "record.canonical", archive=archive, file="records.jsonl", line=n)
    assert "canonical" in f["message"]


# --- records dropped, reordered, signatures swapped --------------------------------------------------

def test_dropped_record_is_a_chain_gap(bundle: Path) -> None:
    archive, n, _ = find(bundle, "V000001", 2)
    replace_line(bundle, archive, n, None)
    reseal(bundle)
    failures = verify(bundle)
    f = caught(failures, "record.seq", archive="2026-01", origin="V000001", seq=3)
    assert "seq 2..2 missing (gap)" in f["message"]
    caught(failures, "record.position", archive="2026-01", line=n)
    caught(failures, "manifest.counts", archive="2026-01", file="records.jsonl")


def test_reordered_lines(bundle: Path) -> None:
    rows = read_lines(bundle / "2026-01" / "records.jsonl")
    rows[5], rows[6] = rows[6], rows[5]
    write_lines(bundle / "2026-01" / "records.jsonl", rows)
    reseal(bundle)
    failures = verify(bundle)
    f = caught(failures, "record.position", archive="2026-01", line=6)
    assert f"at position {rows[5]['pos']}" in f["message"]


def test_reorder_with_renumbered_positions_and_resigned_checkpoints(bundle: Path) -> None:
    """Central rewrites the order of its log wholesale, re-signing every checkpoint and manifest: the
    receipts it gave the nodes and the nodes' own signed `ckpt` words expose it."""
    rows = read_lines(bundle / "2026-01" / "records.jsonl")
    i = next(i for i in range(3, len(rows)) if fields(rows[i])["origin"] != fields(rows[i + 1])["origin"])
    rows[i], rows[i + 1] = rows[i + 1], rows[i]        # each origin's chain stays in order
    for i, r in enumerate(rows):
        r["pos"] = rows[0]["pos"] + i
    write_lines(bundle / "2026-01" / "records.jsonl", rows)
    resign_checkpoints(bundle)
    reseal(bundle)
    failures = verify(bundle)
    assert not any(f["check"].startswith(("checkpoint.", "manifest.", "file.", "record.signature"))
                   for f in failures), failures
    caught(failures, "receipt.root", archive="2026-01", file="receipts.jsonl")
    caught(failures, "receipt.consistency", archive="2026-02", file="receipts.jsonl")
    caught(failures, "record.ckpt", archive="2026-02")
    assert not any(f["check"].startswith(("record.seq", "record.prev")) for f in failures)


def test_swapped_signatures(bundle: Path) -> None:
    rows = read_lines(bundle / "2026-04" / "records.jsonl")
    rows[0]["sig"], rows[1]["sig"] = rows[1]["sig"], rows[0]["sig"]
    write_lines(bundle / "2026-04" / "records.jsonl", rows)
    reseal(bundle)
    failures = verify(bundle)
    for n in (1, 2):
        f = fields(rows[n - 1])
        caught(failures, "record.signature", archive="2026-04", line=n, origin=f["origin"], seq=f["seq"])


# --- checkpoints, months and the chain of archives ---------------------------------------------------

def _checkpoint_with_root(bundle: Path, archive: str, root: str, *, sign: bool) -> None:
    path = bundle / archive / "checkpoint.json"
    doc = json.loads(path.read_bytes())
    cp = json.loads(base64.b64decode(doc["checkpoint"]["raw"]))
    cp["root"] = root
    raw = encode(cp)
    doc["checkpoint"]["raw"] = b64(raw)
    if sign:
        from sync.merkle import CHECKPOINT_DOMAIN
        doc["checkpoint"]["sig"] = b64(CENTRAL.sign(CHECKPOINT_DOMAIN + raw))
    path.write_bytes(encode(doc, max_size=1 << 30))


def test_altered_checkpoint_root(bundle: Path) -> None:
    _checkpoint_with_root(bundle, "2026-02", "ab" * 32, sign=False)
    reseal(bundle)
    failures = verify(bundle)
    caught(failures, "checkpoint.signature", archive="2026-02", file="checkpoint.json")
    caught(failures, "checkpoint.root", archive="2026-02", file="checkpoint.json")


def test_altered_checkpoint_root_resigned_by_central(bundle: Path) -> None:
    _checkpoint_with_root(bundle, "2026-02", "ab" * 32, sign=True)
    reseal(bundle)
    failures = verify(bundle)
    assert not any(f["check"] == "checkpoint.signature" for f in failures)
    f = caught(failures, "checkpoint.root", archive="2026-02", file="checkpoint.json")
    assert "not the root of the bundle's first" in f["message"]
    caught(failures, "checkpoint.consistency", archive="2026-02")


def test_removed_month(bundle: Path) -> None:
    shutil.rmtree(bundle / "2026-02")
    failures = verify(bundle)
    f = caught(failures, "chain.prev", archive="2026-03", file="manifest.json")
    assert "2026-01/manifest.json" in f["message"]
    caught(failures, "chain.index", archive="2026-03")
    caught(failures, "chain.positions", archive="2026-03")


def test_removed_month_with_the_chain_relinked_by_central(bundle: Path) -> None:
    shutil.rmtree(bundle / "2026-02")
    reseal(bundle)
    failures = verify(bundle)
    assert not any(f["check"] == "chain.prev" for f in failures)
    caught(failures, "chain.index", archive="2026-03")
    caught(failures, "chain.positions", archive="2026-03")
    caught(failures, "record.seq", archive="2026-04", origin="T0001", seq=8)


def test_removed_last_month(bundle: Path) -> None:
    shutil.rmtree(bundle / "2026-04")
    failures = verify(bundle)
    caught(failures, "chain.prev", archive="state")
    caught(failures, "chain.positions", archive="state")


def test_altered_previous_month_digest(bundle: Path) -> None:
    path = bundle / "2026-03" / "manifest.json"
    manifest = json.loads(path.read_bytes())
    manifest["prev"] = "00" * 32
    path.write_bytes(encode(manifest))
    failures = verify(bundle)
    caught(failures, "manifest.signature", archive="2026-03", file="manifest.sig")
    caught(failures, "chain.prev", archive="2026-03")
    caught(failures, "chain.prev", archive="2026-04")      # 2026-04 names the true 2026-03 manifest


def test_altered_previous_month_digest_resigned(bundle: Path) -> None:
    reseal(bundle, chain=False)
    path = bundle / "2026-03" / "manifest.json"
    manifest = json.loads(path.read_bytes())
    manifest["prev"] = "00" * 32
    raw = encode(manifest)
    path.write_bytes(raw)
    (bundle / "2026-03" / "manifest.sig").write_bytes(CENTRAL.sign(audit.MANIFEST_DOMAIN + raw))
    failures = verify(bundle)
    assert not any(f["check"] == "manifest.signature" for f in failures)
    f = caught(failures, "chain.prev", archive="2026-03", file="manifest.json")
    assert "the chain of months is broken" in f["message"]


def test_an_added_file(bundle: Path) -> None:
    (bundle / "2026-01" / "notes.txt").write_text("nothing to see")
    caught(verify(bundle), "file.unlisted", archive="2026-01", file="notes.txt")


# --- receipts -------------------------------------------------------------------------------------

def test_altered_receipt(bundle: Path) -> None:
    path = bundle / "2026-02" / "receipts.jsonl"
    rows = read_lines(path)
    body = json.loads(base64.b64decode(rows[0]["raw"]))
    body["seq"] += 1
    rows[0]["raw"] = b64(encode(body))
    write_lines(path, rows)
    reseal(bundle)
    failures = verify(bundle)
    caught(failures, "receipt.signature", archive="2026-02", file="receipts.jsonl", line=1)
    caught(failures, "receipt.head", archive="2026-02", line=1)


def test_receipt_resigned_for_another_head(bundle: Path, world: World) -> None:
    """Central issues a receipt claiming a record sits where it does not: its own proof gives it away."""
    path = bundle / "2026-03" / "receipts.jsonl"
    rows = read_lines(path)
    body = json.loads(base64.b64decode(rows[0]["raw"]))
    body["head"] = world.refused_fork.id if body["origin"] == "V000002" else "ab" * 32
    raw = encode(body)
    rows[0] = {"raw": b64(raw), "sig": b64(CENTRAL.sign(merkle.RECEIPT_DOMAIN + raw))}
    write_lines(path, rows)
    reseal(bundle)
    failures = verify(bundle)
    assert not any(f["check"] == "receipt.signature" for f in failures)
    caught(failures, "receipt.inclusion", archive="2026-03", line=1)
    caught(failures, "receipt.head", archive="2026-03", line=1)


# --- the directory and the revoked key ----------------------------------------------------------------

def test_forged_directory_entry(bundle: Path) -> None:
    path = bundle / "state" / "directory.json"
    directory = json.loads(path.read_bytes())
    stolen = next(k for k in directory["keys"] if k["key"] == NODE_KEYS["V000002"].key_id)
    stolen["compromised_at"] += 1                         # pretend the first forged record was fine
    intruder = NodeKey.from_seed(b"intruder".ljust(32, b"!"))
    directory["keys"].append({**stolen, "key": intruder.key_id, "public_key": intruder.public.hex(),
                              "fingerprint": intruder.fingerprint, "revoked": False, "compromised_at": None,
                              "reason": ""})
    path.write_bytes(encode(directory, max_size=1 << 30))
    reseal(bundle)
    failures = verify(bundle)
    entries = [f["message"] for f in failures if f["check"] == "directory.entry"]
    assert any(f"{stolen['key']} of V000002: compromised_at" in m for m in entries), entries
    assert any(intruder.key_id in f["message"] and "no central record enrolled it" in f["message"]
               for f in failures if f["check"] == "directory.entry")


def test_replaced_revoked_keys_record_after_its_compromise_point(bundle: Path, world: World) -> None:
    """Whoever holds the stolen key swaps the first forged record for another one, signed alike."""
    first = world.thief[0]
    archive, n, line = find(bundle, "V000002", first.seq)
    swapped = sign_record(NODE_KEYS["V000002"], net=NET, origin="V000002", seq=first.seq, prev=first.prev,
                          kind="case.received", time=first.time, body={"case": "V000002-forged-other"})
    line["raw"], line["sig"] = b64(swapped.raw), b64(swapped.sig)
    replace_line(bundle, archive, n, line)
    reseal(bundle)
    failures = verify(bundle)
    assert not any(f["check"] == "record.signature" for f in failures)     # the key does sign it
    caught(failures, "record.prev", archive="2026-03", origin="V000002", seq=first.seq + 1)
    caught(failures, "checkpoint.root", archive="2026-03")
    caught(failures, "fork.held", archive="2026-03", file="forks.jsonl")
    caught(failures, "suspects.mismatch", archive="state", file="suspects.jsonl")


def test_a_record_signed_after_the_revocation(bundle: Path, world: World) -> None:
    """The thief's late record, refused by central, smuggled into the last month."""
    last = world.thief[-1]
    late = sign_record(NODE_KEYS["V000002"], net=NET, origin="V000002", seq=last.seq + 1, prev=last.id,
                       kind="case.received", body={"case": "late"}, time=last.time)
    path = bundle / "2026-04" / "records.jsonl"
    rows = read_lines(path)
    rows.append({"pos": rows[-1]["pos"] + 1, "raw": b64(late.raw), "received_at": rows[-1]["received_at"],
                 "sig": b64(late.sig)})
    write_lines(path, rows)
    reseal(bundle)
    f = caught(verify(bundle), "record.key", archive="2026-04", origin="V000002", seq=last.seq + 1)
    assert "revoked" in f["message"]


# --- a file cut short -----------------------------------------------------------------------------

def test_truncated_file(bundle: Path) -> None:
    path = bundle / "2026-01" / "records.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    failures = verify(bundle)
    caught(failures, "file.size", archive="2026-01", file="records.jsonl")
    caught(failures, "file.digest", archive="2026-01", file="records.jsonl")
    f = caught(failures, "file.truncated", archive="2026-01", file="records.jsonl")
    assert "cut short" in f["message"]


def test_truncated_file_resealed(bundle: Path) -> None:
    path = bundle / "2026-04" / "receipts.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    reseal(bundle)
    failures = verify(bundle)
    caught(failures, "file.truncated", archive="2026-04", file="receipts.jsonl")


def test_missing_state(bundle: Path) -> None:
    shutil.rmtree(bundle / "state")
    caught(verify(bundle), "bundle.state", archive="state")


def test_text_report_names_the_place(bundle: Path) -> None:
    archive, n, line = find(bundle, "T0001", 4)
    line["sig"] = b64(bytes(64))
    replace_line(bundle, archive, n, line)
    reseal(bundle)
    done = subprocess.run([sys.executable, "-m", "sync.verify", str(bundle)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 1
    assert f"FAIL  record.signature  {archive}/records.jsonl:{n}  T0001 seq 4" in done.stdout
    assert "FAILED: 1 checks failed" in done.stdout


# --- whatever the damage, the verifier reports it and never passes it ------------------------------

def test_random_damage_anywhere_is_reported_never_crashes(pristine: Path, tmp_path: Path) -> None:
    """Every file of the bundle, bytes flipped, cut or dropped at random offsets: the in-process
    verifier finishes (no exception: a crash would hide what else is wrong) and finds a failure."""
    from sync.verify import Verifier

    rng = random.Random(8)
    files = sorted(p.relative_to(pristine) for p in pristine.rglob("*") if p.is_file())
    for n, name in enumerate(files):
        for how in ("flip", "cut", "drop", "junk"):
            root = Path(shutil.copytree(pristine, tmp_path / f"b{n}-{how}"))
            path = root / name
            data = bytearray(path.read_bytes())
            at = rng.randrange(len(data)) if data else 0
            if how == "flip" and data:
                data[at] ^= 1 << rng.randrange(8)
            elif how == "cut":
                data = data[:at]
            elif how == "drop":
                del data[at:at + rng.randrange(1, 40)]
            else:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 20)))
            if bytes(data) == path.read_bytes():
                continue                      # an empty file cannot be cut
            path.write_bytes(bytes(data))
            checker = Verifier(root)
            checker.run()
            assert checker.failures, f"{name} damaged ({how} at {at}) passed"
            shutil.rmtree(root)


def test_a_directory_record_signed_by_a_node(bundle: Path, world: World) -> None:
    """PROTOCOL.md section 6: only central signs the directory. A town revoking keys is refused."""
    from tests.sync.test_audit_export import NEW_TOWN_KEY

    seq, head = world.central.head("T0001")
    forged = sign_record(NEW_TOWN_KEY, net=NET, origin="T0001", seq=seq + 1, prev=head, kind="node.revoked",
                         body={"node": "V000001", "key": NODE_KEYS["V000001"].key_id, "compromised_at": 0,
                               "reason": "town says so"})
    path = bundle / "2026-04" / "records.jsonl"
    rows = read_lines(path)
    rows.append({"pos": rows[-1]["pos"] + 1, "raw": b64(forged.raw), "received_at": rows[-1]["received_at"],
                 "sig": b64(forged.sig)})
    write_lines(path, rows)
    reseal(bundle)
    failures = verify(bundle)
    f = caught(failures, "directory.record", archive="2026-04", origin="T0001", seq=seq + 1)
    assert "only central signs directory records" in f["message"]
    assert not any(f["check"] == "record.signature" for f in failures)
    done = subprocess.run([sys.executable, "-m", "sync.verify", str(bundle), "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    suspects = json.loads(done.stdout)["suspects"]
    assert {f["origin"] for f in suspects} == {"V000002"}      # the town's "revocation" did not apply
