"""A correction's effect on a published quarter: the figures as corrected, and what changed.

Why recomputed from the entries: a correction names one thing that was wrong (an entry that should
not have counted, a wrong number of occurrences, a deduction or bonus deed that was missed), never
a bare number, so every corrected point still traces to a clause and its evidence, like every
published point. The corrected unit is scored again from the quarter's entries (those the
publication rested on) with every approved correction of that unit applied in order, with the
scorecard version the quarter was scored with; the other units keep their figures; all are ranked
again (a correction can move others' ranks). The approval record carries the result, so the pages
and the bulletin show signed figures, never a computation of the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlite_utils import Database

from casework.assessment import QuarterScore, Scorecard, rank
from central import assessment_scores, assessment_store, correction_store
from central.assessment_store import Entry
from central.correction_store import Correction


def current_units(db: Database, quarter: str) -> list[dict[str, Any]] | None:
    """The quarter's unit figures as they stand: the last approved correction's, else the published;
    None for a quarter not published."""
    published = assessment_store.published(db, quarter)
    if published is None:
        return None
    done = correction_store.approved(db, "quarter", quarter)
    return list(done[-1].result) if done else list(published.body["units"])


def corrected_units(db: Database, quarter: str, scorecard: Scorecard, unit: str,
                    corrections: list[Correction]) -> tuple[list[dict[str, Any]], list[Entry]]:
    """Every unit's figures with `unit` scored again under `corrections` (all approved ones of the
    unit plus the one being decided, in order), all ranked again; and the entries that cannot count
    because their clause is not in the scorecard."""
    base = current_units(db, quarter) or []
    entries = assessment_scores.apply_changes(assessment_store.entries(db, quarter, unit), corrections)
    score, ignored = assessment_scores.score(scorecard, unit, entries)
    scores: dict[str, QuarterScore] = {u["unit"]: assessment_scores.published_score(u) for u in base}
    scores[unit] = score
    names = {u["unit"]: str(u.get("name") or u["unit"]) for u in base}
    ranked = rank(scores.values())
    return [assessment_scores.unit_body(r.score.unit, names.get(r.score.unit, r.score.unit), r.score, r.rank)
            for r in ranked], ignored


def recomputed(db: Database, quarter: str, scorecard: Scorecard, unit: str) -> QuarterScore:
    """The unit's score recomputed from its entries with the approved corrections: equal to the
    figures shown unless the publication rested on something else (the preview warns then)."""
    done = [c for c in correction_store.approved(db, "quarter", quarter) if c.unit == unit]
    entries = assessment_scores.apply_changes(assessment_store.entries(db, quarter, unit), done)
    return assessment_scores.score(scorecard, unit, entries)[0]


@dataclass(frozen=True)
class Difference:
    """One unit's figures before and after (parts by code, bonus, total, rank)."""

    unit: str
    name: str
    before: dict[str, Any]
    after: dict[str, Any]

    def parts(self) -> list[tuple[str, Any, Any]]:
        """(part code, before, after) for every part whose points changed."""
        b, a = self.before.get("parts", {}), self.after.get("parts", {})
        return [(code, b.get(code), a.get(code)) for code in a if b.get(code) != a.get(code)]

    @property
    def score_changed(self) -> bool:
        return self.before.get("total") != self.after.get("total") or bool(self.parts()) \
            or self.before.get("bonus") != self.after.get("bonus")

    @property
    def rank_changed(self) -> bool:
        return self.before.get("rank") != self.after.get("rank")


def differences(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[Difference]:
    """The units whose figures differ between two sets, the corrected unit(s) first, then by rank after."""
    was = {u["unit"]: u for u in before}
    out = [Difference(u["unit"], str(u.get("name") or u["unit"]), was.get(u["unit"], {}), u) for u in after
           if was.get(u["unit"]) != u]
    return sorted(out, key=lambda d: (not d.score_changed, d.after.get("rank", 0), d.unit))


@dataclass(frozen=True)
class Effect:
    """What approving a correction does (or did) to the quarter's figures."""

    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    differences: list[Difference]
    ignored: list[Entry]
    drift: tuple[int, int] | None  # (shown total, recomputed total) when they differ before the change


def effect(db: Database, correction: Correction, scorecard: Scorecard) -> Effect:
    """A pending correction: the figures now and with it applied (on top of every approved one).
    A decided one: the figures before it was approved and its signed result (or no change)."""
    quarter, unit = correction.subject, correction.unit
    done = correction_store.approved(db, "quarter", quarter)
    if not correction.pending:
        earlier = [c for c in done if (c.decided_pos or 0) < (correction.decided_pos or 0)]
        published = assessment_store.published(db, quarter)
        before = list(earlier[-1].result) if earlier else list(published.body["units"]) if published else []
        after = list(correction.result) if correction.approved else before
        return Effect(before, after, differences(before, after), [], None)
    before = current_units(db, quarter) or []
    mine = [c for c in done if c.unit == unit]
    after, ignored = corrected_units(db, quarter, scorecard, unit, [*mine, correction])
    shown = next((u for u in before if u["unit"] == unit), None)
    again = recomputed(db, quarter, scorecard, unit)
    drift = (int(shown["total"]), again.total) if shown is not None and int(shown["total"]) != again.total else None
    return Effect(before, after, differences(before, after), ignored, drift)


def entry_label(entry: Entry) -> str:
    """A short label for an entry in a choice list: clause, date, what (text or deed), occurrences."""
    what = entry.deed if entry.kind == "bonus" else (entry.text or ", ".join(entry.refs))
    what = what if len(what) <= 40 else what[:39] + "…"
    count = f" ×{entry.count}" if entry.kind == "finding" else (f" ×{len(entry.refs)}" if entry.refs else "")
    return f"{entry.clause} {entry.day} {what}{count}"


def correctable(entries: list[Entry]) -> list[Entry]:
    """The entries a correction may name: active findings, bonus deeds and confirmed proposals."""
    return [e for e in entries if e.active and e.kind in ("finding", "bonus", "confirmed")]
