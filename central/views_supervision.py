"""Supervision: the live board of every case in the city, node health, record checks and SMS.

The board counts open cases by colour (red overdue, yellow due soon, paused, waiting for
supplements) per department, window and node, from central's projection; any case's records can
be re-verified on demand (central.verify); overdue cases get yellow and red cards as records.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from central import board_charts, board_store, sms, sms_store, supervision_cards
from central.pages import central_of, kind_name, staff_name, status_name
from central.verify import check_records
from store.directory import list_nodes
from web.auth import roles_required
from web.settings import store_db

bp = Blueprint("supervision", __name__, url_prefix="/supervision")
WATCHERS = ("supervisor", "inspector", "admin")


def _days() -> tuple[dt.date, dt.date]:
    central = central_of()
    today = central.today()
    soon = central.calendar().add_working_days(today, central.config.due_soon_days, allow_provisional=True).date
    return today, soon


@bp.get("/")
@roles_required(*WATCHERS)
def board() -> str:
    db = store_db()
    today, soon = _days()
    central = central_of()
    catalogue = central.catalogue()
    groups = board_store.tallies_all(db, today, soon)
    names = {d.code: d.name for d in catalogue.departments} | {w.code: w.name for w in catalogue.windows}
    node_names = {n.node: n.name for n in list_nodes(db)}
    charts = {
        "department": board_charts.open_by_department(groups["department"], names),
        "received": board_charts.received_per_day(_intake(db, today), today),
        "window": board_charts.late_by(groups["window"], names, title=gettext("Overdue and due soon by window")),
        "node": board_charts.late_by([t for t in groups["node"] if t.key], node_names,  # city windows: above
                                     title=gettext("Overdue and due soon by service point")),
    }
    return render_template("central/supervision_board.html", groups=groups, total=board_store.total(groups["department"]),
                           names=names, today=today, soon=soon, charts=charts,
                           urgent=board_store.listing(db, light="red", today=today, soon=soon, limit=20))


INTAKE_SECONDS = 300


def _intake(db: Any, today: dt.date) -> dict[str, tuple[int, int]]:
    """Cases received per day for the board's chart: today's counted on every view, the 29 days
    before from a copy at most `INTAKE_SECONDS` old. Past days change only when a village's late
    sync brings an old case, and a million-case board should not scan a month of its index (70,000
    entries) on every view for that."""
    first = today - dt.timedelta(days=board_charts.DAYS - 1)
    yesterday = today - dt.timedelta(days=1)
    cache = current_app.extensions.setdefault("supervision_intake", {})
    key = (first, yesterday)
    kept = cache.get(key)
    if kept is None or time.monotonic() - kept[0] > INTAKE_SECONDS:
        kept = (time.monotonic(), board_store.received_per_day(db, first, yesterday))
        cache.clear()
        cache[key] = kept
    return {**kept[1], **board_store.received_per_day(db, today, today)}


@bp.get("/cases")
@roles_required(*WATCHERS)
def cases() -> str:
    db = store_db()
    today, soon = _days()
    args = {k: request.args.get(k, "") for k in ("light", "status", "department", "window", "node")}
    page = max(1, request.args.get("page", 1, type=int))
    rows = board_store.listing(db, **args, today=today, soon=soon, limit=50, offset=(page - 1) * 50)
    q = request.args.get("q", "").strip()
    if q:
        rows = board_store.search(db, q)
    return render_template("central/supervision_cases.html", rows=rows, args=args, page=page, today=today,
                           soon=soon, status_name=status_name, q=q)


@bp.get("/nodes")
@roles_required(*WATCHERS)
def nodes() -> str:
    central = central_of()
    db = store_db()
    size = central.log.tree_size()
    now = dt.datetime.now(dt.UTC)
    rows = []
    for node in list_nodes(db):
        if node.node == "C":
            continue
        lag = None
        if node.last_contact:
            try:
                lag = now - dt.datetime.fromisoformat(node.last_contact).astimezone(dt.UTC)
            except ValueError:
                lag = None
        ckpt = db.execute("SELECT json_extract(raw, '$.ckpt.size') FROM records WHERE origin = ?"
                          " ORDER BY seq DESC LIMIT 1", [node.node]).fetchone()
        behind = size - int(ckpt[0]) if ckpt and ckpt[0] is not None else None
        # records routed to the node that central's log gained after the last checkpoint the node
        # verified: what it has most likely not pulled yet
        seen = int(ckpt[0]) if ckpt and ckpt[0] is not None else 0
        queued = db.execute("SELECT count(*) FROM sync_routes q JOIN records r ON r.pos = q.pos"
                            " WHERE q.node = ? AND r.central_pos >= ?", [node.node, seen]).fetchone()[0] \
            if "sync_routes" in db.table_names() else 0
        rows.append({"node": node, "lag_hours": round(lag.total_seconds() / 3600, 1) if lag else None,
                     "behind": behind, "queued": queued, "forks": len(central.log.forks(node.node)),
                     "open": board_store.queue_count(db, f"node:{node.node}")})
    return render_template("central/supervision_nodes.html", rows=rows, size=size)


@bp.get("/verify/<number>")
@roles_required(*WATCHERS, "window_clerk", "card_clerk", "cashier")
def verify(number: str) -> str:
    central = central_of()
    ids = [e.id for e in central.case_events(number)]
    if not ids:
        abort(404)
    checks = check_records(central.log, ids)
    return render_template("central/supervision_verify.html", number=number, checks=checks, kind_name=kind_name,
                           all_ok=all(c.ok for c in checks))


@bp.route("/sms", methods=["GET", "POST"])
@roles_required(*WATCHERS)
def outbox() -> Any:
    central = central_of()
    db = store_db()
    if request.method == "POST":
        if request.form.get("do") == "overdue":
            n = sms.queue_overdue(db, central.today(), time.time())
            flash(gettext("%(n)s overdue reminders queued.", n=n), "success")
        else:
            sms_store.retry_now(db, time.time())  # a person asked: do not wait out the back-off
            sent, failed = sms.deliver_due(db, central.config.sms_gateway_url)
            flash(gettext("Sent %(sent)s, failed %(failed)s.", sent=sent, failed=failed),
                  "success" if not failed else "warning")
        return redirect(url_for("supervision.outbox"))
    waiting, sent = sms_store.counts(db)
    return render_template("central/supervision_sms.html", messages=sms_store.recent(db), waiting=waiting, sent=sent,
                           gateway=central.config.sms_gateway_url)


@bp.route("/cards", methods=["GET", "POST"])
@roles_required("supervisor", "admin")
def cards() -> Any:
    central = central_of()
    db = store_db()
    today = central.today()
    if request.method == "POST":
        n = supervision_cards.issue(central, supervision_cards.due_cards(central, db, today), staff_name())
        flash(gettext("%(n)s cards recorded.", n=n), "success")
        return redirect(url_for("supervision.cards"))
    issued = sorted(supervision_cards.issued(central).values(), key=lambda r: r.seq, reverse=True)
    return render_template("central/supervision_cards.html", issued=issued[:200],
                           due=supervision_cards.due_cards(central, db, today))


@bp.get("/enquiries")
@roles_required(*WATCHERS)
def enquiries() -> str:
    rows = [(r, at) for r, at in central_of().records_of_kind("enquiry.recorded")][-200:]
    return render_template("central/supervision_enquiries.html", rows=list(reversed(rows)))


