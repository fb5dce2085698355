"""Build the offline bundle, install it into a fresh virtual environment with install.sh from the
bundle alone (no package index, no other wheel folder), enrol against a running central, take in
and forward one case with the installed code, sync, and find the case at central.

Wheels are downloaded once into ~/.cache/bianmin-test-wheels (BIANMIN_WHEEL_CACHE overrides); the
test is skipped, saying so, only when the index is unreachable and the cache lacks them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests
from installer_kit import NETWORK

from installer.bundle import BundleError, build
from installer.enrolfile import EnrolFile, write_file

PY = f"{sys.version_info.major}.{sys.version_info.minor}"
CACHE = Path(os.environ.get("BIANMIN_WHEEL_CACHE", Path.home() / ".cache" / "bianmin-test-wheels"))


def _clean_env() -> dict[str, str]:
    """No pip configuration at all: only the bundle's wheels may be used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "VIRTUAL_ENV"}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_NO_INDEX"] = "1"
    env["PYTHON"] = sys.executable
    return env


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "bianmin-bundle"
    try:
        build(out, platforms=("linux", "windows"), pythons=("3.11", "3.12"), cache=CACHE, make_zip=True)
    except BundleError as err:
        if "bianmin wheel" not in str(err) and not any(CACHE.glob("*.whl")):
            pytest.skip(f"no network to the package index and no wheel cache in {CACHE}: {err}")
        raise
    return out


def test_bundle_holds_every_wheel_and_the_package_data(bundle: Path) -> None:
    names = [p.name for p in (bundle / "wheels").glob("*.whl")]
    own = next(n for n in names if n.startswith("bianmin-"))
    for dist in ("flask", "cryptography", "pillow", "waitress", "pypinyin", "segno", "python_stdnum"):
        assert any(n.lower().startswith(dist) for n in names), dist
    assert any("cp312" in n and n.startswith("pillow") for n in names)
    assert any("cp311" in n and n.startswith("pillow") for n in names)
    for python in ("cp311", "cp312"):
        for tag in ("win_amd64", "manylinux"):
            assert any(n.startswith("pillow") and python in n and tag in n for n in names), (python, tag)
    assert any(n.startswith("cryptography") and n.endswith("win_amd64.whl") for n in names)
    with zipfile.ZipFile(bundle / "wheels" / own) as z:
        inside = z.namelist()
    assert any(n.startswith("casework/data/catalogue/") and n.endswith(".toml") for n in inside)
    assert any(n.startswith("casework/data/calendar/") and n.endswith(".json") for n in inside)
    assert "web/translations/zh/LC_MESSAGES/messages.mo" in inside
    assert any(n.startswith("web/templates/") for n in inside) and any("/static/" in n for n in inside)
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert f"wheels/{own}" in manifest["files"] and "install.ps1" in manifest["files"]
    assert bundle.with_suffix(".zip").exists()


@pytest.mark.timeout(600)
def test_install_enrol_take_in_forward_and_see_it_at_central(bundle: Path, live_central, tmp_path: Path) -> None:
    prefix, data, units = tmp_path / "opt", tmp_path / "data", tmp_path / "units"
    card = write_file(tmp_path / "V000101.enrol.toml", EnrolFile(
        central=live_central.url, network=NETWORK, node_id="V000101", parent="T0101",
        token=live_central.token("V000101", "皋南村便民服务室"),
        fingerprint=live_central.app.extensions["central"].key.fingerprint))
    proc = subprocess.run(["sh", str(bundle / "install.sh"), "--prefix", str(prefix), "--data", str(data),
                           "--enrol-file", str(card), "--unit-dir", str(units), "--no-service", "--yes",
                           "--backup-to", str(tmp_path / "usb")],
                          capture_output=True, text=True, env=_clean_env(), timeout=540, check=False, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "fingerprint matches" in proc.stdout
    unit = (units / "bianmin-node.service").read_text()
    assert f"{prefix}/venv/bin/bianmin node run --data {data}" in unit
    assert (units / "bianmin-backup.timer").exists()
    python = prefix / "venv" / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import casework; print(casework.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path, env=_clean_env()).stdout
    assert str(prefix) in where  # the installed copy, not this checkout

    script = (
        "import datetime as dt, random\n"
        "from node.context import Node\n"
        "from installer.casegen import NodeDesk, person\n"
        f"n = Node.open({str(data)!r})\n"
        "case, outcome = NodeDesk(n).take_in('GA006', dt.datetime.now(dt.timezone(dt.timedelta(hours=8))),"
        " person(random.Random(1)))\n"
        "n.close()\n"
        "print(case.number, outcome)\n"
    )
    taken = subprocess.run([str(python), "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False,
                           env=_clean_env())
    assert taken.returncode == 0, taken.stderr
    number, outcome = taken.stdout.split()
    assert outcome == "forwarded"
    synced = subprocess.run([str(prefix / "venv" / "bin" / "bianmin"), "node", "sync", "--data", str(data)],
                            capture_output=True, text=True, cwd=tmp_path, check=False,
                           env=_clean_env())
    assert synced.returncode == 0, synced.stdout + synced.stderr
    state = live_central.app.extensions["central"].fold(number)
    assert state is not None and state.pending_handover == "window:W05"  # in the window's queue

    server = subprocess.Popen([str(prefix / "venv" / "bin" / "bianmin"), "node", "run", "--data", str(data),
                               "--port", "0", "--no-sync"], stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                              env=_clean_env())
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        url = line.split("listening on ")[1].split()[0]
        deadline = time.monotonic() + 20
        while True:
            try:
                page = requests.get(url + "login", timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert page.status_code == 200 and "登录" in page.text  # templates and translations in the wheel
    finally:
        server.terminate()
        server.wait(timeout=20)
