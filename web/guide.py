"""The service guide (服务指南): find an item, read its six public things, print its checklist.

Written once for both apps. A node registers it behind the login (its clerks use it at the
counter); central registers it again as the public guide, open to anyone (the six public things
are public by law). Each app hands over how to get the catalogue it currently works from:

    app.register_blueprint(guide_blueprint(catalogue_getter=lambda: my_catalogue(),
                                           tier_getter=lambda: "village", public=False))

Search is by name, pinyin (full or initials, e.g. `dbsq` for 低保申请), keyword or code, and can be
narrowed to one department (Catalogue.search does the matching). With a tier, items this place
can take in are marked, and a filter shows only those.

The checklist is the one-time notification (一次告知) before the applicant comes: every material,
in one A4 sheet with the item's time limit, fees and where to go, so a villager learns everything
at once and never has to come back for a second piece of paper.

Every item also has its application form (表格下载, web/application_forms.py), generated from the
catalogue: a printable A4 page and a .docx, listed by department on the forms page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import gettext

from casework.catalogue import FORM_LABELS, TIER_LABELS, Catalogue, ServiceItem, describe_fee
from casework.catalogue.application_form import application_form, form_title
from web.application_forms import docx_download, render_application_form
from web.auth import current_staff, login_required
from web.notices import render_notice
from web.settings import settings

MAX_RESULTS = 200


def _fees_text(catalogue: Catalogue, item: ServiceItem) -> list[str]:
    lines = []
    for code in item.fees:
        try:
            lines.append(describe_fee(catalogue.fee(code)))
        except KeyError:
            lines.append(code)
    return lines


def checklist_notice(catalogue: Catalogue, item: ServiceItem, *, place: str, date: Any) -> dict[str, Any]:
    """The one-time-notification checklist of an item as notice content (web.notices' shape)."""
    rows = []
    for n, m in enumerate(item.materials, 1):
        need = ("必交" if m.required else "选交") + ("，可容缺受理" if m.gap_allowed else "")
        rows.append([str(n), m.name, f"{FORM_LABELS.get(m.form, m.form)}{m.count}份", need, m.notes])
    fees = _fees_text(catalogue, item)
    lines = [
        f"您咨询的事项“{item.name}”所需的全部申请材料如下，请一次备齐后前来办理（一次告知）。",
        f"办理时限：{item.limit_text}。",
        "收费标准：" + ("；".join(fees) if fees else "不收费") + "。",
        f"办理地点：{item.place}；办理时间：{item.hours}。",
    ]
    return {
        "title": "办事材料一次性告知单",
        "date": date,
        "place": place,
        "fields": [("事项名称", item.name), ("事项编码", item.code), ("办件类型", item.kind_label)],
        "lines": lines,
        "table": {"columns": ["序号", "材料名称", "形式及份数", "要求", "说明"], "rows": rows},
        "legal": "依据：" + "；".join(item.legal_basis) if item.legal_basis else "",
    }


def guide_blueprint(
    *,
    catalogue_getter: Callable[[], Catalogue | None],
    tier_getter: Callable[[], str | None] | None = None,
    public: bool = False,
    name: str = "guide",
    url_prefix: str = "/guide",
    today: Callable[[], Any] | None = None,
    intake_endpoint: str | None = None,
) -> Blueprint:
    """The guide's pages as a blueprint (endpoints `<name>.index`, `<name>.item`, `<name>.checklist`,
    `<name>.forms` (the forms by department), `<name>.form` (one form on A4), `<name>.form_docx`).

    `public=False` puts every page behind the login. `tier_getter` returns this place's tier
    (village, town, city) to mark what can be taken in here; `intake_endpoint` (taking `item=`)
    adds a "take in an application" button to items taken in here.
    """
    bp = Blueprint(name, __name__, url_prefix=url_prefix)
    guard: Callable[[Any], Any] = (lambda view: view) if public else login_required

    def catalogue() -> Catalogue:
        cat = catalogue_getter()
        if cat is None:  # a node before its first sync: say so, with the way out
            abort(Response(render_template("guide/unavailable.html", sync_url=None), 503))
        return cat

    def tier() -> str | None:
        """This place's tier, for staff only: "taken in here" means nothing to a citizen reading
        the public guide (the item page says where it can be handed in)."""
        if tier_getter is None or current_staff() is None:
            return None
        return tier_getter()

    def find(cat: Catalogue, q: str, department: str) -> list[ServiceItem]:
        if q:
            return cat.search(q, department=department or None)
        if department:
            return cat.items_for_department(department)
        return list(cat.items)

    def item_of(cat: Catalogue, code: str) -> ServiceItem:
        if not cat.has_item(code):
            abort(404)
        return cat.item(code)

    @bp.get("/")
    @guard
    def index() -> str:
        cat = catalogue()
        q = request.args.get("q", "").strip()[:100]
        department = request.args.get("department", "").strip()
        here_only = request.args.get("here") == "1"
        place_tier = tier()
        dept_codes = {d.code for d in cat.departments}
        if department not in dept_codes:
            department = ""
        items = find(cat, q, department)
        if here_only and place_tier:
            items = [i for i in items if i.receivable_at(place_tier)]
        dept_names = {d.code: d.name for d in cat.departments}
        return render_template(
            "guide/index.html", items=items[:MAX_RESULTS], total=len(items), q=q, department=department,
            departments=cat.departments, dept_names=dept_names, here_only=here_only, place_tier=place_tier,
            bp=name, public=public,
        )

    @bp.get("/item/<code>")
    @guard
    def item(code: str) -> str:
        cat = catalogue()
        if not cat.has_item(code):
            abort(404)
        it = cat.item(code)
        try:
            window = cat.window_for(it)
        except KeyError:
            window = None
        return render_template(
            "guide/item.html", item=it, department=cat.department(it.department), window=window,
            fees=_fees_text(cat, it), form_labels=FORM_LABELS, tier_labels=TIER_LABELS,
            place_tier=tier(), bp=name, public=public, intake_endpoint=intake_endpoint, form_title=form_title(it),
        )

    @bp.get("/forms")
    @guard
    def forms() -> str:
        """Every item's application form, grouped by department in catalogue order, searchable."""
        cat = catalogue()
        q = request.args.get("q", "").strip()[:100]
        department = request.args.get("department", "").strip()
        if department not in {d.code for d in cat.departments}:
            department = ""
        found = {i.code for i in find(cat, q, department)}
        groups = [(d, [i for i in cat.items if i.department == d.code and i.code in found])
                  for d in cat.departments]
        groups = [(d, items) for d, items in groups if items]
        return render_template("guide/forms.html", groups=groups, total=len(found), q=q, department=department,
                               departments=cat.departments, bp=name, public=public, form_title=form_title)

    @bp.get("/item/<code>/form")
    @guard
    def form(code: str) -> str:
        cat = catalogue()
        it = item_of(cat, code)
        return render_application_form(application_form(cat, it),
                                       back_url=url_for(f"{name}.item", code=code),
                                       back_label=gettext("Back to the item"),
                                       docx_url=url_for(f"{name}.form_docx", code=code))

    @bp.get("/item/<code>/form.docx")
    @guard
    def form_docx(code: str) -> Response:
        cat = catalogue()
        return docx_download(application_form(cat, item_of(cat, code)))

    @bp.get("/item/<code>/checklist")
    @guard
    def checklist(code: str) -> str:
        cat = catalogue()
        if not cat.has_item(code):
            abort(404)
        day = today() if today is not None else dt.date.today()
        content = checklist_notice(cat, cat.item(code), place=settings().place(), date=day)
        return render_notice(content, back_url=url_for(f"{name}.item", code=code),
                             back_label=gettext("Back to the item"))

    return bp
