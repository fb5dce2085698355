"""`bianmin demo` as a person runs it: started as a process, every printed address answers, the
city sees history in every state, and Ctrl-C (SIGINT) stops every process it started."""

from __future__ import annotations

import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bianmin.demo import PASSWORD, READY


@pytest.mark.timeout(420)
def test_demo_starts_answers_and_stops_cleanly(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "bianmin", "demo", "--data", str(data)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, cwd=tmp_path)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 360
        while time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            lines.append(line)
            if READY in line:
                break
        output = "".join(lines)
        assert READY in output, output[-3000:]
        urls = re.findall(r"http://127\.0\.0\.1:\d+/\S*", output)
        assert len(urls) >= 9  # central, town, two villages, a sub-centre, four public pages
        for url in urls:
            resp = requests.get(url, timeout=10)  # redirects to the login page where one is needed
            assert resp.status_code == 200, (url, resp.status_code)
        assert PASSWORD in output and "sun" in output

        central = urls[0]
        session = requests.Session()
        login = session.get(central + "login", timeout=10)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login.text)
        assert token, login.text[:500]
        board = session.post(central + "login", data={"csrf_token": token.group(1), "username": "sun",
                                                      "password": PASSWORD}, timeout=10)
        assert board.status_code == 200 and "V000101-" in session.get(central + "supervision/", timeout=10).text
        assert "更正" in requests.get(central + "bulletin/", timeout=10).text   # the approved correction, in public

        conn = sqlite3.connect(f"file:{data / 'central' / 'bianmin.sqlite'}?mode=ro", uri=True)
        try:
            kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM records")}
            origins = {o for (o,) in conn.execute("SELECT DISTINCT origin FROM records")}
        finally:
            conn.close()
        assert origins == {"C", "T0101", "V000101", "V000102", "S01", "S02", "S03", "S04", "S05"}
        for kind in ("case.received", "case.forwarded", "case.handover_accepted", "case.supplement_requested",
                     "case.promised", "case.finished", "case.delivered", "case.fee_assessed", "case.fee_paid",
                     "case.evaluated", "report.monthly", "review.rectified", "review.appeal_decided",
                     "assessment.finding", "assessment.published", "access.logged", "retention.policy",
                     "assessment.scorecard", "assessment.correction_filed", "assessment.correction_decided",
                     "sealing.key"):
            assert kind in kinds, kind
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, rest[-2000:]
    assert "stopped." in rest
    for url in urls:
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=5)
