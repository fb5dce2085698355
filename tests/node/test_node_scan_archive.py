"""Scans archived at the city and dropped at the village, with a real central on loopback and a real node
enrolled with a token (as tests/node/test_node_with_central.py): a villager's case with a scan goes up,
the city finishes it, the retention delay passes, central signs `scans.archived`, and after the node's
next sync its copy is gone, the case page says "archived at the city", and the node's `scans.dropped`
reaches the city. A scan central does not hold is never dropped, even when an archive record names it.
Also: a new retention policy published at central reaches the node and is applied there."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import re
from pathlib import Path

import requests
from click.testing import CliRunner
from PIL import Image
from serving import serve

from bianmin.cli import main
from central import retention_job
from central.app import create_app as create_central
from installer.casegen import window_work
from node.app import create_app as create_node
from store import retention as store_retention
from store import scans as store_scans

CHINA = dt.timezone(dt.timedelta(hours=8))
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(CHINA)

    def __call__(self) -> dt.datetime:
        return self.now


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 400), (shade, 200, 180)).save(out, "JPEG")
    return out.getvalue()


def _take_in(s: requests.Session, base: str, scan: bytes) -> str:
    token = TOKEN.search(s.get(base + "/intake/new?item=GA006").text).group(1)
    done = s.post(base + "/intake/new", data={
        "csrf_token": token, "item": "GA006", "applicant_type": "person", "name": "姚大",
        "id_number": "11010519491231002X", "phone": "13812345678", **{f"have_{i}": "1" for i in range(4)}},
        files={"scan_0": ("id.jpg", scan, "image/jpeg")})
    assert done.ok and "outcome=forwarded" in done.url
    return re.search(r'id="case-number">([^<]+)<', done.text).group(1)


def test_archived_scans_leave_the_village_and_a_scan_the_city_lacks_stays(tmp_path: Path) -> None:
    city = tmp_path / "central"
    _run("central", "init", "--data", str(city), "--admin-password", "admin-pass-2026")
    token = _run("central", "enroll-token", "V000303", "--data", str(city), "--name", "如皋市白蒲镇姚庄村便民服务室",
                 "--town", "T0103").strip().splitlines()[-1]
    _run("central", "staff", "add", "yao", "--data", str(city), "--role", "village_clerk", "--place", "V000303",
         "--password", "yao-password-1", "--name", "姚村干")
    clock = Clock()
    central_app = create_central({"DATA_DIR": str(city), "SMS_SENDER": False, "CENTRAL_CLOCK": clock})
    central = central_app.extensions["central"]
    city_blobs = central_app.extensions["central_blobs"]
    try:
        with serve(central_app) as central_url:
            folder = tmp_path / "node"
            _run("node", "init", "--data", str(folder), "--central", central_url, "--token", token,
                 "--node-id", "V000303")
            app = create_node({"DATA_DIR": str(folder)})
            the_node = app.extensions["bianmin_node"]
            runner = app.extensions["bianmin_node_sync"]
            try:
                with serve(app) as base:
                    s = requests.Session()
                    tok = TOKEN.search(s.get(base + "/login").text).group(1)
                    s.post(base + "/login", data={"csrf_token": tok, "username": "yao", "password": "yao-password-1"})
                    kept_case = _take_in(s, base, _jpeg(10))
                    archived_case = _take_in(s, base, _jpeg(90))
                    assert runner.sync_now().ok
                    scan_of = {n: store_scans.scans_of(the_node.log.db, n)[0] for n in (kept_case, archived_case)}
                    assert all(city_blobs.has(sha) for sha in scan_of.values())   # uploaded with the sync
                    assert all(the_node.blobs.has(sha) for sha in scan_of.values())

                    # the city finishes both; one scan goes missing at the city before any archive
                    for number in (kept_case, archived_case):
                        assert window_work(central, number, finish=True, pay=True, rng=random.Random(1)) == "finished"
                    city_blobs.drop(scan_of[kept_case])

                    # not yet due: the policy's 30 days have not passed
                    assert retention_job.run_once(central, city_blobs, city).records == []
                    clock.now += dt.timedelta(days=31)
                    done = retention_job.run_once(central, city_blobs, city)
                    [archive] = done.records
                    assert archive.kind == "scans.archived" and archive.body["case"] == archived_case
                    assert archive.body["scans"] == [scan_of[archived_case]] and archive.body["ended"] == "delivered"
                    assert [case for case, _missing in done.waiting] == [kept_case]   # waits for its scan
                    assert retention_job.run_once(central, city_blobs, city).records == []   # signed once
                    # an archive record naming a scan the city lacks (a disk lost after archiving, say)
                    central.sign("scans.archived", {"case": kept_case, "scans": [scan_of[kept_case]],
                                                    "ended": "delivered", "closed_at": "", "after_days": 30,
                                                    "policy": 0})

                    assert runner.sync_now().ok      # pulls both archive records; housekeeping runs after it
                    assert not the_node.blobs.has(scan_of[archived_case])
                    assert the_node.blobs.has(scan_of[kept_case])          # central's status said: not held
                    assert the_node.blobs.dropped() == [scan_of[archived_case]]
                    page = s.get(base + f"/case/{archived_case}").text
                    assert "已在市中心归档" in page and f"/scan/{scan_of[archived_case]}" not in page
                    gone = s.get(base + f"/case/{archived_case}/scan/{scan_of[archived_case]}")
                    assert gone.status_code == 404
                    assert f"/scan/{scan_of[kept_case]}" in s.get(base + f"/case/{kept_case}").text
                    kept = s.get(base + f"/case/{kept_case}/scan/{scan_of[kept_case]}")
                    assert kept.ok and kept.content[:2] == b"\xff\xd8"             # still shown, decrypted
                    # the node's own evidence that it let the scan go reaches the city
                    assert runner.sync_now().ok
                    [dropped] = [r for r, _at in central.records_of_kind("scans.dropped", origin="V000303")]
                    assert dropped.body == {"case": archived_case, "scans": [scan_of[archived_case]],
                                            "archive": archive.id}
                    # the next pass drops nothing more and signs nothing more
                    assert runner.sync_now().ok
                    assert len(central.records_of_kind("scans.dropped", origin="V000303")) == 1

                    # a new policy published at the city is applied at the node after its sync
                    policy = {"version": 1, "settings": {"bundle_days": 1}, "note": "U盘数据包次日删除",
                                 "staff": "admin"}
                    central.sign("retention.policy", policy)
                    bundles = folder / "bundles"
                    bundles.mkdir()
                    old, new = bundles / "V000303-1-9.zip", bundles / "V000303-10-12.zip"
                    old.write_bytes(b"PK old")
                    new.write_bytes(b"PK new")
                    two_days_ago = clock.now.timestamp() - 31 * 86400 - 2 * 86400
                    os.utime(old, (two_days_ago, two_days_ago))
                    assert runner.sync_now().ok
                    assert store_retention.current(the_node.log.db)["bundle_days"] == 1
                    assert not old.exists() and new.exists()
            finally:
                the_node.close()
    finally:
        central.close()
