"""The auditor bundle written from a realistic central log: layout, contents, determinism.

`build_log` is shared with test_verify.py and test_verify_tamper.py: central and three nodes on
real SQLite files, driven through the same functions the HTTP push uses (`accept_batch`, the
node's `take_receipt`), with central's clock walking through four months: enrolments by token, a
key rotation, a quarantined batch, a stolen key used by a thief, the real node's record refused as
a fork, the key revoked with a compromise point, and a thief's later record refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync import audit
from sync.client import take_receipt
from sync.envelope import Record, sign_record
from sync.keys import NodeKey, enrolment_request, rotation_proof
from sync.logstore import LogStore
from sync.server import EnrolmentBook, accept_batch

NET = "audit-test"
CENTRAL = NodeKey.from_seed(b"audit-central".ljust(32, b"."))
NODE_KEYS = {n: NodeKey.from_seed(n.encode().ljust(32, b"k")) for n in ("T0001", "V000001", "V000002")}
NEW_TOWN_KEY = NodeKey.from_seed(b"T0001-second-key".ljust(32, b"k"))


class Clock:
    """Central's clock for the test: set to a day, then one second later at every reading."""

    def __init__(self) -> None:
        self.day = "2026-01-05"
        self.n = 0

    def set(self, day: str) -> None:
        self.day, self.n = day, 0

    def __call__(self) -> str:
        self.n += 1
        return f"{self.day}T09:{self.n // 60:02d}:{self.n % 60:02d}.000000+00:00"


@dataclass
class World:
    folder: Path
    central: LogStore
    nodes: dict[str, LogStore]
    clock: Clock
    thief: list[Record] = field(default_factory=list)   # the stolen key's records central accepted
    refused_fork: Record | None = None
    compromised_at: int = 0

    def receipts(self) -> list:
        return [r for store in self.nodes.values() for r in store.receipts()]

    def export(self, out: Path) -> audit.ExportSummary:
        return audit.export(self.central, out, central_key=CENTRAL, receipts=self.receipts())


def _push(world: World, node: str, records: list[Record] | None = None) -> dict:
    """What a node's push does, without HTTP: central decides, the node checks and keeps the receipt."""
    store = world.nodes[node]
    if records is None:
        records = store.records_of(node, store.cursor("C", "sent") + 1)
    known = store.last_checkpoint()
    status, answer = accept_batch(world.central, node, [(r.raw, r.sig) for r in records],
                                  since=known["size"] if known else 0)
    if status == 200:
        take_receipt(store, CENTRAL.public, answer["receipt"], known)
    return answer


def _cases(store: LogStore, n: int, tag: str) -> list[Record]:
    return store.append_many([("case.received", {"case": f"{store.origin}-{tag}-{i}", "item": "低保申请",
                                                 "note": "村民张三申请"}) for i in range(n)])


