"""The sub-centre quarterly assessment (分中心季度考核) as pure rules: scorecard, scoring, ranking.

Why a data scorecard: the centre revises its clauses every year, and an inspector's finding must
name the clause it applies so that the deduction can be checked later. So the scorecard is TOML
(casework/data/assessment/scorecard.toml), checked hard on load, and every point in a score can be
traced to a clause, an occurrence count and evidence.

Arithmetic (DOMAIN.md "Sub-centre quarterly assessment"):
- a part starts at its maximum (20/20/20/20/15, base 95); each deduction clause loses `points` per
  occurrence, at most its `cap` in one quarter; a part never goes below 0;
- bonus clauses give their points once per deed; clauses in one overlap `group` for the same deed
  count once, at the highest, never two; the bonus total is capped at `bonus_cap` (5);
- total = sum of parts + bonus, so it lies in 0..100.
Points are whole numbers: integers only, like fen, so every screen agrees to the point.

Proposals from system data (`propose_deductions`) are flagged unconfirmed: a person confirms them
(`Finding.confirm`) before they may count; `score_quarter` refuses unconfirmed findings rather than
silently dropping or counting them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from casework.messages import N_, RuleError
from casework.reviews import TARGET_PCT

PACKAGED = Path(__file__).parent / "data" / "assessment" / "scorecard.toml"
MAX_TOTAL = 100

# Clauses of the packaged scorecard that the system's own data can propose (see propose_deductions).
CLAUSE_OVERDUE = "H01"
CLAUSE_FEE = "H02"
CLAUSE_LATE_REPORT = "K03"
CLAUSE_SATISFACTION = "E01"
CLAUSE_BAD_REVIEW = "E02"
SYSTEM_CLAUSES = (CLAUSE_OVERDUE, CLAUSE_FEE, CLAUSE_LATE_REPORT, CLAUSE_SATISFACTION, CLAUSE_BAD_REVIEW)
"""A scorecard version without one of these gets no proposals for it (central warns when one is signed)."""
SATISFACTION_THRESHOLD_PERCENT = TARGET_PCT  # one target for the satisfaction pages and the scorecard


class Source(StrEnum):
    """Where a finding came from (the seed's checks plus the system's own data)."""

    QUARTER_END = "quarter_end"  # scheduled inspection at the quarter's end
    MONTHLY_RANDOM = "monthly_random"  # monthly random spot check
    UNDERCOVER = "undercover"  # inspectors' undercover (暗访) visit
    OPEN_VISIT = "open_visit"  # inspectors' open (明察) visit
    SYSTEM = "system"  # proposed from records, confirmed by a person


class AssessmentError(RuleError):
    """Bad scorecard or scoring input; `errors` holds EVERY problem found, not only the first."""

    def __init__(self, errors: list[RuleError]) -> None:
        self.errors = errors
        self.problems = [e.english() for e in errors]
        super().__init__(
            "assessment.invalid",
            N_("The assessment input has %(count)s problem(s): %(problems)s"),
            count=len(errors),
            problems="; ".join(self.problems),
        )


@dataclass(frozen=True)
class DeductionClause:
    code: str
    text: str
    points: int  # lost per occurrence
    cap: int  # most this clause can cost in one quarter
    part: str


@dataclass(frozen=True)
class Part:
    code: str
    name: str
    max: int
    judged: str
    deductions: tuple[DeductionClause, ...]


@dataclass(frozen=True)
class BonusClause:
    code: str
    text: str
    points: int
    group: str  # clauses in one group overlap: one deed earns only the highest of them


@dataclass(frozen=True)
class Scorecard:
    parts: tuple[Part, ...]
    bonuses: tuple[BonusClause, ...]
    bonus_cap: int

    @property
    def base(self) -> int:
        return sum(p.max for p in self.parts)

    def deduction(self, code: str) -> DeductionClause | None:
        for part in self.parts:
            for clause in part.deductions:
                if clause.code == code:
                    return clause
        return None

    def bonus(self, code: str) -> BonusClause | None:
        return next((b for b in self.bonuses if b.code == code), None)

    def part(self, code: str) -> Part | None:
        return next((p for p in self.parts if p.code == code), None)

    def to_data(self) -> dict[str, Any]:
        """The scorecard as plain data (the TOML file's shape): the body of a signed scorecard
        version at central; `parse_scorecard(card.to_data()) == card`."""
        return {
            "bonus_cap": self.bonus_cap,
            "part": [{"code": p.code, "name": p.name, "max": p.max, "judged": p.judged,
                      "deduction": [{"code": c.code, "text": c.text, "points": c.points, "cap": c.cap}
                                    for c in p.deductions]} for p in self.parts],
            "bonus": [{"code": b.code, "text": b.text, "points": b.points, "group": b.group} for b in self.bonuses],
        }


@dataclass(frozen=True)
class Finding:
    """A shortcoming found: `count` occurrences of deduction clause `clause`, with evidence refs."""

    clause: str
    source: Source
    evidence: tuple[str, ...]
    count: int = 1
    note: str = ""
    confirmed: bool = True
    confirmed_by: str = ""

    def confirm(self, by: str) -> Finding:
        """The person who checked a system proposal takes responsibility for it."""
        if not by.strip():
            raise RuleError("assessment.confirm_needs_person", N_("A finding is confirmed by a named person."))
        return replace(self, confirmed=True, confirmed_by=by)


@dataclass(frozen=True)
class Bonus:
    """A deed (`deed` identifies it, e.g. the letter's reference) claimed under bonus clause `clause`."""

    clause: str
    deed: str
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class DeductionLine:
    clause: str
    part: str
    occurrences: int
    points: int  # after the clause's cap


@dataclass(frozen=True)
class BonusLine:
    clause: str
    deed: str
    points: int
    counted: bool  # False: overlapped by a higher clause for the same deed


@dataclass(frozen=True)
class QuarterScore:
    unit: str
    parts: Mapping[str, int]
    deductions: tuple[DeductionLine, ...]
    bonus: int
    bonus_lines: tuple[BonusLine, ...]
    total: int


@dataclass(frozen=True)
class Ranked:
    rank: int
    score: QuarterScore


@dataclass(frozen=True)
class SystemFacts:
    """What the records say about one sub-centre's quarter (store computes these; refs are case numbers)."""

    overdue_cases: Sequence[str] = ()
    fee_irregularities: Sequence[str] = ()
    late_monthly_reports: Sequence[str] = ()  # the months, e.g. "2026-04"
    satisfied: int = 0  # ratings counted as satisfied in the quarter
    rated: int = 0  # all ratings in the quarter
    unrectified_bad_reviews: Sequence[str] = ()


def _err(problems: list[RuleError], code: str, msgid: str, **params: Any) -> None:
    problems.append(RuleError(code, msgid, **params))


def _int(problems: list[RuleError], where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _err(problems, "assessment.not_integer", N_("%(where)s: must be a whole number, not %(value)r"),
             where=where, value=value)
        return 0
    if not low <= value <= high:
        _err(problems, "assessment.out_of_range", N_("%(where)s: %(value)s is outside %(low)s..%(high)s"),
             where=where, value=value, low=low, high=high)
    return value


def _text(problems: list[RuleError], where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        _err(problems, "assessment.missing_text", N_("%(where)s: text is required"), where=where)
        return ""
    return value


def _keys(problems: list[RuleError], where: str, data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        _err(problems, "assessment.not_table", N_("%(where)s: must be a table"), where=where)
        return {}
    for key in sorted(set(data) - allowed):
        _err(problems, "assessment.unknown_key", N_("%(where)s: unknown key %(key)s"), where=where, key=key)
    return data


def parse_scorecard(data: Mapping[str, Any]) -> Scorecard:
    """Check a scorecard's data and build it; raises AssessmentError listing every problem."""
    problems: list[RuleError] = []
    data = _keys(problems, "scorecard", dict(data), {"bonus_cap", "part", "bonus"})
    bonus_cap = _int(problems, "bonus_cap", data.get("bonus_cap"), 0, MAX_TOTAL)
    seen: set[str] = set()

    def unique(where: str, code: Any) -> str:
        code = _text(problems, f"{where}.code", code)
        if code and code in seen:
            _err(problems, "assessment.duplicate_code", N_("%(where)s: code %(clause)s is used twice"),
                 where=where, clause=code)
        seen.add(code)
        return code

    parts: list[Part] = []
    raw_parts = data.get("part", [])
    if not isinstance(raw_parts, list) or not raw_parts:
        _err(problems, "assessment.no_parts", N_("scorecard: at least one [[part]] is required"))
        raw_parts = []
    for i, raw in enumerate(raw_parts):
        where = f"part[{i}]"
        raw = _keys(problems, where, raw, {"code", "name", "max", "judged", "deduction"})
        code = unique(where, raw.get("code"))
        pmax = _int(problems, f"{where}.max", raw.get("max"), 1, MAX_TOTAL)
        clauses: list[DeductionClause] = []
        raw_clauses = raw.get("deduction", [])
        if not isinstance(raw_clauses, list) or not raw_clauses:
            _err(problems, "assessment.no_deductions", N_("%(where)s: at least one deduction clause is required"),
                 where=where)
            raw_clauses = []
        for j, rc in enumerate(raw_clauses):
            cw = f"{where}.deduction[{j}]"
            rc = _keys(problems, cw, rc, {"code", "text", "points", "cap"})
            points = _int(problems, f"{cw}.points", rc.get("points"), 1, MAX_TOTAL)
            cap = _int(problems, f"{cw}.cap", rc.get("cap"), 1, MAX_TOTAL)
            if points and cap and cap < points:
                _err(problems, "assessment.cap_below_points",
                     N_("%(where)s: cap %(cap)s is below the points of one occurrence (%(points)s)"),
                     where=cw, cap=cap, points=points)
            clauses.append(DeductionClause(unique(cw, rc.get("code")), _text(problems, f"{cw}.text", rc.get("text")),
                                           points, cap, code))
        parts.append(Part(code, _text(problems, f"{where}.name", raw.get("name")), pmax,
                          str(raw.get("judged", "")), tuple(clauses)))

    bonuses: list[BonusClause] = []
    raw_bonuses = data.get("bonus", [])
    if not isinstance(raw_bonuses, list):
        _err(problems, "assessment.not_table", N_("%(where)s: must be a table"), where="bonus")
        raw_bonuses = []
    for i, rb in enumerate(raw_bonuses):
        where = f"bonus[{i}]"
        rb = _keys(problems, where, rb, {"code", "text", "points", "group"})
        code = unique(where, rb.get("code"))
        points = _int(problems, f"{where}.points", rb.get("points"), 1, max(bonus_cap, 1))
        group = rb.get("group", code)
        group = _text(problems, f"{where}.group", group)
        bonuses.append(BonusClause(code, _text(problems, f"{where}.text", rb.get("text")), points, group))

    base = sum(p.max for p in parts)
    if base + bonus_cap > MAX_TOTAL:
        _err(problems, "assessment.over_hundred",
             N_("scorecard: parts (%(base)s) plus bonus cap (%(cap)s) exceed 100"), base=base, cap=bonus_cap)
    if problems:
        raise AssessmentError(problems)
    return Scorecard(tuple(parts), tuple(bonuses), bonus_cap)


def load_scorecard(path: Path | str | None = None) -> Scorecard:
    """Load a scorecard TOML file (default: the packaged one)."""
    path = Path(path) if path is not None else PACKAGED
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AssessmentError([RuleError("assessment.unreadable", N_("%(path)s: cannot be read: %(reason)s"),
                                         path=str(path), reason=str(exc))]) from exc
    return parse_scorecard(data)


@cache
def packaged() -> Scorecard:
    return load_scorecard()


def score_quarter(scorecard: Scorecard, findings: Iterable[Finding], bonuses: Iterable[Bonus],
                  *, unit: str = "") -> QuarterScore:
    """One sub-centre's quarter: parts after deductions (floor 0) plus the capped, de-overlapped bonus."""
    problems: list[RuleError] = []
    occurrences: dict[str, int] = {}
    for f in findings:
        clause = scorecard.deduction(f.clause)
        if clause is None:
            _err(problems, "assessment.unknown_clause", N_("finding: no deduction clause %(clause)s"), clause=f.clause)
        if not f.confirmed:
            _err(problems, "assessment.unconfirmed",
                 N_("finding %(clause)s: a proposal must be confirmed by a person before it counts"), clause=f.clause)
        if not any(str(e).strip() for e in f.evidence):
            _err(problems, "assessment.no_evidence", N_("finding %(clause)s: evidence is required"), clause=f.clause)
        if isinstance(f.count, bool) or not isinstance(f.count, int) or f.count < 1:
            _err(problems, "assessment.bad_count", N_("finding %(clause)s: occurrences must be 1 or more"),
                 clause=f.clause)
        elif clause is not None:
            occurrences[clause.code] = occurrences.get(clause.code, 0) + f.count
        if not isinstance(f.source, Source):
            _err(problems, "assessment.bad_source", N_("finding %(clause)s: unknown source %(source)r"),
                 clause=f.clause, source=f.source)

    # For one deed, overlapping clauses (same group) count once at the highest.
    best: dict[tuple[str, str], Bonus] = {}
    claims: list[tuple[Bonus, BonusClause]] = []
    for b in bonuses:
        bc = scorecard.bonus(b.clause)
        if bc is None:
            _err(problems, "assessment.unknown_clause", N_("bonus: no bonus clause %(clause)s"), clause=b.clause)
            continue
        if not b.deed.strip():
            _err(problems, "assessment.no_deed", N_("bonus %(clause)s: the deed must be named"), clause=b.clause)
        if not any(str(e).strip() for e in b.evidence):
            _err(problems, "assessment.no_evidence", N_("bonus %(clause)s: evidence is required"), clause=b.clause)
        claims.append((b, bc))
        key = (b.deed, bc.group)
        held = best.get(key)
        # ties between equal clauses: the lower code wins, so the result does not depend on order
        if held is None or (bc.points, _neg(bc.code)) > (scorecard.bonus(held.clause).points, _neg(held.clause)):
            best[key] = b
    if problems:
        raise AssessmentError(problems)

    lines = []
    lost: dict[str, int] = {p.code: 0 for p in scorecard.parts}
    for part in scorecard.parts:
        for clause in part.deductions:
            n = occurrences.get(clause.code, 0)
            if n:
                points = min(clause.points * n, clause.cap)
                lines.append(DeductionLine(clause.code, part.code, n, points))
                lost[part.code] += points
    parts = {p.code: max(0, p.max - lost[p.code]) for p in scorecard.parts}
    counted_ids = {id(b) for b in best.values()}
    bonus_lines = tuple(BonusLine(b.clause, b.deed, bc.points, id(b) in counted_ids) for b, bc in claims)
    bonus = min(scorecard.bonus_cap, sum(line.points for line in bonus_lines if line.counted))
    return QuarterScore(unit, parts, tuple(lines), bonus, bonus_lines, sum(parts.values()) + bonus)


def _neg(code: str) -> tuple[int, ...]:
    """Sort key that makes the lower code compare higher."""
    return tuple(-ord(c) for c in code)


def propose_deductions(facts: SystemFacts) -> list[Finding]:
    """Deductions the records support, unconfirmed, for an inspector to confirm or discard.

    Uses the packaged scorecard's clause codes (CLAUSE_*); one finding per clause with every
    case number / month as evidence, so the inspector sees exactly what the machine counted.
    """
    def proposal(clause: str, refs: Sequence[str], note: str = "") -> Finding:
        return Finding(clause, Source.SYSTEM, tuple(refs), count=len(refs), note=note, confirmed=False)

    out: list[Finding] = []
    for clause, refs in ((CLAUSE_OVERDUE, facts.overdue_cases), (CLAUSE_FEE, facts.fee_irregularities),
                         (CLAUSE_LATE_REPORT, facts.late_monthly_reports),
                         (CLAUSE_BAD_REVIEW, facts.unrectified_bad_reviews)):
        refs = sorted(set(refs))
        if refs:
            out.append(proposal(clause, refs))
    if facts.satisfied < 0 or facts.rated < 0 or facts.satisfied > facts.rated:
        raise RuleError("assessment.bad_satisfaction",
                        N_("satisfied ratings (%(satisfied)s) must be between 0 and all ratings (%(rated)s)"),
                        satisfied=facts.satisfied, rated=facts.rated)
    # integer comparison: satisfied/rated < 95 % without floats
    if facts.rated and facts.satisfied * 100 < SATISFACTION_THRESHOLD_PERCENT * facts.rated:
        out.append(replace(proposal(CLAUSE_SATISFACTION, [f"satisfaction:{facts.satisfied}/{facts.rated}"]),
                           note=f"{facts.satisfied}/{facts.rated} < {SATISFACTION_THRESHOLD_PERCENT}%"))
    return out


def rank(scores: Iterable[QuarterScore]) -> list[Ranked]:
    """Standard competition ranking (1, 1, 3) by total, highest first.

    Display order: by total descending, then by unit code ascending, so that tied units always
    appear in the same order; the tie itself is shown by the shared rank, never hidden by the order.
    """
    ordered = sorted(scores, key=lambda s: (-s.total, s.unit))
    units = [s.unit for s in ordered]
    if len(set(units)) != len(units):
        raise RuleError("assessment.duplicate_unit", N_("a sub-centre is scored twice in one quarter"))
    out: list[Ranked] = []
    for i, s in enumerate(ordered):
        r = out[-1].rank if out and out[-1].score.total == s.total else i + 1
        out.append(Ranked(r, s))
    return out


__all__ = [
    "AssessmentError", "Bonus", "BonusClause", "BonusLine", "DeductionClause", "DeductionLine", "Finding",
    "Part", "QuarterScore", "Ranked", "Scorecard", "Source", "SystemFacts", "load_scorecard", "packaged",
    "parse_scorecard", "propose_deductions", "rank", "score_quarter",
]
