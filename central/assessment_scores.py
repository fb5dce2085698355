"""A quarter of the assessment as the pages show it: every sub-centre's entries, proposals, score, rank.

The arithmetic is casework.assessment's (score_quarter, rank); this module only gathers its inputs
from central's tables: the units are the sub-centres of the node directory (tier subcentre, ids
S##, with their enrolled names); findings, bonuses and confirmed proposals come from
central.assessment_store (withdrawn ones do not count); proposals are the system's facts
(central.assessment_facts) less the refs a supervisor already confirmed, left out or dismissed.

A published quarter is shown as its `assessment.published` record says (scores, ranks, the units
assessed then), never recomputed: that is what "published" means. Once a correction of it is
approved (central.assessment_corrections), it is shown as the last approval's signed figures say,
each unit's published figures kept beside them (`UnitBoard.original`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from casework.assessment import (
    Bonus,
    BonusLine,
    DeductionLine,
    Finding,
    QuarterScore,
    Scorecard,
    Source,
    propose_deductions,
    rank,
    score_quarter,
)
from casework.calendar import WorkCalendar
from central import assessment_facts, assessment_store, correction_store
from central.assessment_store import Entry, Published
from central.correction_store import Correction
from central.quarters import Quarter
from store.directory import list_nodes


@dataclass(frozen=True)
class Unit:
    code: str
    name: str


def units(db: Database) -> list[Unit]:
    """The assessed units: every enrolled sub-centre, by id."""
    return [Unit(n.node, n.name or n.node) for n in list_nodes(db, tier="subcentre") if n.status != "unknown"]


def unit_name(db: Database, code: str) -> str | None:
    return next((u.name for u in units(db) if u.code == code), None)


def normal_deed(text: str) -> str:
    """One deed, one name: NFC, spaces collapsed, so that the overlap rule finds the same deed."""
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class Ref:
    """One thing the system found (a case, a month, the satisfaction rate) and what it rests on."""

    ref: str
    kind: str  # case | month | rate
    detail: dict[str, Any]


@dataclass(frozen=True)
class Proposal:
    unit: str
    clause: str
    refs: tuple[Ref, ...]  # the open ones, still to decide

    def facts(self) -> dict[str, Any]:
        """What the machine showed, kept in the decision record."""
        return {"refs": {r.ref: r.detail for r in self.refs}}


def _refs(facts: assessment_facts.UnitFacts, clause: str) -> list[Ref]:
    from casework import assessment as a

    if clause == a.CLAUSE_OVERDUE:
        return [Ref(c.number, "case", {"due_date": c.due_date, "finished_at": c.finished_at}) for c in facts.overdue]
    if clause == a.CLAUSE_FEE:
        return [Ref(c.number, "case", {"reasons": list(c.reasons), "details": list(c.details)}) for c in facts.fees]
    if clause == a.CLAUSE_LATE_REPORT:
        return [Ref(m, "month", {}) for m in facts.late_months]
    if clause == a.CLAUSE_BAD_REVIEW:
        return [Ref(n, "case", {}) for n in facts.unrectified]
    if clause == a.CLAUSE_SATISFACTION:
        return [Ref(f"satisfaction:{facts.satisfied}/{facts.rated}", "rate",
                    {"satisfied": facts.satisfied, "rated": facts.rated,
                     "low": [[n, level] for n, level in facts.low_rated]})]
    return []


def proposals(facts: assessment_facts.UnitFacts, decisions: list[Entry],
              scorecard: Scorecard | None = None) -> list[Proposal]:
    """The system's proposals for one unit, less what active decisions already settled, and only
    for clauses `scorecard` has (a version without one of them proposes nothing for it)."""
    from casework.assessment import CLAUSE_SATISFACTION

    out = []
    for finding in propose_deductions(facts.system()):
        if scorecard is not None and scorecard.deduction(finding.clause) is None:
            continue
        settled: set[str] = set()
        confirmed = False
        for d in decisions:
            if d.active and d.clause == finding.clause and d.kind in ("confirmed", "dismissed"):
                settled.update(d.refs)
                settled.update(d.left_out)
                confirmed = confirmed or d.kind == "confirmed"
        if finding.clause == CLAUSE_SATISFACTION and confirmed:
            continue  # the rate is one deduction a quarter: a changed rate after confirming is not a second
        refs = tuple(r for r in _refs(facts, finding.clause) if r.ref not in settled)
        if refs:
            out.append(Proposal(facts.unit, finding.clause, refs))
    return out


def apply_changes(entries: list[Entry], corrections: Iterable[Correction]) -> list[Entry]:
    """The unit's entries with the corrections' changes applied, in order (central.correction_records
    has the changes): withdrawn, occurrences changed, findings and bonus deeds added; each marked
    `corrected_by` the correction."""
    out = list(entries)
    for c in corrections:
        change = c.change
        op = change.get("op")
        if op in ("withdraw", "count"):
            for i, e in enumerate(out):
                if e.id == change.get("entry") and e.active:
                    out[i] = (dataclasses.replace(e, withdrawn_by=c.id, withdrawn_reason=c.reason,
                                                  withdrawn_staff=c.decided_staff or c.staff,
                                                  withdrawn_time=c.decided_time or c.time, corrected_by=c.id)
                              if op == "withdraw" else dataclasses.replace(e, count=int(change["count"]),
                                                                           corrected_by=c.id))
        elif op in ("add_finding", "add_bonus"):
            finding = op == "add_finding"
            out.append(Entry(
                id=c.id, kind="finding" if finding else "bonus", unit=c.unit, quarter=c.subject,
                clause=str(change["clause"]), count=int(change.get("count", 1)),
                source=str(change.get("source", "")), day=str(change.get("checked_on") or change.get("awarded_on")),
                deed=str(change.get("deed", "")), text=str(change.get("text", "")), evidence=c.evidence, refs=(),
                left_out=(), facts={}, staff=c.staff, time=c.time, corrected_by=c.id))
    return out


def score(scorecard: Scorecard, unit: str, entries: list[Entry]) -> tuple[QuarterScore, list[Entry]]:
    """The unit's score from its active entries, and the entries that cannot count because their
    clause is not in `scorecard` (shown on the page, never silently dropped)."""
    findings: list[Finding] = []
    bonuses: list[Bonus] = []
    ignored: list[Entry] = []
    confirmed: dict[str, tuple[set[str], set[str]]] = {}
    for e in entries:
        if not e.active or e.kind == "dismissed":
            continue
        known = scorecard.bonus(e.clause) if e.kind == "bonus" else scorecard.deduction(e.clause)
        if known is None:
            ignored.append(e)
        elif e.kind == "finding":
            findings.append(Finding(e.clause, Source(e.source), tuple(x.sha256 for x in e.evidence), count=e.count,
                                    note=e.text, confirmed=True, confirmed_by=e.staff))
        elif e.kind == "bonus":
            bonuses.append(Bonus(e.clause, normal_deed(e.deed), tuple(x.sha256 for x in e.evidence)))
        else:
            refs, people = confirmed.setdefault(e.clause, (set(), set()))
            refs.update(e.refs)
            people.add(e.staff)
    for clause, (refs, people) in sorted(confirmed.items()):
        if refs:
            findings.append(Finding(clause, Source.SYSTEM, tuple(sorted(refs)), count=len(refs), confirmed=True,
                                    confirmed_by=", ".join(sorted(people))))
    return score_quarter(scorecard, findings, bonuses, unit=unit), ignored


@dataclass
class UnitBoard:
    unit: Unit
    score: QuarterScore
    rank: int
    entries: list[Entry] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    facts: assessment_facts.UnitFacts | None = None
    ignored: list[Entry] = field(default_factory=list)
    original: QuarterScore | None = None  # a corrected published quarter: the score as first published
    original_rank: int | None = None

    @property
    def corrected(self) -> bool:
        """Whether a correction changed this unit's published figures (score or rank)."""
        return self.original is not None and (self.original != self.score or self.original_rank != self.rank)

    def active(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.active and e.kind == kind]

    def deduction(self, clause: str) -> DeductionLine | None:
        """The score's line for a deduction clause (occurrences, points after the cap), if any."""
        return next((d for d in self.score.deductions if d.clause == clause), None)

    def behind(self, clause: str) -> list[Entry]:
        """The active findings and confirmed proposals a clause's points rest on."""
        return [e for e in self.entries if e.active and e.clause == clause and e.kind in ("finding", "confirmed")]

    def deed_entries(self, clause: str, deed: str) -> list[Entry]:
        return [e for e in self.entries if e.active and e.kind == "bonus" and e.clause == clause
                and normal_deed(e.deed) == deed]

    @property
    def withdrawn(self) -> list[Entry]:
        return [e for e in self.entries if not e.active]


