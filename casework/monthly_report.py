"""The monthly case report (办件月报表) a service point sends the centre, and when it is due.

Each sub-centre reports its month to the centre, and the quarterly assessment deducts for a report
not sent on time (scorecard clause K03). The report is a signed record, so nobody can later
change what was sent or when it arrived:

    kind "report.monthly", signed by the node it names:
    {"node": "S01", "month": "2026-09",
     "figures": {"received": 120, "accepted": 118, "finished": 110, "on_time": 108, "overdue": 2,
                 "returned": 1, "refused": 1, "fees_fen": 0, "evaluated": 90, "satisfied": 88},
     "remarks": {"matters": "...", "problems": "...", "measures": "..."},
     "submitted_by": {"username": "zhang", "name": "张主任"},
     "version": 1,          # 2, 3... for a correction
     "reason": ""}          # why a correction was needed: required from version 2

`figures` are whole numbers computed by store.reports from the node's own `cases` projection with
the same definitions central uses (percentages are derived, never sent: `on_time / finished`,
`satisfied / evaluated`); money is in fen. `remarks` are the director's notes: notable matters,
problems met, and next month's measures.

Timeliness: a month's report is due by the Nth working day of the following month (N is central's
setting, default 5), judged by the time CENTRAL received the record (the legal time, DESIGN.md),
never the node's own clock. Arriving on a non-working day counts as arriving on the next working
day. A correction does not change when the report first arrived; the first counted version does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from casework.calendar import CHINA_TIME, DueDate, WorkCalendar
from casework.messages import N_, RuleError

KIND = "report.monthly"
FIGURES = ("received", "accepted", "finished", "on_time", "overdue", "returned", "refused", "fees_fen",
           "evaluated", "satisfied")
"""The figures of a report, in the order screens and workbooks show them."""
REMARKS = ("matters", "problems", "measures")
"""The director's notes: notable matters, problems met, next month's measures."""
MAX_REMARK = 2000
MAX_REASON = 500
MAX_FIGURE = 10**9
DEFAULT_DUE_WORKDAY = 5
MAX_DUE_WORKDAY = 15
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_NODE = re.compile(r"^[TVS]\d{2,6}$")


# --- months ------------------------------------------------------------------------------------

def parse_month(text: str) -> tuple[dt.date, dt.date]:
    """``2026-11`` -> (first day, first day of the next month). ValueError for anything else."""
    found = _MONTH.match(str(text).strip())
    if not found:
        raise ValueError(text)
    first = dt.date(int(found.group(1)), int(found.group(2)), 1)
    return first, _add_months(first, 1)


def _add_months(first: dt.date, n: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def previous_month(day: dt.date) -> str:
    """The month before the one `day` falls in: the month a report is being written for."""
    return month_of(_add_months(day.replace(day=1), -1))


def shift_month(month: str, n: int) -> str:
    """`month` moved by `n` months (negative: earlier)."""
    return month_of(_add_months(parse_month(month)[0], n))


# --- the record body ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One thing wrong with a report body: the field it concerns and the rule it breaks."""

    field: str
    error: RuleError


