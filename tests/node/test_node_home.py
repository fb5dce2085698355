"""Home: overdue and due-soon cases held here are listed, with their counts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import requests
from nodekit import PASSWORD

from casework.calendar import WorkCalendar
from casework.case_events import item_snapshot
from casework.cases import new_event_body
from casework.catalogue import load
from casework.numbering import case_number
from node.context import Node

CHINA = dt.timezone(dt.timedelta(hours=8))


def _case(node: Node, counter: int, received: dt.datetime, due: dt.date, *, forward_to: str | None = None) -> str:
    """A promised case accepted on `received` with the due date `due` (clock times set on purpose),
    optionally forwarded on, so that another place holds it."""
    number = case_number(node.config.node_id, received.date(), counter).text
    item = load().item("SFJ002")
    stamp = received.isoformat()
    first = node.log.append("case.received", new_event_body(
        "case.received", case=number, after=[], item=item_snapshot(item),
        applicant={"type": "person", "name": f"申请人{counter}"},
        materials=[m.name for m in item.materials]), time=stamp)
    second = node.log.append("case.accepted", new_event_body(
        "case.accepted", case=number, after=[first.id], due_date=due.isoformat()), time=stamp)
    third = node.log.append("case.promised", new_event_body(
        "case.promised", case=number, after=[second.id], due_date=due.isoformat()), time=stamp)
    if forward_to:
        node.log.append("case.forwarded", new_event_body(
            "case.forwarded", case=number, after=[third.id], to=forward_to), time=stamp)
    return number


def test_overdue_and_due_soon_on_the_home_page(village_dir: tuple[Path, object]) -> None:
    from serving import serve

    from node.app import create_app

    folder = village_dir[0]
    today = dt.datetime.now(CHINA).replace(microsecond=0)
    calendar = WorkCalendar.packaged()
    node = Node.open(folder)
    try:
        late = _case(node, 1, today - dt.timedelta(days=40), (today - dt.timedelta(days=10)).date())
        soon_due = calendar.add_working_days(today.replace(tzinfo=None), 1, allow_provisional=True).date
        soon = _case(node, 2, today - dt.timedelta(days=5), soon_due)
        far = _case(node, 3, today - dt.timedelta(days=1), today.date() + dt.timedelta(days=60))
        # late and forwarded on (in transit until the town confirms): still on the clerk's list
        away = _case(node, 4, today - dt.timedelta(days=30), (today - dt.timedelta(days=5)).date(),
                     forward_to="node:T0101")
    finally:
        node.close()
    app = create_app({"DATA_DIR": str(folder)})
    try:
        with serve(app) as base:
            s = requests.Session()
            token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
            home = s.post(base + "/login", data={"csrf_token": token, "username": "clerk",
                                                 "password": PASSWORD}).text
            section = home.split("超期与即将到期")[1]
            assert late in section and soon in section and far not in section
            # the tally and the list count the same cases
            assert away in section
            assert re.search(r"<strong>2</strong> 超期", home)
            assert re.search(r"<strong>1</strong> 即将到期", home)
            overdue = s.get(base + "/cases/?show=overdue").text
            assert late in overdue and away in overdue and soon not in overdue and 'class="overdue"' in overdue
    finally:
        app.extensions["bianmin_node"].close()
