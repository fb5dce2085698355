"""Sub-centres submit their monthly reports as signed records; central judges them by its receipt time.

A real central (its clock moved by the test: `clock` for pages, the log's receipt stamp with it),
served on loopback; sub-centres enrolled with `bianmin node init` and real tokens, their cases
taken in through the node's record paths, synced over HTTP. September 2026 is reported in
October, whose National Day week (1-7 October, Saturday the 10th a make-up working day) puts the
5th working day on the 13th: a count of calendar days or of weekdays would get every status wrong.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from centralkit import CHINA, Clerk
from click.testing import CliRunner
from openpyxl import load_workbook
from serving import serve

from bianmin.cli import main
from casework import monthly_report as mr
from casework.messages import RuleError
from central import report_submissions
from central.remote_ratings import rate
from installer.casegen import NodeDesk
from installer.demo_reports import sign_demo_report
from node import monthly_report
from node.app import create_app as create_node
from node.context import Node
from node.syncing import NodeSync
from store import reports
from store.config_records import staff_account_body
from sync.keys import NodeKey, enrolment_request
from sync.server import EnrolmentBook
from web.passwords import hash_password

DIRECTOR_PASSWORD = "director-pass-1"
APPLICANT = {"type": "person", "name": "陈秀英", "id_type": "resident_id", "id_number": "11010519491231002X",
             "phone": "13912345678"}
SEP = "2026-09"


def china(month: int, day: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=CHINA)


@dataclass
class Network:
    central: Any
    app: Any
    clock: Any
    url: str
    s01_app: Any
    s01_url: str
    s02: Node
    cases: dict[str, Any] = field(default_factory=dict)

    @property
    def s01(self) -> Node:
        return self.s01_app.extensions["bianmin_node"]

    def at(self, moment: dt.datetime) -> None:
        self.clock.now = moment

    def sync(self, node: Node, moment: dt.datetime) -> None:
        """The node syncs; central stamps what arrives at `moment`."""
        self.at(moment)
        report = NodeSync(node).sync_now()
        assert report is not None and report.ok, report

    def statuses(self, month: str = SEP) -> dict[str, report_submissions.MonthStatus]:
        from store.directory import list_nodes

        db = self.central.log.db
        with self.central.log._lock:
            found = report_submissions.month_statuses(db, month, list_nodes(db, tier="subcentre"),
                                                      calendar=self.central.calendar(), today=self.central.today())
        return {s.node: s for s in found}

    def late_or_missing(self, node: str, first: dt.date, last: dt.date, today: dt.date) -> list[str]:
        with self.central.log._lock:
            return report_submissions.late_or_missing(self.central.log.db, node, first, last, today=today,
                                                      calendar=self.central.calendar())


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def network(app: Any, clock: Any, central_url: str, tmp_path: Path) -> Iterator[Network]:
    """Central with sub-centres S01 (tax hall, a director who signs in), S02 (vehicle office) and S03
    (never reports), all enrolled on 20 August 2026; September's cases taken in and synced."""
    central = app.extensions["central"]
    central.log.clock = lambda: clock.now.astimezone(dt.UTC).isoformat(timespec="microseconds")
    clock.now = china(8, 20)
    central.sign("staff.account", staff_account_body(
        username="zhouzr", display_name="周主任", password_hash=hash_password(DIRECTOR_PASSWORD),
        roles=["node_admin"], places=["S01"], version=1))
    book = EnrolmentBook(central.log)
    folders = {}
    for node, name in (("S01", "如皋市税务局办税服务厅"), ("S02", "如皋市公安局车辆管理所")):
        folders[node] = tmp_path / node
        _run("node", "init", "--data", str(folders[node]), "--central", central_url, "--token",
             book.issue(node, name), "--node-id", node, "--network", central.log.network)
    book.enrol(enrolment_request(NodeKey.generate(), net=central.log.network, node="S03",
                                 token=book.issue("S03", "如皋市不动产登记中心分中心")))
    s01_app = create_node({"DATA_DIR": str(folders["S01"])})
    s02 = Node.open(folders["S02"])
    try:
        with serve(s01_app) as s01_url:
            net = Network(central, app, clock, central_url, s01_app, s01_url, s02)
            desk = NodeDesk(net.s01, {"username": "zhouzr", "name": "周主任"})
            net.cases["SW001"], _ = desk.take_in("SW001", china(9, 7), APPLICANT)
            net.cases["SW003"], _ = desk.take_in("SW003", china(9, 8), APPLICANT)
            case, _ = desk.take_in("SCJG002", china(9, 9), APPLICANT)
            desk.step(case, "case.finished", china(9, 14), outcome="granted")          # one working day late
            desk.step(case, "case.evaluated", china(9, 14, 11), level=5, channel="counter")
            garage = NodeDesk(s02, {"username": "che", "name": "车管员"})
            garage.take_in("GA012", china(9, 15), APPLICANT)
            garage.take_in("GA010", china(9, 16), APPLICANT)
            net.sync(net.s01, china(9, 30, 18))
            net.sync(s02, china(9, 30, 18, 5))
            yield net
    finally:
        s01_app.extensions["bianmin_node"].close()
        s02.close()


