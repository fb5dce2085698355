"""The monthly case report page (办件月报表) at a service point: `/reports/?month=2026-09`.

Every member of the node's staff sees the month's figures (default: last month), the versions
already signed and whether the city has receipted them, and may print the A4 sheet or download
the workbook. The site administrator (the director, role `node_admin`) writes the remarks,
previews the sheet and submits it: that signs `report.monthly` (node.monthly_report), and sync
takes it to the centre. A second submission for the same month is a correction and needs a reason.
It is the sub-centres' duty; towns and villages may report too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from casework import monthly_report as mr
from casework.catalogue import UnknownCodeError
from casework.messages import RuleError
from node import monthly_report
from node.views.common import NODE_ROLES, db, node, today
from store import reports
from web.auth import current_staff, roles_required
from web.monthly_report import (
    REMARK_LABELS,
    XLSX_MIMETYPE,
    Sheet,
    figure_label,
    sheet_from_body,
    workbook,
    xlsx_name,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")
SUBMITTERS = ("node_admin",)


def _month() -> tuple[str, str | None]:
    """The month asked for (default: last month) and an error message if it is not YYYY-MM."""
    default = mr.previous_month(today())
    month = (request.values.get("month") or default).strip()
    try:
        mr.parse_month(month)
    except ValueError:
        return default, gettext("Give the month as YYYY-MM, e.g. 2026-11.")
    return month, None


def _centre_name() -> str:
    catalogue = node().catalogue(db())
    return catalogue.centre.name if catalogue is not None else ""


def _sheet(signed: monthly_report.Signed) -> Sheet:
    the_node = node()
    return sheet_from_body(signed.body, node_name=the_node.config.name, record_id=signed.record.id,
                           signed_at=signed.record.time,
                           received_at=signed.receipted_at or "", centre=_centre_name())


def _draft(month: str, figures: dict[str, int], remarks: dict[str, str] | None = None, reason: str = "",
           version: int = 0) -> Sheet:
    the_node = node()
    staff = current_staff()
    by = {"username": staff.username, "name": staff.display_name} if staff else {}
    return Sheet(node=the_node.config.node_id, node_name=the_node.config.name, month=month, figures=figures,
                 remarks=remarks or {}, submitted_by=by if remarks is not None else {}, version=version,
                 reason=reason, draft=True, centre=_centre_name())


def _item_rows(month: str) -> list[tuple[str, dict[str, int]]]:
    """The month by service item (for the director's remarks and the workbook; not part of the record)."""
    catalogue = node().catalogue(db())
    rows = []
    for row in reports.monthly(db(), month, "item", today=today(), node=node().config.node_id):
        name = row.key or gettext("(none)")
        if catalogue is not None and row.key:
            with contextlib.suppress(UnknownCodeError):
                name = f"{row.key} {catalogue.item(row.key).name}"
        rows.append((name, row.figures()))
    return rows


def _digest(month: str, figures: dict[str, int], remarks: dict[str, str], reason: str) -> str:
    """What a preview showed, in one value: a submission must match it exactly."""
    text = json.dumps([month, figures, remarks, reason], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _typed() -> tuple[dict[str, str], str]:
    remarks = {k: (request.form.get(k) or "").replace("\r\n", "\n").strip() for k in mr.REMARKS}
    return remarks, (request.form.get("reason") or "").strip()


def _page(month: str, *, error: str | None = None, values: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, preview: Sheet | None = None, digest: str = "",
          status: int = 200) -> tuple[str, int]:
    the_node = node()
    staff = current_staff()
    day = today()
    now = monthly_report.figures(the_node, db(), month, today=day).figures()
    signed = monthly_report.signed_reports(the_node, month)
    standing = monthly_report.current(signed)
    changed = mr.differences(standing.body.get("figures", {}), now) if standing else []
    over = day >= mr.parse_month(month)[1]
    may_submit = bool(staff and staff.has_role(*SUBMITTERS)) and over
    if values is None:
        values = dict(standing.body.get("remarks", {})) if standing else {}
    sheet = preview or (_sheet(standing) if standing else _draft(month, now))
    return render_template(
        "node/report.html", month=month, error=error, figures=now, signed=list(reversed(signed)),
        standing=standing, changed=changed, changed_names="、".join(figure_label(n) for n in changed), over=over, may_submit=may_submit, values=values, errors=errors or {},
        sheet=sheet, preview=preview is not None, digest=digest, expected=json.dumps(now, sort_keys=True),
        items=_item_rows(month), remark_labels=REMARK_LABELS, remark_names=mr.REMARKS,
        subcentre=the_node.config.tier == "subcentre", max_remark=mr.MAX_REMARK,
        max_reason=mr.MAX_REASON, previous=mr.shift_month(month, -1), following=mr.shift_month(month, 1),
        has_client=bool(the_node.config.central_url)), status


@bp.get("/")
@roles_required(*NODE_ROLES)
def index() -> Any:
    month, error = _month()
    return _page(month, error=error, status=400 if error else 200)


def _refused(month: str, values: dict[str, str], err: RuleError) -> tuple[str, int]:
    """The page again with what was typed: field problems beside their fields, others on top."""
    if not isinstance(err, mr.ReportError):
        return _page(month, values=values, error=err.translated(gettext), status=400)
    found: dict[str, str] = {}
    for problem in err.problems:
        name = problem.field if problem.field in (*mr.REMARKS, "reason") else "report"
        found.setdefault(name, problem.error.translated(gettext))
    return _page(month, values=values, errors=found, status=400)


@bp.post("/")
@roles_required(*SUBMITTERS)
def submit() -> Any:
    """`action=preview` shows the sheet as it would be signed; `action=submit` signs exactly what the
    preview showed (same figures, same text), else shows the preview again and says why."""
    month, error = _month()
    if error:
        return _page(month, error=error, status=400)
    the_node = node()
    remarks, reason = _typed()
    staff = current_staff()
    assert staff is not None  # roles_required
    by = {"username": staff.username, "name": staff.display_name}
    now = monthly_report.figures(the_node, db(), month, today=today()).figures()
    versions = [s.version for s in monthly_report.signed_reports(the_node, month)]
    version = max(versions, default=0) + 1
    values = {**remarks, "reason": reason}
    try:
        monthly_report.check_month(month, today())
        mr.report_body(node=the_node.config.node_id, month=month, figures=now, remarks=remarks, submitted_by=by,
                       version=version, reason=reason)
    except RuleError as err:
        return _refused(month, values, err)
    digest = _digest(month, now, remarks, reason)
    preview = _draft(month, now, remarks, reason, version)
    if request.form.get("action") != "submit" or not request.form.get("digest"):
        return _page(month, values=values, preview=preview, digest=digest)  # nothing is signed unseen
    try:
        expected = json.loads(request.form.get("expected") or "null")
    except ValueError:
        expected = None
    if request.form.get("digest") != digest or not isinstance(expected, dict):
        flash(gettext("The text or the figures changed after the preview. Check the preview below and submit again."),
              "warning")
        return _page(month, values=values, preview=preview, digest=digest, status=409)
    try:
        record = monthly_report.submit(the_node, month=month, remarks=remarks, submitted_by=by, today=today(),
                                       reason=reason, expected=expected)
    except monthly_report.FiguresChangedError as err:
        flash(err.translated(gettext), "warning")
        preview = _draft(month, err.figures, remarks, reason, version)
        return _page(month, values=values, preview=preview, digest=_digest(month, err.figures, remarks, reason),
                     status=409)
    except RuleError as err:
        return _refused(month, values, err)
    flash(gettext("The report for %(month)s is signed (version %(version)s). It goes to the city centre with the "
                  "next sync.", month=month, version=record.body["version"]), "success")
    return redirect(url_for("reports.index", month=month))


def _chosen(month: str) -> tuple[Sheet, monthly_report.Signed | None]:
    """The sheet asked for: a signed version (`version=`, default the one that stands) or the draft."""
    signed = monthly_report.signed_reports(node(), month)
    wanted = request.args.get("version", "")
    chosen = next((s for s in signed if str(s.version) == wanted), None) if wanted else \
        monthly_report.current(signed)
    if chosen is not None:
        return _sheet(chosen), chosen
    return _draft(month, monthly_report.figures(node(), db(), month, today=today()).figures()), None


@bp.get("/sheet")
@roles_required(*NODE_ROLES)
def sheet() -> Any:
    """The A4 sheet alone, to print: a signed version, or the figures so far marked as a draft."""
    month, error = _month()
    if error:
        return _page(month, error=error, status=400)
    chosen, _signed = _chosen(month)
    return render_template("node/report_sheet.html", sheet=chosen, month=month)


@bp.get("/export.xlsx")
@roles_required(*NODE_ROLES)
def export() -> Any:
    """The report (a signed version or the draft) and the month by service item, as a workbook."""
    month, error = _month()
    if error:
        return _page(month, error=error, status=400)
    chosen, _signed = _chosen(month)
    data = workbook(chosen, [(gettext("By service item"), gettext("Service item"), _item_rows(month))])
    return Response(data, mimetype=XLSX_MIMETYPE, headers={
        "Content-Disposition": f'attachment; filename="{xlsx_name(node().config.node_id, month)}"'})