class ReportError(RuleError):
    """A report body breaks the rules; `problems` lists every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("report.invalid", N_("The monthly report has %(count)s problem(s): %(problems)s"),
                         count=len(problems), problems="; ".join(p.error.english() for p in problems))


@dataclass(frozen=True)
class MonthlyReport:
    """A report body, checked."""

    node: str
    month: str
    figures: Mapping[str, int]
    remarks: Mapping[str, str]
    submitted_by: Mapping[str, str]
    version: int
    reason: str

    def to_body(self) -> dict[str, Any]:
        return {"node": self.node, "month": self.month, "figures": {k: self.figures[k] for k in FIGURES},
                "remarks": {k: self.remarks.get(k, "") for k in REMARKS},
                "submitted_by": dict(self.submitted_by), "version": self.version, "reason": self.reason}


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def problems_of(body: Any) -> list[Problem]:
    """Every problem of a report body (empty when it is a good one)."""
    found: list[Problem] = []

    def bad(field: str, code: str, msgid: str, **params: Any) -> None:
        found.append(Problem(field, RuleError(f"report.{code}", msgid, **params)))

    if not isinstance(body, Mapping):
        bad("body", "not_an_object", N_("A monthly report must be an object."))
        return found
    node = body.get("node")
    if not isinstance(node, str) or not _NODE.match(node):
        bad("node", "bad_node", N_("The report must name a service point (T####, V###### or S##)."))
    month = body.get("month")
    try:
        parse_month(month if isinstance(month, str) else "")
    except ValueError:
        bad("month", "bad_month", N_("Give the month as YYYY-MM, e.g. 2026-11."))
    figures = body.get("figures")
    if not isinstance(figures, Mapping) or set(figures) != set(FIGURES):
        bad("figures", "bad_figures", N_("The report must carry exactly these figures: %(names)s."),
            names=", ".join(FIGURES))
    else:
        for name in FIGURES:
            value = figures[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FIGURE:
                bad("figures", "bad_figure", N_("The figure %(name)s must be a whole number from 0 to %(max)s."),
                    name=name, max=MAX_FIGURE)
        if not found:
            if figures["on_time"] > figures["finished"]:
                bad("figures", "inconsistent", N_("More cases finished on time than finished in all."))
            if figures["satisfied"] > figures["evaluated"]:
                bad("figures", "inconsistent", N_("More satisfied ratings than ratings in all."))
    remarks = body.get("remarks")
    if not isinstance(remarks, Mapping) or not set(remarks) <= set(REMARKS) or \
            not all(isinstance(v, str) for v in remarks.values()):
        bad("remarks", "bad_remarks", N_("The remarks must be text."))
    else:
        for name in REMARKS:
            if len(remarks.get(name, "")) > MAX_REMARK:
                bad(name, "remark_too_long", N_("Keep each part of the remarks under %(max)s characters."),
                    max=MAX_REMARK)
    by = body.get("submitted_by")
    if not isinstance(by, Mapping) or not _text(by.get("username")) or not isinstance(by.get("name", ""), str):
        bad("submitted_by", "no_submitter", N_("The report must say who submitted it."))
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        bad("version", "bad_version", N_("The version must be 1 for a report, 2 or more for a correction."))
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON:
        bad("reason", "reason_too_long", N_("Keep the reason for the correction under %(max)s characters."),
            max=MAX_REASON)
    elif isinstance(version, int) and not isinstance(version, bool) and version > 1 and not reason.strip():
        bad("reason", "reason_required", N_("A correction must say why the report is corrected."))
    return found


def parse_report(body: Any) -> MonthlyReport:
    """The checked report; ReportError listing every problem otherwise."""
    found = problems_of(body)
    if found:
        raise ReportError(found)
    return MonthlyReport(node=body["node"], month=body["month"], figures={k: body["figures"][k] for k in FIGURES},
                         remarks={k: body["remarks"].get(k, "") for k in REMARKS},
                         submitted_by={"username": body["submitted_by"]["username"],
                                       "name": body["submitted_by"].get("name", "")},
                         version=body["version"], reason=body.get("reason", ""))


def report_body(*, node: str, month: str, figures: Mapping[str, int], remarks: Mapping[str, str],
                submitted_by: Mapping[str, str], version: int, reason: str = "") -> dict[str, Any]:
    """A checked body ready to sign (text stripped); ReportError otherwise."""
    body = {"node": node, "month": month, "figures": {k: figures.get(k) for k in FIGURES},
            "remarks": {k: (remarks.get(k) or "").strip() for k in REMARKS},
            "submitted_by": {"username": submitted_by.get("username", ""), "name": submitted_by.get("name", "")},
            "version": version, "reason": (reason or "").strip()}
    return parse_report(body).to_body()


def differences(submitted: Mapping[str, int], recomputed: Mapping[str, int]) -> list[str]:
    """The figures whose submitted value differs from a recomputation, in FIGURES order."""
    return [name for name in FIGURES if submitted.get(name) != recomputed.get(name)]


# --- when it is due, and whether it came in time ------------------------------------------------

ON_TIME, LATE, MISSING, NOT_DUE, NOT_REQUIRED = "on_time", "late", "missing", "not_due", "not_required"


@dataclass(frozen=True)
class Timeliness:
    """How a month's report stands: `status` one of on_time, late, missing (overdue, not received),
    not_due (not received, still time), not_required (the node joined after the month);
    `late_days` working days late (for missing: overdue so far); `due` the due day."""

    status: str
    due: DueDate
    late_days: int = 0

    @property
    def counts_against(self) -> bool:
        """Late, or missing after its due day: what the assessment deducts for."""
        return self.status in (LATE, MISSING)


def check_due_workday(n: Any) -> int:
    """The setting `monthly_report_due_workday`, checked: a whole number from 1 to 15."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_DUE_WORKDAY:
        raise RuleError("report.bad_due_workday",
                        N_("The monthly report's due day must be a working day from 1 to %(max)s, not %(value)s."),
                        max=MAX_DUE_WORKDAY, value=repr(n))
    return n


