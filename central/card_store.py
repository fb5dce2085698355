"""Service-card projects (一卡通) as a projection of `card.registered` records.

A card is a record central signs at the card window; this table finds a project by its card
number at any window. The cases of a project are found through board_cases.card.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from store.db import migrate


def _create(db: Database) -> None:
    db.execute(
        "CREATE TABLE card_projects (card TEXT PRIMARY KEY, name TEXT NOT NULL, project_type TEXT NOT NULL,"
        " investment_fen INTEGER NOT NULL, owner TEXT NOT NULL, contact TEXT NOT NULL, phone TEXT NOT NULL,"
        " address TEXT NOT NULL, day TEXT NOT NULL, clerk TEXT NOT NULL, record_id TEXT NOT NULL,"
        " body TEXT NOT NULL)")


MIGRATIONS = [_create]


def ensure_schema(db: Database) -> None:
    migrate(db, "central_cards", MIGRATIONS)


def reset(db: Database) -> None:
    db.execute("DELETE FROM card_projects")


def project(db: Database, record_id: str, day: str, body: dict[str, Any]) -> None:
    p = body["project"]
    db.execute(
        "INSERT OR IGNORE INTO card_projects (card, name, project_type, investment_fen, owner, contact, phone,"
        " address, day, clerk, record_id, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [body["card"], p["name"], p["type"], p["investment_fen"], p["owner"], p.get("contact", ""),
         p.get("phone", ""), p.get("address", ""), day, body.get("staff", ""), record_id,
         json.dumps(body, ensure_ascii=False)])


@dataclass(frozen=True)
class Project:
    card: str
    name: str
    project_type: str
    investment_fen: int
    owner: str
    contact: str
    phone: str
    address: str
    day: str
    clerk: str
    record_id: str


_SELECT = ("SELECT card, name, project_type, investment_fen, owner, contact, phone, address, day, clerk,"
           " record_id FROM card_projects")


def get(db: Database, card: str) -> Project | None:
    row = db.execute(f"{_SELECT} WHERE card = ?", [card]).fetchone()
    return Project(*row) if row else None


def recent(db: Database, limit: int = 50) -> list[Project]:
    return [Project(*r) for r in db.execute(f"{_SELECT} ORDER BY day DESC, card DESC LIMIT ?", [limit])]


def count_on(db: Database, prefix: str) -> int:
    return db.execute("SELECT count(*) FROM card_projects WHERE card >= ? AND card < ?",
                      [prefix, prefix + "\uffff"]).fetchone()[0]
