"""One running node: its configuration, record log, blobs and sync status, opened once per process.

Every change the node makes is `Node.append(kind, body)`: sync signs it, chains it and stores it,
and the store's projectors update the node's tables in the same transaction, so a page that
reloads after a POST always sees its own write. Pages read through their own per-request
connection to the same SQLite file (WAL: readers never wait for the writer).

The node works with the city unreachable: nothing here needs the network. The sync loop
(node.syncloop) moves records when the link is there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from casework.calendar import WorkCalendar
from casework.catalogue import Catalogue
from node.config import BLOBS_DIR, DB_FILE, SYNC_STATE_FILE, NodeConfig, read_config
from store import calendar as store_calendar
from store import catalogue as store_catalogue
from store import projections
from sync.blobcrypt import DataKey, default_data_key_path
from sync.blobs import BlobStore
from sync.envelope import Record
from sync.keys import NodeKey, default_key_path
from sync.logstore import LogStore
from sync.sealing import KIND as SEALING_KIND
from sync.sealing import Recipient, newest
from sync.status import StateFile, SyncStatus, snapshot

log = logging.getLogger(__name__)


@dataclass
class Node:
    """The open node. Build with `Node.open(data_dir)`; share it between threads."""

    data_dir: Path
    config: NodeConfig
    log: LogStore
    blobs: BlobStore
    state_file: StateFile

    @classmethod
    def open(cls, data_dir: str | Path) -> Node:
        folder = Path(data_dir)
        config = read_config(folder)
        db_path = folder / DB_FILE
        key = NodeKey.load(default_key_path(db_path))
        log = LogStore.open(db_path, network=config.network, origin=config.node_id, signer=key,
                            central_public=config.central_public_bytes)
        projections.register_all(log)  # creates or upgrades every projection's tables
        blobs = open_blobs(folder)
        return cls(folder, config, log, blobs, StateFile(folder / SYNC_STATE_FILE))

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE

    def close(self) -> None:
        self.log.close()
        self.blobs.close()

    # --- writing ------------------------------------------------------------------------------
    def append(self, kind: str, body: dict[str, Any]) -> Record:
        """Sign, store and project one record of this node."""
        return self.log.append(kind, body)

    def append_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[Record]:
        """Several records in one transaction: all of them are stored, or none."""
        return self.log.append_many(items)

    # --- reading ------------------------------------------------------------------------------
    def catalogue(self, db: Any) -> Catalogue | None:
        return store_catalogue.current_catalogue(db)

    def calendar(self, db: Any) -> WorkCalendar:
        return store_calendar.work_calendar(db)

    def parent(self) -> str:
        """A village room's town centre: node.toml's `parent`, else the latest `directory.placed`
        record central signed for this node (`{"node", "name", "town"}`), else ""."""
        if self.config.parent:
            return self.config.parent
        town = ""
        for stored in self.log.records_after(0, kinds=["directory.placed"], origins=["C"], limit=100_000):
            body = stored.record.body
            if body.get("node") == self.config.node_id and isinstance(body.get("town"), str):
                town = body["town"]
        return town

    def seal_to(self) -> Recipient | None:
        """Central's sealing key (the scans in a USB bundle are sealed to it, sync/sealing.py): the
        newest central published, from a `sealing.key` record received by sync or in a reply, or the
        one the enrolment answer carried (node.toml), checked against central's pinned key. None
        for a node enrolled before central had one that has not synced since: its bundles then
        carry records only, and its scans wait for the key."""
        pinned = Recipient.from_wire(self.config.central_sealing, owner_public=self.config.central_public_bytes,
                                     network=self.config.network)
        received = [Recipient.from_record(s.record)
                    for s in self.log.records_after(0, kinds=[SEALING_KIND], origins=["C"], limit=100_000)]
        return newest(pinned, *received)

    def sync_status(self) -> SyncStatus:
        """What the home page shows about sync, with counts read fresh from the log."""
        pending = self.log.count_pending("C")
        oldest = None
        if pending:
            sent = self.log.cursor("C", "sent")
            first = self.log.records_of(self.config.node_id, sent + 1, sent + 1)
            if first:
                oldest = _epoch(first[0].time)
        return snapshot(self.state_file.load(), pending=pending, oldest_unsent=oldest)


def open_blobs(folder: Path) -> BlobStore:
    """The node's scans, encrypted at rest under its data key (`scans.key`, made on first use; see
    sync/blobcrypt.py). Plain files left from an older version are encrypted here, once, so simply
    starting the new version protects them (`bianmin upgrade` does the same and reports it)."""
    key, created = DataKey.load_or_create(default_data_key_path(folder / DB_FILE))
    blobs = BlobStore(folder / BLOBS_DIR, cipher=key)
    if created and blobs.unreadable():
        log.warning("a new scan key was made although scans are held here: those written under the old key "
                    "cannot be read; they are fetched again from the city where it holds them")
    if blobs.encryption_pending():
        done = blobs.encrypt_existing()
        if done:
            log.info("scans encrypted at rest: %s files", done)
    return blobs


def _epoch(iso: str) -> float | None:
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None