def due_date(calendar: WorkCalendar, month: str, workday: int = DEFAULT_DUE_WORKDAY) -> DueDate:
    """The `workday`-th working day of the month after `month` (provisional if that year's holiday
    calendar is not published yet: weekends only, and the screen says so)."""
    check_due_workday(workday)
    _first, following = parse_month(month)
    day = following - dt.timedelta(days=1)
    counted, provisional = 0, False
    while counted < workday:
        step = calendar.next_working_day(day, allow_provisional=True)
        day, provisional = step.date, provisional or step.provisional
        counted += 1
    return DueDate(day, provisional)


def received_day(received: dt.datetime | dt.date) -> dt.date:
    """The China-time calendar day of a receipt stamp (central stamps in UTC)."""
    if isinstance(received, dt.datetime):
        if received.tzinfo is not None:
            received = received.astimezone(CHINA_TIME)
        return received.date()
    return received


def working_days_late(calendar: WorkCalendar, due: dt.date, received: dt.datetime | dt.date) -> int:
    """0 when received on or before the due day; else the working days after it, counting a receipt
    on a non-working day as on the next working day."""
    day = received_day(received)
    if day <= due:
        return 0
    counted_on = calendar.received_on(day, allow_provisional=True).date
    return max(1, calendar.working_days_between(due, counted_on, allow_provisional=True))


def timeliness(calendar: WorkCalendar, month: str, *, first_received: dt.datetime | dt.date | None,
               today: dt.date, workday: int = DEFAULT_DUE_WORKDAY, joined: dt.date | None = None) -> Timeliness:
    """How the report for `month` stands on `today`, from when central first received a counted
    version of it (`first_received`, None if never) and when the node joined the network."""
    due = due_date(calendar, month, workday)
    _first, following = parse_month(month)
    if first_received is not None:
        late = working_days_late(calendar, due.date, first_received)
        return Timeliness(LATE if late else ON_TIME, due, late)
    if joined is not None and joined >= following:
        return Timeliness(NOT_REQUIRED, due)
    if today <= due.date:
        return Timeliness(NOT_DUE, due)
    overdue = max(1, calendar.working_days_between(due.date, calendar.received_on(today, allow_provisional=True).date,
                                                   allow_provisional=True))
    return Timeliness(MISSING, due, overdue)


def months_due_within(first: dt.date, last: dt.date, calendar: WorkCalendar,
                      workday: int = DEFAULT_DUE_WORKDAY) -> list[str]:
    """The months whose report is due on a day in [first, last] (a quarter's assessment period)."""
    found = []
    month = shift_month(month_of(first), -2)  # a due day may in theory spill into the second month after
    while parse_month(month)[0] <= last:
        due = due_date(calendar, month, workday).date
        if first <= due <= last:
            found.append(month)
        month = shift_month(month, 1)
    return found
