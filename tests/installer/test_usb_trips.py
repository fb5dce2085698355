"""A village room with no link, end to end against a real central: enrolled by carried files (the
answer carries central's signed sealing key), its bundles relayed by its town centre from the
town's own sync page, its scans sealed on the stick and opened only at the city. A village enrolled
before scans were sealed (no sealing key in its node.toml, none in its log) sends its records first,
keeps its scans until the reply brings the key, then sends them sealed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import random
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from installer_kit import CLERK_PASSWORD, NETWORK
from serving import serve

from bianmin.cli import main
from central import sealing_key
from central.app import create_app as create_central
from installer.casegen import NodeDesk, person
from node.app import create_app as create_node
from node.config import read_config, write_config
from node.context import Node

CHINA = dt.timezone(dt.timedelta(hours=8))
MARKER = "居民身份证 320682199001011234 王芳".encode() * 30


def _ok(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def _enrol_offline(live_central: Any, village: Path, usb: Path, node_id: str) -> None:
    _ok(["enrol-offline", "request", "--data", str(village), "--node-id", node_id, "--token",
         live_central.token(node_id, "偏远村便民服务室"), "--network", NETWORK, "--parent", "T0101",
         "--out", str(usb / "request.json")])
    _ok(["enrol-offline", "answer", "--request", str(usb / "request.json"), "--central", live_central.url,
         "--out", str(usb / "answer.json")])
    _ok(["enrol-offline", "finish", "--data", str(village), "--answer", str(usb / "answer.json")])


class TownPage:
    """The town centre's clerk at the town's own sync page (Flask's test client, CSRF included)."""

    def __init__(self, folder: Path) -> None:
        self.app = create_node({"DATA_DIR": str(folder), "SYNC_LOOP": False})
        self.client = self.app.test_client()
        token = self._token(self.client.get("/login").text)
        done = self.client.post("/login", data={"csrf_token": token, "username": "clerk", "password": CLERK_PASSWORD})
        assert done.status_code == 302

    @staticmethod
    def _token(html: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert found
        return found.group(1)

    def carry(self, bundle: Path, reply: Path) -> None:
        page = self.client.get("/sync/")
        assert 'id="carry-bundle"' in page.text
        resp = self.client.post("/sync/carry", data={"csrf_token": self._token(page.text),
                                                     "bundle": (io.BytesIO(bundle.read_bytes()), bundle.name)})
        assert resp.status_code == 200 and resp.mimetype == "application/zip", resp.text[:500]
        reply.write_bytes(resp.data)

    def close(self) -> None:
        self.app.extensions["bianmin_node"].close()


def _scans(folder: Path, n: int) -> list[str]:
    """Applications taken in at the village with an ID-card scan each."""
    the_node = Node.open(folder)
    try:
        desk = NodeDesk(the_node)
        when = dt.datetime.now(CHINA).replace(microsecond=0)
        rng = random.Random(5)
        names = []
        for i in range(n):
            desk.take_in("MZJ001", when, person(rng))
            names.append(the_node.blobs.put(MARKER + rng.randbytes(150_000 + i)))
        return names
    finally:
        the_node.close()


def test_a_village_with_no_link_sends_sealed_scans_through_its_town(live_central, enrolled_node, tmp_path) -> None:
    town_folder = enrolled_node("T0101", parent="")
    village, usb = tmp_path / "village", tmp_path / "usb"
    usb.mkdir()
    _enrol_offline(live_central, village, usb, "V000109")
    central = live_central.app.extensions["central"]
    config = read_config(village)
    assert config.central_sealing  # the enrolment answer carried the signed key: the first bundle seals
    the_node = Node.open(village)
    try:
        assert the_node.seal_to() == sealing_key.published(central)
    finally:
        the_node.close()
    town = TownPage(town_folder)
    try:
        # the first exchange brings staff and catalogue
        _ok(["node", "bundle-export", "--data", str(village), "--out", str(usb / "first.zip")])
        town.carry(usb / "first.zip", usb / "first-reply.zip")
        _ok(["node", "bundle-import", "--data", str(village), str(usb / "first-reply.zip")])
        names = _scans(village, 2)
        out = _ok(["node", "bundle-export", "--data", str(village), "--out", str(usb / "v.zip")])
        assert "2 scans sealed to the city" in out
        stick = (usb / "v.zip").read_bytes()
        assert MARKER[:30] not in stick          # a stick lost on the bus shows no ID card
        town.carry(usb / "v.zip", usb / "reply.zip")
        blobs = live_central.app.extensions["bianmin_sync"]["blobs"]
        assert all(blobs.read(n).startswith(MARKER) for n in names)  # opened at the city only
        out = _ok(["node", "bundle-import", "--data", str(village), str(usb / "reply.zip")])
        assert "waiting to be sent: 0 records" in out
        the_node = Node.open(village)
        try:
            assert the_node.blobs.unsent() == []          # central holds them: not carried again
        finally:
            the_node.close()
        assert live_central.holds("V000109") >= 4
    finally:
        town.close()


def test_a_village_enrolled_before_sealing_sends_records_first_then_sealed_scans(live_central, enrolled_node,
                                                                                  tmp_path) -> None:
    """An older node.toml has no sealing key, and its log none until a reply brings one: the upgrade
    costs one trip, loses nothing, and no scan ever goes unsealed."""
    town_folder = enrolled_node("T0101", parent="")
    village, usb = tmp_path / "village", tmp_path / "usb"
    usb.mkdir()
    _enrol_offline(live_central, village, usb, "V000110")
    write_config(village, dataclasses.replace(read_config(village), central_sealing=""))  # as before sealing
    the_node = Node.open(village)
    try:
        assert the_node.seal_to() is None
        names = [the_node.blobs.put(MARKER + random.Random(i).randbytes(90_000)) for i in range(2)]
        the_node.append("access.logged", {"staff": {"username": "clerk", "name": "王村干", "roles": ["village_clerk"]},
                                          "action": "export", "place": "node:V000110", "what": {"name": "x", "rows": 1}})
    finally:
        the_node.close()
    town = TownPage(town_folder)
    try:
        out = _ok(["node", "bundle-export", "--data", str(village), "--out", str(usb / "records.zip")])
        assert "2 scans stay here" in out and "0 scans sealed" in out
        assert not [n for n in _members(usb / "records.zip") if n.startswith("blobs/")]
        town.carry(usb / "records.zip", usb / "records-reply.zip")
        assert live_central.holds("V000110") == 1                      # the records went
        _ok(["node", "bundle-import", "--data", str(village), str(usb / "records-reply.zip")])
        the_node = Node.open(village)
        try:
            assert the_node.seal_to() == sealing_key.published(live_central.app.extensions["central"])
            assert sorted(the_node.blobs.unsent()) == sorted(names)   # nothing lost, still to go
        finally:
            the_node.close()
        out = _ok(["node", "bundle-export", "--data", str(village), "--out", str(usb / "scans.zip")])
        assert "2 scans sealed to the city" in out
        assert MARKER[:30] not in (usb / "scans.zip").read_bytes()
        town.carry(usb / "scans.zip", usb / "scans-reply.zip")
        blobs = live_central.app.extensions["bianmin_sync"]["blobs"]
        assert all(blobs.read(n).startswith(MARKER) for n in names)
    finally:
        town.close()


def test_after_the_city_lost_its_sealing_key_one_trip_brings_the_new_one(live_central, enrolled_node,
                                                                          tmp_path) -> None:
    """The village sealed to the key it had; the city no longer holds it (a disk restored without its
    key file: a new key on the next start). The bundle is refused, nothing stored, but its reply
    brings the new key; the next bundle is sealed to it and goes through."""
    town_folder = enrolled_node("T0101", parent="")
    village, usb = tmp_path / "village", tmp_path / "usb"
    usb.mkdir()
    _enrol_offline(live_central, village, usb, "V000111")
    old = read_config(village).central_sealing
    folder = live_central.folder
    (folder / "sealing.key").unlink()          # lost with a disk; central is started again:
    restarted = create_central({"DATA_DIR": str(folder), "SMS_SENDER": False})
    try:
        new_key = restarted.extensions["central_sealing"]
        with serve(restarted) as url:
            write_config(town_folder, dataclasses.replace(read_config(town_folder), central_url=url))
            the_node = Node.open(village)
            try:
                names = [the_node.blobs.put(MARKER + random.Random(i).randbytes(90_000)) for i in range(2)]
                assert the_node.config.central_sealing == old and the_node.seal_to().public != new_key.public
            finally:
                the_node.close()
            blobs = restarted.extensions["bianmin_sync"]["blobs"]
            town = TownPage(town_folder)
            try:
                _ok(["node", "bundle-export", "--data", str(village), "--out", str(usb / "old-key.zip")])
                town.carry(usb / "old-key.zip", usb / "reply.zip")
                assert restarted.extensions["central"].log.head("V000111")[0] == 0
                assert not any(blobs.has(n) for n in names)
                out = _ok(["node", "bundle-import", "--data", str(village), str(usb / "reply.zip")])
                assert "refused the bundle this answers (bundle_sealed_elsewhere)" in out
                out = _ok(["node", "bundle-export", "--data", str(village), "--out", str(usb / "new-key.zip")])
                assert "2 scans sealed to the city" in out
                town.carry(usb / "new-key.zip", usb / "reply2.zip")
                assert all(blobs.has(n) for n in names)
            finally:
                town.close()
    finally:
        restarted.extensions["central"].close()


def _members(path: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return z.namelist()
