"""Routing privacy end to end: the real central (`bianmin central init`, its app on waitress with
central.routing's Router), a town and two villages enrolled with one-time tokens, weeks of cases
everywhere through the apps' record paths, city staff accounts. Afterwards each node's log holds
only what central routed to it: its own records, configuration, the accounts that may sign in
there, and the records of the cases it touched (with their history, however late it joined
them); for the rest of every chain, central's signed elisions. Every chain and signature still
checks, and each node's cases project exactly as they would from central's whole log."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from serving import serve

from bianmin.cli import main
from central.app import create_app
from central.routing import EVERYONE, NODE_ROLES, Router
from installer.casegen import NodeDesk, person, window_work
from node.context import Node
from node.syncing import NodeSync
from store import projections
from sync.logstore import LogStore

NET = "test-privacy"
CHINA = dt.timezone(dt.timedelta(hours=8))
TOWN = "T0101"
VILLAGES = ("V000101", "V000102")
NODE_STAFF = {"cun1": ("village_clerk", "V000101"), "cun2": ("village_clerk", "V000102"),
              "zhen": ("town_clerk", TOWN)}
CITY_STAFF = {"wang": "window_clerk", "qian": "cashier", "zhao": "supervisor", "sun": "admin"}
PLAN = ["GA006", "RSJ005", "MZJ005", "MZJ001", "YBJ004", "MZJ003", "SW006", "MZJ005", "WJW002", "CL001"]


def _cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _sync(folder: Path) -> None:
    node = Node.open(folder)
    try:
        report = NodeSync(node).sync_now()
        assert report is not None and report.ok, report and report.error
    finally:
        node.close()


@dataclass
class City:
    root: Path
    app: Any
    folders: dict[str, Path]
    touched: dict[str, set[str]]   # node -> the case numbers it took in or handled

    @property
    def central(self) -> Any:
        return self.app.extensions["central"]


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    root = tmp_path_factory.mktemp("privacy")
    data = root / "central"
    _cli("central", "init", "--data", str(data), "--network", NET, "--admin-password", "admin-pass-2026")
    for user, role in CITY_STAFF.items():
        _cli("central", "staff", "add", user, "--data", str(data), "--role", role, "--password", "city-pass-2026")
    for user, (role, place) in NODE_STAFF.items():
        _cli("central", "staff", "add", user, "--data", str(data), "--role", role, "--place", place,
             "--password", "node-pass-2026")
    _cli("central", "staff", "add", "roam", "--data", str(data), "--role", "node_admin", "--password", "roam-pass-2026")
    tokens = {TOWN: _cli("central", "enroll-token", TOWN, "--data", str(data), "--name", "丁堰镇便民服务中心")}
    for v in VILLAGES:
        tokens[v] = _cli("central", "enroll-token", v, "--data", str(data), "--name", f"{v} 便民服务室",
                         "--town", TOWN)
    tokens = {n: t.strip().splitlines()[-1] for n, t in tokens.items()}
    app = create_app({"DATA_DIR": str(data), "SMS_SENDER": False})
    folders = {}
    try:
        with serve(app) as url:
            for node in (TOWN, *VILLAGES):
                folders[node] = root / node
                args = ["node", "init", "--data", str(folders[node]), "--central", url, "--token", tokens[node],
                        "--node-id", node, "--network", NET]
                _cli(*(args + (["--parent", TOWN] if node.startswith("V") else [])))
            # a city account added while central serves: stored by another process, routed all the same
            _cli("central", "staff", "add", "li", "--data", str(data), "--role", "supervisor", "--password", "li-pass-2026")
            yield City(root, app, folders, _history(app, folders))
    finally:
        app.extensions["central"].close()


def _history(app: Any, folders: dict[str, Path]) -> dict[str, set[str]]:
    rng = random.Random(7)
    touched: dict[str, set[str]] = {n: set() for n in folders}
    to_city: list[str] = []
    now = dt.datetime.now(CHINA).replace(microsecond=0)
    for n, village in enumerate(VILLAGES):
        node = Node.open(folders[village])
        try:
            desk = NodeDesk(node, {"username": "cun1" if n == 0 else "cun2", "name": "村干"})
            for i, code in enumerate(PLAN * 2):
                case, what = desk.take_in(code, now - dt.timedelta(hours=40 - i), person(rng),
                                          outcome="supplement" if i % 7 == 3 else "auto", missing=1)
                touched[village].add(case.number)
                if what == "forwarded" and case.events[-1].body["to"] == f"node:{TOWN}":
                    touched[TOWN].add(case.number)
                elif what == "forwarded":
                    to_city.append(case.number)
                elif what == "promised" and i % 2:
                    desk.step(case, "case.finished", now - dt.timedelta(hours=2), outcome="granted")
        finally:
            node.close()
        _sync(folders[village])
    _sync(folders[TOWN])
    town = Node.open(folders[TOWN])
    try:
        desk = NodeDesk(town, {"username": "zhen", "name": "镇办事员"})
        for i, number in enumerate(sorted(touched[TOWN])):
            case = desk.accept_handover(number, now - dt.timedelta(hours=1))
            if i % 2 == 0:
                desk.step(case, "case.accepted", now - dt.timedelta(hours=1), due_date=now.date().isoformat())
        for code in ("GA001", "RSJ001", "MZJ005"):
            case, _ = desk.take_in(code, now - dt.timedelta(hours=3), person(rng))
            touched[TOWN].add(case.number)
    finally:
        town.close()
    _sync(folders[TOWN])
    for i, number in enumerate(to_city):   # the city's windows, on the serving central itself
        window_work(app.extensions["central"], number, finish=i % 2 == 0, pay=True, rng=rng)
    for _ in range(2):
        for folder in folders.values():
            _sync(folder)
    assert touched[TOWN] - {c for v in VILLAGES for c in touched[v]}, "the town took cases in itself"
    return touched


def _records(folder: Path) -> list[Any]:
    log = Node.open(folder)
    try:
        return [s.record for s in log.log.records_after(0, limit=1_000_000)]
    finally:
        log.close()


def _may_have(router: Router, node: str, record: Any) -> str | None:
    """Why `node` may hold `record` (None: it may not)."""
    if record.origin == node:
        return "own"
    if record.kind.startswith("case."):
        return "case it touched" if node in router.case_nodes(record.body["case"]) else None
    if record.origin == "C" and record.kind != "staff.account" and router.nodes_for(record) == {EVERYONE}:
        return "configuration"
    if record.origin == "C" and record.kind == "staff.account":
        places, roles = record.body.get("places") or [], record.body.get("roles") or []
        return "may sign in there" if (node in places or "*" in places) and set(roles) & NODE_ROLES else None
    return None


@pytest.mark.parametrize("node", [TOWN, *VILLAGES])
def test_a_node_holds_only_what_is_routed_to_it(city: City, node: str) -> None:
    central = city.central
    router = Router(lambda: central.log.db)
    held = _records(city.folders[node])
    with central.log._lock:
        strays = [(r.origin, r.seq, r.kind) for r in held if _may_have(router, node, r) is None]
        cases_here = {r.body["case"] for r in held if r.kind.startswith("case.")}
        should = {c for (c,) in central.log.db.execute("SELECT DISTINCT case_number FROM board_events")
                  if node in router.case_nodes(c)}
    assert strays == []
    assert cases_here == should and city.touched[node] <= cases_here
    users = {r.body["username"] for r in held if r.kind == "staff.account"}
    assert not users & (set(CITY_STAFF) | {"li", "admin"})      # no city password hash on a village PC
    assert users == {u for u, (_, place) in NODE_STAFF.items() if place == node} | {"roam"}
    if node.startswith("V"):
        other = next(v for v in VILLAGES if v != node)
        assert not [r for r in held if r.origin == other]
    # whole chains would have brought every record up to each head; the rest is crossed by elisions
    the_node = Node.open(city.folders[node])
    try:
        heads, withheld = the_node.log.heads(), the_node.log.withheld()
    finally:
        the_node.close()
    foreign = [r for r in held if r.origin != node]
    assert len(foreign) + sum(withheld.values()) == sum(seq for o, (seq, _) in heads.items() if o != node)


@pytest.mark.parametrize("node", [TOWN, *VILLAGES])
def test_chains_check_and_cases_project_as_from_the_whole_log(city: City, node: str, tmp_path: Path) -> None:
    folder = city.folders[node]
    the_node = Node.open(folder)
    try:
        log = the_node.log
        assert log.verify_all(signatures=True) == []
        assert log.withheld().get("C", 0) > 0
        assert all(e.node == node for e in log.elisions())
        central_log = city.central.log
        with central_log._lock:   # every origin's chain reaches as far as central routed it
            for origin, (seq, _) in log.heads().items():
                assert seq <= central_log.head(origin)[0]
    finally:
        the_node.close()
    # the node as it was before routing privacy: central's whole log, every chain complete
    reference = LogStore.open(tmp_path / "whole.sqlite", network=NET, origin=node,
                              central_public=city.central.key.public)
    projections.register_all(reference)
    with central_log._lock:
        everything = [s.record for s in central_log.records_after(0, limit=1_000_000)]
    everything.sort(key=lambda r: (r.origin != "C", r.origin, r.seq))
    for start in range(0, len(everything), 500):
        assert reference.ingest(everything[start:start + 500]).ok
    reference.close()
    mine, whole = _cases(folder / "bianmin.sqlite"), _cases(tmp_path / "whole.sqlite")
    assert mine and mine == {number: whole[number] for number in mine}


def _cases(path: Path) -> dict[str, tuple[Any, ...]]:
    """Each case's projected row, without what depends on the file (its row id, keyed search hashes)."""
    conn = sqlite3.connect(path)
    try:
        cursor = conn.execute("SELECT * FROM cases")
        names = [d[0] for d in cursor.description]
        keep = [i for i, n in enumerate(names) if n not in ("id", "id_hash", "phone_hash")]
        return {row[names.index("number")]: tuple(row[i] for i in keep) for row in cursor}
    finally:
        conn.close()


def test_a_backup_keeps_the_elisions_and_the_restored_node_syncs_on(city: City, tmp_path: Path) -> None:
    """Elisions live in the node's database: a backup carries them, the restored log checks whole,
    and its first contact with central (which a restore waits for) goes through."""
    import shutil

    from installer import backup as bk

    folder = city.folders["V000101"]
    snap = bk.backup(folder, tmp_path / "usb").snapshot
    target = tmp_path / "restored"
    bk.restore(snap.path, target)
    for key in folder.glob("*.key"):     # keys never travel in a backup: the PC still has them
        shutil.copy2(key, target / key.name)
    original, restored = Node.open(folder), Node.open(target)
    try:
        assert [e.raw for e in restored.log.elisions()] == [e.raw for e in original.log.elisions()] != []
        assert restored.log.heads() == original.log.heads()
        assert restored.log.verify_all(signatures=True) == []
        assert restored.log.writes_held()
    finally:
        original.close()
        restored.close()
    _sync(target)
    again = Node.open(target)
    try:
        assert again.log.writes_held() is None and again.log.verify_all(signatures=True) == []
    finally:
        again.close()
