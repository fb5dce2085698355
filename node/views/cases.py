"""The cases list: this node's cases, filtered and searched (number, name, ID or phone), IDs masked.

A search by a full ID or phone number is answered by a redirect to the same list keyed by the
number's search hash (`k`) with the masked number to show in the box (`shown`): the number itself
never stays in the address bar, the browser's history, or the page's links."""

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
        token = store_cases.search_token(database, q)
        if token is not None:  # a full ID or phone: searched by its hash, never kept in the address
            return redirect(url_for("cases.index", k=token[0], shown=token[1], show=show))
    key = request.args.get("k", "")
    if key.startswith(("#id:", "#phone:")) and not q:
        q = request.args.get("shown", "")[:40]
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
    search = key if key.startswith(("#id:", "#phone:")) else q
    result = store_cases.list_cases(database, search=search or None, order=order, limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE, today=today(), **filters)
    return render_template("node/cases.html", rows=result.rows, total=result.total, exact=result.exact, q=q, k=key,
                           show=show, page=page, page_size=PAGE_SIZE, status_name=status_name,
                           filters=FILTERS, status_names=STATUS_NAMES)
