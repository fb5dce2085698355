"""Personal data in operations (issue 8), against a real central on loopback and enrolled nodes: the
operators' log holds no ID or phone after a full intake and sync (neither what the code logs nor what
reaches the file); `bianmin upgrade` encrypts the scans an older version stored in plain; a backup
holds scans as ciphertext and never a key, a restore on the same PC reads them, a node that lost its
scan key fetches them again from the city (and doctor names the ones it cannot); scans the node
dropped leave the backup stick too; doctor reports what the retention policy has due."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import shutil
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from installer_kit import CLERK_PASSWORD
from PIL import Image
from serving import serve

from bianmin.cli import main
from installer import backup as bk
from installer.doctor import diagnose, render
from installer.ops_logging import configure
from installer.upgrade import upgrade
from node.app import create_app as create_node
from node.context import Node
from node.syncing import NodeSync
from sync import blobcrypt
from sync.blobs import BlobStore

ID = "11010519491231002X"
PHONE = "13812345678"
PROXY_ID = "320682199001011231"
PROXY_PHONE = "13987654321"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _jpeg(shade: int = 120) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (500, 300), (shade, 160, 200)).save(out, "JPEG")
    return out.getvalue()


class Raw(logging.Handler):
    """Every message as the code logged it, before the ops log's masking filter."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + " " + json.dumps(
            {k: str(v) for k, v in vars(record).items() if k not in vars(logging.makeLogRecord({}))},
            ensure_ascii=False))


@pytest.fixture
def ops_log(tmp_path: Path):  # type: ignore[no-untyped-def]
    raw = Raw()
    root = logging.getLogger()
    before = root.level
    root.addHandler(raw)
    yield raw
    root.removeHandler(raw)
    for handler in list(root.handlers):
        if handler.get_name() == "bianmin-ops":
            root.removeHandler(handler)
            handler.close()
    root.setLevel(before)


def test_the_ops_log_holds_no_id_or_phone_after_intake_and_sync(live_central, enrolled_node, ops_log) -> None:
    folder = enrolled_node()
    path = configure(folder)
    app = create_node({"DATA_DIR": str(folder)})
    try:
        with serve(app) as base:
            s = requests.Session()
            tok = TOKEN.search(s.get(base + "/login").text).group(1)
            s.post(base + "/login", data={"csrf_token": tok, "username": "clerk", "password": "wrong-password"})
            s.post(base + "/login", data={"csrf_token": tok, "username": ID, "password": PHONE})  # typed in the wrong box
            s.post(base + "/login", data={"csrf_token": tok, "username": "clerk", "password": CLERK_PASSWORD})
            tok = TOKEN.search(s.get(base + "/intake/new?item=GA006").text).group(1)
            done = s.post(base + "/intake/new", data={
                "csrf_token": tok, "item": "GA006", "applicant_type": "person", "name": "姚大", "id_number": ID,
                "phone": PHONE, "proxy": "1", "proxy_name": "王村干", "proxy_id": PROXY_ID, "proxy_phone": PROXY_PHONE,
                "authorisation": "委托书", **{f"have_{i}": "1" for i in range(4)}},
                files={"scan_0": ("id.jpg", _jpeg(), "image/jpeg")})
            number = re.search(r'id="case-number">([^<]+)<', done.text).group(1)
            s.get(base + f"/case/{number}/notice/receipt")
            s.get(base + f"/cases/?q={ID}")
            tok = TOKEN.search(s.get(base + "/guide/").text).group(1)
            s.post(base + f"/case/{number}/unmask", data={"csrf_token": tok, "field": "id", "reason": "verify_identity"})
            report = app.extensions["bianmin_node_sync"].sync_now()
            assert report is not None and report.ok and report.blobs_sent == 1
    finally:
        app.extensions["bianmin_node"].close()
    written = path.read_text("utf-8")
    assert written.count("\n") >= 3 and "signed in: clerk" in written   # the log is there and in use
    for secret in (ID, PHONE, PROXY_ID, PROXY_PHONE, ID.lower()):
        assert secret not in written, secret
        assert not [line for line in ops_log.lines if secret in line and "sign-in failed" not in line], secret
    assert "姚大" not in written and not [line for line in ops_log.lines if "姚大" in line]   # nor names
    # the one line that carries what a person typed (a failed sign-in) is masked on its way to the file
    assert "110105********002X" in written


def _plain_store(folder: Path, payloads: list[bytes]) -> list[str]:
    """Scans as a version before encryption at rest stored them: plain files, no scan key."""
    store = BlobStore(folder / "blobs")
    try:
        return [store.put(p) for p in payloads]
    finally:
        store.close()


