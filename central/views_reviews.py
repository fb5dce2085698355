"""Bad reviews (差评) and satisfaction rates (满意率): the supervision office's pages.

`/reviews/`: every bad review, open ones first by due date, overdue in red, filters by window,
node, department and status. Supervisors and inspectors see all; a window clerk sees the reviews of
the windows they work at. `/reviews/<evaluation>`: one review with its rating, the case, the
timeline of its records and the steps the viewer may sign (casework.reviews says which may follow):
- the supervisor records call-backs, rectifications and decides appeals;
- the clerks of the window rated may record the rectification and appeal;
- a node has no page here, so the supervisor records a node's rectification or appeal for it;
  an appeal is decided by someone other than who recorded it.
`/reviews/satisfaction?from=&to=`: ratings per window, node and department, the rate against the
95 % target, charts and an XLSX workbook.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from casework import reviews
from casework.identity import mask_phone
from casework.messages import RuleError
from central import reviews_store
from central.pages import central_of, place_label, staff_name, windows_of
from store.accounts import StaffAccount
from store.directory import list_nodes
from sync.canonical import nfc
from web.auth import current_staff, roles_required
from web.case_actions import CHANNEL_NAMES, LEVEL_NAMES
from web.charts import bar_chart
from web.settings import store_db

bp = Blueprint("reviews", __name__, url_prefix="/reviews")
log = logging.getLogger(__name__)
WATCHERS = ("supervisor", "inspector")
CLERKS = ("window_clerk", "card_clerk")
RATE_READERS = ("supervisor", "inspector", "admin")
PAGE = 50
TEXT_LIMIT = 1000


def status_name(code: str | None) -> str:
    return gettext(reviews.STATUS_MSGIDS[code]) if code in reviews.STATUS_MSGIDS else (code or "")


@bp.context_processor
def _nav() -> dict[str, bool]:
    """Which of the two reviews pages the signed-in member of staff may open (the pages' own links)."""
    staff = current_staff()
    return {"nav_list": bool(staff and staff.has_role(*WATCHERS, *CLERKS)),
            "nav_rates": bool(staff and staff.has_role(*RATE_READERS))}


def _units(staff: StaffAccount) -> list[str] | None:
    """The units whose reviews `staff` sees: None for all (supervisor, inspector), else their windows."""
    if staff.has_role(*WATCHERS):
        return None
    return [f"window:{code}" for code, _ in windows_of(staff)]


def _names() -> dict[str, dict[str, str]]:
    catalogue = central_of().catalogue()
    return {"department": {d.code: d.name for d in catalogue.departments},
            "window": {w.code: w.name for w in catalogue.windows}}


def _status_options() -> list[tuple[str, str]]:
    return [("open", gettext("Open")), ("overdue", gettext("Overdue")),
            ("late", gettext("Not put right by the due date")),
            *[(code, status_name(code)) for code in reviews.STATUSES],
            ("rejected", gettext("Appeal rejected"))]


@bp.get("/")
@roles_required(*WATCHERS, *CLERKS)
def index() -> str:
    staff = current_staff()
    assert staff is not None
    db = store_db()
    today = central_of().today()
    args = {k: request.args.get(k, "").strip()[:40] for k in ("status", "window", "node", "department")}
    page = max(1, request.args.get("page", 1, type=int))
    units = _units(staff)
    rows, total = reviews_store.bad_reviews(db, today=today, units=units, limit=PAGE, offset=(page - 1) * PAGE,
                                            **args)
    kpis = {name: reviews_store.bad_reviews(db, today=today, units=units, status=name, limit=0)[1]
            for name in ("open", "overdue", "awaiting_callback", "appealed")}
    names = _names()
    nodes = [(n.node, f"{n.node} {n.name}") for n in list_nodes(db) if n.node != "C"]
    return render_template(
        "reviews/index.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE)), args=args,
        today=today, kpis=kpis, names=names, nodes=nodes, status_options=_status_options(),
        status_name=status_name, level_names=LEVEL_NAMES, channel_names=CHANNEL_NAMES, mine=units is not None)


# --- one review --------------------------------------------------------------------------------------

def _review(evaluation: str) -> reviews_store.ReviewRow:
    row = reviews_store.get(store_db(), evaluation)
    if row is None or not row.bad:
        abort(404)
    staff = current_staff()
    assert staff is not None
    units = _units(staff)
    if units is not None and row.unit not in units:
        abort(403)
    return row


def _may(row: reviews_store.ReviewRow, staff: StaffAccount) -> dict[str, bool]:
    """Which steps this member of staff may sign on this review now."""
    allowed = set(reviews.allowed(row.review))
    supervisor = staff.has_role("supervisor")
    clerk = staff.has_role(*CLERKS) and row.unit.startswith("window:") and \
        row.unit in (_units(staff) or [])
    return {
        "callback": supervisor and reviews.CALLED_BACK in allowed,
        "rectify": (supervisor or clerk) and reviews.RECTIFIED in allowed,
        "appeal": (clerk or (supervisor and not row.unit.startswith("window:"))) and reviews.APPEALED in allowed,
        "decide": supervisor and reviews.APPEAL_DECIDED in allowed and row.appealed_by != staff.username,
    }


def _timeline(row: reviews_store.ReviewRow) -> list[dict[str, Any]]:
    central = central_of()
    entries = []
    for rid in [row.id, *reviews_store.record_ids(store_db(), row.id)]:
        stored = central.log.stored(rid)
        if stored is None:
            continue
        record = stored.record
        body = record.body if isinstance(record.body, dict) else {}
        entries.append({"id": rid, "kind": record.kind, "time": record.time, "received_at": stored.received_at,
                        "origin": record.origin, "body": body,
                        "staff": body.get("staff") or (body.get("by") or {}).get("username", "")})
    return entries


def _contact(row: reviews_store.ReviewRow, staff: StaffAccount) -> dict[str, str] | None:
    """The applicant's phone for the call-back: masked, or in full when a supervisor asks for it
    (`?call=1`) on a real-name review; each full view is logged (who, which case; not the number)."""
    if not row.real_name or not staff.has_role("supervisor", "inspector"):
        return None
    state = central_of().fold(row.case_number, store_db())
    if state is None:
        return None
    phone = state.applicant.get("phone") or (state.proxy or {}).get("phone")
    if not isinstance(phone, str) or not phone:
        return {"name": "", "phone": "", "shown": ""}
    shown = ""
    if request.args.get("call") == "1" and staff.has_role("supervisor"):
        log.info("applicant phone shown for a call-back: case %s, review %s, by %s", row.case_number, row.id[:12],
                 staff.username)
        shown = phone
    return {"phone": mask_phone(phone), "shown": shown}


def _render(row: reviews_store.ReviewRow, *, errors: dict[str, str] | None = None, form: str = "",
            status: int = 200) -> tuple[str, int]:
    staff = current_staff()
    assert staff is not None
    today = central_of().today()
    names = _names()
    return render_template(
        "reviews/show.html", row=row, today=today, may=_may(row, staff), timeline=_timeline(row),
        contact=_contact(row, staff), errors=errors or {}, open_form=form, values=request.form,
        field_errors={k: v for k, v in (errors or {}).items() if k != "_rule"},
        status_name=status_name, level_names=LEVEL_NAMES, channel_names=CHANNEL_NAMES, names=names,
        all_evaluations=reviews_store.of_case(store_db(), row.case_number)), status


@bp.get("/<evaluation>")
@roles_required(*WATCHERS, *CLERKS)
def show(evaluation: str) -> tuple[str, int]:
    return _render(_review(evaluation))


def _text(name: str, errors: dict[str, str], message: str) -> str:
    value = nfc((request.form.get(name) or "").strip())
    if not value:
        errors[name] = message
    elif len(value) > TEXT_LIMIT:
        errors[name] = gettext("Please keep it under %(n)s characters.", n=TEXT_LIMIT)
    return value


def _sign(row: reviews_store.ReviewRow, kind: str, fields: dict[str, Any], form: str) -> Any:
    """Check the step against the review as it stands now and sign it, under `act`'s lock so that two
    people acting at once cannot both record the same step."""
    central = central_of()
    body = {"case": row.case_number, "evaluation": row.id, "staff": staff_name(), **fields}
    try:
        with central.one_at_a_time(), central.log.transaction() as db:
            now = reviews_store.get(db, row.id)
            assert now is not None
            reviews.apply(now.review, kind, body, day=central.today())
            central.sign(kind, body)
    except RuleError as err:
        return _render(row, errors={"_rule": err.translated(gettext)}, form=form, status=400)
    return None


def _done(row: reviews_store.ReviewRow, message: str) -> Response:
    flash(message, "success")
    return redirect(url_for("reviews.show", evaluation=row.id))


@bp.post("/<evaluation>/callback")
@roles_required("supervisor")
def callback(evaluation: str) -> Any:
    row = _review(evaluation)
    staff = current_staff()
    assert staff is not None
    if not _may(row, staff)["callback"]:
        return _render(row, errors={"_rule": gettext("A call-back cannot be recorded on this review now.")},
                       status=400)
    reached = request.form.get("reached")
    errors: dict[str, str] = {}
    if reached not in ("1", "0"):
        errors["reached"] = gettext("Say whether the applicant was reached.")
    note = nfc((request.form.get("note") or "").strip())
    if reached == "1" and not note:
        errors["note"] = gettext("Write down what the applicant said.")
    if len(note) > TEXT_LIMIT:
        errors["note"] = gettext("Please keep it under %(n)s characters.", n=TEXT_LIMIT)
    if errors:
        return _render(row, errors=errors, form="callback", status=400)
    failed = _sign(row, reviews.CALLED_BACK, {"reached": reached == "1", "note": note or None}, "callback")
    return failed or _done(row, gettext("Call-back recorded."))


@bp.post("/<evaluation>/rectify")
@roles_required("supervisor", *CLERKS)
def rectify(evaluation: str) -> Any:
    row = _review(evaluation)
    staff = current_staff()
    assert staff is not None
    if not _may(row, staff)["rectify"]:
        return _render(row, errors={"_rule": gettext("You may not record the rectification of this review now.")},
                       status=400)
    errors: dict[str, str] = {}
    measures = _text("measures", errors, gettext("Describe what was changed."))
    if errors:
        return _render(row, errors=errors, form="rectify", status=400)
    failed = _sign(row, reviews.RECTIFIED, {"measures": measures}, "rectify")
    return failed or _done(row, gettext("Rectification recorded."))


@bp.post("/<evaluation>/appeal")
@roles_required("supervisor", *CLERKS)
def appeal(evaluation: str) -> Any:
    row = _review(evaluation)
    staff = current_staff()
    assert staff is not None
    if not _may(row, staff)["appeal"]:
        return _render(row, errors={"_rule": gettext("You may not appeal this review now.")}, status=400)
    errors: dict[str, str] = {}
    reason = _text("reason", errors, gettext("Say why the review is unfounded."))
    if errors:
        return _render(row, errors=errors, form="appeal", status=400)
    fields: dict[str, Any] = {"reason": reason}
    if not row.unit.startswith("window:"):
        fields["unit"] = row.unit  # a supervisor records a node's appeal for it
    failed = _sign(row, reviews.APPEALED, fields, "appeal")
    return failed or _done(row, gettext("Appeal recorded; a supervisor will decide it."))


@bp.post("/<evaluation>/decide")
@roles_required("supervisor")
def decide(evaluation: str) -> Any:
    row = _review(evaluation)
    staff = current_staff()
    assert staff is not None
    if not _may(row, staff)["decide"]:
        return _render(row, errors={"_rule": gettext("You may not decide this appeal.")}, status=400)
    errors: dict[str, str] = {}
    upheld = request.form.get("upheld")
    if upheld not in ("1", "0"):
        errors["upheld"] = gettext("Choose whether the appeal is upheld.")
    reason = _text("decision", errors, gettext("Give the reason for the decision."))
    if errors:
        return _render(row, errors=errors, form="decide", status=400)
    failed = _sign(row, reviews.APPEAL_DECIDED, {"upheld": upheld == "1", "reason": reason}, "decide")
    return failed or _done(row, gettext("Appeal upheld: the review no longer counts.") if upheld == "1"
                           else gettext("Appeal rejected: the review must be put right."))


# --- satisfaction ----------------------------------------------------------------------------------

def _period() -> tuple[dt.date, dt.date, str | None]:
    """The period asked for (default: this quarter so far) and an error message for bad dates."""
    today = central_of().today()
    default_first = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    error = None
    try:
        first = dt.date.fromisoformat(request.args.get("from") or default_first.isoformat())
        last = dt.date.fromisoformat(request.args.get("to") or today.isoformat())
    except ValueError:
        return default_first, today, gettext("Give the dates as YYYY-MM-DD, e.g. 2026-10-01.")
    if first > last:
        return default_first, today, gettext("The first day must not be after the last day.")
    return first, last, error


def _label(group: str, key: str, names: dict[str, dict[str, str]]) -> str:
    if group == "node":
        return place_label(f"node:{key}")
    return f"{key} {names[group].get(key, '')}".strip()


def _tables(first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    db = store_db()
    names = _names()
    tables = []
    for group, title in (("window", gettext("By window")), ("node", gettext("By node")),
                         ("department", gettext("By department"))):
        rows = reviews_store.satisfaction(db, first, last, group)
        tables.append({"group": group, "title": title, "rows": [(_label(group, r.key, names), r) for r in rows]})
    return tables


def _columns() -> list[str]:
    return [gettext("Rated"), gettext("Satisfied (4-5)"), gettext("Acceptable (3)"), gettext("Bad (1-2)"),
            gettext("Appeals upheld"), gettext("Ratings counted"), gettext("Satisfaction %")]


def _cells(row: reviews_store.SatisfactionRow) -> list[Any]:
    return [row.rated, row.satisfied, row.acceptable, row.bad, row.upheld, row.counted, row.pct]


@bp.get("/satisfaction")
@roles_required(*RATE_READERS)
def satisfaction() -> tuple[str, int]:
    first, last, error = _period()
    tables = _tables(first, last)
    charts = []
    for table in tables[1:]:  # nodes and departments: a window list is too long for a chart
        shown = [(label, r) for label, r in table["rows"] if r.pct is not None][:20]
        if shown:
            charts.append(bar_chart([label for label, _ in shown], [r.pct for _, r in shown], unit=" %",
                                    title=gettext("Satisfaction rate, %(group)s, lowest first",
                                                  group=table["title"])))
    total = reviews_store.satisfaction_total(store_db(), first, last)
    return render_template("reviews/satisfaction.html", first=first, last=last, error=error, tables=tables,
                           charts=charts, total=total, columns=_columns(), cells=_cells,
                           target=reviews.TARGET_PCT), 400 if error else 200


@bp.get("/satisfaction.xlsx")
@roles_required(*RATE_READERS)
def satisfaction_xlsx() -> Response | tuple[str, int]:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    first, last, error = _period()
    if error:
        return error, 400
    book = Workbook()
    book.remove(book.active)
    low = PatternFill("solid", fgColor="FDE3E1")
    for table in _tables(first, last):
        sheet = book.create_sheet(table["title"][:31])
        sheet.append([gettext("Satisfaction rates"), f"{first.isoformat()} – {last.isoformat()}"])
        sheet.append(["", *_columns()])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for label, row in table["rows"]:
            sheet.append([label, *_cells(row)])
            if row.below_target:
                for cell in sheet[sheet.max_row]:
                    cell.fill = low
        sheet.column_dimensions["A"].width = 28
    total = reviews_store.satisfaction_total(store_db(), first, last)
    sheet = book.create_sheet(gettext("Total")[:31])
    sheet.append(["", *_columns()])
    sheet.append([gettext("Total"), *_cells(total)])
    out = io.BytesIO()
    book.save(out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name=f"satisfaction-{first.isoformat()}-{last.isoformat()}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
