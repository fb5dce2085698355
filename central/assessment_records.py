"""The signed records of the quarterly assessment and the annual awards: kinds and bodies.

Every score a sub-centre gets must be traceable to who recorded what, when, on which clause and
with which evidence, and nothing may be quietly changed afterwards: so each step is a record
central signs (origin "C"), never a row someone edits. A mistake is answered by a withdrawal record
with its reason; a published quarter is final. The bodies (also in docs/contracts.md):

- `assessment.finding` {unit, quarter, clause, count, source, checked_on, text, evidence, staff}:
  an inspector's finding of `count` occurrences of deduction clause `clause`; `source` is one of
  SOURCES; `evidence` a non-empty list of {sha256, name, type, size} (central.evidence).
- `assessment.bonus` {unit, quarter, clause, deed, awarded_on, text, evidence, staff}: a deed
  earning bonus clause `clause`; clauses of one overlap group for the same `deed` count once.
- `assessment.proposal_confirmed` {unit, quarter, clause, refs, left_out, facts, note, staff}: a
  supervisor takes the system's proposal for `clause` on the refs in `refs` (case numbers, months,
  `satisfaction:S/R`), leaving out `left_out` (with `note` saying why); `facts` is what the
  machine showed (every ref with its detail), kept as the decision's input.
- `assessment.proposal_dismissed` {unit, quarter, clause, refs, facts, reason, staff}.
- `assessment.withdrawn` {entry, unit, quarter, reason, staff}: a finding, bonus or proposal
  decision (`entry` = its record id) no longer counts; a withdrawn decision reopens its refs.
- `assessment.published` {quarter, scorecard: {parts: [{code, name, max}], bonus_cap}, units:
  [{unit, name, parts: {code: points}, bonus, total, rank, deductions: [{clause, occurrences,
  points}], bonuses: [{clause, deed, points, counted}]}], staff}: the quarter's final scores.
- `awards.nominated` {year, unit, name, window, reason, review, staff}: a sub-centre's nominee
  (1-2 per sub-centre) with the deeds and the department head's preliminary review.
- `awards.nomination_withdrawn` {nomination, year, reason, staff}.
- `awards.decided` {year, decided_by, decided_on, minutes_ref, quarters, standings, collectives:
  {chosen, for_meeting, open_places, filled, awarded}, nominations, models, individuals,
  directors: {inputs: [{unit, director, year_results, department_opinion}], chosen}, staff}: the
  director's meeting's decision recorded with everything it had in front of it.

`problems(kind, body)` checks a body's shape (the projections skip a record with problems, so a
bad record never stalls sync); clause codes are not checked here, so that a later scorecard
without an old clause does not rewrite history: scoring reports such entries instead.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

from central.evidence import Evidence
from central.quarters import Quarter

FINDING = "assessment.finding"
BONUS = "assessment.bonus"
CONFIRMED = "assessment.proposal_confirmed"
DISMISSED = "assessment.proposal_dismissed"
WITHDRAWN = "assessment.withdrawn"
PUBLISHED = "assessment.published"
NOMINATED = "awards.nominated"
NOMINATION_WITHDRAWN = "awards.nomination_withdrawn"
DECIDED = "awards.decided"
KINDS = frozenset({FINDING, BONUS, CONFIRMED, DISMISSED, WITHDRAWN, PUBLISHED, NOMINATED,
                   NOMINATION_WITHDRAWN, DECIDED})

SOURCES = ("quarter_end", "monthly_random", "undercover", "open_visit")
"""Where an inspector's finding comes from (casework.assessment.Source, less `system`)."""

SIGNING = threading.RLock()
"""One check-then-sign at a time for the assessment's records (a finding, a publication, a scorecard
version, a correction): what was checked ("not yet published", "still pending") must still hold
when the record is signed."""

MAX_TEXT = 2000
MAX_SHORT = 200
_UNIT = re.compile(r"^S\d{2,4}$")
_RECORD_ID = re.compile(r"^[0-9a-f]{64}$")


def _text(body: dict[str, Any], key: str, out: list[str], *, limit: int = MAX_TEXT, required: bool = True) -> None:
    value = body.get(key)
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        out.append(f"{key}: text of 1..{limit} characters required" if required else f"{key}: text up to {limit}")


def _date(body: dict[str, Any], key: str, out: list[str]) -> None:
    try:
        dt.date.fromisoformat(body.get(key))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        out.append(f"{key}: a date YYYY-MM-DD is required")


def _int(body: dict[str, Any], key: str, out: list[str], low: int, high: int) -> None:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        out.append(f"{key}: a whole number {low}..{high} is required")


def _strings(body: dict[str, Any], key: str, out: list[str], *, required: bool) -> None:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or (required and not value):
        out.append(f"{key}: a list of texts is required")


def _unit_quarter(body: dict[str, Any], out: list[str]) -> None:
    if not isinstance(body.get("unit"), str) or not _UNIT.match(body["unit"]):
        out.append("unit: a sub-centre id (S##) is required")
    _quarter(body, out)


