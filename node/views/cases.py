"""The cases list: this node's cases, filtered and searched (number, name, ID or phone), IDs masked."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for

from node.views.common import NODE_ROLES, db, node, today
from store import cases as store_cases
from web.auth import roles_required
from web.casepage import STATUS_NAMES, status_name

bp = Blueprint("cases", __name__, url_prefix="/cases")
PAGE_SIZE = 50
FILTERS = ("all", "open", "mine", "waiting_supplement", "forwarded", "overdue", "closed")


@bp.get("/")
@roles_required(*NODE_ROLES)
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
    filters: dict[str, Any] = {"place": place}
    if show == "open":
        filters["status"] = "open"
    elif show == "closed":
        filters["status"] = "closed"
    elif show == "mine":
        filters = {"holder": place}
    elif show == "waiting_supplement":
        filters["status"] = "waiting_supplement"
    elif show == "forwarded":
        filters["status"] = "forwarded"
    elif show == "overdue":
        filters["overdue"] = True
    result = store_cases.list_cases(database, search=q or None, order="received", limit=PAGE_SIZE,
                                    offset=(page - 1) * PAGE_SIZE, today=today(), **filters)
    return render_template("node/cases.html", rows=result.rows, total=result.total, exact=result.exact, q=q,
                           show=show, page=page, page_size=PAGE_SIZE, status_name=status_name,
                           filters=FILTERS, status_names=STATUS_NAMES)