def test_upgrade_encrypts_the_scans_an_older_version_stored_in_plain(enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    (folder / "scans.key").unlink()                      # an older version had none
    shutil.rmtree(folder / "blobs")
    names = _plain_store(folder, [_jpeg(10), b"%PDF-1.4\nhousehold register\n%%EOF\n"])
    report = upgrade(folder, backup_to=tmp_path / "before")
    assert report.scans_encrypted == 2 and "scans encrypted at rest: 2" in report.describe()
    assert (folder / "scans.key").stat().st_mode & 0o777 == 0o600
    the_node = Node.open(folder)
    try:
        for name in names:
            raw = the_node.blobs.path(name).read_bytes()
            assert raw.startswith(blobcrypt.MAGIC) and b"household" not in raw
        assert the_node.blobs.read(names[1]).startswith(b"%PDF")
    finally:
        the_node.close()
    assert upgrade(folder, take_backup=False).scans_encrypted == 0


def test_backups_hold_ciphertext_and_a_node_without_its_scan_key_fetches_scans_again(
        live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    the_node = Node.open(folder)
    try:
        sent = the_node.blobs.put(_jpeg(30))
        assert NodeSync(the_node).sync_now().ok               # the city holds this one
        unsent = the_node.blobs.put(_jpeg(200))               # taken after the last sync
        result = bk.backup(folder, tmp_path / "usb")
    finally:
        the_node.close()
    pool = tmp_path / "usb" / "blobs" / "objects"
    for sha in (sent, unsent):
        copy = (pool / sha[:2] / sha[2:4] / sha).read_bytes()
        assert copy.startswith(blobcrypt.MAGIC) and not copy.startswith(b"\xff\xd8")
    assert not list((tmp_path / "usb").rglob("*.key")) and result.blobs_copied == 2

    # the same PC: restore reads them (the scan key stayed in the data folder)
    bk.restore(tmp_path / "usb", folder, force=True, hold_until_contact=False)
    the_node = Node.open(folder)
    try:
        assert the_node.blobs.read(sent)[:2] == b"\xff\xd8" and the_node.blobs.unreadable() == []
    finally:
        the_node.close()

    # the scan key is lost (a new disk and the folder restored from the stick, as just done): a new key is made
    (folder / "scans.key").unlink()
    checks = diagnose(folder, contact_central=False)
    assert any(c.code == "scans.unsent_unreadable" and c.params["n"] == 1 and c.level == "fail" for c in checks)
    assert "重新取回 1 份" in render(checks)
    the_node = Node.open(folder)
    try:
        assert sorted(the_node.blobs.unreadable()) == sorted([sent, unsent])
        syncing = NodeSync(the_node)
        assert syncing.sync_now().ok                          # housekeeping runs after the sync
        assert the_node.blobs.readable(sent) and the_node.blobs.read(sent)[:2] == b"\xff\xd8"
        assert the_node.blobs.unreadable() == [unsent]        # never sent: kept for the old key, not deleted

        # Files become unreadable only by a restore with the node stopped, so the running loop stops
        # reading the head of every scan file once nothing is left to fetch: one put back behind its
        # back waits for the next start (a new loop), which fetches it again.
        plain = the_node.blobs.read(sent)
        the_node.blobs.path(sent).write_bytes(plain)
        assert syncing.sync_now().ok and sorted(the_node.blobs.unreadable()) == sorted([sent, unsent])
        assert NodeSync(the_node).sync_now().ok and the_node.blobs.unreadable() == [unsent]
        assert the_node.blobs.read(sent) == plain
    finally:
        the_node.close()


def test_scans_dropped_at_the_node_leave_the_backup_and_backup_days_come_from_the_policy(
        live_central, enrolled_node, tmp_path: Path) -> None:
    folder = enrolled_node()
    the_node = Node.open(folder)
    try:
        a, b = the_node.blobs.put(b"%PDF-1.4 a\n%%EOF\n"), the_node.blobs.put(b"%PDF-1.4 b\n%%EOF\n")
        bk.backup(folder, tmp_path / "usb")
        the_node.blobs.drop(a)                                  # archived at the city, deleted here
    finally:
        the_node.close()
    central = live_central.app.extensions["central"]
    central.sign("retention.policy", {"version": 1, "settings": {"backup_days": 2}, "note": "", "staff": "admin"})
    the_node = Node.open(folder)
    try:
        assert NodeSync(the_node).sync_now().ok
    finally:
        the_node.close()
    now = dt.datetime.now(dt.UTC)
    for day in range(1, 4):
        result = bk.backup(folder, tmp_path / "usb", now=now + dt.timedelta(days=day))
    assert result.scans_pruned == 0                             # pruned by the first backup after the drop
    pool = tmp_path / "usb" / "blobs" / "objects"
    assert not (pool / a[:2] / a[2:4] / a).exists() and (pool / b[:2] / b[2:4] / b).exists()
    assert len(bk.list_snapshots(tmp_path / "usb")) == 2        # backup_days = 2 from the policy


def test_doctor_reports_the_scan_key_and_what_is_due(enrolled_node) -> None:
    folder = enrolled_node()
    bundles = folder / "bundles"
    bundles.mkdir()
    old = bundles / "V000101-1-4.zip"
    old.write_bytes(b"PK")
    import os

    os.utime(old, (1, 1))
    checks = diagnose(folder, contact_central=False)
    codes = {c.code: c for c in checks}
    assert codes["scankey.ok"].level == "ok"
    assert codes["retention.due"].params["what"] == {"bundles": 1}
    assert "删除 1 个过期的U盘数据包" in render(checks) and "delete 1 old USB bundle files" in render(checks, "en")
    out = CliRunner().invoke(main, ["node", "bundle-export", "--data", str(folder)])
    assert out.exit_code == 0, out.output
    assert len(list(bundles.glob("V000101-*.zip"))) == 2
