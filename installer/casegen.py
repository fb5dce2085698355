"""Realistic case history made through the apps' own record paths: for the demo and install tests.

Nothing here writes a projection row. A node's cases are signed records appended to its log
(`Node.append`, the call its intake page makes), each body built by `casework.cases.new_event_body`
and checked by `check_event` against the fold of the case so far, exactly as the intake page does;
central's steps go through `Central.act`, as its window and settlement pages do. Sync then moves
the records and every app's projectors build their tables from them.

Times: a node may sign a record with an earlier origin time (`LogStore.append(time=...)`), so a
history can span weeks; central's own steps carry the time of the `Central` clock it was opened
with. Due dates come from the calendar, so some cases are overdue today by construction.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from casework.case_events import item_snapshot
from casework.cases import Event, check_event, fold, new_event_body
from casework.fees import assess_case
from node.cases_source import forward_targets
from node.context import Node
from store import counters
from store.db import open_db
from sync.canonical import nfc

CHINA = dt.timezone(dt.timedelta(hours=8))
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "志强", "桂兰", "海燕", "明", "丽", "伟", "小红", "春梅", "国华", "玉兰", "德胜", "文静"]
REGIONS = ["320682", "320681", "320623"]  # 如皋市, 启东市, 如东县


def resident_id(rng: random.Random) -> str:
    """A well-formed resident ID (GB 11643 check character) of an invented person."""
    from stdnum.cn import ric

    born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60))
    body = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body)


def person(rng: random.Random) -> dict[str, Any]:
    return {"type": "person", "name": rng.choice(SURNAMES) + rng.choice(GIVEN), "id_type": "resident_id",
            "id_number": resident_id(rng), "phone": f"13{rng.randrange(0, 10)}{rng.randrange(0, 10**8):08d}"}


@dataclass
class Case:
    number: str
    events: list[Event] = field(default_factory=list)


class NodeDesk:
    """A clerk at a node taking applications in, on given days (records signed with that time)."""

    def __init__(self, node: Node, clerk: dict[str, str] | None = None) -> None:
        self.node = node
        self.by = clerk or {"username": "clerk", "name": "王村干"}

    def _db(self) -> Any:
        return open_db(self.node.db_path)

    def _add(self, case: Case, kind: str, when: dt.datetime, **fields: Any) -> None:
        db = self._db()
        try:
            calendar = self.node.calendar(db)
        finally:
            db.conn.close()
        state = fold(case.events, calendar=calendar)
        after = [] if kind == "case.received" else list(state.heads)
        body = nfc(new_event_body(kind, case=case.number, after=after, by=self.by, **fields))
        check_event(state, self.node.config.place, kind, body, calendar=calendar,
                    time=when.astimezone(CHINA).replace(tzinfo=None))
        record = self.node.log.append(kind, body, time=when.isoformat(timespec="seconds"))
        case.events.append(Event(record.id, record.origin, record.seq, record.kind, record.body, record.time))

    def take_in(self, item_code: str, when: dt.datetime, applicant: dict[str, Any], *,
                outcome: str = "auto", missing: int = 0) -> tuple[Case, str]:
        """One application: `outcome` auto (what the item calls for), or supplement (materials
        missing). Returns the case and what happened: supplement | forwarded | promised | finished."""
        db = self._db()
        try:
            catalogue = self.node.catalogue(db)
            calendar = self.node.calendar(db)
        finally:
            db.conn.close()
        if catalogue is None:
            raise RuntimeError("this node has no catalogue yet: sync with central first")
        item = catalogue.item(item_code)
        local = when.astimezone(CHINA)
        with self.node.log.transaction() as database:
            number = counters.next_case_number(database, self.node.config.node_id, local.date()).text
        case = Case(number)
        names = [m.name for m in item.materials if m.required]
        given = names[:len(names) - missing] if outcome == "supplement" and missing else names
        self._add(case, "case.received", when, item=item_snapshot(item), applicant=applicant,
                  materials=given or None)
        if outcome == "supplement" and len(given) < len(names):
            state = fold(case.events, calendar=calendar)
            self._add(case, "case.supplement_requested", when, missing=list(state.materials_missing))
            return case, "supplement"
        tier = self.node.config.case_tier
        order = ["village", "town", "city"]
        if order.index(item.handle_tier) > order.index(tier):
            db = self._db()
            try:
                targets = forward_targets(self.node, db, fold(case.events, calendar=calendar))
            finally:
                db.conn.close()
            self._add(case, "case.forwarded", when, to=targets[0][0])
            return case, "forwarded"
        due = calendar.add_working_days(local.replace(tzinfo=None), item.promised_limit_days,
                                        allow_provisional=True).date
        self._add(case, "case.accepted", when, due_date=due.isoformat())
        if item.kind == "immediate":
            self._add(case, "case.finished", when, outcome="granted")
            self._add(case, "case.delivered", when, method="on_the_spot", recipient=applicant["name"])
            return case, "finished"
        self._add(case, "case.promised", when, due_date=due.isoformat())
        return case, "promised"

    def step(self, case: Case, kind: str, when: dt.datetime, **fields: Any) -> None:
        """A later step on a case this node holds (finish, deliver, evaluate...)."""
        self._add(case, kind, when, **fields)

    def accept_handover(self, number: str, when: dt.datetime) -> Case:
        """A town centre takes over a case a village forwarded to it (events read from its own log)."""
        from store.cases import case_events

        db = self._db()
        try:
            records = case_events(db, number)
        finally:
            db.conn.close()
        case = Case(number, [Event(r.id, r.origin, r.seq, r.kind, r.body, r.time) for r in records])
        self._add(case, "case.handover_accepted", when)
        return case


def window_work(central: Any, number: str, *, finish: bool, pay: bool, rng: random.Random) -> str:
    """Central's window takes a forwarded case over and works it as far as asked (central.runtime.Central)."""
    state = central.fold(number)
    target = state.pending_handover if state is not None else None
    if not target or not target.startswith("window:"):
        return "not_here"
    window = target.split(":", 1)[1]
    staff = "demo-window"
    central.act(number, "case.handover_accepted", window=window, staff=staff)
    state = central.fold(number)
    limit = int(state.item.get("promised_limit_days") or 0)
    due = central.calendar().add_working_days(central.now().replace(tzinfo=None), limit,
                                              allow_provisional=True).date
    central.act(number, "case.accepted", window=window, staff=staff, due_date=due.isoformat())
    if limit:
        central.act(number, "case.promised", window=window, staff=staff, due_date=due.isoformat())
    fees = list(state.item.get("fees") or [])
    if fees:
        assessment = assess_case(central.catalogue().fees, [{"fee": code} for code in fees])
        record = central.act(number, "case.fee_assessed", window=window, staff=staff,
                             lines=[line.to_data() for line in assessment.lines],
                             notice=central.next_number("payment"))
        if pay:
            central.act(number, "case.fee_paid", window=None, staff="demo-cashier", assessment=record.id,
                        amount_fen=assessment.total_fen, method="wechat", reference=f"WX{rng.randrange(10**9)}")
    if not finish:
        return "accepted"
    central.act(number, "case.finished", window=window, staff=staff, outcome="granted")
    central.act(number, "case.delivered", window=window, staff=staff, method="village",
                recipient=state.applicant.get("name"))
    return "finished"