@dataclass
class QuarterBoard:
    quarter: Quarter
    units: list[UnitBoard]
    published: Published | None
    corrections: list[Correction] = field(default_factory=list)  # of a published quarter, every state

    @property
    def approved_corrections(self) -> list[Correction]:
        return sorted((c for c in self.corrections if c.approved), key=lambda c: c.decided_pos or 0)

    @property
    def open_proposals(self) -> int:
        return sum(len(u.proposals) for u in self.units)

    def unit(self, code: str) -> UnitBoard | None:
        return next((u for u in self.units if u.unit.code == code), None)


def published_score(data: dict[str, Any]) -> QuarterScore:
    """A unit's score as the published record has it (its lines included), for display."""
    lines = tuple(DeductionLine(str(d.get("clause")), "", int(d.get("occurrences", 0)), int(d.get("points", 0)))
                  for d in data.get("deductions", []) if isinstance(d, dict))
    bonus_lines = tuple(BonusLine(str(b.get("clause")), str(b.get("deed")), int(b.get("points", 0)),
                                  bool(b.get("counted"))) for b in data.get("bonuses", []) if isinstance(b, dict))
    return QuarterScore(data["unit"], dict(data["parts"]), lines, int(data["bonus"]), bonus_lines, int(data["total"]))


def board(db: Database, quarter: Quarter, *, scorecard: Scorecard, today: dt.date, calendar: WorkCalendar,
          only: str | None = None) -> QuarterBoard:
    """The quarter for the pages (`only`: compute one unit's proposals, the others' scores only)."""
    published = assessment_store.published(db, quarter.text)
    all_entries = assessment_store.entries(db, quarter.text)
    by_unit: dict[str, list[Entry]] = {}
    for e in all_entries:
        by_unit.setdefault(e.unit, []).append(e)
    boards: list[UnitBoard] = []
    if published is not None:
        # as corrected: the figures of the last approved correction, the published ones beside them
        corrections = correction_store.of_subject(db, "quarter", quarter.text)
        done = sorted((c for c in corrections if c.approved), key=lambda c: c.decided_pos or 0)
        originals = {u["unit"]: u for u in published.body["units"]}
        for c in done:  # (a unit may have no entry of its own until a correction adds one)
            by_unit.setdefault(c.unit, [])
        by_unit = {code: apply_changes(found, [c for c in done if c.unit == code]) for code, found in by_unit.items()}
        for data in (done[-1].result if done else published.body["units"]):
            code = data["unit"]
            first = originals.get(code)
            boards.append(UnitBoard(Unit(code, str(data.get("name") or code)), published_score(data),
                                    int(data["rank"]), by_unit.get(code, []),
                                    original=published_score(first) if done and first else None,
                                    original_rank=int(first["rank"]) if done and first else None))
        boards.sort(key=lambda b: (b.rank, b.unit.code))
        return QuarterBoard(quarter, boards, published, corrections)
    found = {u.code: u for u in units(db)}
    scored = {}
    for code, unit in found.items():
        entries = by_unit.get(code, [])
        the_score, ignored = score(scorecard, code, entries)
        scored[code] = the_score
        unit_board = UnitBoard(unit, the_score, 0, entries, ignored=ignored)
        if only is None or only == code:
            unit_board.facts = assessment_facts.facts(db, code, quarter, today=today, calendar=calendar)
            unit_board.proposals = proposals(unit_board.facts, entries, scorecard)
        boards.append(unit_board)
    ranks = {r.score.unit: r.rank for r in rank(scored.values())}
    for b in boards:
        b.rank = ranks[b.unit.code]
    boards.sort(key=lambda b: (b.rank, b.unit.code))
    return QuarterBoard(quarter, boards, None)


