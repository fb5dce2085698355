"""A real central (made by `bianmin central init`, served by waitress on 127.0.0.1) and real nodes
enrolled against it with one-time tokens, for the backup, restore, doctor and install tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from installer_kit import CLERK_PASSWORD, NETWORK
from serving import serve

from central.cli import central as central_cli
from node.cli import node as node_cli


@pytest.fixture(scope="session")
def central_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inst-central") / "data"
    runner = CliRunner()
    result = runner.invoke(central_cli, ["init", "--data", str(folder), "--admin-password", "admin-pass-1",
                                         "--network", NETWORK])
    assert result.exit_code == 0, result.output
    result = runner.invoke(central_cli, ["staff", "add", "clerk", "--data", str(folder), "--role", "village_clerk",
                                         "--role", "town_clerk", "--password", CLERK_PASSWORD, "--name", "王村干"])
    assert result.exit_code == 0, result.output
    return folder


@dataclass
class LiveCentral:
    folder: Path
    url: str
    app: Any
    last_output: str = ""

    def token(self, node_id: str, name: str = "") -> str:
        return self.app.extensions["bianmin_sync"]["tokens"].issue(node_id, name or node_id)

    def revoke(self, node_id: str, reason: str = "the PC was lost") -> None:
        """What an administrator does on the nodes page when a PC and its key are gone."""
        central = self.app.extensions["central"]
        entry = central.log.directory.current(node_id)
        central.sign("node.revoked", {"node": node_id, "key": entry.key_id, "compromised_at": central.log.tree_size(),
                                      "reason": reason, "staff": "admin"})

    def holds(self, origin: str) -> int:
        """How many records of `origin` central holds (its head seq)."""
        return self.app.extensions["central"].log.head(origin)[0]

    def enrol(self, folder: Path, node_id: str = "V000101", parent: str = "T0101") -> Path:
        args = ["init", "--data", str(folder), "--central", self.url, "--token", self.token(node_id),
                "--node-id", node_id, "--network", NETWORK]
        if parent:
            args += ["--parent", parent]
        result = CliRunner().invoke(node_cli, args)
        assert result.exit_code == 0, result.output
        self.last_output = result.output
        return folder


@pytest.fixture
def live_central(central_template: Path, tmp_path: Path) -> Iterator[LiveCentral]:
    from central.app import create_app

    folder = tmp_path / "central"
    shutil.copytree(central_template, folder)
    app = create_app({"DATA_DIR": str(folder), "SMS_SENDER": False})
    try:
        with serve(app) as url:
            yield LiveCentral(folder, url, app)
    finally:
        app.extensions["central"].close()


@pytest.fixture
def enrolled_node(live_central: LiveCentral, tmp_path: Path) -> Callable[..., Path]:
    def make(node_id: str = "V000101", parent: str = "T0101") -> Path:
        return live_central.enrol(tmp_path / f"node-{node_id}", node_id, parent)

    return make
