"""Monthly reports for supervisors.

- `/reports/monthly?month=2026-11`: the city's month computed here (tables per node, department and
  window, a bar chart, print) and `/reports/monthly.xlsx` (the same tables, openpyxl);
- `/reports/submissions?month=2026-09`: the reports the service points submitted as signed records
  (central.report_submissions): every sub-centre in the directory with its timeliness, corrections,
  and a check column where central recomputes each node's figures from the records IT holds and
  flags every figure that differs from the submitted one; `/reports/submissions/<record>` shows one
  report as its A4 sheet, with the check and its versions.
"""

from __future__ import annotations

import io
import json
from typing import Any

from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import gettext
from openpyxl import Workbook
from werkzeug.wrappers import Response

from casework import monthly_report as mr
from central import report_submissions
from central.pages import central_of, china_time, place_label
from store import reports
from store.directory import NodeRow, get_node, list_nodes, node_name
from web.auth import roles_required
from web.charts import bar_chart
from web.filters import yuan
from web.monthly_report import figure_label, sheet_from_body
from web.settings import store_db

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = ("supervisor", "admin")
SUBMISSION_READERS = ("supervisor", "inspector", "admin")


def _month() -> tuple[str, str | None]:
    """The month asked for (default: this month) and an error message if it is not YYYY-MM."""
    month = (request.args.get("month") or central_of().today().isoformat()[:7]).strip()
    try:
        reports.parse_month(month)
    except ValueError:
        return central_of().today().isoformat()[:7], gettext("Give the month as YYYY-MM, e.g. 2026-11.")
    return month, None


def _names() -> dict[str, dict[str, str]]:
    catalogue = central_of().catalogue()
    return {"department": {d.code: d.name for d in catalogue.departments},
            "window": {w.code: w.name for w in catalogue.windows}}


def _label(group: str, key: str, names: dict[str, dict[str, str]]) -> str:
    if not key:
        return gettext("(none)")
    if group == "node":
        return place_label("central") if key == "C" else place_label(f"node:{key}")
    return f"{key} {names[group].get(key, '')}".strip()


def _tables(month: str) -> list[dict[str, Any]]:
    db = store_db()
    today = central_of().today()
    names = _names()
    tables = []
    for group, title in (("node", gettext("By node")), ("department", gettext("By department")),
                         ("window", gettext("By window"))):
        rows = reports.monthly(db, month, group, today=today)
        tables.append({"group": group, "title": title, "rows": [(_label(group, r.key, names), r) for r in rows],
                       "total": reports.total(rows)})
    return tables


def _columns() -> list[str]:
    return [gettext("Received"), gettext("Accepted"), gettext("Finished"), gettext("On time %"),
            gettext("Overdue"), gettext("Returned"), gettext("Refused"), gettext("Fees collected (yuan)"),
            gettext("Satisfaction %")]


def _cells(row: reports.MonthlyRow) -> list[Any]:
    return [row.received, row.accepted, row.finished, row.on_time_pct, row.overdue, row.returned, row.refused,
            row.fees_fen / 100, row.satisfaction_pct]


@bp.get("/monthly")
@roles_required(*READERS)
def monthly() -> tuple[str, int]:
    month, error = _month()
    tables = _tables(month)
    department = tables[1]
    chart = bar_chart([label for label, _ in department["rows"]], [r.received for _, r in department["rows"]],
                      title=gettext("Cases received by department"))
    return render_template("reports/monthly.html", month=month, error=error, tables=tables, chart=chart,
                           columns=_columns(), cells=_cells), 400 if error else 200


@bp.get("/monthly.xlsx")
@roles_required(*READERS)
def monthly_xlsx() -> Response | tuple[str, int]:
    month, error = _month()
    if error:
        return error, 400
    book = Workbook()
    book.remove(book.active)
    for table in _tables(month):
        sheet = book.create_sheet(table["title"][:31])
        sheet.append([gettext("Monthly case report"), month])
        sheet.append(["", *_columns()])
        for label, row in table["rows"]:
            sheet.append([label, *_cells(row)])
        sheet.append([gettext("Total"), *_cells(table["total"])])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name=f"monthly-{month}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# --- submitted reports (central.report_submissions) -------------------------------------------------

STATUS_TAGS = {mr.ON_TIME: "ok", mr.LATE: "bad", mr.MISSING: "bad", mr.NOT_DUE: "", mr.NOT_REQUIRED: ""}


def status_text(t: mr.Timeliness) -> str:
    """A report's timeliness in words."""
    if t.status == mr.ON_TIME:
        return gettext("On time")
    if t.status == mr.LATE:
        return gettext("Late by %(n)s working day(s)", n=t.late_days)
    if t.status == mr.MISSING:
        return gettext("Missing, %(n)s working day(s) overdue", n=t.late_days)
    if t.status == mr.NOT_DUE:
        return gettext("Not yet due")
    return gettext("Not required (joined the network later)")


def problem_text(sub: report_submissions.Submission) -> str:
    if sub.problem == report_submissions.WRONG_SIGNER:
        return gettext("Signed by %(signer)s, not by %(node)s which it names: it does not count.", signer=sub.signer,
                       node=sub.node)
    return gettext("The report is malformed and does not count (%(detail)s).", detail=sub.detail)