def build_log(folder: Path) -> World:
    folder.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    central = LogStore.open(folder / "central.sqlite", network=NET, origin="C", signer=CENTRAL, clock=clock)
    book = EnrolmentBook(central)
    nodes = {}
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    # January: three nodes enrol with single-use tokens and send their first cases
    for node, key in NODE_KEYS.items():
        token = book.issue(node, f"{node} 便民服务点", now=now)
        book.enrol(enrolment_request(key, net=NET, node=node, token=token), now=now)
        nodes[node] = LogStore.open(folder / f"{node}.sqlite", network=NET, origin=node, signer=key,
                                    central_public=CENTRAL.public)
    world = World(folder, central, nodes, clock)
    central.append("catalogue.published", {"version": 1, "items": ["低保申请", "居住证"]})
    for node in nodes:
        _cases(nodes[node], 3, "jan")
        _push(world, node)
    # February: the town rotates its key (signed by old and new); a village batch is quarantined
    clock.set("2026-02-10")
    town = nodes["T0001"]
    _cases(town, 2, "feb-old-key")
    _push(world, "T0001")
    body = rotation_proof(NODE_KEYS["T0001"], NEW_TOWN_KEY, net=NET, node="T0001", from_seq=town.head()[0] + 1)
    central.append("node.key_rotated", body)
    town.close()
    nodes["T0001"] = town = LogStore.open(folder / "T0001.sqlite", network=NET, origin="T0001", signer=NEW_TOWN_KEY,
                                          central_public=CENTRAL.public)
    _cases(town, 2, "feb-new-key")
    _push(world, "T0001")
    village = nodes["V000001"]
    batch = _cases(village, 3, "feb")
    central.ingest(batch, checker=lambda r: ("item_withdrawn", "该事项已停办") if r.body["case"].endswith("-1")
                   else None)
    known = village.last_checkpoint()
    take_receipt(village, CENTRAL.public, central.make_receipt("V000001", known["size"]).to_wire(), known)
    # March: V000002's key is stolen; the thief's records reach central first; the real node's
    # record of the same seq is refused as a fork; the key is revoked from the thief's first record
    clock.set("2026-03-03")
    victim = nodes["V000002"]
    _cases(victim, 1, "mar")
    _push(world, "V000002")
    seq, prev = victim.head()
    for i in range(2):
        world.thief.append(sign_record(NODE_KEYS["V000002"], net=NET, origin="V000002", seq=seq + 1 + i,
                                       prev=prev, kind="case.received", time="2026-03-03T10:00:00+08:00",
                                       body={"case": f"V000002-forged-{i}", "item": "低保申请"}))
        prev = world.thief[-1].id
    status, answer = accept_batch(central, "V000002", [(r.raw, r.sig) for r in world.thief])
    assert status == 200, answer
    world.compromised_at = central.leaf_index(world.thief[0].id)
    world.refused_fork = _cases(victim, 1, "mar-real")[0]
    answer = _push(world, "V000002")
    assert answer["refused"]["code"] == "fork", answer
    clock.set("2026-03-20")
    central.append("node.revoked", {"node": "V000002", "key": NODE_KEYS["V000002"].key_id,
                                    "compromised_at": world.compromised_at, "reason": "密钥被盗"})
    late = sign_record(NODE_KEYS["V000002"], net=NET, origin="V000002", seq=seq + 3, prev=prev,
                       kind="case.received", body={"case": "V000002-forged-late"})
    status, answer = accept_batch(central, "V000002", [(late.raw, late.sig)])
    assert answer["refused"]["code"] == "revoked_key", answer
    # April: work goes on at the others
    clock.set("2026-04-01")
    for node in ("T0001", "V000001"):
        _cases(nodes[node], 2, "apr")
        _push(world, node)
    assert central.verify_all(signatures=True) == []
    return world


def bundle_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_log(tmp_path_factory.mktemp("audit") / "log")


@pytest.fixture(scope="module")
def exported(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, audit.ExportSummary]:
    out = tmp_path_factory.mktemp("bundle") / "bundle"
    return out, world.export(out)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_months_by_central_receipt_time(exported: tuple[Path, audit.ExportSummary], world: World) -> None:
    root, summary = exported
    assert summary.months == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert sorted(p.name for p in root.iterdir()) == [*summary.months, "state"]
    assert summary.records == summary.tree_size == world.central.tree_size()
    assert summary.root == world.central.tree_root().hex()
    for month in summary.months:
        for rec in lines(root / month / "records.jsonl"):
            assert rec["received_at"].startswith(month)


def test_every_record_with_its_exact_bytes_and_signature(exported: tuple[Path, audit.ExportSummary],
                                                         world: World) -> None:
    root, summary = exported
    seen = []
    for month in summary.months:
        seen += lines(root / month / "records.jsonl")
    assert [r["pos"] for r in seen] == list(range(world.central.tree_size()))
    held = world.central.records_after(0, limit=10_000)
    assert [(base64.b64decode(r["raw"]), base64.b64decode(r["sig"])) for r in seen] == \
        [(s.record.raw, s.record.sig) for s in held]
    thief_ids = {r.id for r in world.thief}
    assert thief_ids <= {hashlib.sha256(base64.b64decode(r["raw"])).hexdigest() for r in seen}


def test_evidence_directory_and_receipts(exported: tuple[Path, audit.ExportSummary], world: World) -> None:
    root, summary = exported
    forks = lines(root / "2026-03" / "forks.jsonl")
    assert len(forks) == 1 and base64.b64decode(forks[0]["raw"]) == world.refused_fork.raw
    assert forks[0]["held_id"] == world.thief[0].id
    quarantine = lines(root / "state" / "quarantine.jsonl")
    assert [q["code"] for q in quarantine] == ["item_withdrawn"]
    suspects = lines(root / "state" / "suspects.jsonl")
    assert {s["id"] for s in suspects} == {r.id for r in world.thief}
    directory = json.loads((root / "state" / "directory.json").read_bytes())
    keys = {k["key"]: k for k in directory["keys"]}
    assert set(keys) == {CENTRAL.key_id, NEW_TOWN_KEY.key_id} | {k.key_id for k in NODE_KEYS.values()}
    stolen = keys[NODE_KEYS["V000002"].key_id]
    assert stolen["revoked"] and stolen["compromised_at"] == world.compromised_at
    assert keys[NODE_KEYS["T0001"].key_id]["to_seq"] == 5
    receipts = [r for m in summary.months for r in lines(root / m / "receipts.jsonl")]
    # central keeps every receipt it issues; nodes' copies of them add nothing new
    issued = {r.raw for r in world.central.receipts()}
    assert {r.raw for r in world.receipts()} <= issued
    assert len(receipts) == summary.receipts == len(issued)


