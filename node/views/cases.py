"""The cases list: this node's cases, filtered and searched (number, name, ID or phone), IDs masked."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from node.views.common import CLERK_ROLES, db, node, today
from store import cases as store_cases
from web.auth import roles_required
from web.casepage import STATUS_NAMES, status_name

bp = Blueprint("cases", __name__, url_prefix="/cases")
PAGE_SIZE = 50
FILTERS = ("all", "open", "mine", "waiting_supplement", "forwarded", "overdue", "closed")


@bp.get("/")
@roles_required(*CLERK_ROLES)
def index() -> Any:
    place = node().config.place
    database = db()
    q = request.args.get("q", "").strip()[:60]
    show = request.args.get("show", "all")
    if show not in FILTERS:
        show = "all"
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    if q:
        exact = store_cases.find_case_number(database, q)
        if exact is not None:
            return redirect(url_for("case.show", number=exact))
    # A node's database holds only the cases routed to it (received here, forwarded here, or
    # sent back here), so "all" needs no place filter; each filter has an index in its order.
    filters: dict[str, Any] = {}
    order = "due"
    if show == "all":
        order = "received"
    elif show in ("open", "closed", "waiting_supplement", "forwarded"):
        filters["status"] = show
    elif show == "mine":
        filters["holder"] = place
    elif show == "overdue":
        filters["overdue"] = True
    if q:
        order = "received"
    result = store_cases.list_cases(database, search=q or None, order=order, limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE, today=today(), **filters)
    return render_template("node/cases.html", rows=result.rows, total=result.total, exact=result.exact, q=q,
                           show=show, page=page, page_size=PAGE_SIZE, status_name=status_name,
                           filters=FILTERS, status_names=STATUS_NAMES)
