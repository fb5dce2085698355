"""The window workstation's parts of the shared case page (web.casepage panels).

A window clerk, a cashier, a supervisor and an inspector all open a case on the one case page that
village and town clerks use; central adds only what central does there: the fees and their payment
notices, accepting with a tolerated gap (容缺受理), finishing an immediate case on the spot, joint
opinions (联办), the service-card project and the check of the case's record chain. The header,
facts, materials, notices, shared actions, timeline and unmasking stay web.casepage's, so a fix
to them is made once for both apps.

Each panel is given only to the people who may use it (docs/permissions.md): the forms to a clerk
at their chosen window when that window holds the case (or, for a joint opinion, was asked for
one); the payment notices to every reader, their print to those who may print notices, and the
settlement centre's page to the cashier and the supervisor. The forms post to
central.views_window, which answers a refused form with this same page (web.casepage.render_page).
"""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from casework.case_state import CaseState
from central import board_store, card_store, settlement_store
from central.pages import central_of
from web.case_actions import ActionContext, due_date
from web.casepage import CaseView, Panel
from web.settings import store_db

CLERKS = ("window_clerk", "card_clerk")
NOTICE_PRINTERS = (*CLERKS, "cashier", "supervisor")
"""Who may print a payment notice: central.app.CASE_ROLES.notice."""
CASHIERS = ("cashier", "supervisor")
"""Who may open a payment notice at the settlement centre: views_settlement's roles."""
GAP_COMMITMENT = "本人承诺在期限内补齐所缺材料，逾期未补齐的，本申请终止办理。"
"""The commitment an applicant signs for a tolerated gap, unless the clerk writes another."""
REQUIRED = {"forwarded": {"note": _l("Say why the case is reassigned or forwarded.")}}
"""A window that reassigns or forwards a case says why (web.casepage.CaseSource.required)."""


def window_of(view: CaseView) -> str:
    """The window the member of staff acts at on this page (`W06`), or "" (the centre as a whole)."""
    return view.place.removeprefix("window:") if view.place.startswith("window:") else ""


def panels(view: CaseView) -> list[Panel]:
    """The panels of one case page for the signed-in member of staff, in the order they show."""
    state = view.state
    window = window_of(view)
    clerk = view.may(*CLERKS)
    db = store_db()
    found: list[Panel] = []
    if state.card:
        found.append(Panel("card", gettext("Green channel"), "central/case/card.html", "header",
                           {"project": card_store.get(db, state.card)}))
    found.append(_fees(view, window, clerk))
    if clerk and not window:
        found.append(Panel("choose_window", gettext("Choose your window"), "central/case/choose_window.html",
                           "actions", fold=False))
    at_holder = bool(clerk and window and state.holder == view.place)
    if at_holder and "accepted" in view.actions:
        gap = [m.get("name") for m in state.materials
               if m.get("gap_allowed") and m.get("name") in state.materials_missing]
        if gap:
            found.append(Panel("tolerated_gap", gettext("Accept with a tolerated gap"),
                               "central/case/tolerated_gap.html", "actions",
                               {"gap": gap, "due": _due(state, window), "commitment": GAP_COMMITMENT}))
    if at_holder and state.item.get("kind") == "immediate" and state.status.value == "accepted":
        found.append(Panel("finish_now", gettext("Finish on the spot"), "central/case/finish_now.html", "actions"))
    if clerk and window and not state.closed:
        row = board_store.get(db, state.number or "")
        asked = row.joint.split() if row else []
        if state.holder == view.place or window in asked:
            catalogue = central_of().catalogue()
            found.append(Panel("joint", gettext("Joint handling"), "central/case/joint.html", "actions", {
                "window": window, "is_holder": state.holder == view.place, "asked": asked,
                "windows": [(w.code, f"{w.code} {w.name}") for w in catalogue.windows
                            if w.kind in ("department", "combined") and w.code != window]}))
    found.append(Panel("record_chain", gettext("Record chain"), "central/case/record_chain.html", "timeline"))
    return found


def _fees(view: CaseView, window: str, clerk: bool) -> Panel:
    """Fees: the payment notices issued (every reader), and the form that issues one (a clerk at the
    window holding the case, or named to take it over, while it is open)."""
    state = view.state
    catalogue = central_of().catalogue()
    standards = []
    for code in state.item.get("fees") or []:
        try:
            standards.append(catalogue.fee(code))
        except KeyError:
            continue
    place = f"window:{window}"
    may_assess = bool(clerk and window and standards and not state.closed
                      and place in (state.holder, state.pending_handover))
    return Panel("fees", gettext("Fees"), "central/case/fees.html", "materials", {
        "standards": standards, "notices": settlement_store.notices_of_case(store_db(), state.number or ""),
        "may_assess": may_assess, "may_print": view.may(*NOTICE_PRINTERS), "may_settle": view.may(*CASHIERS)},
        prints=("payment",))


def _due(state: CaseState, window: str) -> tuple[str, bool]:
    """The due date if accepted now (a tolerated gap's deadline may not be later)."""
    central = central_of()
    return due_date(ActionContext(state=state, place=f"window:{window}", calendar=central.calendar(),
                                  now=central.now()))
