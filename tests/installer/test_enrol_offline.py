"""A village room with no link at all: enrolled by files carried on a USB stick, its first records
brought by a bundle a town centre carries over its own link; then a clerk can log in."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from installer_kit import NETWORK

from bianmin.cli import main
from store.accounts import find
from store.db import open_db


def _ok(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_enrolment_and_first_records_by_usb(live_central, enrolled_node, tmp_path: Path) -> None:
    town = enrolled_node("T0101", parent="")
    village, usb = tmp_path / "village", tmp_path / "usb"
    usb.mkdir()
    _ok(["enrol-offline", "request", "--data", str(village), "--node-id", "V000109", "--token",
         live_central.token("V000109", "偏远村便民服务室"), "--network", NETWORK, "--parent", "T0101",
         "--out", str(usb / "request.json")])
    assert (village / "bianmin.key").stat().st_mode & 0o077 == 0
    assert "PRIVATE" not in (usb / "request.json").read_text()  # the key never leaves the PC
    out = _ok(["enrol-offline", "answer", "--request", str(usb / "request.json"), "--central", live_central.url,
               "--out", str(usb / "answer.json")])
    fingerprint = live_central.app.extensions["central"].key.fingerprint
    assert fingerprint in out
    out = _ok(["enrol-offline", "finish", "--data", str(village), "--answer", str(usb / "answer.json")])
    assert fingerprint in out

    _ok(["node", "bundle-export", "--data", str(village), "--out", str(usb / "v.zip")])
    _ok(["node", "carry", "--data", str(town), str(usb / "v.zip"), "--reply", str(usb / "reply.zip")])
    _ok(["node", "bundle-import", "--data", str(village), str(usb / "reply.zip")])
    db = open_db(village / "bianmin.sqlite")
    try:
        assert find(db, "clerk") is not None  # the clerk can log in, offline
    finally:
        db.conn.close()


def test_answer_for_another_pc_is_refused(live_central, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    token = live_central.token("V000110")
    _ok(["enrol-offline", "request", "--data", str(tmp_path / "a"), "--node-id", "V000110", "--token", token,
         "--network", NETWORK, "--out", str(usb / "a.json")])
    _ok(["enrol-offline", "answer", "--request", str(usb / "a.json"), "--central", live_central.url,
         "--out", str(usb / "ans.json")])
    _ok(["enrol-offline", "request", "--data", str(tmp_path / "b"), "--node-id", "V000110", "--token", token,
         "--network", NETWORK, "--out", str(usb / "b.json")])
    result = CliRunner().invoke(main, ["enrol-offline", "finish", "--data", str(tmp_path / "b"),
                                       "--answer", str(usb / "ans.json")])
    assert result.exit_code != 0 and "another key" in result.output
    assert not (tmp_path / "b" / "node.toml").exists()
