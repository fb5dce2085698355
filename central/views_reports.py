"""Monthly reports for supervisors.

- `/reports/monthly?month=2026-11`: the city's month computed here (tables per node, department and
  window, a bar chart, print) and `/reports/monthly.xlsx` (the same tables, openpyxl);
- `/reports/submissions?month=2026-09`: the reports the service points submitted as signed records
  (central.report_submissions): every sub-centre in the directory with its timeliness, corrections,
  and a check column where central recomputes each node's figures from the records IT holds and
  flags every figure that differs from the submitted one; `/reports/submissions/<record>` shows one
  report as its A4 sheet, with the check and its versions.

The check recomputes twice. "As signed" uses only what the node held when it signed
(store.reports.node_month_as_signed): a figure that differs from it is a real discrepancy. "Now"
uses everything: a figure that moved since signing (a citizen rated a case a week later, a late
case was finished) is change, shown apart, and calls for a corrected version, not for suspicion.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
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


@dataclass(frozen=True)
class FigureCheck:
    """One figure of a submitted report beside central's two recomputations."""

    name: str
    submitted: Any
    as_signed: int
    now: int

    @property
    def differs(self) -> bool:
        """The node's figure is not what its own records at signing give: a discrepancy."""
        return self.submitted != self.as_signed

    @property
    def changed(self) -> bool:
        """The figure moved after signing (later ratings, late cases finished): a correction may be due."""
        return self.as_signed != self.now


def check_report(db: Any, sub: report_submissions.Submission) -> list[FigureCheck]:
    """Every figure of `sub` checked (one query per recomputation, on the node's own cases)."""
    now = reports.node_month(db, sub.node, sub.month, today=central_of().today()).figures()
    signed = reports.node_month_as_signed(db, sub.node, sub.month, record_id=sub.record_id)
    as_signed = signed.figures() if signed is not None else now
    figures = sub.body.get("figures") if isinstance(sub.body.get("figures"), dict) else {}
    return [FigureCheck(name, figures.get(name), as_signed[name], now[name]) for name in mr.FIGURES]


@dataclass(frozen=True)
class ReportCheck:
    """A standing report's check in words: the labels that differ, and those changed since signing."""

    differ: list[str]
    changed: list[str]


def _check(db: Any, statuses: list[report_submissions.MonthStatus]) -> dict[str, ReportCheck]:
    """node -> the check of its standing version."""
    found = {}
    for status in statuses:
        if status.current is not None:
            checks = check_report(db, status.current)
            found[status.node] = ReportCheck([figure_label(c.name) for c in checks if c.differs],
                                             [figure_label(c.name) for c in checks if c.changed])
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
    return {"statuses": statuses, "others": other_statuses, "checks": _check(db, statuses + other_statuses),
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
                  gettext("Check against the centre’s records"), gettext("Changed since it was signed"),
                  *(figure_label(name) for name in mr.FIGURES)])
    for status in view["statuses"] + view["others"]:
        standing, first = status.current, status.first
        figures = standing.body["figures"] if standing else {}
        sheet.append([f"{status.node} {status.name}".strip(), status_text(status.timeliness),
                      status.timeliness.late_days, china_time(first.received_at) if first else "",
                      standing.version if standing else "",
                      standing.body["submitted_by"].get("name", "") if standing else "",
                      "、".join(view["checks"][status.node].differ) if standing else "",
                      "、".join(view["checks"][status.node].changed) if standing else "",
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
    readable = not mr.problems_of(sub.body)
    checks = check_report(db, sub) if readable else []
    sheet = sheet_from_body(sub.body, node_name=node_name(db, sub.node), signed_at=sub.origin_time,
                            received_at=sub.received_at, record_id=sub.record_id,
                            centre=central.config.place_name) if readable else None
    return render_template(
        "reports/submission.html", sub=sub, status=status, sheet=sheet, checks=checks, figure_label=figure_label,
        figure_text=_figure_text, differing=[c.name for c in checks if c.differs],
        changed=[c.name for c in checks if c.changed], status_text=status_text, tags=STATUS_TAGS,
        problem_text=problem_text, standing=status.current,
        raw=json.dumps(sub.body, ensure_ascii=False, indent=2, sort_keys=True)), 200


def _figure_text(name: str, value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        return "—"
    return yuan(value) if name == "fees_fen" else str(value)
