"""The running central: its key, its record log, its projections and the rules it acts by.

One `Central` per data folder and process. It owns the LogStore (one SQLite connection shared by
the server's threads behind the store's lock), registers the projectors that keep central's
tables in step with the log, and is the only way central's pages sign anything: every step and
every fen becomes a signed record through `sign` or `act`.

The catalogue and the holiday calendar are read from the newest `catalogue.published` and
`calendar.year` records, cached by record id, so a published edit takes effect on the next request
with no restart and exactly as the nodes will see it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlite_utils import Database

from casework.calendar import WorkCalendar
from casework.case_events import PREFIX
from casework.case_state import CaseState, Status
from casework.cases import Event, check_event, fold, new_event_body
from casework.catalogue import Catalogue
from casework.identity import mask_name
from central import (
    access_store,
    assessment_store,
    awards_store,
    board_store,
    card_store,
    correction_store,
    report_submissions,
    reviews_store,
    scorecard_store,
    settlement_store,
    sms_replies_store,
    sms_store,
)
from central.config import CentralConfig
from central.datadir import DataDir
from store import calendar as store_calendar
from store import catalogue as store_catalogue
from store import counters, projections
from sync.envelope import Record, parse_record
from sync.keys import NodeKey
from sync.logstore import LogStore

CHINA = dt.timezone(dt.timedelta(hours=8))
log = logging.getLogger(__name__)
CONFIG_KINDS = ("catalogue.published", "calendar.year", "staff.account", "node.", "directory.")
_WORKING_STATUSES = {Status.RECEIVED, Status.WAITING_SUPPLEMENT, Status.ACCEPTED, Status.PROMISED, Status.PAUSED,
                     Status.FORWARDED, Status.FINISHED, Status.LICENCE_ISSUED}
_TIMED_STATUSES = {Status.ACCEPTED, Status.PROMISED, Status.PAUSED}


def china_now() -> dt.datetime:
    return dt.datetime.now(CHINA)


def china_day(iso_time: str) -> str:
    """The China-time date of an ISO time (records carry offsets); '' if unreadable."""
    try:
        parsed = dt.datetime.fromisoformat(iso_time)
    except (TypeError, ValueError):
        return ""
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(CHINA)
    return parsed.date().isoformat()


def ensure_schemas(db: Database) -> None:
    """central's own tables (the shared ones are store.projections')."""
    board_store.ensure_schema(db)
    settlement_store.ensure_schema(db)
    card_store.ensure_schema(db)
    sms_store.ensure_schema(db)
    access_store.ensure_schema(db)
    report_submissions.ensure_schema(db)
    assessment_store.ensure_schema(db)
    awards_store.ensure_schema(db)
    scorecard_store.ensure_schema(db)
    correction_store.ensure_schema(db)
    reviews_store.ensure_schema(db)
    sms_replies_store.ensure_schema(db)


class Central:
    """See the module docstring."""

    def __init__(self, data: DataDir, *, clock: Callable[[], dt.datetime] = china_now) -> None:
        self.data = data
        self.config: CentralConfig = data.config()
        self.key = NodeKey.load(data.key)
        self.clock = clock
        self.log = LogStore.open(data.db, network=self.config.network, origin="C", signer=self.key)
        projections.register_all(self.log)  # the shared projections first: central's read them
        ensure_schemas(self.log.db)
        self._numbers = threading.RLock()
        self._cache: dict[str, tuple[str, Any]] = {}
        self._closers: list[Callable[[], None]] = []
        self.log.register_projector(self._project)
        with self.log.transaction() as db:  # late_or_missing judges by the same due day as the pages
            report_submissions.configure(db, self.config.monthly_report_due_workday)
        self._prepare_reviews()

    def on_close(self, fn: Callable[[], None]) -> None:
        """Run `fn` when this Central closes (the app's background threads stop with it)."""
        self._closers.append(fn)

    def close(self) -> None:
        for fn in self._closers:
            fn()
        self.log.close()

    # --- time -----------------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock().astimezone(CHINA)

    def today(self) -> dt.date:
        return self.now().date()

    def now_iso(self) -> str:
        return self.now().isoformat(timespec="seconds")

    # --- configuration from records ---------------------------------------------------------------

    def catalogue(self) -> Catalogue:
        with self.log._lock:
            catalogue = store_catalogue.current_catalogue(self.log.db)
        if catalogue is None:
            raise LookupError("no catalogue has been published yet (run `bianmin central init`)")
        return catalogue

    def catalogue_version(self) -> int:
        with self.log._lock:
            return store_catalogue.current_version(self.log.db) or 0

    def calendar(self) -> WorkCalendar:
        with self.log._lock:
            return store_calendar.work_calendar(self.log.db)

    def records_of_kind(self, kind: str, *, origin: str | None = "C") -> list[tuple[Record, str]]:
        """Every record of `kind` with central's receipt time, oldest first; by default only central's
        own (a node may sign any kind, but only central's card, placement or supervision records count)."""
        with self.log._lock:
            rows = self.log.db.execute(
                "SELECT raw, sig, received_at FROM records WHERE kind = ? AND (? IS NULL OR origin = ?) ORDER BY pos",
                [kind, origin, origin]).fetchall()
        return [(parse_record(raw, sig), at) for raw, sig, at in rows]

    # --- signing ------------------------------------------------------------------------------------

    def sign(self, kind: str, body: dict[str, Any]) -> Record:
        return self.log.append(kind, body, time=self.now_iso())

    def sign_many(self, items: list[tuple[str, dict[str, Any]]]) -> list[Record]:
        return self.log.append_many(items, time=self.now_iso())

    def towns(self) -> dict[str, str]:
        """village node -> its town centre, from the newest `directory.placed` record of each village."""
        found: dict[str, str] = {}
        for record, _at in self.records_of_kind("directory.placed"):
            node, town = record.body.get("node"), record.body.get("town")
            if isinstance(node, str) and isinstance(town, str) and town:
                found[node] = town
        return found

    # --- numbers ------------------------------------------------------------------------------------

    def next_number(self, kind: str) -> str:
        """The next case | card | payment number of central today (store.counters: never twice)."""
        with self.log.transaction() as db:
            return counters.next_number(db, kind, "C", self.today()).text

    # --- cases --------------------------------------------------------------------------------------

    def case_events(self, number: str, db: Database | None = None) -> list[Event]:
        if db is None:
            with self.log._lock:
                rows = board_store.event_rows(self.log.db, number)
        else:
            rows = board_store.event_rows(db, number)
        events = []
        for rid, origin, seq, kind, raw, _sig, origin_time, received_at in rows:
            body = json.loads(raw)["body"]
            events.append(Event(id=rid, origin=origin, seq=seq, kind=kind, body=body, origin_time=origin_time,
                                received_time=None if origin == "C" else received_at))
        return events

    def fold(self, number: str, db: Database | None = None) -> CaseState | None:
        """The case's state now. Pages pass their own read connection (`db`), so a long sync batch
        holding the log's connection never makes a clerk wait; `act` folds on the log's own."""
        events = self.case_events(number, db)
        if not events:
            return None
        return fold(events, calendar=self.calendar())

    def act(self, number: str, kind: str, *, window: str | None, staff: str | None, **fields: Any) -> Record:
        """Sign one case event as central (at `window`, or the centre as a whole), after the same
        checks the fold will make, so a refused action never becomes a record. Raises RuleError.
        `staff` None: no member of staff acted (an applicant's rating from the public page or SMS)."""
        with self._numbers:  # one action at a time: `after` must be the heads this action saw
            state = self.fold(number) or CaseState()
            name = kind if kind.startswith(PREFIX) else PREFIX + kind
            after = () if name == "case.received" else state.heads
            body = new_event_body(name, case=number, after=list(after), window=window, staff=staff, **fields)
            place = f"window:{window}" if window else "central"
            check_event(state, place, name, body, calendar=self.calendar(), time=self.now().replace(tzinfo=None))
            return self.sign(name, body)

    def one_at_a_time(self) -> threading.RLock:
        """The lock `act` holds while it checks and signs. Hold it around a check of your own and
        the `act` (or `sign`) that depends on it, so that nothing is signed in between; take it
        before `log.transaction()`, never inside one (`act` takes them in that order)."""
        return self._numbers

    def act_many(self, number: str, steps: list[tuple[str, dict[str, Any]]], *, window: str | None,
                 staff: str) -> list[Record]:
        """Several events in a row (finish + licence + delivery at once for an immediate case)."""
        return [self.act(number, kind, window=window, staff=staff, **fields) for kind, fields in steps]

    # --- projection -------------------------------------------------------------------------------

    def _project(self, db: Database, record: Record) -> None:
        kind = record.kind
        assessment_store.project(db, record)  # assessment.*, case fees, fee cards (never raises)
        awards_store.project(db, record)  # awards.* (never raises)
        scorecard_store.project(db, record)  # assessment.scorecard versions (never raises)
        correction_store.project(db, record)  # corrections of published quarters, decided years (never raises)
        if kind.startswith(PREFIX):
            case = record.body.get("case") if isinstance(record.body, dict) else None
            if isinstance(case, str) and case and len(case) <= 64:
                board_store.add_event(db, case, record.id)
                try:
                    self._project_case(db, case, record)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    # never stall sync on a record the board cannot show: the fold keeps it as a conflict
                    log.warning("case %s: record %s not projected on the board (%s)", case, record.id[:12],
                                type(exc).__name__)
        elif kind == report_submissions.KIND:
            report_submissions.project(db, record)  # signed by nodes: counts only for the node it names
        elif kind == "access.logged":
            # every place signs its own accesses, so a node's count (for that node: the place is the signer)
            access_store.project(db, record, day=china_day(record.time), received_at=self.log.received_at(record.id))
        elif record.origin != "C":
            return  # central's own kinds count only when central signed them
        elif kind == "card.registered":
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                card_store.project(db, record.id, china_day(record.time), record.body)
        elif kind.startswith("review."):
            reviews_store.project_record(db, record)
        elif kind == "calendar.year":
            reviews_store.recompute_dues(db, self.calendar(), self.config.review_rectify_days)
        elif kind == "settlement.refund_requested":
            b = record.body
            with contextlib.suppress(KeyError, TypeError, AttributeError):
                settlement_store.add_refund_request(
                    db, request=record.id, case=b["case"], assessment=b["assessment"], amount_fen=b["amount_fen"],
                    reason=b["reason"], requested_by=b.get("staff", ""), day=china_day(record.time))

    def _project_case(self, db: Database, case: str, record: Record) -> None:
        events = self.case_events(case, db)
        state = fold(events, calendar=self.calendar())
        if state.number is None:
            return  # only pending or conflicting events so far: shown when the receipt arrives
        item = state.item
        applied = {step.event.id: step for step in state.timeline}
        joint_asked: set[str] = set()
        joint_answered: set[str] = set()
        for step in state.timeline:
            body = step.event.body
            if step.event.kind == "case.note_added":
                joint_asked.update(w for w in body.get("joint_request", []) if isinstance(w, str))
                if isinstance(body.get("joint_opinion"), str):
                    joint_answered.add(body["joint_opinion"])
        joint = " ".join(sorted(joint_asked - joint_answered))
        holder = state.holder or ""
        queue = state.pending_handover if state.status is Status.FORWARDED and state.pending_handover else holder
        timed = state.status in _TIMED_STATUSES or (state.status is Status.FORWARDED
                                                    and state.status_before_forward in _TIMED_STATUSES)
        due = state.due_date.isoformat() if state.due_date and timed else board_store.NO_DUE
        origin = state.received_at or ""
        node = origin.split(":", 1)[1] if origin.startswith("node:") else ""
        phone = state.applicant.get("phone") or (state.proxy or {}).get("phone")
        board_store.upsert(db, {
            "number": case, "item_code": str(item.get("code", "")), "item_name": str(item.get("name", "")),
            "item_kind": str(item.get("kind", "")), "department": str(item.get("department") or ""),
            "window": str(item.get("window") or ""), "holder": holder, "queue": queue,
            "status": state.status.value, "open": int(state.status in _WORKING_STATUSES),
            "green": int(bool(state.card)), "node": node, "received_day": state.received_time.date().isoformat() if state.received_time else "",
            "due_sort": due, "card": state.card, "applicant": mask_name(str(state.applicant.get("name", ""))),
            "phone": phone, "conflicts": len(state.conflicts), "outstanding_fen": state.outstanding_fen,
            "pre_fee_unpaid": int(state.pre_fee_unpaid), "joint": f" {joint} " if joint else "",
            "updated_at": record.time,
        })
        self._project_fees(db, case, state, applied)
        reviews_store.project_case(db, state, events, calendar=self.calendar(), days=self.config.review_rectify_days)
        if record.id in applied:
            self._queue_sms(db, case, state, record, phone)

    def _project_fees(self, db: Database, case: str, state: CaseState, applied: dict[str, Any]) -> None:
        window = str(state.item.get("window") or "")
        department = str(state.item.get("department") or "")
        for event_id, step in applied.items():
            event = step.event
            body = event.body
            if event.kind == "case.fee_assessed":
                lines = body["lines"]
                settlement_store.add_notice(
                    db, assessment=event_id, case=case, number=str(body.get("notice") or event_id[:16]),
                    window=window, department=department, total_fen=sum(x["amount_fen"] for x in lines),
                    pre_fee_fen=sum(x["amount_fen"] for x in lines if x.get("pre_fee")),
                    day=china_day(event.origin_time), lines=json.dumps(lines, ensure_ascii=False))
            elif event.kind in ("case.fee_paid", "case.fee_refunded"):
                paid = event.kind == "case.fee_paid"
                settlement_store.add_entry(
                    db, record_id=event_id, case=case, assessment=body["assessment"],
                    kind="paid" if paid else "refunded", amount_fen=body["amount_fen"],
                    method=str(body.get("method", "")), reference=str(body.get("reference", "")),
                    receipt=str(body.get("receipt", "")), cashier=str(body.get("staff", "")),
                    approved_by=str(body.get("approved_by", "")), day=china_day(event.origin_time),
                    time=event.origin_time)
                if not paid and isinstance(body.get("request"), str):
                    settlement_store.close_refund_request(db, body["request"], event_id,
                                                          str(body.get("approved_by", "")))

    def _queue_sms(self, db: Database, case: str, state: CaseState, record: Record, phone: Any) -> None:
        from central import sms  # the texts live with the adapter

        if not isinstance(phone, str) or not phone:
            return
        message = sms.message_for(record.kind, state)
        if message is None:
            return
        reason, text = message
        dedupe = f"{case}:{reason}" if reason != "supplement" else f"{case}:{reason}:{record.id[:16]}"
        sms_store.enqueue(db, dedupe=dedupe, case=case, phone=phone, text=text, reason=reason, now=time.time())

    def rebuild(self) -> int:
        """Drop and replay central's projections from the log."""
        def reset(db: Database) -> None:
            board_store.reset(db)
            settlement_store.reset(db)
            card_store.reset(db)
            access_store.reset(db)
            report_submissions.reset(db)
            assessment_store.reset(db)
            awards_store.reset(db)
            scorecard_store.reset(db)
            correction_store.reset(db)
            reviews_store.reset(db)
        return projections.rebuild(self.log, also_reset=reset)

    def _prepare_reviews(self) -> None:
        """Due dates follow `review_rectify_days`; review tables new on a file that already held
        evaluations (an upgrade) are filled from the log once, case by case (no full rebuild)."""
        with self.log.transaction() as db:
            reviews_store.configure(db, self.config.review_rectify_days, self.calendar())
            if not reviews_store.needs_backfill(db):
                return
            for case in reviews_store.cases_to_backfill(db):
                state = self.fold(case, db)
                if state is not None:
                    reviews_store.project_case(db, state, self.case_events(case, db), calendar=self.calendar(),
                                               days=self.config.review_rectify_days)
            for raw, sig in reviews_store.review_records_in_order(db):
                reviews_store.project_record(db, parse_record(raw, sig))
            reviews_store.finish_backfill(db)
