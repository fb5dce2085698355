"""What a case is at a moment: the result of folding its events (casework.cases.fold).

The state is a projection: apps may cache it, but the events are the truth and folding them again
gives the same state. Everything an app shows about a case (status, holder, what is missing, the
due date, the money, the conflicts a person must settle) is here, so no app recomputes a rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from casework.case_events import Event
from casework.messages import N_


class Status(StrEnum):
    """Where a case stands. The English values are stable codes; screens translate them."""

    NONE = "none"                      # nothing applied yet (only pending or conflicting events)
    RECEIVED = "received"              # taken in, not yet accepted
    WAITING_SUPPLEMENT = "waiting_supplement"  # supplement notice issued, materials awaited
    ACCEPTED = "accepted"              # 受理: the clock runs
    PROMISED = "promised"              # promise notice issued: in progress until the due date
    PAUSED = "paused"                  # hearing, test, expert review: the clock stands still
    FORWARDED = "forwarded"            # in transit to the next holder, not yet confirmed
    FINISHED = "finished"              # 办结
    LICENCE_ISSUED = "licence_issued"  # the licence or certificate is made out
    DELIVERED = "delivered"            # 送达: the result is in the applicant's hands
    REFUSED = "refused"                # 不予受理
    RETURNED = "returned"              # 退件
    WITHDRAWN = "withdrawn"            # the applicant withdrew


#: English msgids of the statuses, for screens to translate (casework.notices prints Chinese).
STATUS_MSGIDS = {
    Status.NONE: N_("Not received"), Status.RECEIVED: N_("Received"),
    Status.WAITING_SUPPLEMENT: N_("Waiting for materials"), Status.ACCEPTED: N_("Accepted"),
    Status.PROMISED: N_("In progress (promised)"), Status.PAUSED: N_("Clock paused"),
    Status.FORWARDED: N_("Forwarded, awaiting hand-over"), Status.FINISHED: N_("Finished"),
    Status.LICENCE_ISSUED: N_("Licence issued"), Status.DELIVERED: N_("Delivered"),
    Status.REFUSED: N_("Refused"), Status.RETURNED: N_("Returned"), Status.WITHDRAWN: N_("Withdrawn"),
}

#: Statuses after which only notes, materials, evaluations and fee settlement may follow.
CLOSED = frozenset({Status.DELIVERED, Status.REFUSED, Status.RETURNED, Status.WITHDRAWN})


@dataclass(frozen=True)
class Conflict:
    """An event that was kept but not applied, for a person to settle.

    `code` is the rule broken (stable, for programs); `msgid`/`params` say it to people
    (translate with gettext like a RuleError)."""

    event_id: str
    kind: str
    origin: str
    code: str
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)
    settled_by: str | None = None  # the note (event id) in which a person settled it

    def english(self) -> str:
        return self.msgid % self.params if self.params else self.msgid

    def translated(self, gettext: Any) -> str:
        message = gettext(self.msgid)
        return message % self.params if self.params else message


@dataclass(frozen=True)
class Pending:
    """An event whose earlier events (`after`) have not arrived yet: held, not applied, not lost."""

    event_id: str
    kind: str
    origin: str
    waiting_for: tuple[str, ...]


@dataclass(frozen=True)
class GapCommitment:
    """容缺受理: materials accepted as missing, with the applicant's signed promise to bring them."""

    materials: tuple[str, ...]
    signed_by: str
    text: str
    deadline: dt.date


@dataclass(frozen=True)
class Pause:
    """The clock stood still from `start` (a date) to `end` (None while still paused)."""

    reason: str
    start: dt.date
    end: dt.date | None
    working_days: int  # working days not counted toward the limit (0 while open)


@dataclass(frozen=True)
class FeeAssessment:
    event_id: str
    lines: tuple[dict[str, Any], ...]
    total_fen: int
    pre_fee_fen: int
    paid_fen: int = 0
    refunded_fen: int = 0
    paid: bool = False  # settled at the settlement centre (a notice of 0 fen, all exempt, too)
    place: str = ""
    date: dt.date | None = None


@dataclass(frozen=True)
class Evaluation:
    event_id: str
    level: int
    reason: str | None
    channel: str | None
    real_name: bool
    place: str

    @property
    def bad(self) -> bool:
        """Levels 1 and 2 are bad reviews (GB/T 39734-2020): they are called back and rectified."""
        return self.level <= 2


@dataclass(frozen=True)
class Note:
    event_id: str
    place: str
    text: str
    time: str


@dataclass(frozen=True)
class Step:
    """One applied event on the timeline, with the place that acted and its trusted time."""

    event: Event
    place: str
    time: dt.datetime | None
    clock_corrected: bool  # the author's clock disagreed with causality and was clamped

    @property
    def clock_doubtful(self) -> bool:
        """No usable time, or one before the system could exist (a PC reset to 1970)."""
        return self.time is None or self.time.year < 2001


