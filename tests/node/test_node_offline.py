"""The node works with the city unreachable, and catches up when the city comes back.

A real central (the sync blueprint over central's own LogStore, served by waitress on loopback)
signs the staff, catalogue and calendar records; the node pulls them, then the city goes away
(the server is stopped: the link answers nothing), the clerk signs in and takes in a case
offline, and once a server over the same central log answers again, one sync sends everything
and brings back central's signed receipts.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path

import requests
from flask import Flask
from nodekit import PASSWORD, staff
from serving import serve

from casework.calendar import WorkCalendar
from casework.catalogue import load
from node.app import create_app
from node.config import DB_FILE, NodeConfig, write_config
from store.config_records import calendar_year_body, catalogue_body
from sync.blobs import BlobStore
from sync.keys import NodeKey, default_key_path
from sync.logstore import LogStore
from sync.requestauth import NonceStore
from sync.server import EnrolmentBook, create_sync_blueprint
from web.serving import make_server

NET = "test-offline"
NODE = "V000202"


class CityServer:
    """The sync API over central's log on a free loopback port; stop() takes it off the air."""

    def __init__(self, store: LogStore, folder: Path) -> None:
        app = Flask("test-city")
        app.register_blueprint(create_sync_blueprint(
            store, tokens=EnrolmentBook(store), blobs=BlobStore(folder / "blobs"),
            nonces=NonceStore(folder / "nonces.sqlite")))
        self.server = make_server(app, host="127.0.0.1", port=0, threads=4)
        self.url = f"http://127.0.0.1:{self.server.effective_port}"  # type: ignore[union-attr]
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Close the listener AND every open connection (keep-alive would otherwise still answer)."""
        for channel in list(self.server._map.values()):  # type: ignore[union-attr]
            channel.close()
        self.server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        self.thread.join(timeout=10)


def _login(base: str) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
    resp = s.post(base + "/login", data={"csrf_token": token, "username": "clerk", "password": PASSWORD})
    assert resp.status_code == 200 and "/login" not in resp.url
    return s


def _token(s: requests.Session, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', s.get(url).text).group(1)


def test_node_works_offline_and_catches_up(tmp_path: Path) -> None:
    central_key = NodeKey.generate()
    city = LogStore.open(tmp_path / "central.sqlite", network=NET, origin="C", signer=central_key)
    node_key = NodeKey.generate()
    folder = tmp_path / "node"
    folder.mkdir()
    node_key.save(default_key_path(folder / DB_FILE))
    server = CityServer(city, tmp_path / "city")          # routes what is stored from now on
    city.append("node.enrolled", {"node": NODE, "tier": "village", "name": "如皋市搬经镇夏堡村便民服务室",
                                  "public_key": node_key.public.hex(), "key": node_key.key_id, "from_seq": 1})
    city.append("staff.account", staff("clerk", ["village_clerk"], [NODE], name="夏村干"))
    city.append("catalogue.published", catalogue_body(load(), 1))
    city.append("calendar.year", calendar_year_body(WorkCalendar.packaged().year_data(2026)))
    write_config(folder, NodeConfig(node_id=NODE, name="如皋市搬经镇夏堡村便民服务室", network=NET,
                                    central_url=server.url, central_public=central_key.public.hex(),
                                    central_fingerprint=central_key.fingerprint, parent="T0102"))
    app = create_app({"DATA_DIR": str(folder)})
    runner = app.extensions["bianmin_node_sync"]
    try:
        first = runner.sync_now()
        assert first is not None and first.ok and first.pulled >= 4
        port = server.server.effective_port  # type: ignore[union-attr]
        server.stop()                                   # the city goes away

        with serve(app) as base:
            s = _login(base)                             # offline: staff came from the city's records
            form = s.get(base + "/intake/new?item=MZJ001")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
            data = {"csrf_token": token, "item": "MZJ001", "applicant_type": "person", "name": "孙八",
                    "id_number": "11010519491231002X", "phone": "13812345678",
                    **{f"have_{i}": "1" for i in range(4)}}
            done = s.post(base + "/intake/new", data=data)
            number = re.search(r'id="case-number">([^<]+)<', done.text).group(1)
            assert "outcome=forwarded" in done.url

            home = s.get(base + "/sync/now", allow_redirects=False)
            assert home.status_code == 405
            resp = s.post(base + "/sync/now", data={"csrf_token": _token(s, base + "/"), "next": "/"})
            assert resp.status_code == 200
            status = runner.status()
            assert status.state in ("offline", "retrying") and status.pending >= 2
            assert "离线" in resp.text or "正在重试" in resp.text
            assert number in resp.text                   # forwarded, not yet receipted by the city
            page = s.get(base + f"/case/{number}").text
            assert page.count("尚未") >= 2               # no record receipted yet

            # the city comes back on the same address, over the same log
            app2 = Flask("test-city-2")
            app2.register_blueprint(create_sync_blueprint(
                city, tokens=EnrolmentBook(city), blobs=BlobStore(tmp_path / "city" / "blobs"),
                nonces=NonceStore(tmp_path / "city" / "nonces.sqlite")))
            back = make_server(app2, host="127.0.0.1", port=port, threads=4)
            thread = threading.Thread(target=back.run, daemon=True)
            thread.start()
            try:
                resp = s.post(base + "/sync/now", data={"csrf_token": _token(s, base + "/"), "next": "/sync/"})
                assert "同步完成" in resp.text
                status = runner.status()
                assert status.state == "ok" and status.pending == 0
                held = {r.kind for r in city.records_of(NODE)}
                assert {"case.received", "case.forwarded"} <= held
                page = s.get(base + f"/case/{number}").text
                assert "尚未" not in page.split("记录时间线")[1]   # every record now carries the city's receipt
                home = s.get(base + "/").text
                assert "转报的办件均已送达市中心" in home
            finally:
                back.close()
    finally:
        runner.stop()
        app.extensions["bianmin_node"].close()
        city.close()


def test_a_village_without_a_link_syncs_by_usb_stick_through_its_town(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from bianmin.cli import main
    from casework.case_events import item_snapshot
    from casework.cases import new_event_body
    from casework.numbering import case_number
    from node.context import Node

    central_key = NodeKey.generate()
    city = LogStore.open(tmp_path / "central.sqlite", network=NET, origin="C", signer=central_key)
    server = CityServer(city, tmp_path / "city")
    folders = {}
    try:
        for node_id, url in (("V000404", ""), ("T0104", server.url)):
            key = NodeKey.generate()
            folder = folders[node_id] = tmp_path / node_id
            folder.mkdir()
            key.save(default_key_path(folder / DB_FILE))
            city.append("node.enrolled", {"node": node_id, "tier": "village" if node_id[0] == "V" else "town",
                                          "name": node_id, "public_key": key.public.hex(), "key": key.key_id,
                                          "from_seq": 1})
            write_config(folder, NodeConfig(node_id=node_id, name=node_id, network=NET, central_url=url,
                                            central_public=central_key.public.hex(),
                                            central_fingerprint=central_key.fingerprint))
        city.append("catalogue.published", catalogue_body(load(), 1))
        village = Node.open(folders["V000404"])
        item = load().item("SFJ002")
        village.append("case.received", new_event_body(
            "case.received", case=case_number("V000404", dt.date(2026, 11, 25), 1).text, after=[], item=item_snapshot(item),
            applicant={"type": "person", "name": "路远"}))
        village.close()

        stick = tmp_path / "usb"
        stick.mkdir()
        runner = CliRunner()
        out = runner.invoke(main, ["node", "bundle-export", "--data", str(folders["V000404"]),
                                   "--out", str(stick / "V000404.zip")], catch_exceptions=False)
        assert out.exit_code == 0 and "1 records" in out.output
        out = runner.invoke(main, ["node", "carry", "--data", str(folders["T0104"]), str(stick / "V000404.zip"),
                                   "--reply", str(stick / "reply.zip")], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        assert [r.kind for r in city.records_of("V000404")] == ["case.received"]
        # a reply altered on the way is refused whole
        tampered = stick / "tampered.zip"
        data = bytearray((stick / "reply.zip").read_bytes())
        data[len(data) // 2] ^= 1
        tampered.write_bytes(bytes(data))
        out = runner.invoke(main, ["node", "bundle-import", "--data", str(folders["V000404"]), str(tampered)])
        assert out.exit_code != 0 and "refused" in out.output
        out = runner.invoke(main, ["node", "bundle-import", "--data", str(folders["V000404"]),
                                   str(stick / "reply.zip")], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        assert "waiting to be sent: 0 records" in out.output
        village = Node.open(folders["V000404"])
        try:
            assert village.log.receipts("C")
            assert village.catalogue(village.log.db) is not None      # the city's records came home too
        finally:
            village.close()
    finally:
        server.stop()
        city.close()
