"""The signed records of corrections to a published quarter or a decided award year: kinds and bodies.

A published quarter and a decided year are final: nothing is recorded for them any more, and that
stays so. But supervision needs a way to put a proven mistake right in the open: a supervisor
files a correction (what, why, the evidence), a second supervisor approves it (four eyes, like a
refund or an appeal's decision), and from then on the figures are shown AS CORRECTED, the
published ones kept beside them and the correction listed with its date and reason, on the public
bulletin too. Nothing is rewritten: the publication and the decision stay the records they were.

Bodies (every one also carries `staff`, the username; docs/contracts.md):
- `assessment.correction_filed` {quarter, unit, change, reason, evidence}: `change` is one of
  {op: "withdraw", entry}: a finding, bonus or confirmed proposal should not have counted;
  {op: "count", entry, count}: a finding's occurrences were wrong;
  {op: "add_finding", clause, count, source, checked_on, text}: a deduction was missed;
  {op: "add_bonus", clause, deed, awarded_on, text}: a bonus deed was missed.
- `assessment.correction_decided` {correction, quarter, outcome, note, units?}: `outcome` approved |
  rejected (by a supervisor other than the filer) | withdrawn (by the filer); an approval carries
  the quarter's figures as corrected, `units` in the shape of `assessment.published`'s.
- `awards.correction_filed` {year, amended: {collectives, models, individuals, directors}, reason,
  evidence}: the decision's awarded lists as they should be (units; nomination record ids; directors'
  names).
- `awards.correction_decided` {correction, year, outcome, note, decision?}: `decision` = the
  approved amended lists.

`problems(kind, body)` checks the shape; the projection (central.correction_store) checks the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from central import assessment_records as assessment
from central.evidence import Evidence

QUARTER_FILED = "assessment.correction_filed"
QUARTER_DECIDED = "assessment.correction_decided"
YEAR_FILED = "awards.correction_filed"
YEAR_DECIDED = "awards.correction_decided"
KINDS = frozenset({QUARTER_FILED, QUARTER_DECIDED, YEAR_FILED, YEAR_DECIDED})
FILED = {QUARTER_FILED, YEAR_FILED}

OPS = ("withdraw", "count", "add_finding", "add_bonus")
OUTCOMES = ("approved", "rejected", "withdrawn")
_RECORD_ID = re.compile(r"^[0-9a-f]{64}$")
AMENDED_KEYS = ("collectives", "models", "individuals", "directors")


def _record_id(body: dict[str, Any], key: str, out: list[str]) -> None:
    if not isinstance(body.get(key), str) or not _RECORD_ID.match(body[key]):
        out.append(f"{key}: a record id is required")


def _change(change: Any, out: list[str]) -> None:
    if not isinstance(change, dict) or change.get("op") not in OPS:
        out.append(f"change: an object with op one of {', '.join(OPS)} is required")
        return
    op = change["op"]
    if op in ("withdraw", "count"):
        _record_id(change, "entry", out)
    if op in ("count", "add_finding"):
        assessment._int(change, "count", out, 1, 999)
    if op == "add_finding":
        assessment._text(change, "clause", out, limit=16)
        if change.get("source") not in assessment.SOURCES:
            out.append(f"source: one of {', '.join(assessment.SOURCES)}")
        assessment._date(change, "checked_on", out)
        assessment._text(change, "text", out)
    if op == "add_bonus":
        assessment._text(change, "clause", out, limit=16)
        assessment._text(change, "deed", out, limit=assessment.MAX_SHORT)
        assessment._date(change, "awarded_on", out)
        assessment._text(change, "text", out, required=False)


def _evidence(body: dict[str, Any], out: list[str]) -> None:
    items = body.get("evidence")
    if not isinstance(items, list) or not items or any(Evidence.from_body(e) is None for e in items):
        out.append("evidence: at least one {sha256, name, type, size} is required")


def _quarter_filed(body: dict[str, Any], out: list[str]) -> None:
    assessment._unit_quarter(body, out)
    _change(body.get("change"), out)
    assessment._text(body, "reason", out)
    _evidence(body, out)


def _decided(body: dict[str, Any], out: list[str]) -> None:
    _record_id(body, "correction", out)
    if body.get("outcome") not in OUTCOMES:
        out.append(f"outcome: one of {', '.join(OUTCOMES)}")
    assessment._text(body, "note", out, required=body.get("outcome") != "approved")


def _quarter_decided(body: dict[str, Any], out: list[str]) -> None:
    assessment._quarter(body, out)
    _decided(body, out)
    if body.get("outcome") == "approved":
        # the figures as corrected have the shape of a publication's units
        assessment._published({"quarter": body.get("quarter"), "scorecard": {"parts": []},
                               "units": body.get("units")}, out)


def amended_problems(amended: Any) -> list[str]:
    if not isinstance(amended, dict):
        return ["amended: an object is required"]
    out: list[str] = []
    for key in AMENDED_KEYS:
        assessment._strings(amended, key, out, required=False)
    return out


def _year_filed(body: dict[str, Any], out: list[str]) -> None:
    assessment._year(body, out)
    out += amended_problems(body.get("amended"))
    assessment._text(body, "reason", out)
    _evidence(body, out)


def _year_decided(body: dict[str, Any], out: list[str]) -> None:
    assessment._year(body, out)
    _decided(body, out)
    if body.get("outcome") == "approved":
        out += amended_problems(body.get("decision"))


_CHECKS: dict[str, Callable[[dict[str, Any], list[str]], None]] = {
    QUARTER_FILED: _quarter_filed, QUARTER_DECIDED: _quarter_decided,
    YEAR_FILED: _year_filed, YEAR_DECIDED: _year_decided,
}


def problems(kind: str, body: Any) -> list[str]:
    """What is wrong with a body of `kind` (English, for logs); [] when it is well formed."""
    return assessment.problems_by(_CHECKS, kind, body, "a correction record")


def check(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body` if well formed; ValueError otherwise (a bug in the page that built it)."""
    return assessment.checked(problems(kind, body), kind, body)
