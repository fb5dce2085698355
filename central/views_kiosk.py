"""The touch-screen kiosk (触摸屏查询) in the centre's hall: `/kiosk`, public, no sign-in.

A citizen standing at a touch screen, with no keyboard and no mouse, finds an item by department
or by pinyin initials typed on an on-screen keyboard, reads its six public things in large type,
prints the materials checklist or the application form, and checks a case's progress with the
number on the notice and the last 4 digits of the phone.

What makes it a kiosk and not the public site in a bigger font:
- every link stays inside /kiosk (no menu, no way into staff pages or out to the public site); the
  printable checklist and form are drawn inside the kiosk's own frame (`kiosk/layout.html`);
- after `KIOSK_IDLE_SECONDS` (app config, default 90) without a touch the screen returns to the
  kiosk's home page in Chinese, so the next person never sees the last one's case or language
  (static/kiosk/kiosk.js; the same script drives the on-screen keyboard);
- without JavaScript everything but the on-screen keyboard and the idle reset still works (the
  fields are ordinary inputs and every step is a link or a form);
- the status query is the public one (central.views_public): the same lookup reveals the same
  non-personal facts, and the same per-address try limit counts tries made here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext

from casework.catalogue import Catalogue, ServiceItem
from casework.catalogue.application_form import application_form, form_title
from casework.catalogue.guide import six_public
from central.pages import central_of
from central.views_public import StatusAnswer, ask_status
from web.application_forms import render_application_form
from web.guide import checklist_notice
from web.notices import render_notice

bp = Blueprint(
    "kiosk", __name__, url_prefix="/kiosk", static_folder="static/kiosk", static_url_path="/static"
)

IDLE_SECONDS = 90
"""Default seconds without a touch before the kiosk goes home (config KIOSK_IDLE_SECONDS)."""
LAYOUT = "kiosk/layout.html"
MAX_RESULTS = 40
KEY_ROWS = ("1234567890", "QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
CASE_KEYS = ("123", "456", "789", "X0C", "TVS")


@bp.context_processor
def _kiosk() -> dict[str, Any]:
    """What the kiosk's frame needs on every page: the idle reset's settings and where home is."""
    seconds = current_app.config.get("KIOSK_IDLE_SECONDS", IDLE_SECONDS)
    return {
        "kiosk_idle_seconds": seconds,
        "kiosk_home": url_for("kiosk.home", lang="zh"),
        "kiosk_layout": LAYOUT,
    }


def _catalogue() -> Catalogue:
    return central_of().catalogue()


def _item(cat: Catalogue, code: str) -> ServiceItem:
    if not cat.has_item(code):
        abort(404)
    return cat.item(code)


def _limit(item: ServiceItem) -> str:
    if item.kind == "immediate":
        return gettext("Immediate")
    return gettext("%(n)s working days", n=item.promised_limit_days)


@bp.get("/")
def home() -> str:
    cat = _catalogue()
    return render_template("kiosk/home.html", centre=cat.centre, at_home=True)


@bp.get("/departments")
def departments() -> str:
    """Every department as a tile; `then=form` leads to the forms instead of the guide."""
    cat = _catalogue()
    then = "form" if request.args.get("then") == "form" else "item"
    counts = {d.code: 0 for d in cat.departments}
    for item in cat.items:
        counts[item.department] = counts.get(item.department, 0) + 1
    return render_template("kiosk/departments.html", departments=cat.departments, counts=counts, then=then)


@bp.get("/department/<code>")
def department(code: str) -> str:
    cat = _catalogue()
    try:
        dept = cat.department(code)
    except KeyError:
        abort(404)
    then = "form" if request.args.get("then") == "form" else "item"
    items = cat.items_for_department(code)
    return render_template(
        "kiosk/items.html",
        title=dept.name,
        items=items,
        limit=_limit,
        then=then,
        form_title=form_title,
        back=url_for("kiosk.departments", then=then if then == "form" else None),
    )


@bp.get("/find")
def find() -> str:
    """Search by pinyin initials, name or code, typed on the on-screen keyboard."""
    cat = _catalogue()
    q = request.args.get("q", "").strip()[:40]
    items = cat.search(q, limit=MAX_RESULTS) if q else []
    return render_template("kiosk/find.html", q=q, items=items, limit=_limit, key_rows=KEY_ROWS)


@bp.get("/item/<code>")
def item(code: str) -> str:
    cat = _catalogue()
    it = _item(cat, code)
    return render_template(
        "kiosk/item.html",
        item=it,
        sections=six_public(cat, it),
        department=cat.department(it.department),
        limit=_limit(it),
        form_title=form_title(it),
    )


@bp.get("/item/<code>/checklist")
def checklist(code: str) -> str:
    """The guide's one-time-notification checklist, printed from inside the kiosk."""
    cat = _catalogue()
    it = _item(cat, code)
    content = checklist_notice(cat, it, place=cat.centre.name, date=central_of().today())
    return render_notice(
        content,
        back_url=url_for("kiosk.item", code=code),
        back_label=gettext("Back to the item"),
        layout=LAYOUT,
    )


@bp.get("/item/<code>/form")
def form(code: str) -> str:
    """The item's application form, to print (a kiosk has nowhere to save a download)."""
    cat = _catalogue()
    it = _item(cat, code)
    return render_application_form(
        application_form(cat, it),
        layout=LAYOUT,
        back_url=url_for("kiosk.item", code=code),
        back_label=gettext("Back to the item"),
    )


@bp.route("/status", methods=["GET", "POST"])
def status() -> tuple[str, int]:
    """The public status query with on-screen digits. The checks, the lookup and the try limit are
    the public page's own (central.views_public), so the kiosk reveals nothing more and gives a
    guesser no extra tries."""
    case = (request.values.get("case") or "").strip()[:40]
    answer = ask_status(case) if request.method == "POST" else StatusAnswer()
    return render_template(
        "kiosk/status.html", case=case, errors=answer.errors, found=answer.found, asked=answer.asked,
        case_keys=CASE_KEYS
    ), answer.code
