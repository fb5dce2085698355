#!/usr/bin/env python3
"""Set up and run bianmin on a fresh machine that has only Python 3.11+.

    python3 dev.py demo    set up, then run the demo
    python3 dev.py test    set up, then run every test (style and layer rules included)

Setting up means: a virtual environment in .venv with the project and its test tools installed.
It is redone only when pyproject.toml changes, so the second run starts at once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".bianmin-installed"


def setup() -> None:
    """Create .venv and install the project with its test extras when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs before any venv exists
        sys.exit(f"bianmin needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing bianmin and its test tools into .venv ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def run(args: list[str]) -> int:
    return subprocess.call(args, cwd=ROOT)


def main() -> int:
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    rest = sys.argv[2:]
    if what not in {"demo", "test"}:
        print(__doc__)
        return 2
    setup()
    bianmin = str(BIN / "bianmin")
    if what == "demo":
        return run([bianmin, "demo", *rest])
    return run([str(PY), "-m", "pytest", "-n", "2", "--dist", "loadfile", *rest])


if __name__ == "__main__":
    raise SystemExit(main())
