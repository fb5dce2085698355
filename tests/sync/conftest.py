"""A real central for the sync tests: a minimal Flask app mounting the sync blueprint over a real
LogStore in tmp_path, served by waitress on 127.0.0.1 (port 0) in a thread; nodes with real
LogStores and SyncClients; and the fault-injecting proxy between them.

Central's app proper is built elsewhere; the blueprint is self-contained, so this app is only
the few lines every app needs to mount it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from waitress.server import create_server

from sync.blobs import BlobStore
from sync.client import SyncClient
from sync.keys import NodeKey
from sync.logstore import LogStore
from sync.requestauth import NonceStore
from sync.server import EnrolmentBook, SyncConfig, create_sync_blueprint, route_everything
from tests.sync.faultproxy import FaultProxy

NET = "test"
CENTRAL_KEY = NodeKey.from_seed(b"c" * 32)


def node_key(node: str) -> NodeKey:
    """A fixed key per node id, so failures reproduce."""
    return NodeKey.from_seed((node * 32).encode()[:32])


def enrol_record(central: LogStore, node: str, key: NodeKey, from_seq: int = 1):  # type: ignore[no-untyped-def]
    tier = {"T": "town", "V": "village", "S": "subcentre"}[node[0]]
    return central.append("node.enrolled", {"node": node, "tier": tier, "name": f"{node} 便民服务点",
                                            "public_key": key.public.hex(), "key": key.key_id,
                                            "from_seq": from_seq})


class Served:
    """A WSGI app on 127.0.0.1:<free port> in a thread; `close()` stops it."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = create_server(app, host="127.0.0.1", port=0, threads=4, channel_timeout=30)
        self.port = self.server.effective_port  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with contextlib.suppress(OSError):  # the socket closed under the select loop: that is how it stops
            self.server.run()

    def close(self) -> None:
        self.server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]  # in-flight answers first
        self.server.close()


@dataclass
class Central:
    store: LogStore
    blobs: BlobStore
    tokens: EnrolmentBook
    served: Served
    config: SyncConfig
    folder: Path
    clock_shift: list[float] = field(default_factory=lambda: [0.0])

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def routes(self):  # type: ignore[no-untyped-def]
        """The blueprint's routing queues (bundles are answered with them)."""
        return self.served.app.extensions["bianmin_sync"]["routes"]

    def enrol(self, node: str) -> NodeKey:
        key = node_key(node)
        enrol_record(self.store, node, key)
        return key


def make_central(folder: Path, *, config: SyncConfig | None = None,
                 route: Callable | None = None, group: Callable | None = None) -> Central:  # type: ignore[type-arg]
    import time

    folder.mkdir(parents=True, exist_ok=True)
    store = LogStore.open(folder / "central.sqlite", network=NET, origin="C", signer=CENTRAL_KEY)
    blobs = BlobStore(folder / "blobs", max_size=(config or SyncConfig()).max_blob_size)
    tokens = EnrolmentBook(store)
    config = config or SyncConfig()
    shift = [0.0]
    app = Flask("test-central")
    app.register_blueprint(create_sync_blueprint(
        store, route=route or route_everything, group=group, tokens=tokens, blobs=blobs, config=config,
        nonces=NonceStore(folder / "nonces.sqlite", window=config.replay_window),
        clock=lambda: time.time() + shift[0]))
    served = Served(app)
    return Central(store, blobs, tokens, served, config, folder, shift)


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    c = make_central(tmp_path / "central")
    yield c
    c.served.close()


@dataclass
class Node:
    id: str
    key: NodeKey
    store: LogStore
    blobs: BlobStore
    client: SyncClient
    folder: Path


def make_node(folder: Path, node: str, url: str, *, key: NodeKey | None = None, batch: int = 200,
              retries: int = 0) -> Node:
    key = key or node_key(node)
    folder.mkdir(parents=True, exist_ok=True)
    store = LogStore.open(folder / "node.sqlite", network=NET, origin=node, signer=key,
                          central_public=CENTRAL_KEY.public)
    blobs = BlobStore(folder / "blobs", chunk_size=256 * 1024)
    client = SyncClient(store, url, key=key, central_public=CENTRAL_KEY.public,
                        state_path=folder / "sync-state.json", blobs=blobs, batch=batch, timeout=10,
                        retries=retries)
    return Node(node, key, store, blobs, client, folder)


@pytest.fixture
def node_factory(tmp_path: Path, central: Central) -> Callable[..., Node]:
    """Enrol and open a node against `central` (or a given url, e.g. through the fault proxy)."""

    def make(node: str = "V000001", *, url: str | None = None, enrol: bool = True, **kw) -> Node:  # type: ignore[no-untyped-def]
        if enrol and node not in (central.store.directory.nodes if central.store.directory else {}):
            central.enrol(node)
        return make_node(tmp_path / node, node, url or central.url, **kw)

    return make


@pytest.fixture
def proxy(central: Central) -> Iterator[FaultProxy]:
    p = FaultProxy("127.0.0.1", central.served.port)
    yield p
    p.close()
