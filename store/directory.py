"""The node directory as a table for screens: who is enrolled, with which keys, and when last heard.

The authoritative directory (which key may sign for which origin) is `sync.keys.Directory`, folded
by the LogStore from central's `node.*` records and checked on every ingest. This module only
projects the same records into a table an administration screen can list and sort:

    node, tier, name, key_ids (JSON list, oldest first), current_key, status, enrolled_seq,
    last_seq, last_contact

`status` is `active`, or `revoked` when the node's current key is revoked (it must be re-enrolled).
`last_seq` / `last_contact` are the highest seq of that origin this file holds and the local time
(UTC ISO, the log's `received_at`) it was stored: at central that is when the node last uploaded,
which is what a supervisor looking for a silent village wants. Every stored record of any kind
updates them, so `project` is registered for every record.

Bodies (sync/keys.py): `node.enrolled` {node, tier, name, public_key, key, from_seq?};
`node.key_rotated` {node, old_key, new_key, public_key, from_seq, proof};
`node.revoked` {node, key, compromised_at, reason?}. Only central's (`C`) count; the log has
already refused malformed ones, so a body this module cannot read is reported, never raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from store.db import migrate

KINDS = frozenset({"node.enrolled", "node.key_rotated", "node.revoked"})
TIERS = {"C": "central", "T": "town", "V": "village", "S": "subcentre"}


@dataclass(frozen=True)
class NodeRow:
    """One origin as the directory screen shows it."""

    node: str
    tier: str
    name: str
    key_ids: tuple[str, ...]
    current_key: str | None
    status: str            # active | revoked | unknown (records held, never enrolled here)
    enrolled_seq: int | None
    last_seq: int | None
    last_contact: str | None


def _create_tables(db: Database) -> None:
    db.execute(
        "CREATE TABLE directory_nodes ("
        " node TEXT PRIMARY KEY,"
        " tier TEXT NOT NULL,"
        " name TEXT NOT NULL DEFAULT '',"
        " key_ids TEXT NOT NULL DEFAULT '[]',"
        " current_key TEXT,"
        " revoked_keys TEXT NOT NULL DEFAULT '[]',"
        " status TEXT NOT NULL DEFAULT 'unknown',"
        " enrolled_seq INTEGER,"
        " last_seq INTEGER,"
        " last_contact TEXT)"
    )
    db.execute("CREATE INDEX directory_nodes_tier ON directory_nodes (tier, node)")


MIGRATIONS = [_create_tables]


def ensure_schema(db: Database) -> None:
    """Create or upgrade the directory table; cheap when current."""
    migrate(db, "directory", MIGRATIONS)


def reset(db: Database) -> None:
    """Empty the projection (before a rebuild from the log)."""
    db.conn.execute("DELETE FROM directory_nodes")


def _tier(node: str) -> str:
    return TIERS.get(node[:1], "unknown")


def _row(db: Database, node: str) -> dict[str, Any]:
    row = db.conn.execute(
        "SELECT key_ids, current_key, revoked_keys, status FROM directory_nodes WHERE node = ?", [node]
    ).fetchone()
    if row is None:
        db.conn.execute("INSERT INTO directory_nodes (node, tier) VALUES (?, ?)", [node, _tier(node)])
        return {"key_ids": [], "current_key": None, "revoked_keys": [], "status": "unknown"}
    return {"key_ids": json.loads(row[0]), "current_key": row[1], "revoked_keys": json.loads(row[2]),
            "status": row[3]}


def _save(db: Database, node: str, row: dict[str, Any], **extra: Any) -> None:
    status = "revoked" if row["current_key"] in row["revoked_keys"] else (
        "active" if row["current_key"] else "unknown")
    sets = {"key_ids": json.dumps(row["key_ids"]), "current_key": row["current_key"],
            "revoked_keys": json.dumps(sorted(row["revoked_keys"])), "status": status, **extra}
    db.conn.execute(
        f"UPDATE directory_nodes SET {', '.join(f'{k} = ?' for k in sets)} WHERE node = ?",
        [*sets.values(), node],
    )


def _contact(db: Database, record: Any, received: str | None) -> None:
    if received is None:
        found = db.conn.execute("SELECT received_at FROM records WHERE id = ?", [record.id]).fetchone()
        received = found[0] if found else None
    db.conn.execute(
        "INSERT INTO directory_nodes (node, tier, last_seq, last_contact) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (node) DO UPDATE SET last_seq = excluded.last_seq, last_contact = excluded.last_contact"
        " WHERE directory_nodes.last_seq IS NULL OR excluded.last_seq > directory_nodes.last_seq",
        [record.origin, _tier(record.origin), record.seq, received],
    )


def project(db: Database, record: Any, *, received_at: str | None = None) -> str | None:
    """Update last contact for every record; fold `node.*` records of central into the table.

    `received_at` is the log's stamp for the record (looked up when not given)."""
    _contact(db, record, received_at)
    if record.kind not in KINDS:
        return None
    if record.origin != "C":
        return f"{record.kind}: only central signs the directory"
    body = record.body
    try:
        node = body["node"]
        row = _row(db, node)
        if record.kind == "node.enrolled":
            row["key_ids"].append(body["key"])
            row["current_key"] = body["key"]
            _save(db, node, row, name=str(body.get("name", "")), enrolled_seq=record.seq)
        elif record.kind == "node.key_rotated":
            row["key_ids"].append(body["new_key"])
            row["current_key"] = body["new_key"]
            _save(db, node, row)
        else:
            row["revoked_keys"].append(body["key"])
            _save(db, node, row)
    except (KeyError, TypeError, ValueError) as err:
        return f"{record.kind}: unreadable body ({type(err).__name__}: {err})"
    return None


_COLUMNS = "node, tier, name, key_ids, current_key, status, enrolled_seq, last_seq, last_contact"


def _node(row: tuple[Any, ...]) -> NodeRow:
    node, tier, name, key_ids, current, status, enrolled, last_seq, last_contact = row
    return NodeRow(node, tier, name, tuple(json.loads(key_ids)), current, status, enrolled, last_seq, last_contact)


def list_nodes(db: Database, *, tier: str | None = None, status: str | None = None) -> list[NodeRow]:
    """Every origin known here (enrolled, or only seen in records), by tier then id."""
    where, args = [], []
    if tier is not None:
        where.append("tier = ?")
        args.append(tier)
    if status is not None:
        where.append("status = ?")
        args.append(status)
    sql = f"SELECT {_COLUMNS} FROM directory_nodes"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return [_node(r) for r in db.execute(sql + " ORDER BY tier, node", args)]


def get_node(db: Database, node: str) -> NodeRow | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM directory_nodes WHERE node = ?", [node]).fetchone()
    return _node(row) if row else None


def node_name(db: Database, node: str) -> str:
    """The enrolled name of `node` for screens, or the id itself when no name is known."""
    row = db.execute("SELECT name FROM directory_nodes WHERE node = ?", [node]).fetchone()
    return row[0] if row and row[0] else node
