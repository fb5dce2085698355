"""The settlement centre (结算中心): the one place any fee is taken.

A payment settles exactly one payment notice, for exactly the amount the system computed from
the fee standards (the fold refuses anything else); a refund needs a reason and a second cashier's
approval: the request and the refund are separate records by different people. The daily
reconciliation adds the day's entries per window, per department, per method and per cashier,
and each sum must equal the sum of the signed records themselves, to the fen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from werkzeug.wrappers import Response

from casework.fees import yuan_text
from casework.messages import RuleError
from casework.numbering import parse_case_number, parse_payment_notice_number
from central import settlement_store
from central.money import MoneyError, fen_from_yuan
from central.pages import central_of, staff_name
from central.reconciliation import reconcile
from sync.canonical import nfc
from web.auth import roles_required
from web.notices import render_notice
from web.settings import store_db

bp = Blueprint("settlement", __name__, url_prefix="/settlement")
METHODS = {"cash": lazy_gettext("Cash"), "bank_card": lazy_gettext("Bank card"),
           "transfer": lazy_gettext("Bank transfer"), "mobile": lazy_gettext("Mobile payment (QR)")}


@bp.get("/")
@roles_required("cashier", "supervisor")
def index() -> Any:
    db = store_db()
    q = request.args.get("q", "").strip()
    if q:
        try:
            found = settlement_store.notice_by_number(db, parse_payment_notice_number(q).text)
            if found:
                return redirect(url_for("settlement.notice", assessment=found.assessment))
            flash(gettext("No payment notice has this number."), "error")
        except RuleError:
            try:
                notices = settlement_store.notices_of_case(db, parse_case_number(q).text)
                if notices:
                    return redirect(url_for("settlement.notice", assessment=notices[-1].assessment))
                flash(gettext("This case has no payment notice."), "error")
            except RuleError as err:
                flash(err.translated(gettext), "error")
    return render_template("central/settlement_index.html", unpaid=settlement_store.unpaid_notices(db),
                           requests=settlement_store.open_refund_requests(db), me=staff_name())


def _notice(assessment: str) -> settlement_store.Notice:
    found = settlement_store.notice(store_db(), assessment)
    if found is None:
        abort(404)
    return found


def _render(notice: settlement_store.Notice, *, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    import json

    db = store_db()
    entries = [e for e in settlement_store.entries_of_assessment(db, notice.assessment)]
    return render_template("central/settlement_notice.html", notice=notice, lines=json.loads(notice.lines),
                           entries=entries, methods=METHODS, errors=errors or {}, values=request.form,
                           requests=[r for r in settlement_store.open_refund_requests(db)
                                     if r.assessment == notice.assessment]), status


@bp.get("/notice/<assessment>")
@roles_required("cashier", "supervisor")
def notice(assessment: str) -> Any:
    return _render(_notice(assessment))


@bp.post("/notice/<assessment>/pay")
@roles_required("cashier")
def pay(assessment: str) -> Any:
    found = _notice(assessment)
    method = request.form.get("method", "")
    reference = nfc(request.form.get("reference", "").strip())
    errors: dict[str, str] = {}
    if method not in METHODS:
        errors["method"] = gettext("Choose how it was paid.")
    if method != "cash" and not reference:
        errors["reference"] = gettext("Enter the transaction reference.")
    if errors:
        return _render(found, errors=errors, status=400)
    try:
        record = central_of().act(found.case_number, "case.fee_paid", window=None, staff=staff_name(),
                                  assessment=assessment, amount_fen=found.total_fen, method=method,
                                  reference=reference[:100], receipt=found.number + "-R")
    except RuleError as err:
        return _render(found, errors={"_rule": err.translated(gettext)}, status=400)
    flash(gettext("Paid %(amount)s yuan. Print the receipt.", amount=yuan_text(found.total_fen)), "success")
    return redirect(url_for("settlement.receipt", record_id=record.id))


@bp.get("/receipt/<record_id>")
@roles_required("cashier", "supervisor")
def receipt(record_id: str) -> str:
    db = store_db()
    entry = settlement_store.entry(db, record_id)
    if entry is None:
        abort(404)
    found = settlement_store.notice(db, entry["assessment"])
    assert found is not None
    refund = entry["kind"] == "refunded"
    content = {
        "title": "退款凭证" if refund else "缴款收据",
        "number": entry["receipt"] or record_id[:16],
        "case": entry["case_number"],
        "date": entry["day"],
        "place": central_of().catalogue().centre.name + "结算中心",
        "fields": [("缴款通知单号", found.number),
                   ("金额（元）", ("-" if refund else "") + yuan_text(entry["amount_fen"])),
                   ("方式", str(METHODS.get(entry["method"], entry["method"]))),
                   ("交易参考号", entry["reference"] or "—"), ("收款人", entry["cashier"]),
                   *([("审批人", entry["approved_by"])] if refund else []),
                   ("记录编号", record_id[:16])],
        "total_fen": entry["amount_fen"],
        "legal": "本凭证由系统依据签名记录生成，每一笔收费、退费均可核验。",
    }
    return render_notice(content, back_url=url_for("settlement.notice", assessment=entry["assessment"]))


@bp.post("/notice/<assessment>/refund")
@roles_required("cashier")
def refund_request(assessment: str) -> Any:
    found = _notice(assessment)
    reason = nfc(request.form.get("reason", "").strip())
    errors: dict[str, str] = {}
    try:
        amount = fen_from_yuan(request.form.get("amount", ""))
        if not 0 < amount <= found.paid_fen - found.refunded_fen:
            errors["amount"] = gettext("A refund is more than 0 and at most what was paid (%(paid)s yuan).",
                                       paid=yuan_text(found.paid_fen - found.refunded_fen))
    except MoneyError:
        amount = 0
        errors["amount"] = gettext("Enter an amount in yuan, e.g. 12.50.")
    if not reason:
        errors["reason"] = gettext("A reason must be given.")
    if errors:
        return _render(found, errors=errors, status=400)
    central_of().sign("settlement.refund_requested", {"case": found.case_number, "assessment": assessment,
                                                      "amount_fen": amount, "reason": reason, "staff": staff_name()})
    flash(gettext("Refund requested; a second cashier must approve it."), "success")
    return redirect(url_for("settlement.notice", assessment=assessment))


@bp.post("/refund/<request_id>/approve")
@roles_required("cashier")
def approve(request_id: str) -> Response:
    db = store_db()
    req = settlement_store.refund_request(db, request_id)
    if req is None or req.refund_record:
        abort(404)
    me = staff_name()
    if me == req.requested_by:
        flash(gettext("A refund must be approved by a second person, not the one who asked for it."), "error")
        return redirect(url_for("settlement.notice", assessment=req.assessment))
    try:
        central_of().act(req.case_number, "case.fee_refunded", window=None, staff=me, assessment=req.assessment,
                         amount_fen=req.amount_fen, reason=req.reason, request=request_id, approved_by=me,
                         requested_by=req.requested_by, method="cash", receipt=f"RF-{request_id[:10]}")
    except RuleError as err:
        flash(err.translated(gettext), "error")
        return redirect(url_for("settlement.notice", assessment=req.assessment))
    flash(gettext("Refund approved and recorded."), "success")
    return redirect(url_for("settlement.notice", assessment=req.assessment))


@bp.get("/reconciliation")
@roles_required("cashier", "supervisor")
def reconciliation() -> str:
    central = central_of()
    try:
        day = dt.date.fromisoformat(request.args.get("day", "")).isoformat()
    except ValueError:
        day = central.today().isoformat()
    result = reconcile(central, store_db(), day)
    catalogue = central.catalogue()
    names = {w.code: w.name for w in catalogue.windows} | {d.code: d.name for d in catalogue.departments}
    return render_template("central/settlement_reconciliation.html", r=result, day=day, names=names,
                           methods=METHODS)