def _check(db: Any, month: str, statuses: list[report_submissions.MonthStatus]) -> dict[str, list[str]]:
    """node -> the labels of the figures of its standing version that differ from central's recomputation
    (one query per reporting node, on its own cases: the origin index, not the whole city)."""
    today = central_of().today()
    found = {}
    for status in statuses:
        standing = status.current
        if standing is not None:
            recomputed = reports.node_month(db, status.node, month, today=today).figures()
            found[status.node] = [figure_label(name) for name in mr.differences(standing.body["figures"], recomputed)]
    return found


def _submissions_month() -> tuple[str, str | None]:
    """The month asked for (default: last month, the one being reported now)."""
    default = mr.previous_month(central_of().today())
    month = (request.args.get("month") or default).strip()
    try:
        mr.parse_month(month)
    except ValueError:
        return default, gettext("Give the month as YYYY-MM, e.g. 2026-11.")
    return month, None


def _month_view(db: Any, month: str) -> dict[str, Any]:
    """Everything the submissions page and its workbook show for `month`."""
    central = central_of()
    calendar, today = central.calendar(), central.today()
    subcentres = list_nodes(db, tier="subcentre")
    held = report_submissions.of_month(db, month)
    known = {n.node for n in subcentres}
    others = [row for node in sorted({s.node for s in held} - known) if (row := get_node(db, node)) is not None]
    statuses = report_submissions.month_statuses(db, month, subcentres, calendar=calendar, today=today)
    other_statuses = [s for s in report_submissions.month_statuses(db, month, others, calendar=calendar, today=today)
                      if s.versions or s.refused]
    workday = report_submissions.configured_due_workday(db)
    return {"statuses": statuses, "others": other_statuses, "checks": _check(db, month, statuses + other_statuses),
            "refused": [s for s in held if not s.counted], "workday": workday,
            "counts": {key: sum(1 for s in statuses if s.timeliness.status == key) for key in STATUS_TAGS},
            "due": mr.due_date(calendar, month, workday)}


@bp.get("/submissions")
@roles_required(*SUBMISSION_READERS)
def submissions() -> tuple[str, int]:
    month, error = _submissions_month()
    return render_template(
        "reports/submissions.html", month=month, error=error, **_month_view(store_db(), month),
        status_text=status_text, tags=STATUS_TAGS, problem_text=problem_text,
        previous=mr.shift_month(month, -1), following=mr.shift_month(month, 1)), 400 if error else 200


@bp.get("/submissions.xlsx")
@roles_required(*SUBMISSION_READERS)
def submissions_xlsx() -> Response | tuple[str, int]:
    """The month's submissions as a workbook: one line per service point, its status and its figures."""
    month, error = _submissions_month()
    if error:
        return error, 400
    view = _month_view(store_db(), month)
    book = Workbook()
    sheet = book.active
    sheet.title = gettext("Monthly reports submitted")[:31]
    sheet.append([gettext("Monthly reports submitted"), month])
    sheet.append([gettext("Due"), view["due"].date.isoformat()])
    sheet.append([gettext("Service point"), gettext("Status"), gettext("Working days late"),
                  gettext("Received by the centre"), gettext("Version"), gettext("Submitted by"),
                  gettext("Check against the centre’s records"),
                  *(figure_label(name) for name in mr.FIGURES)])
    for status in view["statuses"] + view["others"]:
        standing, first = status.current, status.first
        figures = standing.body["figures"] if standing else {}
        sheet.append([f"{status.node} {status.name}".strip(), status_text(status.timeliness),
                      status.timeliness.late_days, china_time(first.received_at) if first else "",
                      standing.version if standing else "",
                      standing.body["submitted_by"].get("name", "") if standing else "",
                      "、".join(view["checks"].get(status.node, [])) if standing else "",
                      *(figures.get(name, "") if name != "fees_fen" or not standing else figures[name] / 100
                        for name in mr.FIGURES)])
    sheet.column_dimensions["A"].width = 30
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name=f"monthly-reports-{month}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/submissions/<record_id>")
@roles_required(*SUBMISSION_READERS)
def submission(record_id: str) -> tuple[str, int]:
    db = store_db()
    sub = report_submissions.get(db, record_id)
    if sub is None:
        abort(404)
    central = central_of()
    row = get_node(db, sub.node)
    status = report_submissions.month_statuses(db, sub.month, [row or NodeRow(sub.node, "", "", (), None, "unknown",
                                                                         None, None, None)],
                                               calendar=central.calendar(), today=central.today())[0]
    recomputed = reports.node_month(db, sub.node, sub.month, today=central.today()).figures()
    readable = not mr.problems_of(sub.body)
    submitted = sub.body["figures"] if readable else {}
    check = [(name, figure_label(name), _figure_text(name, submitted.get(name)), _figure_text(name, recomputed[name]),
              submitted.get(name) != recomputed[name]) for name in mr.FIGURES]
    sheet = sheet_from_body(sub.body, node_name=node_name(db, sub.node), signed_at=sub.origin_time,
                            received_at=sub.received_at, record_id=sub.record_id,
                            centre=central.config.place_name) if readable else None
    return render_template(
        "reports/submission.html", sub=sub, status=status, sheet=sheet, check=check,
        differing=[row[0] for row in check if row[4]], status_text=status_text, tags=STATUS_TAGS,
        problem_text=problem_text, standing=status.current,
        raw=json.dumps(sub.body, ensure_ascii=False, indent=2, sort_keys=True)), 200


def _figure_text(name: str, value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return "—"
    return yuan(value) if name == "fees_fen" else str(value)
