"""The monthly case report page for supervisors: `/reports/monthly?month=2026-11` (tables per node,
department and window, a bar chart, print) and `/reports/monthly.xlsx` (the same tables, openpyxl)."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, render_template, request, send_file
from flask_babel import gettext
from openpyxl import Workbook
from werkzeug.wrappers import Response

from central.pages import central_of, place_label
from store import reports
from web.auth import roles_required
from web.charts import bar_chart
from web.settings import store_db

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = ("supervisor", "admin")


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
