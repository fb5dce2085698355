"""The standalone verifier: a second implementation that agrees with the first on the protocol's
vectors, stands alone (standard library and `cryptography` only), and passes a clean bundle.

The bundle is exported from the realistic log of test_audit_export.build_log and checked with
`python -m sync.verify` in a subprocess, as an auditor runs it.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import canonical, merkle
from sync import verify as v
from tests.sync.test_audit_export import CENTRAL, NODE_KEYS, World, build_log

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "sync" / "vectors"


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def run_verify(bundle: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sync.verify", str(bundle), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_log(tmp_path_factory.mktemp("verify") / "log")


@pytest.fixture(scope="module")
def bundle(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("verify-bundle") / "bundle"
    world.export(out)
    return out


# --- the second implementation agrees with the vectors every implementation must pass ------------

def test_canonical_vectors() -> None:
    data = load("canonical.json")
    for vector in data["positive"]:
        raw = bytes.fromhex(vector["hex"])
        assert v.canonical(vector["value"]).encode("utf-8") == raw
        assert v.strict(raw) == vector["value"]
    for vector in data["negative"]:
        with pytest.raises(v.Bad):
            v.strict(bytes.fromhex(vector["hex"]), v.MAX_RECORD)


def test_key_vectors() -> None:
    for entry in load("keys.json")["keys"]:
        public = bytes.fromhex(entry["public"])
        assert v.key_id(public) == entry["key_id"]
        assert v.fingerprint(public) == entry["fingerprint"]


def test_record_vectors() -> None:
    data = load("records.json")
    keys = {k["name"]: bytes.fromhex(k["public"]) for k in load("keys.json")["keys"]}
    for vector in data["positive"]:
        raw, sig = bytes.fromhex(vector["raw_hex"]), bytes.fromhex(vector["sig"])
        fields = v.envelope(raw, sig)
        assert fields["id"] == vector["id"]
        assert v.signed(keys[vector["signer"]], v.DOMAIN_RECORD, raw, sig)
    for vector in data["negative"]:
        raw, sig = bytes.fromhex(vector["raw_hex"]), bytes.fromhex(vector["sig"])
        try:
            fields = v.envelope(raw, sig)
        except v.Bad:
            continue
        refused = fields["net"] != vector["network"] or not v.signed(keys[vector["signer"]], v.DOMAIN_RECORD, raw, sig)
        assert refused, vector["name"]


def test_merkle_vectors() -> None:
    data = load("merkle.json")
    leaves = [v.leaf_hash(bytes.fromhex(h)) for h in data["leaves_hex"]]
    roots = v.roots_at(leaves, {int(n) for n in data["roots"]})
    assert {str(n): r.hex() for n, r in roots.items()} == data["roots"]
    for vector in data["inclusion"]:
        path = [bytes.fromhex(h) for h in vector["path"]]
        root = bytes.fromhex(data["roots"][str(vector["size"])])
        leaf = bytes.fromhex(vector["leaf_hash"])
        assert v.check_inclusion(vector["index"], vector["size"], leaf, path, root)
        assert not v.check_inclusion(vector["index"], vector["size"], v.leaf_hash(b"other"), path, root)
        if path:
            assert not v.check_inclusion(vector["index"], vector["size"], leaf, path[:-1], root)
    for vector in data["consistency"]:
        path = [bytes.fromhex(h) for h in vector["path"]]
        old, new = bytes.fromhex(data["roots"][str(vector["old"])]), bytes.fromhex(data["roots"][str(vector["new"])])
        assert v.check_consistency(vector["old"], vector["new"], old, new, path)
        if path:
            bent = [bytes(32), *path[1:]]
            assert not v.check_consistency(vector["old"], vector["new"], old, new, bent)


def test_statement_vectors() -> None:
    data = load("statements.json")
    central = next(bytes.fromhex(k["public"]) for k in load("keys.json")["keys"] if k["name"] == "C")
    cp, rc = data["checkpoint"], data["receipt"]
    assert v.signed(central, v.DOMAIN_CHECKPOINT, bytes.fromhex(cp["raw_hex"]), bytes.fromhex(cp["sig"]))
    assert v.signed(central, v.DOMAIN_RECEIPT, bytes.fromhex(rc["raw_hex"]), bytes.fromhex(rc["sig"]))
    assert not v.signed(central, v.DOMAIN_RECEIPT, bytes.fromhex(cp["raw_hex"]), bytes.fromhex(cp["sig"]))
    receipt = v.strict(bytes.fromhex(rc["raw_hex"]))
    assert receipt.keys() == v.RECEIPT


# --- it stands alone -------------------------------------------------------------------------------

def test_imports_nothing_but_the_standard_library_and_cryptography() -> None:
    tree = ast.parse((ROOT / "sync" / "verify.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative imports"
            found.add((node.module or "").split(".")[0])
    assert found - set(sys.stdlib_module_names) == {"cryptography"}


def test_runs_as_a_single_copied_file_with_the_project_unimportable(bundle: Path, tmp_path: Path) -> None:
    """An auditor copies verify.py alone; the project's packages are blocked from import."""
    shutil.copy(ROOT / "sync" / "verify.py", tmp_path / "auditor_verify.py")
    blocker = (
        "import sys, runpy\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'sync','casework','web','node','central','store','installer','bianmin',"
        "'tests'}:\n"
        "            raise ImportError('the verifier must stand alone: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.argv = ['auditor_verify.py', {str(bundle)!r}]\n"
        "runpy.run_path('auditor_verify.py', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-I", "-c", blocker], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False, env={**os.environ, "PYTHONPATH": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: every check passed" in done.stdout


# --- a clean bundle --------------------------------------------------------------------------------

def test_clean_bundle_passes_with_a_summary(bundle: Path, world: World) -> None:
    done = run_verify(bundle)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "OK: every check passed" in out
    assert "4 months (2026-01 .. 2026-04)" in out
    assert CENTRAL.fingerprint in out
    for origin, (seq, _) in world.central.heads().items():
        assert f"  {origin}: {seq} records, seq 1..{seq}" in out
    assert "4 checkpoints" in out and "1 forks kept as evidence" in out and "1 quarantined" in out
    assert out.count("SUSPECT") == len(world.thief) == 2


def test_json_output(bundle: Path, world: World) -> None:
    done = run_verify(bundle, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["failures"] == []
    assert {s["record"] for s in report["suspects"]} == {r.id for r in world.thief}
    assert all(s["check"] == "suspect" and s["origin"] == "V000002" for s in report["suspects"])
    summary = report["summary"]
    assert summary["months"] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert summary["tree_size"] == world.central.tree_size()
    assert summary["root"] == world.central.tree_root().hex()
    assert summary["receipts"] == len({r.raw for r in world.central.receipts()})
    assert summary["revoked_keys"] == 1 and summary["keys"] == 5


def test_central_key_given_by_the_auditor(bundle: Path) -> None:
    assert run_verify(bundle, "--central-key", CENTRAL.public.hex()).returncode == 0
    assert run_verify(bundle, "--central-key", CENTRAL.fingerprint).returncode == 0
    done = run_verify(bundle, "--central-key", NODE_KEYS["T0001"].public.hex())
    assert done.returncode == 1 and "FAIL  anchor" in done.stdout


def test_an_unreadable_bundle_exits_2(tmp_path: Path) -> None:
    done = run_verify(tmp_path / "nothing-here")
    assert done.returncode == 2 and "cannot read the bundle" in done.stderr


def test_an_empty_log_exports_and_verifies(tmp_path: Path) -> None:
    from sync import audit
    from sync.logstore import LogStore

    store = LogStore.open(tmp_path / "c.sqlite", network="empty", origin="C", signer=CENTRAL)
    summary = audit.export(store, tmp_path / "b", central_key=CENTRAL)
    assert summary.months == [] and summary.records == 0
    done = run_verify(tmp_path / "b")
    assert done.returncode == 0, done.stdout
    assert "0 months" in done.stdout


# --- the two implementations agree beyond the vectors ------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12).map(lambda t: unicodedata.normalize("NFC", t))
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | _text,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=6), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_canonical_agrees_with_the_reference_encoder(value: object) -> None:
    assert v.canonical(value).encode("utf-8") == canonical.encode(value)


@settings(max_examples=300, deadline=None)
@given(_json, st.integers(0, 10_000), st.integers(0, 255))
def test_strict_parse_agrees_with_the_reference_decoder(value: object, where: int, byte: int) -> None:
    """Take canonical bytes, change one byte: both implementations accept, or both refuse."""
    raw = bytearray(canonical.encode(value))
    raw[where % len(raw)] = byte
    try:
        canonical.decode(bytes(raw))
        reference = True
    except canonical.Refusal:
        reference = False
    try:
        v.strict(bytes(raw), v.MAX_RECORD)
        ours = True
    except v.Bad:
        ours = False
    assert ours == reference, bytes(raw)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.data())
