"""Fixtures for the node's tests: an enrolled node folder, the app served by waitress, a signed-in page."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nodekit import TestCentral, make_node
from serving import serve

from node.app import create_app


@pytest.fixture
def village_dir(tmp_path: Path) -> tuple[Path, TestCentral]:
    folder = tmp_path / "village"
    central = make_node(folder, node_id="V000101", parent="T0101")
    return folder, central


@pytest.fixture
def town_dir(tmp_path: Path) -> tuple[Path, TestCentral]:
    folder = tmp_path / "town"
    central = make_node(folder, node_id="T0101", name="如皋市丁堰镇便民服务中心", parent="")
    return folder, central


def _serve(folder: Path, **config: Any) -> Iterator[tuple[str, Any]]:
    app = create_app({"DATA_DIR": str(folder), **config})
    try:
        with serve(app) as url:
            yield url, app
    finally:
        app.extensions["bianmin_node"].close()


@pytest.fixture
def village(village_dir: tuple[Path, TestCentral]) -> Iterator[tuple[str, Any]]:
    yield from _serve(village_dir[0])


@pytest.fixture
def town(town_dir: tuple[Path, TestCentral]) -> Iterator[tuple[str, Any]]:
    yield from _serve(town_dir[0])
