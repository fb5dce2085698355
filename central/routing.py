"""Which node receives which record, and which window a case belongs in.

The sync server asks `Router.nodes_for(record)` (or `wants(node, record)`) when a node pulls:
- configuration (catalogue, calendar, the node directory) goes to every node, so each works
  offline from the same rules;
- a staff account with a node role goes to the nodes it may act for (everywhere for `*`);
  city staff's accounts, password hashes included, never leave the city;
- a case's records go to every node the case has touched: the node that received it, every node
  that has held it or is named as its next holder. A village that forwarded a case up therefore
  sees the window's results come back, and a node the case reaches late is sent its earlier
  records with the first one routed to it (`group_of`). `scans.archived` (the city holds an ended
  case's scans: delete your copies) goes the same way; the retention policy and central's sealing
  key (`sealing.key`: the scans in a USB bundle are sealed to it) go to every node;
Everything else stays at central, among it every place's access records (`access.logged`) and the
nodes' `scans.dropped`: evidence for the city's supervisors, not news for other service points. A node receives exactly these records; for the rest of each
origin's chain it gets central's signed elisions (sync/elision.py), never the records.
Central's own tables (board_cases) know each case's places, so routing needs no fold.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlite_utils import Database

from casework.catalogue import Catalogue
from central import board_store
from sync.envelope import Record

EVERYONE = "*"
NODE_ROLES = frozenset({"village_clerk", "town_clerk", "node_admin"})
_BROADCAST = ("catalogue.published", "calendar.year", "node.enrolled", "node.key_rotated", "node.revoked",
              "directory.placed", "retention.policy", "sealing.key")


class Router:
    def __init__(self, db_getter: Callable[[], Database]) -> None:
        self.db_getter = db_getter

    def nodes_for(self, record: Record) -> set[str]:
        """Node ids that should receive `record`; {"*"} means every node."""
        kind = record.kind
        if kind in _BROADCAST:
            return {EVERYONE}
        if kind == "staff.account":
            # a password hash travels only to the service points where its owner may sign in: never
            # a city administrator's to every village PC
            body = record.body
            if not set(body.get("roles") or []) & NODE_ROLES:
                return set()
            places = body.get("places") or []
            return {EVERYONE} if "*" in places else {p for p in places if isinstance(p, str) and p[:1] in "TVS"}
        if kind.startswith("case.") or kind == "scans.archived":
            case = record.body.get("case")
            return self.case_nodes(case) if isinstance(case, str) else set()
        return set()

    def group_of(self, record: Record) -> str | None:
        """A case's records travel as a group: a node that a case reaches (a town it is forwarded to)
        is sent the case's earlier records with the first one routed to it (sync.server.Routes)."""
        case = record.body.get("case") if record.kind.startswith("case.") else None
        return f"case:{case}" if isinstance(case, str) and case else None

    def wants(self, node: str, record: Record) -> bool:
        targets = self.nodes_for(record)
        return EVERYONE in targets or node in targets

    def case_nodes(self, case: str) -> set[str]:
        db = self.db_getter()
        nodes: set[str] = set()
        for (origin,) in db.execute(
                "SELECT DISTINCT r.origin FROM board_events e JOIN records r ON r.id = e.record_id"
                " WHERE e.case_number = ?", [case]):
            if origin != "C":
                nodes.add(origin)
        for (raw,) in db.execute(
                "SELECT r.raw FROM board_events e JOIN records r ON r.id = e.record_id"
                " WHERE e.case_number = ? AND r.kind = 'case.forwarded'", [case]):
            target = json.loads(raw)["body"].get("to", "")
            if isinstance(target, str) and target.startswith("node:"):
                nodes.add(target[5:])
        row = board_store.get(db, case)
        if row is not None:
            for place in (row.holder, row.queue):
                if place.startswith("node:"):
                    nodes.add(place[5:])
        return nodes


def window_for_item(catalogue: Catalogue, item_code: str) -> str:
    """The window whose queue a case of this item lands in (the combined window for the low-volume
    departments is simply the item's window in the catalogue)."""
    return catalogue.item(item_code).window


def target_for(catalogue: Catalogue, item: dict, towns: dict[str, str], received_node: str) -> str:
    """Where a case of this snapshot should be handled: its town's node for town items received in
    a village of that town, else the item's window at central."""
    if item.get("handle_tier") == "town" and received_node.startswith("V") and received_node in towns:
        return f"node:{towns[received_node]}"
    window = item.get("window") or (catalogue.item(item["code"]).window if catalogue.has_item(item["code"]) else "")
    return f"window:{window}"