def _quarter(body: dict[str, Any], out: list[str]) -> None:
    try:
        Quarter.parse(body.get("quarter"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        out.append("quarter: YYYY-Qn is required")


def _evidence(body: dict[str, Any], out: list[str]) -> None:
    items = body.get("evidence")
    if not isinstance(items, list) or not items or any(Evidence.from_body(e) is None for e in items):
        out.append("evidence: at least one {sha256, name, type, size} is required")


def _clause(body: dict[str, Any], out: list[str]) -> None:
    _text(body, "clause", out, limit=16)


def _finding(body: dict[str, Any], out: list[str]) -> None:
    _unit_quarter(body, out)
    _clause(body, out)
    _int(body, "count", out, 1, 999)
    if body.get("source") not in SOURCES:
        out.append(f"source: one of {', '.join(SOURCES)}")
    _date(body, "checked_on", out)
    _text(body, "text", out)
    _evidence(body, out)


def _bonus(body: dict[str, Any], out: list[str]) -> None:
    _unit_quarter(body, out)
    _clause(body, out)
    _text(body, "deed", out, limit=MAX_SHORT)
    _date(body, "awarded_on", out)
    _text(body, "text", out, required=False)
    _evidence(body, out)


def _decision(body: dict[str, Any], out: list[str], *, confirmed: bool) -> None:
    _unit_quarter(body, out)
    _clause(body, out)
    _strings(body, "refs", out, required=True)
    if not isinstance(body.get("facts"), dict):
        out.append("facts: what the system showed is required")
    if confirmed:
        _strings(body, "left_out", out, required=False)
        _text(body, "note", out, required=bool(body.get("left_out")))
    else:
        _text(body, "reason", out)


def _withdrawn(body: dict[str, Any], out: list[str]) -> None:
    _unit_quarter(body, out)
    if not isinstance(body.get("entry"), str) or not _RECORD_ID.match(body["entry"]):
        out.append("entry: the record id of a finding, bonus or decision is required")
    _text(body, "reason", out)


def _published(body: dict[str, Any], out: list[str]) -> None:
    _quarter(body, out)
    card = body.get("scorecard")
    if not isinstance(card, dict) or not isinstance(card.get("parts"), list):
        out.append("scorecard: parts are required")
    units = body.get("units")
    if not isinstance(units, list):
        out.append("units: a list is required")
        return
    for i, u in enumerate(units):
        if not (isinstance(u, dict) and isinstance(u.get("unit"), str) and isinstance(u.get("parts"), dict)
                and all(isinstance(u.get(k), int) and not isinstance(u.get(k), bool)
                        for k in ("bonus", "total", "rank"))):
            out.append(f"units[{i}]: unit, parts, bonus, total and rank are required")


def _year(body: dict[str, Any], out: list[str]) -> None:
    _int(body, "year", out, 2000, 2999)


def _nominated(body: dict[str, Any], out: list[str]) -> None:
    _year(body, out)
    if not isinstance(body.get("unit"), str) or not _UNIT.match(body["unit"]):
        out.append("unit: a sub-centre id (S##) is required")
    for key in ("name", "window"):
        _text(body, key, out, limit=MAX_SHORT)
    _text(body, "reason", out)
    _text(body, "review", out, required=False)


def _nomination_withdrawn(body: dict[str, Any], out: list[str]) -> None:
    _year(body, out)
    if not isinstance(body.get("nomination"), str) or not _RECORD_ID.match(body["nomination"]):
        out.append("nomination: a record id is required")
    _text(body, "reason", out)


def _decided(body: dict[str, Any], out: list[str]) -> None:
    _year(body, out)
    _text(body, "decided_by", out, limit=MAX_SHORT)
    _text(body, "minutes_ref", out, limit=MAX_SHORT)
    _date(body, "decided_on", out)
    for key in ("models", "individuals"):
        _strings(body, key, out, required=True)
    for key in ("collectives", "directors"):
        if not isinstance(body.get(key), dict):
            out.append(f"{key}: required")


_CHECKS: dict[str, Callable[[dict[str, Any], list[str]], None]] = {
    FINDING: _finding,
    BONUS: _bonus,
    CONFIRMED: lambda b, o: _decision(b, o, confirmed=True),
    DISMISSED: lambda b, o: _decision(b, o, confirmed=False),
    WITHDRAWN: _withdrawn,
    PUBLISHED: _published,
    NOMINATED: _nominated,
    NOMINATION_WITHDRAWN: _nomination_withdrawn,
    DECIDED: _decided,
}


def problems_by(checks: Mapping[str, Callable[[dict[str, Any], list[str]], None]], kind: str, body: Any,
                family: str) -> list[str]:
    """What is wrong with a body of `kind` by its entry in `checks` (English, for logs); [] when it
    is well formed. Every supervision record names the staff who recorded it. Shared with the
    correction records (central.correction_records), whose bodies follow the same rules."""
    if kind not in checks:
        return [f"{kind}: not {family}"]
    if not isinstance(body, dict):
        return ["body: must be an object"]
    out: list[str] = []
    checks[kind](body, out)
    if not isinstance(body.get("staff"), str) or not body["staff"]:
        out.append("staff: the username of who recorded it is required")
    return out


def checked(found: list[str], kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` if `found` (its problems) is empty; ValueError otherwise (a bug in the page that built it)."""
    if found:
        raise ValueError(f"{kind}: " + "; ".join(found))
    return body


def problems(kind: str, body: Any) -> list[str]:
    """What is wrong with a body of `kind` (English, for logs); [] when it is well formed."""
    return problems_by(_CHECKS, kind, body, "an assessment or awards record")


def check(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` if well formed; ValueError otherwise (a bug in the page that built it)."""
    return checked(problems(kind, body), kind, body)
