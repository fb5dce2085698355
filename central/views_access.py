"""Who looked at whose personal data: `/supervision/access` for supervisors and inspectors (issue 8).

Every access record of every place (central.access_store: unmasks with their reasons, notice
prints, scan views, exports), filtered by member of staff, place, action, case, masked subject and
date; the counts per member of staff under the same filter, with unusual volumes marked and drawn
as a bar chart; each row links to its case. `/supervision/access.xlsx` exports the filtered rows,
and the export is itself an access record (web.access_log), as every export is.
"""

from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, render_template, request, send_file
from flask_babel import gettext
from openpyxl import Workbook
from werkzeug.wrappers import Response

from casework.messages import RuleError
from casework.numbering import parse_case_number
from central import access_store
from central.pages import central_of, china_time, place_label
from web.access_log import ACTIONS, action_name, reason_name, record_export
from web.auth import roles_required
from web.casepage import NOTICE_NAMES
from web.charts import bar_chart
from web.settings import store_db

bp = Blueprint("access", __name__, url_prefix="/supervision")
READERS = ("supervisor", "inspector")
PAGE = 50
EXPORT_LIMIT = 100_000


def _filter() -> tuple[access_store.Filter, dict[str, str]]:
    """The filter typed on the page, and a message per field that could not be read (the rest applies)."""
    args = {k: request.args.get(k, "").strip() for k in
            ("staff", "place", "action", "case", "subject", "date_from", "date_to")}
    errors: dict[str, str] = {}
    if args["case"]:
        try:
            args["case"] = parse_case_number(args["case"]).text
        except RuleError as err:
            errors["case"] = err.translated(gettext)
    for key in ("date_from", "date_to"):
        if args[key]:
            try:
                dt.date.fromisoformat(args[key])
            except ValueError:
                errors[key] = gettext("Enter a date like 2026-03-01.")
    if args["action"] and args["action"] not in ACTIONS:
        errors["action"] = gettext("Choose one of the listed actions.")
    used = {k: ("" if k in errors else v) for k, v in args.items()}
    return access_store.Filter(**used), errors


def _what(row: access_store.Access) -> str:
    what = row.what
    if row.action == "print_notice":
        kind = str(what.get("notice", ""))
        name = gettext("Guide sheet") if kind == "guide_sheet" else str(NOTICE_NAMES.get(kind, kind))
        return name + (f" {what['card']}" if what.get("card") else "")
    if row.action == "view_scan":
        return f"{what.get('material', '')} {what.get('scan', '')}".strip()
    if row.action == "export":
        return gettext("%(name)s, %(rows)s rows", name=what.get("name", ""), rows=what.get("rows", 0))
    if row.action in ("unmask_id", "unmask_phone"):
        return gettext("the proxy's") if what.get("field") == "proxy" else gettext("the applicant's")
    return ""


def _reason(row: access_store.Access) -> str:
    if not row.reason_code:
        return ""
    if row.reason_code == "other" and row.reason_text:
        return row.reason_text
    text = reason_name(row.reason_code)
    return f"{text}：{row.reason_text}" if row.reason_text else text


@bp.get("/access")
@roles_required(*READERS)
def index() -> tuple[str, int]:
    db = store_db()
    where, errors = _filter()
    page = max(1, request.args.get("page", 1, type=int))
    rows, total = access_store.search(db, where, limit=PAGE, offset=(page - 1) * PAGE)
    counts = access_store.counts(db, where)
    top = counts[:15]
    chart = bar_chart([f"{c.staff_name or c.username}" for c in top], [c.total for c in top],
                      title=gettext("Accesses per member of staff"), width=500) if top else ""
    args = {k: request.args.get(k, "") for k in ("staff", "place", "action", "case", "subject", "date_from", "date_to")}
    return render_template(
        "central/supervision_access.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE)),
        counts=counts, chart=chart, args=args, errors=errors, actions=[(k, action_name(k)) for k in ACTIONS],
        places=[(p, place_label(p)) for p in access_store.places(db)], staff_list=access_store.staff(db),
        action_name=action_name, what=_what, reason=_reason, place_label=place_label, china_time=china_time,
        today=central_of().today()), 400 if errors else 200


@bp.get("/access.xlsx")
@roles_required(*READERS)
def export() -> Response | tuple[str, int]:
    where, errors = _filter()
    if errors:
        return "; ".join(errors.values()), 400
    rows, total = access_store.search(store_db(), where, limit=EXPORT_LIMIT)
    name = f"access-{central_of().today().isoformat()}.xlsx"
    filters = {k: v for k, v in vars(where).items() if v}
    record_export(name, len(rows), filter=filters or None)  # the export of an access list is an access too
    book = Workbook()
    sheet = book.active
    sheet.title = gettext("Access records")[:31]
    sheet.append([gettext("When (its clock)"), gettext("Received by the city"), gettext("Place"), gettext("Staff"),
                  gettext("Username"), gettext("Action"), gettext("Case"), gettext("Applicant (masked)"),
                  gettext("ID (masked)"), gettext("What"), gettext("Reason"), gettext("Record")])
    for r in rows:
        sheet.append([china_time(r.time), china_time(r.received_at), place_label(r.place), r.staff_name, r.username,
                      action_name(r.action), r.case_number, r.subject_name, r.subject_id, _what(r), _reason(r),
                      r.record_id])
    if total > len(rows):
        sheet.append([gettext("Only the first %(n)s rows; narrow the filter.", n=len(rows))])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name=name,
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
