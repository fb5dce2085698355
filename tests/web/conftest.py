"""Fixtures of the web tests: the test app of web_testapp.py, served by waitress in a thread."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from serving import serve
from web_testapp import make_app


@pytest.fixture
def app_factory(tmp_path: Path) -> Callable[..., Flask]:
    def factory(**config: Any) -> Flask:
        return make_app(tmp_path / "data", **config)

    return factory


@pytest.fixture
def served(app_factory: Callable[..., Flask]) -> Iterator[Callable[..., Any]]:
    """Call with config overrides; returns (app, base_url) of a running server."""
    stack: list[Any] = []

    def start(**config: Any) -> tuple[Flask, str]:
        app = app_factory(**config)
        ctx = serve(app)
        url = ctx.__enter__()
        stack.append(ctx)
        return app, url

    yield start
    for ctx in reversed(stack):
        ctx.__exit__(None, None, None)


@pytest.fixture
def base_url(served: Callable[..., Any]) -> str:
    return served()[1]