def test_merkle_proofs_of_the_reference_verify_here_and_damaged_ones_do_not(size: int, data: st.DataObject) -> None:
    tree = merkle.MemoryTree()
    for i in range(size):
        tree.append(i.to_bytes(4, "big"))
    leaves = list(tree.leaves)
    old = data.draw(st.integers(0, size))
    index = data.draw(st.integers(0, size - 1))
    roots = v.roots_at(leaves, {old, size})
    assert roots[size] == tree.root() and roots[old] == tree.root(old)
    path = merkle.inclusion_path(index, size, tree.hash_of)
    assert v.check_inclusion(index, size, leaves[index], path, roots[size])
    proof = merkle.consistency_path(old, size, tree.hash_of)
    assert v.check_consistency(old, size, roots[old], roots[size], proof)
    if path:
        bent = list(path)
        bent[data.draw(st.integers(0, len(bent) - 1))] = bytes(32)
        assert not v.check_inclusion(index, size, leaves[index], bent, roots[size])
    if index != 0 or size > 1:
        assert not v.check_inclusion((index + 1) % size, size, leaves[index], path, roots[size]) or \
            leaves[(index + 1) % size] == leaves[index]
    if proof:
        bent = list(proof)
        bent[data.draw(st.integers(0, len(bent) - 1))] = bytes(32)
        assert not v.check_consistency(old, size, roots[old], roots[size], bent)


