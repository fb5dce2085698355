"""Scorecard versions as data: the TOML text a version is read and written as, and what changed.

Why: the centre revises the clauses of its sub-centre scorecard every year (DOMAIN.md), so central
keeps each revision as a signed version (central.scorecard_records) and scores every quarter with
the version in force for it. A supervisor loading a revision, and anyone reading a quarter later,
must see exactly what differs from the version before: `diff` lists it clause by clause. A version
downloads as the same TOML the packaged scorecard is written in (`to_toml`), so a file taken from
one version, edited and loaded back is checked by the same `parse_scorecard` as the packaged one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from casework.assessment import Scorecard

SECTIONS = ("bonus_cap", "part", "deduction", "bonus")


@dataclass(frozen=True)
class Change:
    """One difference between two scorecards.

    `section` is one of SECTIONS; `kind` is added | removed | changed; `field` names what changed
    for `changed` (name, max, judged, text, points, cap, part, group, or "" for bonus_cap);
    `old` / `new` are the values before and after (None where there is none)."""

    section: str
    kind: str
    code: str
    field: str = ""
    old: Any = None
    new: Any = None


def _toml_string(text: str) -> str:
    """A TOML basic string. JSON's escapes are TOML's (\\" \\\\ \\n \\t \\uXXXX), except that TOML also
    wants DEL escaped, which JSON leaves as it is."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def to_toml(card: Scorecard, *, heading: str = "") -> str:
    """The scorecard as a TOML file `casework.assessment.parse_scorecard` reads back unchanged.

    `heading` becomes comment lines at the top (which version, from when, why)."""
    out = [f"# {line}".rstrip() for line in heading.splitlines()]
    out += ["# Points are whole numbers. A deduction clause loses `points` per occurrence, at most `cap` in",
            "# one quarter. Bonus clauses of one `group` overlap: one deed earns only the highest of them.",
            f"bonus_cap = {card.bonus_cap}"]
    for part in card.parts:
        out += ["", "[[part]]", f"code = {_toml_string(part.code)}", f"name = {_toml_string(part.name)}",
                f"max = {part.max}", f"judged = {_toml_string(part.judged)}"]
        for clause in part.deductions:
            out += ["", "[[part.deduction]]", f"code = {_toml_string(clause.code)}",
                    f"text = {_toml_string(clause.text)}", f"points = {clause.points}", f"cap = {clause.cap}"]
    for bonus in card.bonuses:
        out += ["", "[[bonus]]", f"code = {_toml_string(bonus.code)}", f"text = {_toml_string(bonus.text)}",
                f"points = {bonus.points}", f"group = {_toml_string(bonus.group)}"]
    return "\n".join(out) + "\n"


def _against(what: str, before: Any, after: Any, fields: tuple[str, ...], label: str) -> list[Change]:
    """`after` (a part or clause of the new scorecard) against `before` (the old one's of the same
    code, None if it had none): added, or each field that changed."""
    if before is None:
        return [Change(what, "added", after.code, "", None, getattr(after, label))]
    return [Change(what, "changed", after.code, f, getattr(before, f), getattr(after, f))
            for f in fields if getattr(before, f) != getattr(after, f)]


def diff(old: Scorecard, new: Scorecard) -> list[Change]:
    """What `new` changes compared with `old`: the bonus cap, then part by part (its own fields,
    then its deduction clauses), then the bonus clauses; added and removed things by code."""
    changes: list[Change] = []
    if old.bonus_cap != new.bonus_cap:
        changes.append(Change("bonus_cap", "changed", "", "", old.bonus_cap, new.bonus_cap))
    old_parts = {p.code: p for p in old.parts}
    new_parts = {p.code: p for p in new.parts}
    old_clauses = {c.code: c for p in old.parts for c in p.deductions}
    new_clauses = {c.code: c for p in new.parts for c in p.deductions}
    for part in new.parts:
        changes += _against("part", old_parts.get(part.code), part, ("name", "max", "judged"), "name")
        for clause in part.deductions:
            changes += _against("deduction", old_clauses.get(clause.code), clause, ("part", "text", "points", "cap"),
                                "text")
    for part in old.parts:
        changes += [Change("deduction", "removed", c.code, "", c.text, None)
                    for c in part.deductions if c.code not in new_clauses]
        if part.code not in new_parts:
            changes.append(Change("part", "removed", part.code, "", part.name, None))
    old_bonus = {b.code: b for b in old.bonuses}
    new_bonus = {b.code: b for b in new.bonuses}
    for bonus in new.bonuses:
        changes += _against("bonus", old_bonus.get(bonus.code), bonus, ("text", "points", "group"), "text")
    changes += [Change("bonus", "removed", b.code, "", b.text, None) for b in old.bonuses if b.code not in new_bonus]
    return changes


def missing_codes(card: Scorecard, codes: tuple[str, ...]) -> list[str]:
    """Which of `codes` (deduction clauses the system proposes, say) the scorecard lacks."""
    return [code for code in codes if card.deduction(code) is None]
