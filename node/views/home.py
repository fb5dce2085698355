"""Home: what needs doing today at this service point, and whether the city has it all."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, render_template

from node.views.common import CLERK_ROLES, NODE_ROLES, db, node, sync, today
from node.views.syncpage import describe_error
from store import cases as store_cases
from web.auth import current_staff, roles_required
from web.casepage import status_name

bp = Blueprint("home", __name__)


def unreceipted_forwards(limit: int = 20) -> list[Any]:
    """Cases this node forwarded whose forwarding record central has not receipted yet."""
    the_node = node()
    sent = the_node.log.cursor("C", "sent")
    rows = store_cases.list_cases(db(), status="forwarded", order="recent", limit=limit).rows
    found = []
    for row in rows:
        for record in store_cases.case_events(db(), row.number):
            if (record.kind == "case.forwarded" and record.origin == the_node.config.node_id
                    and record.seq > sent):
                found.append(row)
                break
    return found


def report_reminder() -> str | None:
    """At a sub-centre, last month while its monthly report is not yet signed (it is their duty to
    send it early in the month; node.monthly_report), else None."""
    from casework.monthly_report import previous_month
    from node.monthly_report import signed_reports

    the_node = node()
    if the_node.config.tier != "subcentre":
        return None
    month = previous_month(today())
    return None if signed_reports(the_node, month) else month


@bp.get("/")
@roles_required(*NODE_ROLES)
def index() -> str:
    the_node = node()
    day = today()
    database = db()
    status = sync().status()
    staff = current_staff()
    if staff is None or not staff.has_role(*CLERK_ROLES):
        # a site administrator keeps the node running and reads no applicant's case
        return render_template(
            "node/home.html", clerk=False, status=status, has_client=sync().client is not None,
            sync_error=describe_error(status.error_code, status.error_params),
            catalogue_missing=the_node.catalogue(database) is None, report_month=report_reminder())
    # the node's database holds only its own cases: the maintained tallies answer the counts
    counts = store_cases.board_counts(database, today=day)
    recent = store_cases.list_cases(database, order="received", limit=10, today=day).rows
    todays = [r for r in recent if r.received_date == day.isoformat()]
    waiting = store_cases.list_cases(database, status="waiting_supplement", limit=10, today=day).rows
    # Same scope as the tallies above: every case of this node wherever it is now held, so a
    # villager's case running late at a city window shows here for the clerk's follow-up call.
    overdue = store_cases.list_cases(database, overdue=True, limit=10, today=day).rows
    soon_limit = store_cases.due_soon_limit(database, day, 3)
    due_soon = [r for r in store_cases.list_cases(database, overdue=False,
                                                  due_before=soon_limit + dt.timedelta(days=1), limit=10,
                                                  today=day).rows
                if r.due_date and r.open]
    return render_template(
        "node/home.html", clerk=True, counts=counts, recent=recent, todays=todays, waiting=waiting, overdue=overdue,
        due_soon=due_soon, forwards=unreceipted_forwards(), status=status,
        sync_error=describe_error(status.error_code, status.error_params),
        has_client=sync().client is not None, status_name=status_name,
        catalogue_missing=the_node.catalogue(database) is None, report_month=report_reminder(),
    )