def _director(net: Network) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(net.s01_url + "/login").text).group(1)
    s.post(net.s01_url + "/login", data={"csrf_token": token, "username": "zhouzr", "password": DIRECTOR_PASSWORD})
    return s


def _submit_over_http(net: Network, s: requests.Session, **fields: str) -> None:
    url = net.s01_url + f"/reports/?month={SEP}"
    page = s.get(url).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    remarks = {"matters": "九月办税平稳。", "problems": "", "measures": "国庆后错峰预约。", **fields}
    preview = s.post(url, data={"csrf_token": token, "action": "preview", **remarks})
    assert preview.status_code == 200, preview.text[-1500:]

    def hidden(name: str) -> str:
        return re.search(rf'name="{name}" value="([^"]*)"', preview.text).group(1).replace("&#34;", '"')

    done = s.post(url, data={"csrf_token": token, "action": "submit", "digest": hidden("digest"),
                             "expected": hidden("expected"), **remarks}, allow_redirects=False)
    assert done.status_code == 302, done.text[-1500:]


def _tampered(net: Network, node: Node, month: str, *, names: str | None = None, **changes: int) -> None:
    """`node` signs a report whose figures it altered (or, with `names`, one naming another node)."""
    db = node.log.db
    with node.log._lock:
        figures = monthly_report.figures(node, db, month, today=dt.date(2026, 10, 16)).figures()
    figures.update({k: figures[k] + v for k, v in changes.items()})
    body = mr.report_body(node=names or node.config.node_id, month=month, figures=figures,
                          remarks={"matters": "本月办件正常。"}, submitted_by={"username": "che", "name": "车管员"},
                          version=1)
    node.log.append(mr.KIND, body, time=china(10, 15, 9).isoformat())


