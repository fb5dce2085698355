"""A node's data folder without a central: what a test (or the benchmark) needs to start a node.

`make_node(folder)` writes node.toml and the node key, then signs, with a test "central" key, the
records a real node would pull at its first sync (its own enrolment, staff accounts, the packaged
catalogue, the calendar) and ingests them into the node's log through `LogStore.ingest`: the
same checks and projectors as a real pull, so what the pages see is what real sync would give.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from casework.calendar import WorkCalendar
from casework.catalogue import load
from node.config import DB_FILE, NodeConfig, write_config
from store import projections
from store.config_records import calendar_year_body, catalogue_body, staff_account_body
from sync.envelope import Record, sign_record
from sync.keys import NodeKey, default_key_path
from sync.logstore import LogStore
from web.passwords import hash_password

NET = "test-rugao"
CENTRAL_SEED = bytes(range(32))
PASSWORD = "village-pass-2026"
_HASH: dict[str, str] = {}


def password_hash(password: str = PASSWORD) -> str:
    if password not in _HASH:
        _HASH[password] = hash_password(password)
    return _HASH[password]


@dataclass
class TestCentral:
    """A central key and its own chain of records (seq, prev), signing like central would."""

    key: NodeKey = field(default_factory=lambda: NodeKey.from_seed(CENTRAL_SEED))
    seq: int = 0
    prev: str | None = None

    def sign(self, kind: str, body: dict[str, Any]) -> Record:
        self.seq += 1
        record = sign_record(self.key, net=NET, origin="C", seq=self.seq, prev=self.prev, kind=kind, body=body)
        self.prev = record.id
        return record


def staff(username: str, roles: list[str], places: list[str], *, name: str = "", version: int = 1,
          active: bool = True) -> dict[str, Any]:
    return staff_account_body(username=username, display_name=name or username, password_hash=password_hash(),
                              roles=roles, places=places, version=version, active=active)


def make_node(folder: Path, *, node_id: str = "V000101", name: str = "如皋市丁堰镇皋南村便民服务室",
              parent: str = "T0101", central_url: str = "", central: TestCentral | None = None,
              extra_staff: list[dict[str, Any]] | None = None) -> TestCentral:
    """Set up `folder` as an enrolled node holding central's first records; returns the central."""
    central = central or TestCentral()
    folder.mkdir(parents=True, exist_ok=True)
    key = NodeKey.generate()
    key.save(default_key_path(folder / DB_FILE))
    write_config(folder, NodeConfig(node_id=node_id, name=name, network=NET, central_url=central_url,
                                    central_public=central.key.public.hex(),
                                    central_fingerprint=central.key.fingerprint, parent=parent))
    tier = {"V": "village", "T": "town", "S": "subcentre"}[node_id[0]]
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("node.enrolled", {"node": node_id, "tier": tier, "name": name, "public_key": key.public.hex(),
                           "key": key.key_id, "from_seq": 1}),
        ("staff.account", staff("clerk", ["village_clerk" if tier == "village" else "town_clerk"], [node_id],
                                name="王村干")),
        ("staff.account", staff("admin", ["node_admin"], [node_id], name="李站长")),
        ("staff.account", staff("outsider", ["village_clerk"], ["V999999"], name="外村人")),
        ("catalogue.published", catalogue_body(load(), 1)),
        ("calendar.year", calendar_year_body(WorkCalendar.packaged().year_data(2026))),
    ]
    bodies += [("staff.account", s) for s in extra_staff or []]
    records = [central.sign(kind, body) for kind, body in bodies]
    ingest(folder, node_id, central, records)
    return central


def ingest(folder: Path, node_id: str, central: TestCentral, records: list[Record]) -> None:
    """Store central's records in the node's log the way a pull does (checked, projected)."""
    log = LogStore.open(folder / DB_FILE, network=NET, origin=node_id, central_public=central.key.public)
    try:
        projections.register_all(log)
        result = log.ingest(records)
        assert result.ok, result.refused
    finally:
        log.close()


def sign_in(page: Any, base: str, username: str = "clerk", password: str = PASSWORD) -> None:
    """Sign in through the real login form in Chromium."""
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
