"""The node's side of sync: one client, an optional background loop, and the status screens read.

The loop (sync.client.SyncLoop) runs in the app's process on its own thread, so a clerk never
waits for the network: pages write to the local log, and the loop sends what is pending and
brings back what the city routed here. After every successful exchange the node's housekeeping
runs (node.housekeeping: scans the city archived are dropped here, the retention policy applied),
while the link is known to be up. "Sync now" pokes the loop, or runs one exchange when no
loop runs (`bianmin node sync`, tests). A node without a central URL (USB-only) has no client and
its status says so.
"""

from __future__ import annotations

import logging
import threading

from node import housekeeping
from node.config import SYNC_STATE_FILE
from node.context import Node
from store import projections
from sync.client import SyncClient, SyncLoop, SyncReport
from sync.keys import NodeKey, default_key_path
from sync.status import SyncStatus

log = logging.getLogger(__name__)


class HousekeepingClient(SyncClient):
    """A SyncClient that runs the node's housekeeping after each successful exchange."""

    def __init__(self, node: Node, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.service_point = node  # (`self.node` is the node id, SyncClient's)
        self._check_unreadable = True  # on the first pass, then while a scan is left to fetch

    def sync_once(self) -> SyncReport:
        report = super().sync_once()
        if report.ok:
            try:
                done = housekeeping.run(self.service_point, self, unreadable=self._check_unreadable)
                self._check_unreadable = done.retry_unreadable
            except Exception:  # housekeeping never breaks sync: it is tried again after the next one
                log.exception("housekeeping after sync failed")
        return report


class NodeSync:
    """The sync client of one node (thread-safe: one exchange at a time)."""

    def __init__(self, node: Node, *, interval: float = 60.0) -> None:
        self.node = node
        self.interval = interval
        self._lock = threading.Lock()
        self.client: SyncClient | None = None
        self.loop: SyncLoop | None = None
        if node.config.central_url:
            self.client = HousekeepingClient(
                node, node.log, node.config.central_url, key=NodeKey.load(default_key_path(node.db_path)),
                central_public=node.config.central_public_bytes, state_path=node.data_dir / SYNC_STATE_FILE,
                blobs=node.blobs, timeout=15.0,
                # a restored or forked node rebuilds its tables after recovery instead of stopping
                reset=projections.reset,
            )

    def start(self) -> None:
        if self.client is not None and self.loop is None:
            self.loop = SyncLoop(self.client, interval=self.interval)
            self.loop.start()

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.stop()
            self.loop = None

    def sync_now(self) -> SyncReport | None:
        """Poke the loop (returns None at once), or run one exchange and return its report."""
        if self.client is None:
            return None
        if self.loop is not None:
            self.loop.poke()
            return None
        with self._lock:
            return self.client.sync_once()

    def status(self) -> SyncStatus:
        if self.client is not None:
            return self.client.status()
        return self.node.sync_status()
