"""Fixtures every test package shares: a real Chromium, and a folder for screenshots.

Browser tests need Debian's chromium (`.ci/run` installs it). On a developer machine without it
they are skipped with the reason; under CI (CI=true) a missing browser is a failure, so a green
CI run always means the pages were really driven.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    for name in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if name and Path(name).exists():
            return name
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """A headless Chromium driven by Playwright, shared by a worker's browser tests."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run should have installed it")
        pytest.skip("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context at 1366x768, the screen size of a village PC."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where a test saves screenshots and PDFs for a person to look at."""
    folder = ARTIFACTS / request.node.module.__name__.split(".")[-1]
    folder.mkdir(parents=True, exist_ok=True)
    return folder