def test_manifests_chain_months_and_list_every_file(exported: tuple[Path, audit.ExportSummary]) -> None:
    root, summary = exported
    prev = None
    for n, archive in enumerate([*summary.months, "state"], start=1):
        raw = (root / archive / "manifest.json").read_bytes()
        manifest = json.loads(raw)
        assert manifest["index"] == n and manifest["prev"] == prev
        CENTRAL.public_key().verify((root / archive / "manifest.sig").read_bytes(), audit.MANIFEST_DOMAIN + raw)
        for name, entry in manifest["files"].items():
            data = (root / archive / name).read_bytes()
            assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        assert set(manifest["files"]) | {"manifest.json", "manifest.sig"} == \
            {p.name for p in (root / archive).iterdir()}
        prev = hashlib.sha256(raw).hexdigest()


def test_same_log_gives_byte_identical_bundle(world: World, exported: tuple[Path, audit.ExportSummary],
                                             tmp_path: Path) -> None:
    root, _ = exported
    again = world.export(tmp_path / "again")
    assert bundle_files(again.path) == bundle_files(root)
    # from the database path too, as the CLI does
    third = audit.export(world.folder / "central.sqlite", tmp_path / "third", central_key=CENTRAL, network=NET,
                         receipts=world.receipts())
    assert bundle_files(third.path) == bundle_files(root)


def test_closed_months_do_not_change_as_the_log_grows(tmp_path: Path) -> None:
    world = build_log(tmp_path / "log")
    before = bundle_files(world.export(tmp_path / "before").path)
    world.clock.set("2026-05-02")
    _cases(world.nodes["V000001"], 2, "may")
    _push(world, "V000001")
    after = bundle_files(world.export(tmp_path / "after").path)
    for name, data in before.items():
        if not name.startswith("state"):
            assert after[name] == data, name
    assert "2026-05/records.jsonl" in after


def test_refuses_to_overwrite_and_leaves_no_half_bundle(world: World, exported: tuple[Path, audit.ExportSummary],
                                                       tmp_path: Path) -> None:
    root, _ = exported
    with pytest.raises(audit.AuditError):
        world.export(root)
    with pytest.raises(audit.AuditError):
        audit.export(tmp_path / "missing.sqlite", tmp_path / "x", central_key=CENTRAL, network=NET)
    assert not (tmp_path / "missing.sqlite").exists()


def test_a_receipt_central_never_signed_is_not_carried(world: World, tmp_path: Path) -> None:
    real = world.central.signer
    world.central.signer = NODE_KEYS["T0001"]     # someone else signs a "receipt"
    try:
        fake = world.central.make_receipt("T0001")
    finally:
        world.central.signer = real
        # make_receipt kept the forgery in central's table; take it out so only the handed-in copy is tested
        with world.central.transaction() as db:
            db.conn.execute("DELETE FROM receipts WHERE raw = ?", (fake.raw,))
    with pytest.raises(audit.AuditError, match="not signed by central"):
        audit.export(world.central, tmp_path / "y", central_key=CENTRAL, receipts=[fake])
    assert not (tmp_path / "y").exists() and not (tmp_path / ".y.partial").exists()




def test_command_line(world: World, exported: tuple[Path, audit.ExportSummary], tmp_path: Path) -> None:
    """What `bianmin central audit-export` runs: central hands over where its files are."""
    from click.testing import CliRunner

    data = tmp_path / "central-data"
    data.mkdir()
    CENTRAL.save(data / "central.key")
    command = audit.audit_command(lambda d: (world.folder / "central.sqlite", d / "central.key", NET))
    done = CliRunner().invoke(command, ["--data", str(data), "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "check it with: python -m sync.verify" in done.output
    root, _ = exported
    central_only = {k: v for k, v in bundle_files(root).items() if "receipts" not in k and "manifest" not in k}
    written = bundle_files(tmp_path / "out")
    assert {k: written[k] for k in central_only} == central_only      # central keeps no receipts of its own yet
    again = CliRunner().invoke(command, ["--data", str(data), "--out", str(tmp_path / "out")])
    assert again.exit_code != 0 and "already exists" in again.output
