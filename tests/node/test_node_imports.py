"""A node starts on an old PC with little memory (bench/node_footprint.py: <= 80 MB after use), so
what only a download or an upload needs (python-docx with lxml for a Word form, openpyxl for a
workbook, Pillow for a scan: about 15 MB together) is loaded when first used, not at start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nodekit

HEAVY = ("docx", "lxml", "openpyxl", "PIL")


def test_starting_a_node_and_using_its_pages_loads_no_download_library(tmp_path: Path) -> None:
    folder = tmp_path / "village"
    nodekit.make_node(folder)
    script = f"""
import re, sys
from node.app import create_app
app = create_app({{"DATA_DIR": {str(folder)!r}}})
client = app.test_client()
token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
client.post("/login", data={{"username": "clerk", "password": {nodekit.PASSWORD!r}, "csrf_token": token}})
for path in ("/", "/cases/", "/guide/", "/guide/item/MZJ001", "/guide/item/MZJ001/form", "/reports/", "/sync/"):
    assert client.get(path).status_code == 200, path
print(" ".join(sorted({{m.split(".")[0] for m in sys.modules}})))
client.get("/guide/item/MZJ001/form.docx")
print(" ".join(sorted({{m.split(".")[0] for m in sys.modules}})))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    before, after = (set(line.split()) for line in out.stdout.strip().splitlines()[-2:])
    assert not before & set(HEAVY), before & set(HEAVY)
    assert "docx" in after  # the test can fail: the download does load it