@dataclass
class CaseState:
    """The fold of a case's events. Read it; never edit it (fold again instead)."""

    number: str | None = None
    item: dict[str, Any] = field(default_factory=dict)   # the snapshot taken at receipt
    applicant: dict[str, Any] = field(default_factory=dict)
    proxy: dict[str, Any] | None = None
    card: str | None = None
    status: Status = Status.NONE
    holder: str | None = None
    received_at: str | None = None       # the place that took the application in
    received_time: dt.datetime | None = None
    pending_handover: str | None = None  # the named next holder while FORWARDED
    status_before_forward: Status | None = None
    holders: tuple[str, ...] = ()        # every holder so far, in order
    materials_provided: tuple[str, ...] = ()
    supplement_requested: tuple[str, ...] = ()  # the one-time notice's list (first notice)
    supplement_notices: int = 0
    gap: GapCommitment | None = None
    accepted_time: dt.datetime | None = None
    accepted_by: str | None = None
    due_date: dt.date | None = None
    due_provisional: bool = False        # computed without calendar data for those dates
    clock_doubtful: bool = False         # a date above rests on a clock that cannot be right
    pauses: tuple[Pause, ...] = ()
    paused_since: dt.date | None = None
    status_before_pause: Status | None = None
    outcome: str | None = None           # granted | denied, once finished
    reason: str | None = None            # of a refusal, return, denial or withdrawal
    licence: dict[str, Any] | None = None
    delivery: dict[str, Any] | None = None
    finished_time: dt.datetime | None = None
    closed_time: dt.datetime | None = None
    assessments: tuple[FeeAssessment, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()  # sorted by event id: they commute
    notes: tuple[Note, ...] = ()
    material_scans: tuple[dict[str, Any], ...] = ()
    timeline: tuple[Step, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    pending: tuple[Pending, ...] = ()
    heads: tuple[str, ...] = ()          # pass as `after` when appending the next event
    last_status_event: str | None = None

    # -- derived facts ----------------------------------------------------------------------
    @property
    def item_code(self) -> str | None:
        code = self.item.get("code") if isinstance(self.item, dict) else None
        return code if isinstance(code, str) else None

    @property
    def materials(self) -> tuple[dict[str, Any], ...]:
        items = self.item.get("materials") if isinstance(self.item, dict) else None
        return tuple(m for m in items or () if isinstance(m, dict))

    @property
    def materials_missing(self) -> tuple[str, ...]:
        """Required materials not provided (in the item's order), plus any asked for again."""
        provided = set(self.materials_provided)
        required = [m["name"] for m in self.materials if m.get("required")]
        asked = [c for c in self.supplement_requested if c not in required]
        return tuple(c for c in [*required, *asked] if c not in provided)

    def material(self, name: str) -> dict[str, Any]:
        """The snapshot's entry for a material (an empty dict for a document not in it)."""
        for material in self.materials:
            if material.get("name") == name:
                return material
        return {}

    @property
    def paused_days(self) -> int:
        return sum(p.working_days for p in self.pauses)

    @property
    def assessed_fen(self) -> int:
        return sum(a.total_fen for a in self.assessments)

    @property
    def paid_fen(self) -> int:
        return sum(a.paid_fen for a in self.assessments)

    @property
    def refunded_fen(self) -> int:
        return sum(a.refunded_fen for a in self.assessments)

    @property
    def balance_fen(self) -> int:
        """What the settlement centre holds for this case: paid minus refunded."""
        return self.paid_fen - self.refunded_fen

    @property
    def outstanding_fen(self) -> int:
        """What the applicant still has to pay: assessments not yet paid."""
        return sum(a.total_fen for a in self.assessments if not a.paid)

    @property
    def pre_fee_unpaid(self) -> bool:
        """A pre-fee is assessed and unpaid: the case may not be accepted yet."""
        return any(a.pre_fee_fen > 0 and not a.paid for a in self.assessments)

    def gap_overdue(self, today: dt.date) -> bool:
        """A tolerated-gap commitment has passed its deadline with materials still owed: the
        holder should end the case (return it); supervision shows it until then."""
        if self.gap is None or self.closed or today <= self.gap.deadline:
            return False
        return any(m not in self.materials_provided for m in self.gap.materials)

    @property
    def bad_review(self) -> bool:
        return any(e.bad for e in self.evaluations)

    @property
    def open_conflicts(self) -> tuple[Conflict, ...]:
        """Conflicts no one has settled yet: what a person still has to look at."""
        return tuple(c for c in self.conflicts if c.settled_by is None)

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    @property
    def forwarded_to(self) -> tuple[str, ...]:
        """Every holder after the place that received it (the receipt says where it went)."""
        return self.holders[1:]
