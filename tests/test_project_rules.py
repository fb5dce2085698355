"""The project's own rules, checked by the suite: style (ruff) and the layers of DESIGN.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_ruff_clean() -> None:
    result = subprocess.run(
        [str(BIN / "ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_layer_contracts_hold() -> None:
    """import-linter checks the contracts written in pyproject.toml (DESIGN.md's import rule)."""
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_layer_contracts_can_fail(tmp_path: Path) -> None:
    """A deliberate bad import in a copy of the tree is caught, so the check above means something."""
    import shutil

    copy = tmp_path / "tree"
    shutil.copytree(
        ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "test-artifacts", "*.sqlite*")
    )
    (copy / "casework" / "_bad.py").write_text("import web  # crosses the layers\n")
    result = subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"], cwd=copy, capture_output=True, text=True,
        env={"PYTHONPATH": str(copy), "PATH": str(BIN)},
    )
    assert result.returncode != 0
    assert "casework._bad" in result.stdout
