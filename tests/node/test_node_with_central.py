"""Enrolment and sync against central's real app: `bianmin central init/enroll-token/staff add`,
central served by waitress, `bianmin node init` with the token, then a forwarded case reaches the
city and comes back receipted."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from click.testing import CliRunner
from serving import serve

from bianmin.cli import main
from central.app import create_app as create_central
from node.app import create_app as create_node
from node.config import read_config


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_enrol_with_a_token_then_forward_a_case_to_the_city(tmp_path: Path) -> None:
    city = tmp_path / "central"
    _run("central", "init", "--data", str(city), "--admin-password", "admin-pass-2026")
    token = _run("central", "enroll-token", "V000303", "--data", str(city), "--name", "如皋市白蒲镇姚庄村便民服务室",
                 "--town", "T0103").strip().splitlines()[-1]
    _run("central", "staff", "add", "yao", "--data", str(city), "--role", "village_clerk", "--place", "V000303",
         "--password", "yao-password-1", "--name", "姚村干")
    central_app = create_central({"DATA_DIR": str(city)})
    with serve(central_app) as central_url:
        folder = tmp_path / "node"
        out = _run("node", "init", "--data", str(folder), "--central", central_url, "--token", token,
                   "--node-id", "V000303")
        config = read_config(folder)
        assert config.central_fingerprint in out and "synced" in out
        assert (folder / "bianmin.key").stat().st_mode & 0o777 == 0o600
        # a token is good once
        result = CliRunner().invoke(main, ["node", "init", "--data", str(tmp_path / "again"), "--central",
                                           central_url, "--token", token, "--node-id", "V000303"])
        assert result.exit_code != 0 and "refused" in result.output

        app = create_node({"DATA_DIR": str(folder)})
        try:
            with serve(app) as base:
                s = requests.Session()
                tok = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
                s.post(base + "/login", data={"csrf_token": tok, "username": "yao", "password": "yao-password-1"})
                form = s.get(base + "/intake/new?item=MZJ001")
                assert form.status_code == 200
                tok = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
                done = s.post(base + "/intake/new", data={
                    "csrf_token": tok, "item": "MZJ001", "applicant_type": "person", "name": "姚大",
                    "id_number": "11010519491231002X", **{f"have_{i}": "1" for i in range(4)}})
                assert "outcome=forwarded" in done.url
                number = re.search(r'id="case-number">([^<]+)<', done.text).group(1)
                receipt = s.get(base + f"/case/{number}/notice/receipt").text
                assert "T0103" in receipt                   # the town central placed this village under
            report = app.extensions["bianmin_node_sync"].sync_now()
            assert report is not None and report.ok and report.pushed >= 2
            the_node = app.extensions["bianmin_node"]
            assert the_node.log.count_pending("C") == 0 and the_node.log.receipts("C")
        finally:
            app.extensions["bianmin_node"].close()
        out = _run("node", "sync", "--data", str(folder))
        assert "waiting to be sent: 0 records" in out