def test_reports_are_judged_by_centrals_receipt_time_in_working_days(network: Network) -> None:
    net = network
    s = _director(net)
    _submit_over_http(net, s)
    assert 'id="not-receipted"' in s.get(net.s01_url + f"/reports/?month={SEP}").text
    net.sync(net.s01, china(10, 12, 9, 30))               # Monday: the 4th working day of October
    node_page = s.get(net.s01_url + f"/reports/?month={SEP}").text
    assert 'id="receipted"' in node_page and "2026年10月12日 09:30" in node_page

    _tampered(net, net.s02, SEP, received=5, fees_fen=12_000)   # figures that the records do not bear out
    _tampered(net, net.s02, "2026-08", names="S01")             # a report for S01, signed by S02
    net.sync(net.s02, china(10, 16, 11))                  # Friday: three working days after the 13th

    net.at(china(10, 13, 16))
    assert net.statuses()["S03"].timeliness.status == mr.NOT_DUE
    net.at(china(10, 14, 9))
    assert (net.statuses()["S03"].timeliness.status, net.statuses()["S03"].timeliness.late_days) == (mr.MISSING, 1)

    # a correction from S01 supersedes the figures, not the arrival
    net.at(china(10, 20, 10))
    monthly_report.submit(net.s01, month=SEP, remarks={"matters": "补充说明超期一件的原因。"},
                          submitted_by={"username": "zhouzr", "name": "周主任"}, today=dt.date(2026, 10, 20),
                          reason="补充超期原因说明", time=china(10, 20, 10).isoformat())
    net.sync(net.s01, china(10, 20, 10, 30))

    statuses = net.statuses()
    s01, s02, s03 = statuses["S01"], statuses["S02"], statuses["S03"]
    assert s01.timeliness.due.date == dt.date(2026, 10, 13)
    assert (s01.timeliness.status, s01.corrected, s01.current.version) == (mr.ON_TIME, True, 2)
    assert s01.first.received.astimezone(CHINA) == china(10, 12, 9, 30)
    assert s01.current.body["reason"] == "补充超期原因说明" and s01.refused == []
    assert (s02.timeliness.status, s02.timeliness.late_days) == (mr.LATE, 3)
    assert (s03.timeliness.status, s03.timeliness.late_days) == (mr.MISSING, 5)   # 14, 15, 16, 19, 20
    august = net.statuses("2026-08")["S01"]
    assert august.timeliness.status == mr.MISSING and august.versions == []
    assert [(r.signer, r.problem) for r in august.refused] == [("S02", report_submissions.WRONG_SIGNER)]

    # the assessment's question, per quarter (K03)
    q3, q4 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30)), (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    today = dt.date(2026, 10, 20)
    assert net.late_or_missing("S01", *q3, today) == ["2026-08"]    # joined 20 August: June and July not owed
    assert net.late_or_missing("S01", *q4, today) == []             # September on time; October not due yet
    assert net.late_or_missing("S02", *q3, today) == ["2026-08"]
    assert net.late_or_missing("S02", *q4, today) == ["2026-09"]
    assert net.late_or_missing("S03", *q4, dt.date(2026, 10, 13)) == []
    assert net.late_or_missing("S03", *q4, dt.date(2026, 10, 14)) == ["2026-09"]
    assert net.late_or_missing("S03", *q4, dt.date(2026, 12, 31)) == ["2026-09", "2026-10", "2026-11"]

    # the page: every sub-centre, its status, and the check of the figures against central's records
    li = Clerk(net.app, "li")
    page = li.get(f"/reports/submissions?month={SEP}").text

    def row(node: str) -> str:
        return re.search(rf'<tr id="row-{node}".*?</tr>', page, re.DOTALL).group(0)

    assert 'data-status="on_time"' in row("S01") and "已更正" in row("S01") and "一致" in row("S01")
    assert 'data-status="late"' in row("S02") and "逾期 3 个工作日" in row("S02")
    assert "2 项数据不一致" in row("S02") and "收件数" in row("S02") and "收费金额（元）" in row("S02")
    assert 'data-status="missing"' in row("S03") and "未报送，已逾期 5 个工作日" in row("S03")
    assert "2026年10月13日" in page
    august_page = li.get("/reports/submissions?month=2026-08").text
    assert 'id="not-counted"' in august_page and "该报表由 S02 签名，而非报表所列单位 S01" in august_page

    s02_current = s02.current
    detail = li.get(f"/reports/submissions/{s02_current.record_id}").text
    assert 'id="check-received" class="diff"' in detail and 'id="check-fees_fen" class="diff"' in detail
    assert 'id="check-finished">' in detail                  # an unaltered figure is not flagged
    assert "月度办件报表" in detail and "车管员" in detail
    s01_v1 = s01.versions[0]
    old = li.get(f"/reports/submissions/{s01_v1.record_id}").text
    assert "已被第 2 版取代" in old and "九月办税平稳。" in old

    book = load_workbook(io.BytesIO(li.get(f"/reports/submissions.xlsx?month={SEP}").data))
    lines = {r[0][:3]: r for r in book.active.iter_rows(min_row=4, values_only=True)}
    assert set(lines) == {"S01", "S02", "S03"}
    assert lines["S02"][1:3] == ("逾期 3 个工作日", 3) and "收件数" in lines["S02"][6]
    assert lines["S01"][4] == 2 and lines["S01"][8] == 3 and lines["S03"][3] is None
    assert Clerk(net.app, "xun").get(f"/reports/submissions?month={SEP}").status_code == 200
    assert Clerk(net.app, "wang").get(f"/reports/submissions?month={SEP}").status_code == 403
    assert li.get("/reports/submissions?month=2026-9").status_code == 400
    assert li.get("/reports/submissions/" + "0" * 64).status_code == 404

    # a projection rebuilt from the log holds the same rows
    with net.central.log._lock:
        before = [report_submissions.of_month(net.central.log.db, m) for m in ("2026-08", SEP)]
    net.central.rebuild()
    with net.central.log._lock:
        assert [report_submissions.of_month(net.central.log.db, m) for m in ("2026-08", SEP)] == before


def test_what_changed_after_signing_is_change_not_a_discrepancy(network: Network) -> None:
    """A citizen rates a September case at central a week after S01 signed its September report:
    the report still matches what S01 held when it signed; the figures that moved since are shown
    apart, as a correction that may be due, never as a discrepancy."""
    net = network          # SW003 is finished on the spot (8 September) and not yet rated
    s = _director(net)
    _submit_over_http(net, s)
    desk = NodeDesk(net.s01, {"username": "zhouzr", "name": "周主任"})   # S01's own rating, after its report
    desk.step(net.cases["SW001"], "case.evaluated", china(9, 30, 17), level=5, channel="counter")
    net.sync(net.s01, china(10, 12, 9, 30))            # both arrive together: the chain tells them apart
    net.at(china(10, 14, 15))
    rate(net.central, net.cases["SW003"].number, level=5, reason=None, channel="web", real_name=False)

    li = Clerk(net.app, "li")
    row = re.search(r'<tr id="row-S01".*?</tr>', li.get(f"/reports/submissions?month={SEP}").text, re.DOTALL).group(0)
    assert "一致" in row and "不一致" not in row and "2 项签报后有变化" in row
    record_id = net.statuses()["S01"].current.record_id
    detail = li.get(f"/reports/submissions/{record_id}").text
    assert 'id="check-matches"' in detail and 'id="check-differs"' not in detail and 'id="check-changed"' in detail
    assert 'id="check-evaluated" class="changed"' in detail and 'id="check-satisfied" class="changed"' in detail
    assert 'id="check-received">' in detail
    evaluated = re.search(r'<tr id="check-evaluated".*?</tr>', detail, re.DOTALL).group(0)
    assert re.findall(r'<td class="num">(\d+)</td>', evaluated) == ["1", "1", "3"]   # submitted, as signed, now

    # the same rating made BEFORE signing is a discrepancy if the report leaves it out
    with net.central.log._lock:
        db = net.central.log.db
        assert reports.node_month_as_signed(db, "S01", SEP, record_id=record_id).evaluated == 1
        assert reports.node_month(db, "S01", SEP, today=dt.date(2026, 10, 14)).evaluated == 3
        assert reports.node_month_as_signed(db, "S01", SEP, record_id="0" * 64) is None

    book = load_workbook(io.BytesIO(li.get(f"/reports/submissions.xlsx?month={SEP}").data))
    lines = {r[0][:3]: r for r in book.active.iter_rows(min_row=4, values_only=True)}
    assert lines["S01"][6] in (None, "") and "满意" in lines["S01"][7]


def test_a_late_receipt_on_a_weekend_counts_from_the_next_working_day(network: Network) -> None:
    net = network
    sign_demo_report(net.s02, SEP, when=china(10, 9, 16))   # signed in time at the node...
    net.sync(net.s02, china(10, 17, 10))                   # ...but the PC was offline: Saturday at central
    status = net.statuses()["S02"]
    assert (status.timeliness.status, status.timeliness.late_days) == (mr.LATE, 4)   # counts as Monday 19th
    assert status.current.body["submitted_by"]["name"] == "周主任"
    assert "本月共收件2件" in status.current.body["remarks"]["matters"]


def test_the_due_day_follows_the_setting(make_app: Any, central_dir: Path) -> None:
    from dataclasses import replace

    from central import config

    path = central_dir / "central.toml"
    settings = config.load(path)
    assert settings.monthly_report_due_workday == 5
    config.save(replace(settings, monthly_report_due_workday=3), path)
    central = make_app().extensions["central"]
    with central.log._lock:
        assert report_submissions.configured_due_workday(central.log.db) == 3
    config.save(replace(settings, monthly_report_due_workday=0), path)
    with pytest.raises(RuleError) as refused:
        make_app()
    assert refused.value.code == "report.bad_due_workday"


def _pdf_pages(page: Any, path: Path) -> str:
    import subprocess

    page.emulate_media(media="print")
    page.pdf(path=str(path), format="A4", print_background=True, prefer_css_page_size=True)
    page.emulate_media(media="screen")
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.mark.browser
def test_in_chromium_the_director_submits_and_the_supervisor_checks(network: Network, page: Any, browser: Any,
                                                                     artifacts: Path) -> None:
    net = network
    page.set_default_timeout(10_000)
    page.goto(net.s01_url + "/login")
    page.fill("#username", "zhouzr")
    page.fill("#password", DIRECTOR_PASSWORD)
    page.click("main button[type=submit]")
    page.goto(net.s01_url + f"/reports/?month={SEP}")
    assert page.locator("#figure-received").inner_text() == "3"
    page.screenshot(path=str(artifacts / "node_report_draft.png"), full_page=True)
    page.fill("#matters", "九月共办理涉税事项3件，国庆节前办税高峰平稳度过。")
    page.fill("#problems", "一件企业变更登记因材料补正超期一个工作日。")
    page.fill("#measures", "国庆后推行预约办税，对承诺件每日提醒到期。")
    page.click("#preview")
    page.wait_for_load_state()
    assert page.locator("#preview-note").is_visible()
    assert "国庆后推行预约办税" in page.locator("#report-sheet").inner_text()
    page.screenshot(path=str(artifacts / "node_report_preview.png"), full_page=True)
    page.click("#submit-report")
    page.wait_for_load_state()
    assert page.locator(".flash-success").count() == 1 and page.locator("#not-receipted").is_visible()

    net.sync(net.s01, china(10, 12, 9, 30))
    _tampered(net, net.s02, SEP, received=5, fees_fen=12_000)
    net.sync(net.s02, china(10, 16, 11))
    net.at(china(10, 20, 10))
    rate(net.central, net.cases["SW003"].number, level=5, reason=None, channel="web", real_name=False)
    page.reload()
    assert page.locator("#receipted").is_visible()
    page.screenshot(path=str(artifacts / "node_report_receipted.png"), full_page=True)

    page.goto(net.s01_url + f"/reports/sheet?month={SEP}")
    info = _pdf_pages(page, artifacts / "node_report_sheet.pdf")
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE) and re.search(r"^Page size:.*\(A4\)$", info, re.MULTILINE), info
    page.screenshot(path=str(artifacts / "node_report_sheet.png"), full_page=True)

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    try:
        central = context.new_page()
        central.set_default_timeout(10_000)
        central.goto(net.url + "/login")
        central.fill("#username", "li")
        central.fill("#password", "window-pass-1")
        central.click("main button[type=submit]")
        central.goto(net.url + f"/reports/monthly?month={SEP}")
        central.click(f"a[href='/reports/submissions?month={SEP}']")
        central.wait_for_load_state()
        assert central.locator("#row-S01 [data-status]").get_attribute("data-status") == "on_time"
        assert central.locator("#row-S02 [data-status]").get_attribute("data-status") == "late"
        assert central.locator("#row-S03 [data-status]").get_attribute("data-status") == "missing"
        assert "一致" in central.locator("#row-S01 td.check").inner_text()
        assert "2 项签报后有变化" in central.locator("#row-S01 td.check").inner_text()
        central.screenshot(path=str(artifacts / "central_submissions.png"), full_page=True)
        central.click("#row-S01 a")
        central.wait_for_load_state()
        assert central.locator("#check-changed").is_visible() and central.locator("#check-matches").is_visible()
        central.screenshot(path=str(artifacts / "central_submission_s01_changed.png"), full_page=True)
        central.go_back()
        central.wait_for_load_state()
        central.click("#row-S02 a")
        central.wait_for_load_state()
        assert central.locator("#check-received").get_attribute("class") == "diff"
        central.screenshot(path=str(artifacts / "central_submission_s02.png"), full_page=True)
        info = _pdf_pages(central, artifacts / "central_submission_s02.pdf")
        assert re.search(r"^Pages:\s+1$", info, re.MULTILINE), info
    finally:
        context.close()
