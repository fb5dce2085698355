"""A real central for the sync tests: a minimal Flask app mounting the sync blueprint over a real
LogStore in tmp_path, served by waitress on 127.0.0.1 (port 0) in a thread; nodes with real
LogStores and SyncClients; and the fault-injecting proxy between them.

Central's app proper is built elsewhere; the blueprint is self-contained, so this app is only
the few lines every app needs to mount it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from serving import Served

from sync.blobs import BlobStore
from sync.client import SyncClient
from sync.keys import NodeKey
from sync.logstore import LogStore
from sync.requestauth import NonceStore
from sync.sealing import SealingKey
from sync.server import EnrolmentBook, SyncConfig, create_sync_blueprint, route_everything
from tests.sync.faultproxy import FaultProxy

NET = "test"
CENTRAL_KEY = NodeKey.from_seed(b"c" * 32)
CENTRAL_SEALING = SealingKey.from_seed(b"s" * 32)
"""Central's sealing key: the scans in a village's bundle are sealed to it (sync/sealing.py)."""
SEAL_TO = CENTRAL_SEALING.recipient("C")


def node_key(node: str) -> NodeKey:
    """A fixed key per node id, so failures reproduce."""
    return NodeKey.from_seed((node * 32).encode()[:32])


def enrol_record(central: LogStore, node: str, key: NodeKey, from_seq: int = 1):  # type: ignore[no-untyped-def]
    tier = {"T": "town", "V": "village", "S": "subcentre"}[node[0]]
    return central.append("node.enrolled", {"node": node, "tier": tier, "name": f"{node} 便民服务点",
                                            "public_key": key.public.hex(), "key": key.key_id,
                                            "from_seq": from_seq})


@dataclass
class Central:
    store: LogStore
    blobs: BlobStore
    tokens: EnrolmentBook
    served: Served
    config: SyncConfig
    folder: Path
    nonces: NonceStore
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

    def close(self) -> None:
        """Stop serving and close every file: a worker process runs hundreds of these."""
        self.served.close()
        self.nonces.close()
        self.blobs.close()
        self.store.close()


def make_central(folder: Path, *, config: SyncConfig | None = None,
                 route: Callable | None = None, group: Callable | None = None,  # type: ignore[type-arg]
                 plain_bundles_until: Any = None) -> Central:
    import time

    folder.mkdir(parents=True, exist_ok=True)
    store = LogStore.open(folder / "central.sqlite", network=NET, origin="C", signer=CENTRAL_KEY)
    blobs = BlobStore(folder / "blobs", max_size=(config or SyncConfig()).max_blob_size)
    tokens = EnrolmentBook(store)
    config = config or SyncConfig()
    shift = [0.0]
    nonces = NonceStore(folder / "nonces.sqlite", window=config.replay_window)
    app = Flask("test-central")
    app.register_blueprint(create_sync_blueprint(
        store, route=route or route_everything, group=group, tokens=tokens, blobs=blobs, config=config,
        nonces=nonces, clock=lambda: time.time() + shift[0], sealing=CENTRAL_SEALING,
        plain_bundles_until=plain_bundles_until))
    served = Served(app, channel_timeout=30)
    return Central(store, blobs, tokens, served, config, folder, nonces, shift)


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    c = make_central(tmp_path / "central")
    yield c
    c.close()


@dataclass
class Node:
    id: str
    key: NodeKey
    store: LogStore
    blobs: BlobStore
    client: SyncClient
    folder: Path

    def close(self) -> None:
        self.client.session.close()
        self.blobs.close()
        self.store.close()


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
def node_factory(tmp_path: Path, central: Central) -> Iterator[Callable[..., Node]]:
    """Enrol and open a node against `central` (or a given url, e.g. through the fault proxy)."""

    made: list[Node] = []

    def make(node: str = "V000001", *, url: str | None = None, enrol: bool = True, **kw) -> Node:  # type: ignore[no-untyped-def]
        if enrol and node not in (central.store.directory.nodes if central.store.directory else {}):
            central.enrol(node)
        made.append(make_node(tmp_path / node, node, url or central.url, **kw))
        return made[-1]

    yield make
    for n in made:
        n.close()


@pytest.fixture
def proxy(central: Central) -> Iterator[FaultProxy]:
    p = FaultProxy("127.0.0.1", central.served.port)
    yield p
    p.close()
