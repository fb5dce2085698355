"""Upgrading a data folder in place after a new version of bianmin is installed over an old one.

A village PC is never wiped to get a new schema. Each part of the store keeps an append-only list
of schema steps and `store.db.migrate` applies the ones a file has not seen, recording how far it
got in `schema_version` (one row per component); both apps run those migrations every time they
open their file, so simply starting the new version upgrades the tables. `bianmin upgrade` does it
deliberately, with two things the apps cannot do on their own at start-up:

1. a backup first (installer.backup), so a failed upgrade is one `bianmin restore` away;
2. a projection that is NEW in this version (its component was at version 0 in a file that
   already holds records) is empty although the log holds what it should show: the projections
   are then rebuilt from the log, which is the source of truth (DESIGN.md), so the upgraded node
   shows every case it had, including in the new tables.
3. on a node, scans stored in plain by a version before encryption at rest are encrypted in place
   under the node's scan key (sync/blobcrypt.py; `Node.open` does it, once), and the report says
   how many. The backup taken first holds them as they were: keep it safe, or delete it once the
   upgrade is checked.

A file written by a NEWER version than the installed one is refused by `migrate` (MigrationError)
before anything changes; the report says to install that version again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from installer.datadir import detect


@dataclass
class UpgradeReport:
    kind: str
    before: dict[str, int]
    after: dict[str, int]
    rebuilt: int = 0
    backup: Path | None = None
    error: str = ""
    new_components: list[str] = field(default_factory=list)
    scans_encrypted: int = 0

    @property
    def changed(self) -> dict[str, tuple[int, int]]:
        return {c: (self.before.get(c, 0), v) for c, v in self.after.items() if self.before.get(c, 0) != v}

    def describe(self) -> str:
        if self.error:
            return f"upgrade stopped: {self.error}"
        lines = [f"{self.kind}: " + ("tables already current" if not self.changed else "tables upgraded")]
        lines += [f"  {c}: version {a} -> {b}" for c, (a, b) in sorted(self.changed.items())]
        if self.rebuilt:
            lines.append(f"  new tables filled from the log: {self.rebuilt} records replayed")
        if self.scans_encrypted:
            lines.append(f"  scans encrypted at rest: {self.scans_encrypted}")
        if self.backup:
            lines.append(f"  backup taken first: {self.backup}")
        return "\n".join(lines)


def versions(db_path: Path) -> dict[str, int]:
    """component -> schema version, as the file says (empty for a file without the table)."""
    if not db_path.exists():
        return {}
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").fetchone():
            return {}
        return {c: int(v) for c, v in conn.execute("SELECT component, version FROM schema_version")}
    finally:
        conn.close()


def _record_count(db_path: Path) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT count(*) FROM records").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def upgrade(data_dir: str | Path, *, backup_to: str | Path | None = None, take_backup: bool = True) -> UpgradeReport:
    """Back up, migrate, and rebuild projections that are new in this version (module docstring)."""
    from store.db import MigrationError

    app = detect(data_dir)
    before = versions(app.db)
    report = UpgradeReport(app.kind, before, dict(before))
    if take_backup and app.db.exists():
        from installer.backup import backup

        dest = Path(backup_to) if backup_to else app.root.parent / f"{app.root.name}-before-upgrade"
        report.backup = backup(app.root, dest, keep=3).snapshot.path
    had_records = _record_count(app.db) > 0
    try:
        if app.kind == "node":
            plain = _plain_scans(app.blobs)
            report.rebuilt = _upgrade_node(app.root, before, had_records)
            report.scans_encrypted = plain - _plain_scans(app.blobs)
        else:
            report.rebuilt = _upgrade_central(app.root, before, had_records)
    except MigrationError as err:
        advice = ("install the newer version of bianmin that wrote this folder" if "newer version" in str(err)
                  else "tell the developers; the backup taken first is unchanged")
        report.error = f"{err}; that step was rolled back: {advice}."
        return report
    report.after = versions(app.db)
    report.new_components = [c for c, v in report.after.items() if v and not before.get(c)]
    return report


def _plain_scans(blobs: Path) -> int:
    """Scan files not (yet) in the encrypted format."""
    from sync.blobcrypt import key_id_of

    objects = blobs / "objects"
    return sum(1 for p in objects.glob("??/??/*") if len(p.name) == 64 and key_id_of(p) is None) if objects.is_dir() else 0


def _new_since(before: dict[str, int], after: dict[str, int], had_records: bool) -> bool:
    return had_records and any(v and not before.get(c) for c, v in after.items())


def _upgrade_node(root: Path, before: dict[str, int], had_records: bool) -> int:
    from node.context import Node
    from store import projections

    the_node = Node.open(root)  # runs every pending migration of the shared projections
    try:
        if _new_since(before, versions(the_node.db_path), had_records):
            return projections.rebuild(the_node.log)
        return 0
    finally:
        the_node.close()


def _upgrade_central(root: Path, before: dict[str, int], had_records: bool) -> int:
    from central.datadir import DataDir
    from central.runtime import Central

    central = Central(DataDir(root))  # runs every pending migration of central's tables
    try:
        if _new_since(before, versions(central.data.db), had_records):
            return central.rebuild()
        return 0
    finally:
        central.close()
