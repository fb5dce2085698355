"""The service-card window (一卡通): register a project, issue its card and guide sheet, follow it.

A project investing at least the configured threshold (500,000 yuan) gets a free card; the card
is a signed `card.registered` record, so every window, the settlement centre and supervision see
the same project. Cases taken in with the card number hang off it (and go through the green
channel at every window).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from casework import notices as notice_content
from casework.identity import parse_credit_code, parse_mobile
from casework.messages import RuleError
from central import board_store, card_store
from central.pages import central_of, staff_name, status_name
from sync.canonical import nfc
from web.access_log import record_access
from web.auth import roles_required
from web.notices import render_notice
from web.settings import store_db

bp = Blueprint("card", __name__, url_prefix="/card")
VIEWERS = ("card_clerk", "window_clerk", "supervisor", "inspector", "cashier")


def _fen_from_wan(text: str) -> int:
    """万元 as typed (e.g. `85.5`) to fen, exactly (no floats)."""
    value = Decimal(text.strip().replace(",", ""))
    if value <= 0 or value.as_tuple().exponent < -6:  # type: ignore[operator]
        raise InvalidOperation
    return int(value * 1_000_000)


@bp.route("/", methods=["GET", "POST"])
@roles_required("card_clerk")
def index() -> Any:
    central = central_of()
    catalogue = central.catalogue()
    errors: dict[str, str] = {}
    values: Any = request.form if request.method == "POST" else {}
    if request.method == "POST":
        form = request.form
        name = nfc(form.get("name", "").strip())
        owner = nfc(form.get("owner", "").strip())
        ptype = form.get("project_type", "")
        if not name:
            errors["name"] = gettext("Enter the project's name.")
        if not owner:
            errors["owner"] = gettext("Enter the investing organisation.")
        try:
            catalogue.project_type(ptype)
        except KeyError:
            errors["project_type"] = gettext("Choose the kind of project.")
        investment = 0
        try:
            investment = _fen_from_wan(form.get("investment_wan", ""))
            if investment < central.config.card_threshold_fen:
                errors["investment_wan"] = gettext(
                    "A service card is for projects investing at least %(wan)s ten-thousand yuan.",
                    wan=central.config.card_threshold_fen // 1_000_000)
        except InvalidOperation:
            errors["investment_wan"] = gettext("Enter the investment in ten-thousands of yuan, e.g. 85.5.")
        credit = form.get("credit_code", "").strip()
        phone = form.get("phone", "").strip()
        try:
            credit = parse_credit_code(credit) if credit else ""
        except RuleError as err:
            errors["credit_code"] = err.translated(gettext)
        try:
            phone = parse_mobile(phone) if phone else ""
        except RuleError as err:
            errors["phone"] = err.translated(gettext)
        if not errors:
            card = central.next_number("card")
            central.sign("card.registered", {
                "card": card, "staff": staff_name(),
                "project": {"name": name, "type": ptype, "investment_fen": investment, "owner": owner,
                            "credit_code": credit, "contact": nfc(form.get("contact", "").strip()),
                            "phone": phone, "address": nfc(form.get("address", "").strip())},
                "items": list(catalogue.project_type(ptype).item_codes)})
            flash(gettext("Service card %(card)s issued.", card=card), "success")
            return redirect(url_for("card.project", card=card))
    return render_template("central/card_index.html", types=catalogue.project_types, errors=errors, values=values,
                           recent=card_store.recent(store_db()),
                           threshold_wan=central.config.card_threshold_fen // 1_000_000)


def _project(card: str) -> card_store.Project:
    project = card_store.get(store_db(), card)
    if project is None:
        abort(404)
    return project


@bp.get("/<card>")
@roles_required(*VIEWERS)
def project(card: str) -> str:
    project = _project(card)
    central = central_of()
    catalogue = central.catalogue()
    cases = board_store.by_card(store_db(), card)
    by_item: dict[str, list[board_store.CaseRow]] = {}
    for row in cases:
        by_item.setdefault(row.item_code, []).append(row)
    sheet = catalogue.guide_sheet(project.project_type)
    done = sum(1 for row in cases if row.status in ("delivered", "licence_issued", "finished"))
    return render_template("central/card_project.html", project=project, sheet=sheet, by_item=by_item,
                           cases=cases, done=done, status_name=status_name,
                           type_name=catalogue.project_type(project.project_type).name)


@bp.get("/<card>/guide")
@roles_required(*VIEWERS)
def guide(card: str) -> str:
    project = _project(card)
    catalogue = central_of().catalogue()
    content = notice_content.guide_sheet(notice_content.Card(
        number=project.card, project=project.name, project_type=project.project_type, applicant=project.owner,
        investment_fen=project.investment_fen, contact=project.contact, phone=project.phone,
        issued_on=dt.date.fromisoformat(project.day) if project.day else None), catalogue)
    # the sheet names the project's contact (phone masked): a print of personal data, recorded first
    record_access("print_notice", what={"notice": "guide_sheet", "card": card},
                  subject={"name": project.contact} if project.contact else None)
    return render_notice(content, back_url=url_for("card.project", card=card))
