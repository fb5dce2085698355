"""Two real nodes syncing through a real central on loopback.

A village room takes in an application for a city item and forwards it; the city window takes it
over, issues the payment notice; the cashier takes the pre-fee; the window accepts, promises,
finishes and issues the licence, and sends the result back to the village; the village delivers
it and prints the delivery notice. Every record of the case verifies at central (signature,
chain, Merkle log), and the town node, which had nothing to do with the case, never receives it.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from centralkit import CHINA, PASSWORD, Clerk
from click.testing import CliRunner
from serving import serve

from casework.catalogue import Catalogue
from central.admin_records import publish_catalogue, sign_staff
from central.verify import check_records
from node.app import create_app as create_node_app
from node.cli import node as node_cli
from node.config import DB_FILE
from sync.server import EnrolmentBook

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class NodeClerk:
    def __init__(self, app, username: str) -> None:
        self.client = app.test_client()
        page = self.client.get("/login")
        r = self.client.post("/login", data={"username": username, "password": PASSWORD,
                                             "csrf_token": _TOKEN.search(page.text).group(1)})
        assert r.status_code == 302, r.text[:500]

    def post(self, path: str, data: dict) -> object:
        token = _TOKEN.search(self.client.get("/cases/").text).group(1)
        return self.client.post(path, data={**data, "csrf_token": token})


def _photo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 180, 160)).save(out, "PNG")
    return out.getvalue()


def _sync(app) -> None:
    from node.syncing import NodeSync

    report = NodeSync(app.extensions["bianmin_node"]).sync_now()
    assert report is not None and report.ok, report


def test_village_forwards_window_processes_cashier_collects_village_delivers(tmp_path, make_app, clock):
    clock.now = dt.datetime.now(CHINA).replace(hour=10)
    app = make_app()
    central = app.extensions["central"]
    # the administrator lets villages take in 居民身份证申领 (a city item with a pre-fee) and
    # signs the two nodes' clerks
    data = central.catalogue().to_data()
    for item in data["items"]:
        if item["code"] == "GA003":
            item["receive_tiers"] = ["village", "town", "city"]
    publish_catalogue(central, Catalogue.from_data(data), note="村级代办身份证申领")
    sign_staff(central, "cun", display_name="王村干", roles=["village_clerk"], places=["V000123"], password=PASSWORD)
    sign_staff(central, "zhen", display_name="丁镇", roles=["town_clerk"], places=["T0101"], password=PASSWORD)
    book = EnrolmentBook(central.log)
    tokens = {"V000123": book.issue("V000123", "丁堰镇皋南村便民服务室"), "T0101": book.issue("T0101", "丁堰镇便民服务中心")}

    with serve(app) as url:
        folders = {}
        for node_id, token in tokens.items():
            folders[node_id] = tmp_path / node_id
            args = ["init", "--data", str(folders[node_id]), "--central", url, "--token", token, "--node-id", node_id,
                    "--network", "test"] + (["--parent", "T0101"] if node_id.startswith("V") else [])
            result = CliRunner().invoke(node_cli, args)
            assert result.exit_code == 0, result.output
        village = create_node_app({"DATA_DIR": str(folders["V000123"])})
        town = create_node_app({"DATA_DIR": str(folders["T0101"])})
        try:
            # 1. the village takes the application in and forwards it up
            cun = NodeClerk(village, "cun")
            item = central.catalogue().item("GA003")
            form = {"item": "GA003", "applicant_type": "person", "name": "张三", "id_number": "11010519491231002X",
                    "phone": "13812345678"}
            form.update({f"have_{i}": "1" for i in range(len(item.materials))})
            form["scan_0"] = (io.BytesIO(_photo()), "hukou.png")  # a scan travels with the case
            answer = cun.post("/intake/new", form)
            assert answer.status_code == 302, answer.text[:3000]
            number = re.search(r"/done/([^?]+)", answer.headers["Location"]).group(1)
            _sync(village)
            state = central.fold(number)
            assert state.status.value == "forwarded" and state.pending_handover == "window:W06"

            # 2. the window takes it over from its queue and issues the payment notice
            wang = Clerk(app, "wang")
            wang.post("/window/choose", {"window": "W06"})
            scan = state.material_scans[0]["sha256"]
            picture = wang.get(f"/window/case/{number}/scan/{scan}")
            assert picture.status_code == 200 and picture.mimetype.startswith("image/")
            assert number in wang.get("/window/").text
            for path, data_ in ((f"/window/case/{number}/act/handover_accepted", {}),
                                (f"/window/case/{number}/fees", {"use_F0201": "1"})):
                assert wang.post(path, data_).status_code == 302, path
            assessment = central.fold(number).assessments[0]

            # 3. the cashier takes the pre-fee; only then may the window accept
            qian = Clerk(app, "qian")
            assert qian.post(f"/settlement/notice/{assessment.event_id}/pay",
                             {"method": "bank_card", "reference": "POS-889"}).status_code == 302
            for action, data_ in (("accepted", {}), ("promised", {}), ("finished", {"outcome": "granted"}),
                                  ("licence_issued", {"licence_number": "身份证-2026-001"}),
                                  ("forwarded", {"to": "node:V000123", "note": "由村便民服务室代为送达"})):
                response = wang.post(f"/window/case/{number}/act/{action}", data_)
                assert response.status_code == 302, (action, response.text[:2000])

            # 4. the village pulls the result, takes the case back, delivers and prints
            _sync(village)
            assert cun.post(f"/case/{number}/act/handover_accepted", {}).status_code == 302
            assert cun.post(f"/case/{number}/act/delivered",
                            {"method": "village", "recipient": "张三"}).status_code == 302
            notice = cun.client.get(f"/case/{number}/notice/delivery")
            assert notice.status_code == 200 and "送达通知书" in notice.text and number in notice.text
            _sync(village)
            _sync(town)
        finally:
            for node_app in (village, town):
                node_app.extensions["bianmin_node"].close()

    # 5. central holds the whole story, every record verified end to end
    state = central.fold(number)
    assert state.status.value == "delivered" and state.paid_fen == assessment.total_fen and not state.conflicts
    assert state.holders == ("node:V000123", "window:W06", "node:V000123")
    events = central.case_events(number)
    checks = check_records(central.log, [e.id for e in events])
    assert len(checks) == len(events) >= 10 and all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert {c.origin for c in checks} == {"V000123", "C"}
    # the village holds central's records of its case; the town never received them
    from sync.logstore import LogStore

    for node_id, expect in (("V000123", True), ("T0101", False)):
        log = LogStore.open(folders[node_id] / DB_FILE, network="test", origin=node_id)
        try:
            held = {e.id for e in events} & {r[0] for r in log.db.execute("SELECT id FROM records")}
            assert (held == {e.id for e in events}) if expect else not held, node_id
        finally:
            log.close()
    # 6. supervision sees both nodes, recently in contact
    health = Clerk(app, "li").get("/supervision/nodes").text
    assert "V000123" in health and "T0101" in health and "tag ok" in health
