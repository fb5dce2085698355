"""The sync benchmarks run end to end at a tiny size, so they cannot rot between real runs.

Each bench script prints `name=value` lines with its headline last; here only that they run,
move every record, and print a sensible headline is checked, not the figures."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run(script: str, *args: str, timeout: int = 300) -> dict[str, str]:
    out = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                         timeout=timeout, cwd=BENCH.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [line for line in out.stdout.splitlines() if "=" in line]
    values = dict(line.split("=", 1) for line in lines)
    values["_last"] = lines[-1].split("=", 1)[0]
    return values


def test_sync_ingest_bench_runs():
    v = run("sync_ingest.py", "--records", "300", "--batch", "100", "--repeat", "1")
    assert v["_last"] == "ratio_to_verify_limit" and float(v["ratio_to_verify_limit"]) > 0
    assert v["records"] == "300" and float(v["verify_per_s_one_core"]) > 0


def test_sync_wire_bench_runs():
    v = run("sync_wire.py", "--records", "300", "--batch", "100")
    assert v["_last"] == "wire_ratio" and 0.5 < float(v["wire_ratio"]) < 3


@pytest.mark.slow
def test_sync_vs_pouchdb_bench_runs():
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm and node are needed to install and run PouchDB")
    v = run("sync_vs_pouchdb.py", "--records", "200", "--batch", "100", "--repeat", "1", timeout=600)
    assert v["_last"] == "ratio_vs_pouchdb" and float(v["ratio_vs_pouchdb"]) > 0


def test_sync_pull_bench_runs():
    """A node pulling its few records out of a central busy with other places: it holds only them."""
    v = run("sync_pull.py", "--others", "1500", "--routed", "5")
    assert v["_last"] == "wire_ratio_to_routed" and float(v["wire_ratio_to_routed"]) > 0
    assert v["node_routed_records"] == "5" and v["node_foreign_case_records_held"] == "0"
    assert int(v["node_elisions_held"]) >= 5 and v["late_foreign_case_records_held"] == "0"


def test_bundle_sealing_bench_runs():
    """Sealed against plain USB bundles: every scan reaches central both ways, the figures print."""
    v = run("bundle_sealing.py", "--scans", "3", "--mb", "0.2", "--repeat", "1")
    assert v["_last"] == "sealed_to_plain_time_ratio" and float(v["sealed_to_plain_time_ratio"]) > 0
    assert float(v["sealed_export_peak_mb"]) < float(v["plain_export_peak_mb"])  # streamed, not held whole