def unit_body(code: str, name: str, score: QuarterScore, rank: int) -> dict[str, Any]:
    """One unit's figures as `assessment.published` (and an approved correction) holds them."""
    return {
        "unit": code, "name": name, "parts": dict(score.parts), "bonus": score.bonus, "total": score.total,
        "rank": rank,
        "deductions": [{"clause": d.clause, "occurrences": d.occurrences, "points": d.points}
                       for d in score.deductions],
        "bonuses": [{"clause": x.clause, "deed": x.deed, "points": x.points, "counted": x.counted}
                    for x in score.bonus_lines],
    }


def publication(board: QuarterBoard, scorecard: Scorecard, staff: str, *, version: int = 0,
                record_id: str = "") -> dict[str, Any]:
    """The body of `assessment.published` for a quarter's board (see central.assessment_records);
    `version` / `record_id`: the signed scorecard version it was scored with (central.scorecard_store)."""
    card: dict[str, Any] = {"parts": [{"code": p.code, "name": p.name, "max": p.max} for p in scorecard.parts],
                            "bonus_cap": scorecard.bonus_cap}
    if version:
        card.update(version=version, record=record_id)
    return {
        "quarter": board.quarter.text,
        "scorecard": card,
        "units": [unit_body(b.unit.code, b.unit.name, b.score, b.rank) for b in board.units],
        "staff": staff,
    }
