"""The monthly report page of a sub-centre, without a central: figures from its own cases, the director's
preview and submission (a signed `report.monthly`), corrections with a reason, and what clerks may do."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from nodekit import PASSWORD, make_node
from serving import serve

from casework import monthly_report as mr
from installer.casegen import NodeDesk
from node import monthly_report
from node.app import create_app
from store import reports
from store.db import open_db

CHINA = dt.timezone(dt.timedelta(hours=8))
MONTH = "2026-09"
APPLICANT = {"type": "person", "name": "王建国", "id_type": "resident_id", "id_number": "11010519491231002X",
             "phone": "13812345678"}


def at(day: int, hour: int = 10, month: int = 9) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=CHINA)


def september_cases(node: Any) -> None:
    """Two immediate tax items, one promised item finished on time and one finished late, one rated."""
    desk = NodeDesk(node, {"username": "clerk", "name": "王村干"})
    desk.take_in("SW001", at(7), APPLICANT)
    case, _ = desk.take_in("SW002", at(8), APPLICANT)
    desk.step(case, "case.evaluated", at(8, 11), level=5, channel="counter")
    on_time, outcome = desk.take_in("SCJG002", at(9), APPLICANT)
    assert outcome == "promised"
    desk.step(on_time, "case.finished", at(10), outcome="granted")
    late, _ = desk.take_in("SCJG002", at(14), APPLICANT)
    desk.step(late, "case.finished", at(18), outcome="granted")


@pytest.fixture
def subcentre(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    folder = tmp_path / "S01"
    make_node(folder, node_id="S01", name="如皋市税务局办税服务厅", parent="")
    app = create_app({"DATA_DIR": str(folder)})
    try:
        september_cases(app.extensions["bianmin_node"])
        with serve(app) as url:
            yield url, app
    finally:
        app.extensions["bianmin_node"].close()


def session(base: str, username: str) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
    assert s.post(base + "/login", data={"csrf_token": token, "username": username,
                                         "password": PASSWORD}).status_code == 200
    return s


def token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1).replace("&#34;", '"').replace("&quot;", '"')


def figure(html: str, key: str) -> str:
    return re.search(rf'id="figure-{key}">([^<]*)<', html).group(1)


def own_reports(app: Any) -> list[Any]:
    the_node = app.extensions["bianmin_node"]
    return [s.record for s in the_node.log.records_after(0, kinds=[mr.KIND], limit=100)]


REMARKS = {"matters": "国庆节前办税高峰，日均接待增加三成。", "problems": "自助办税终端两台故障。",
           "measures": "增开两个综合窗口，预约分流。"}


def preview_and_submit(s: requests.Session, base: str, **fields: str) -> requests.Response:
    page = s.get(base + f"/reports/?month={MONTH}").text
    preview = s.post(base + f"/reports/?month={MONTH}", data={"csrf_token": token(page), "action": "preview",
                                                                **REMARKS, **fields})
    assert preview.status_code == 200, preview.text[-2000:]
    assert 'id="submit-report"' in preview.text and 'id="preview-note"' in preview.text
    return s.post(base + f"/reports/?month={MONTH}", data={
        "csrf_token": token(preview.text), "action": "submit", "digest": hidden(preview.text, "digest"),
        "expected": hidden(preview.text, "expected"), **REMARKS, **fields}, allow_redirects=False)


def test_the_figures_are_the_nodes_own_month_by_central_definitions(subcentre) -> None:
    base, app = subcentre
    the_node = app.extensions["bianmin_node"]
    db = open_db(the_node.db_path)
    try:
        row = reports.node_month(db, "S01", MONTH, today=dt.date(2026, 12, 1))
    finally:
        db.conn.close()
    # 4 received and accepted; 3 finished (2 immediate on the day, 1 promised in time), 1 finished late
    assert (row.received, row.accepted, row.finished, row.on_time, row.overdue) == (4, 4, 4, 3, 1)
    assert (row.evaluated, row.satisfied, row.returned, row.refused, row.fees_fen) == (1, 1, 0, 0, 0)
    html = session(base, "clerk").get(base + f"/reports/?month={MONTH}").text
    assert figure(html, "received") == "4" and figure(html, "on_time_pct") == "75.0"
    assert figure(html, "overdue") == "1" and figure(html, "satisfaction_pct") == "100.0"
    assert 'class="sheet report-sheet report-draft"' in html


def test_a_clerk_views_and_prints_but_only_the_director_submits(subcentre) -> None:
    base, app = subcentre
    clerk = session(base, "clerk")
    page = clerk.get(base + f"/reports/?month={MONTH}")
    assert page.status_code == 200 and 'id="report-form"' not in page.text and 'id="who-submits"' in page.text
    refused = clerk.post(base + f"/reports/?month={MONTH}", data={"csrf_token": token(page.text),
                                                                   "action": "preview", **REMARKS})
    assert refused.status_code == 403 and own_reports(app) == []
    assert clerk.get(base + f"/reports/sheet?month={MONTH}").status_code == 200
    assert clerk.get(base + f"/reports/export.xlsx?month={MONTH}").status_code == 200


def test_the_director_previews_submits_and_corrects_with_a_reason(subcentre) -> None:
    base, app = subcentre
    admin = session(base, "admin")
    # sending without a preview only previews: nothing is signed unseen
    page = admin.get(base + f"/reports/?month={MONTH}").text
    unseen = admin.post(base + f"/reports/?month={MONTH}", data={"csrf_token": token(page), "action": "submit",
                                                                  **REMARKS})
    assert unseen.status_code == 200 and 'id="submit-report"' in unseen.text and own_reports(app) == []

    done = preview_and_submit(admin, base)
    assert done.status_code == 302
    [record] = own_reports(app)
    body = record.body
    assert (record.kind, record.origin, body["node"], body["month"], body["version"]) == \
        (mr.KIND, "S01", "S01", MONTH, 1)
    assert body["figures"]["received"] == 4 and body["figures"]["fees_fen"] == 0
    assert body["remarks"] == REMARKS and body["submitted_by"] == {"username": "admin", "name": "李站长"}
    shown = admin.get(base + f"/reports/?month={MONTH}").text
    assert 'id="not-receipted"' in shown and "第 1 版" in shown
    assert 'id="report-form"' in shown and 'name="reason"' in shown     # the next one is a correction

    # a correction without a reason is refused, and what was typed comes back
    page = admin.get(base + f"/reports/?month={MONTH}").text
    refused = admin.post(base + f"/reports/?month={MONTH}", data={
        "csrf_token": token(page), "action": "preview", **REMARKS, "matters": "补充说明：另有两件"})
    assert refused.status_code == 400
    assert "补充说明：另有两件" in refused.text and "更正必须说明原因" in refused.text
    assert len(own_reports(app)) == 1

    done = preview_and_submit(admin, base, reason="漏报一件延期办结的承诺件说明")
    assert done.status_code == 302
    first, second = own_reports(app)
    assert first.body["version"] == 1 and first.body["reason"] == ""
    assert second.body["version"] == 2 and second.body["reason"] == "漏报一件延期办结的承诺件说明"
    versions = admin.get(base + f"/reports/?month={MONTH}").text
    assert versions.count("<tr><td>2<br>") == 1 and "<tr><td>1</td>" in versions


def test_new_records_between_preview_and_submit_are_not_signed_unseen(subcentre) -> None:
    base, app = subcentre
    admin = session(base, "admin")
    page = admin.get(base + f"/reports/?month={MONTH}").text
    preview = admin.post(base + f"/reports/?month={MONTH}", data={"csrf_token": token(page), "action": "preview",
                                                                   **REMARKS}).text
    assert json.loads(hidden(preview, "expected"))["received"] == 4
    NodeDesk(app.extensions["bianmin_node"]).take_in("SW001", at(29), APPLICANT)   # arrives meanwhile
    changed = admin.post(base + f"/reports/?month={MONTH}", data={
        "csrf_token": token(preview), "action": "submit", "digest": hidden(preview, "digest"),
        "expected": hidden(preview, "expected"), **REMARKS})
    assert changed.status_code == 409 and own_reports(app) == []
    assert figure(changed.text, "received") == "5"           # the new preview shows the new figures
    assert preview_and_submit(admin, base).status_code == 302
    assert own_reports(app)[0].body["figures"]["received"] == 5


def test_records_arriving_after_the_submission_are_pointed_out(subcentre) -> None:
    base, app = subcentre
    admin = session(base, "admin")
    assert preview_and_submit(admin, base).status_code == 302
    assert 'id="figures-changed"' not in admin.get(base + f"/reports/?month={MONTH}").text
    NodeDesk(app.extensions["bianmin_node"]).take_in("SW001", at(30), APPLICANT)   # a late entry for September
    page = admin.get(base + f"/reports/?month={MONTH}").text
    warning = re.search(r'id="figures-changed"[^>]*>([^<]*)<', page).group(1)
    assert "收件数" in warning and "办结数" in warning and "评价件数" not in warning
    assert figure(page, "received") == "4"          # the sheet still shows what was signed


def test_edited_text_after_the_preview_is_previewed_again(subcentre) -> None:
    base, app = subcentre
    admin = session(base, "admin")
    page = admin.get(base + f"/reports/?month={MONTH}").text
    preview = admin.post(base + f"/reports/?month={MONTH}", data={"csrf_token": token(page), "action": "preview",
                                                                   **REMARKS}).text
    edited = admin.post(base + f"/reports/?month={MONTH}", data={
        "csrf_token": token(preview), "action": "submit", "digest": hidden(preview, "digest"),
        "expected": hidden(preview, "expected"), **REMARKS, "problems": "改过的文字"})
    assert edited.status_code == 409 and own_reports(app) == [] and "改过的文字" in edited.text


def test_bad_input_is_refused_clearly(subcentre) -> None:
    base, app = subcentre
    admin = session(base, "admin")
    page = admin.get(base + f"/reports/?month={MONTH}").text
    long = admin.post(base + f"/reports/?month={MONTH}", data={
        "csrf_token": token(page), "action": "preview", **REMARKS, "problems": "长" * (mr.MAX_REMARK + 1)})
    assert long.status_code == 400 and "长" * 50 in long.text and 'id="problems-error"' in long.text
    this_month = mr.month_of(dt.datetime.now(CHINA).date())
    early = admin.post(base + f"/reports/?month={this_month}", data={"csrf_token": token(page), "action": "preview",
                                                                      **REMARKS})
    assert early.status_code == 400 and "尚未结束" in early.text
    assert admin.get(base + "/reports/?month=2026-13").status_code == 400
    assert own_reports(app) == []


def test_the_sheet_and_the_workbook(subcentre) -> None:
    from openpyxl import load_workbook

    base, _app = subcentre
    admin = session(base, "admin")
    draft = admin.get(base + f"/reports/sheet?month={MONTH}").text
    assert "月度办件报表" in draft and "草稿" in draft and "2026年9月" in draft
    assert preview_and_submit(admin, base).status_code == 302
    sheet = admin.get(base + f"/reports/sheet?month={MONTH}&version=1").text
    assert "草稿" not in sheet and REMARKS["measures"] in sheet and "李站长" in sheet
    data = admin.get(base + f"/reports/export.xlsx?month={MONTH}")
    assert data.headers["Content-Disposition"].endswith('S01-2026-09-monthly-report.xlsx"')
    book = load_workbook(io.BytesIO(data.content))
    main, items = book.worksheets
    rows = {r[0]: r[1] for r in main.iter_rows(values_only=True) if r and r[0]}
    assert rows["受理数"] == 4 and rows["按期办结率（%）"] == 75.0 and rows["版本"] == 1
    assert rows["本月主要工作和突出情况"] == REMARKS["matters"]
    lines = list(items.iter_rows(values_only=True))
    assert lines[0][0] == "事项名称" and {r[0][:7] for r in lines[1:]} == {"SW001 新", "SW002 发", "SCJG002"}


def test_the_home_page_reminds_a_subcentre_until_last_month_is_signed(subcentre, village) -> None:
    base, app = subcentre
    last = mr.previous_month(dt.datetime.now(CHINA).date())
    admin = session(base, "admin")
    assert f"{last} 的办件月报表尚未报送市中心" in admin.get(base + "/").text
    assert 'id="report-reminder"' in session(base, "clerk").get(base + "/").text
    monthly_report.submit(app.extensions["bianmin_node"], month=last, remarks={}, today=dt.datetime.now(CHINA).date(),
                          submitted_by={"username": "admin", "name": "李站长"})
    assert 'id="report-reminder"' not in admin.get(base + "/").text
    village_base, _village_app = village   # a village room is not bound to report: no reminder
    assert 'id="report-reminder"' not in session(village_base, "clerk").get(village_base + "/").text
