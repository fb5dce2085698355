"""A decided award year as corrected, and whether a later correction of its quarters calls for a review.

Why: the director's meeting decides the year's awards from the published quarters. When one of
those quarters is corrected after the decision, the standings the meeting decided from may no
longer hold; nothing changes by itself (the people were awarded by a meeting, not by a formula),
but the awards page must say that the decision may need review, and the meeting's new decision
(or its confirmation of the old one) goes through the same correction flow: filed with the
minutes as evidence, approved by a second supervisor, shown as corrected with the original kept.

`decision` lists: collectives (sub-centre ids), models and individuals (nomination record ids, as
the decision's snapshot names them), directors (names, as the decision's inputs name them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlite_utils import Database

from casework import awards as rules
from casework.assessment import AssessmentError
from central import awards_store, correction_store
from central.awards_store import Decided
from central.correction_store import Correction


def original_lists(body: dict[str, Any]) -> dict[str, list[str]]:
    """The awarded lists of an `awards.decided` body."""
    return {"collectives": list(body.get("collectives", {}).get("awarded", [])),
            "models": list(body.get("models", [])), "individuals": list(body.get("individuals", [])),
            "directors": list(body.get("directors", {}).get("chosen", []))}


@dataclass(frozen=True)
class YearDecision:
    decided: Decided
    pos: int  # the decision record's place in central's log
    original: dict[str, list[str]]
    current: dict[str, list[str]]  # as corrected (the original when nothing was approved)
    corrections: list[Correction]  # every correction of the year, in the order filed
    review: list[Correction]  # quarter corrections approved after the decision (or its last correction)

    @property
    def approved(self) -> list[Correction]:
        return sorted((c for c in self.corrections if c.approved), key=lambda c: c.decided_pos or 0)

    def changed(self, key: str) -> bool:
        return self.original[key] != self.current[key]


def _pos(db: Database, record_id: str) -> int:
    row = db.execute("SELECT pos FROM records WHERE id = ?", [record_id]).fetchone()
    return int(row[0]) if row else 0


def year_decision(db: Database, year: int) -> YearDecision | None:
    decided = awards_store.decision(db, year)
    if decided is None:
        return None
    corrections = correction_store.of_subject(db, "year", str(year))
    approved = sorted((c for c in corrections if c.approved), key=lambda c: c.decided_pos or 0)
    original = original_lists(decided.body)
    current = {k: list(v) for k, v in approved[-1].result.items()} if approved else original
    pos = _pos(db, decided.record_id)
    reviewed = max([pos, *(c.decided_pos or 0 for c in approved)])
    review = [c for q in decided.body.get("quarters", [])
              for c in correction_store.approved(db, "quarter", q) if (c.decided_pos or 0) > reviewed]
    return YearDecision(decided, pos, original, current, corrections, sorted(review, key=lambda c: c.decided_pos or 0))


def check_amended(amended: dict[str, list[str]], body: dict[str, Any], standings_units: set[str],
                  rule_errors: Callable[[AssessmentError], list[str]]) -> list[str]:
    """What is wrong with amended lists for the decision `body` (translated messages); [] when they
    can be filed: the same numbers of places as the rules give, only nominees and director inputs the
    decision kept, nobody twice, only sub-centres that were ranked. `rule_errors` words casework's
    refusals (views_awards names the awards in the reader's language)."""
    out: list[str] = []
    collectives = amended["collectives"]
    want = len(body.get("collectives", {}).get("awarded", [])) or rules.COLLECTIVES
    if len(collectives) != want or len(set(collectives)) != len(collectives):
        out.append(gettext("Choose %(n)s advanced collectives.", n=want))
    if set(collectives) - standings_units:
        out.append(gettext("Only sub-centres ranked in the year can be advanced collectives."))
    nominations = [rules.Nomination(n.get("unit", ""), n.get("id", ""), n.get("name", ""), n.get("window", ""))
                   for n in body.get("nominations", [])]
    decision = rules.Decision(str(body.get("decided_by", "")), dt.date.today(), str(body.get("minutes_ref", "")))
    try:
        rules.record_window_awards(nominations, amended["models"], amended["individuals"], decision)
    except AssessmentError as err:
        out += rule_errors(err)
    inputs = [rules.DirectorInput(i.get("unit", ""), i.get("director", ""), i.get("year_results", "") or "-",
                                  i.get("department_opinion", "") or "-")
              for i in body.get("directors", {}).get("inputs", [])]
    try:
        rules.record_director_awards(inputs, amended["directors"], decision)
    except AssessmentError as err:
        out += rule_errors(err)
    return out
