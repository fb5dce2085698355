"""A node whose key is gone (a dead disk, a stolen PC): enrol again and take its history back.

Two cases, one path:
- restored from a backup on a new PC: the backup has the database but never the key file, so the
  node cannot sign; `reenrol(data, token)` makes a new key, enrols it under the SAME node id with
  a fresh one-time token (central signs `node.enrolled` valid from the seq after what it holds of
  this node), checks that central's key is still the one pinned in node.toml, and syncs once:
  sync's head check pulls back every record central holds that the backup lacks;
- nothing at all survived: `bianmin node init --node-id <same id> --token <new token>` on an
  empty folder does the same from nothing; the first sync brings the node's own history back
  from central (records it had sent; what it never sent is gone with the disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from installer.datadir import detect


class RecoveryError(RuntimeError):
    """Enrolment again failed; the message says why."""


@dataclass
class RecoveryResult:
    node_id: str
    fingerprint: str
    recovered: int
    pending: int
    ok: bool
    error: str


def reenrol(data_dir: str | Path, token: str, *, central_url: str | None = None) -> RecoveryResult:
    """Give a restored node a new key under its own id, then sync once (see the module docstring)."""
    from node.config import read_config, write_config
    from sync.client import SyncError, enrol
    from sync.keys import NodeKey

    app = detect(data_dir)
    if app.kind != "node":
        raise RecoveryError("only a node is enrolled again; central's key is restored by its administrators")
    config = read_config(app.root)
    url = (central_url or config.central_url).rstrip("/")
    if not url:
        raise RecoveryError("this node has no city address: give one with --central")
    if app.key.exists():
        raise RecoveryError(f"{app.key} exists: this node can still sign; it needs no new enrolment")
    key = NodeKey.generate()
    try:
        answer = enrol(url, network=config.network, node=config.node_id, token=token.strip(), key=key)
    except SyncError as err:
        raise RecoveryError(f"enrolment refused: {err.code} {err.message}") from err
    if answer.get("central_public_key") != config.central_public:
        raise RecoveryError("the server at that address has another key than the city key pinned in node.toml: "
                            "it is not this node's central; nothing was changed")
    key.save(app.key)
    if central_url and central_url.rstrip("/") != config.central_url:
        from dataclasses import replace

        write_config(app.root, replace(config, central_url=url))
    report, status = sync_recovering(app.root)
    error = ""
    if report.error is not None:
        error = f"{report.error.code} {report.error.message}"
    return RecoveryResult(config.node_id, answer.get("central_fingerprint", ""),
                          report.recovered, status.pending, report.ok, error)


def sync_recovering(data_dir: str | Path, *, retry_fork: bool = False, pull_first: bool = False) -> tuple[Any, Any]:
    """One sync of a restored node whose head check may bring records back: the client gets the
    projections' reset, since taking back history (or rebasing) rebuilds the node's tables from
    its log (LogStore.recover). `retry_fork`: a first sync without that reset (an older node
    app) stopped on `sync.fork`; clear it and let the head check run again. Returns (SyncReport,
    SyncStatus). `pull_first`: a folder that holds none of central's records yet (rebuilt from
    nothing) first pulls the directory, which knows the key its old records were signed with;
    nothing of its own is written before the head check."""
    from node.config import SYNC_STATE_FILE
    from node.context import Node
    from store.projections import reset
    from sync.client import SyncClient
    from sync.keys import NodeKey, default_key_path

    the_node = Node.open(data_dir)
    try:
        client = SyncClient(the_node.log, the_node.config.central_url, key=NodeKey.load(default_key_path(the_node.db_path)),
                            central_public=the_node.config.central_public_bytes,
                            state_path=the_node.data_dir / SYNC_STATE_FILE, blobs=the_node.blobs, timeout=15.0,
                            reset=reset)
        if retry_fork and client.state.stopped and client.state.last_error_code == "sync.fork":
            client.clear_stop()  # a person is recovering this node right now: the head check decides
        if pull_first:
            import contextlib

            from sync.client import SyncError

            with contextlib.suppress(SyncError):  # sync_once below reports the same trouble in plain words
                client.pull()
        report = client.sync_once()
        return report, client.status()
    finally:
        the_node.close()


def rebuild_from_central(data_dir: str | Path, *, central_url: str, token: str, node_id: str,
                         network: str, parent: str = "") -> tuple[Any, Any]:
    """A node with nothing left but its id: enrol it again into an empty folder (`bianmin node
    init`, which shows central's fingerprint) and take its history back from central."""
    from node.cli import init

    folder = Path(data_dir)
    if any(folder.glob("*.sqlite")):
        raise RecoveryError(f"{folder} already holds a database: restore into an empty folder")
    init.callback(data=folder, central_url=central_url, token=token, node_id=node_id, network=network,  # type: ignore[misc]
                  name="", parent=parent, public_url="")
    return sync_recovering(folder, retry_fork=True, pull_first=True)
