"""A service point's own monthly case report: its figures, the versions it has signed, and submitting one.

The figures come from the node's own `cases` projection through store.reports, the very query
central runs over its copy of the same records, so central can recompute and check them. The
director adds remarks and signs `report.monthly` (casework.monthly_report describes the body);
a correction is a new record with the next version number and a reason, never an edit. Whether
it came in time is judged by central's receipt time, which the node learns from the signed
receipts it keeps (node.cases_source.receipt_times).

What is signed is what was previewed: `submit` takes the figures the director saw and refuses with
`FiguresChangedError` when records that arrived in between have changed them.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from casework import monthly_report as mr
from casework.messages import N_, RuleError
from node.cases_source import receipt_times
from node.context import Node
from store import reports
from sync.canonical import nfc
from sync.envelope import Record


@dataclass(frozen=True)
class Signed:
    """One report this node signed, and when central receipted it (central's ISO time; None: not yet)."""

    record: Record
    receipted_at: str | None

    @property
    def body(self) -> dict[str, Any]:
        return self.record.body

    @property
    def version(self) -> int:
        return int(self.record.body.get("version") or 0)

    @property
    def month(self) -> str:
        return str(self.record.body.get("month", ""))


class FiguresChangedError(RuleError):
    """The figures changed between the preview and the submission; `figures` are the new ones."""

    def __init__(self, figures: dict[str, int]) -> None:
        self.figures = figures
        super().__init__("report.figures_changed",
                         N_("The figures changed since the preview (new records arrived). Check them and submit "
                            "again."))


def figures(node: Node, db: Any, month: str, *, today: dt.date) -> reports.MonthlyRow:
    """This node's figures for `month` from its own projection."""
    return reports.node_month(db, node.config.node_id, month, today=today)


def signed_reports(node: Node, month: str | None = None) -> list[Signed]:
    """The reports this node has signed (for `month`, or all), oldest first, with receipt times."""
    own = node.config.node_id
    seqs, times = receipt_times(node)
    found = []
    for stored in node.log.records_after(0, kinds=[mr.KIND], origins=[own], limit=1_000_000):
        record = stored.record
        if month is not None and record.body.get("month") != month:
            continue
        i = bisect.bisect_left(seqs, record.seq)
        found.append(Signed(record, times[i] if i < len(times) else None))
    return found


def current(signed: list[Signed]) -> Signed | None:
    """The version that stands (central counts the highest)."""
    return max(signed, key=lambda s: (s.version, s.record.seq)) if signed else None


def check_month(month: str, today: dt.date) -> None:
    """A month can be reported once it is over (RuleError otherwise; ValueError for a bad month)."""
    _first, following = mr.parse_month(month)
    if today < following:
        raise RuleError("report.month_not_over",
                        N_("%(month)s is not over yet: a month is reported once it has ended."), month=month)


def submit(node: Node, *, month: str, remarks: Mapping[str, str], submitted_by: Mapping[str, str],
           today: dt.date, reason: str = "", expected: Mapping[str, int] | None = None,
           time: str | None = None) -> Record:
    """Sign this node's report for `month` (the next version). Raises RuleError (`report.*`;
    ReportError lists field problems), FiguresChangedError when `expected` differs from the figures now.
    `time` is the origin time to sign with (the demo's history); by default the node's clock."""
    check_month(month, today)
    with node.log.transaction() as db:
        now = figures(node, db, month, today=today).figures()
        if expected is not None and dict(expected) != now:
            raise FiguresChangedError(now)
        versions = [s.version for s in signed_reports(node, month)]
        body = mr.report_body(node=node.config.node_id, month=month, figures=now, remarks=nfc(dict(remarks)),
                              submitted_by=nfc(dict(submitted_by)), version=max(versions, default=0) + 1,
                              reason=nfc(reason or ""))
        return node.log.append(mr.KIND, body, time=time)