def test_central_key_rotated_midway(tmp_path: Path) -> None:
    """Central rotates its own key (signed by old and new): the anchor stays the key nodes pinned,
    later records, checkpoints, receipts and manifests are signed by the new one, and all verify."""
    from sync import audit
    from sync.keys import NodeKey, rotation_proof
    from sync.logstore import LogStore
    from tests.sync.test_audit_export import Clock

    first, second = CENTRAL, NodeKey.from_seed(b"central-second".ljust(32, b"k"))
    town = NODE_KEYS["T0001"]
    clock = Clock()
    path = tmp_path / "c.sqlite"
    central = LogStore.open(path, network="rot", origin="C", signer=first, clock=clock)
    central.append("node.enrolled", {"node": "T0001", "tier": "town", "name": "镇中心", "public_key": town.public.hex(),
                                     "key": town.key_id, "from_seq": 1})
    node = LogStore.open(tmp_path / "t.sqlite", network="rot", origin="T0001", signer=town,
                         central_public=first.public)
    central.ingest(node.append_many([("case.received", {"n": i}) for i in range(3)]))
    receipts = [central.make_receipt("T0001")]
    central.append("node.key_rotated", rotation_proof(first, second, net="rot", node="C",
                                                      from_seq=central.head("C")[0] + 2))
    central.close()
    clock.set("2026-02-01")
    central = LogStore.open(path, network="rot", origin="C", signer=second, central_public=first.public, clock=clock)
    central.append("catalogue.published", {"version": 2})
    central.ingest(node.append_many([("case.received", {"n": i}) for i in range(3, 5)]))
    receipts.append(central.make_receipt("T0001", 4))
    audit.export(central, tmp_path / "b", central_key=second, central_public_key=first.public, receipts=receipts)
    manifest = json.loads((tmp_path / "b" / "2026-02" / "manifest.json").read_bytes())
    assert manifest["key"] == second.key_id and manifest["anchor"] == first.public.hex()
    done = run_verify(tmp_path / "b", "--central-key", first.fingerprint)
    assert done.returncode == 0, done.stdout
    assert "2 receipts" in done.stdout


def test_export_while_central_keeps_writing(tmp_path: Path) -> None:
    """Central does not stop for an audit: records, forks and receipts arriving during the export
    wait for the next one, and the bundle written is whole and clean."""
    import threading

    from sync import audit
    from tests.sync.test_audit_export import _cases, _push

    world = build_log(tmp_path / "log")
    for _ in range(3):
        _cases(world.nodes["V000001"], 400, "bulk")
        _push(world, "V000001")
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            world.central.append("catalogue.note", {"text": "运行中"})
    writer = threading.Thread(target=write)
    writer.start()
    try:
        summary = audit.export(world.central, tmp_path / "b", central_key=CENTRAL, receipts=world.receipts())
    finally:
        stop.set()
        writer.join()
    assert world.central.tree_size() > summary.tree_size > 1200
    done = run_verify(tmp_path / "b")
    assert done.returncode == 0, done.stdout[-3000:]
