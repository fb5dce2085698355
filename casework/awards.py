"""Annual awards (年终评先) as pure rules: advanced collectives, window awards, excellent directors.

Why recorded decisions: only the advanced collectives follow from arithmetic; the window awards
and the excellent directors are decided by the director's meeting (主任办公会). The machine checks
that a decision is possible and well-formed (counts, nominees, nobody twice) and keeps its inputs
with it, so that a later reader sees what the meeting had in front of it; it never chooses people.

Advanced collectives (先进集体), tie rule:
1. lowest sum of the year's quarterly ranks;
2. then the higher sum of quarterly total scores;
3. still tied across the cut line (e.g. two units for the last place): neither is chosen by the
   machine; both are flagged `for_meeting` and the places left open are for the meeting to fill.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from casework.assessment import AssessmentError, Ranked
from casework.messages import N_, RuleError

COLLECTIVES = 3
WINDOW_MODELS = 5
ADVANCED_INDIVIDUALS = 5
EXCELLENT_DIRECTORS = 3
NOMINATIONS_PER_UNIT = (1, 2)


@dataclass(frozen=True)
class Standing:
    unit: str
    rank_sum: int
    total_sum: int
    quarters: int
    place: int  # 1-based place after the tie rule (units tied on both keys share a place)


@dataclass(frozen=True)
class Collectives:
    chosen: tuple[str, ...]  # clearly within the places
    for_meeting: tuple[str, ...]  # tied across the cut line: the meeting decides among them
    open_places: int  # places the meeting fills from `for_meeting`
    standings: tuple[Standing, ...]  # every unit, in place order then unit code


@dataclass(frozen=True)
class Nomination:
    unit: str  # the nominating sub-centre
    person: str  # staff id
    name: str
    window: str
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    """Who decided, when, and where it is written down."""

    decided_by: str  # e.g. "主任办公会"
    decided_on: dt.date
    minutes_ref: str


@dataclass(frozen=True)
class WindowAwards:
    models: tuple[Nomination, ...]  # 窗口服务标兵
    individuals: tuple[Nomination, ...]  # 先进窗口个人
    nominations: tuple[Nomination, ...]  # the input the meeting chose from
    decision: Decision


@dataclass(frozen=True)
class DirectorInput:
    """What the meeting weighs for one sub-centre director: the year's results and the department's opinion."""

    unit: str
    director: str
    year_results: str
    department_opinion: str


@dataclass(frozen=True)
class DirectorAwards:
    chosen: tuple[DirectorInput, ...]
    inputs: tuple[DirectorInput, ...]
    decision: Decision


def _raise(problems: list[RuleError]) -> None:
    if problems:
        raise AssessmentError(problems)


def _p(problems: list[RuleError], code: str, msgid: str, **params: object) -> None:
    problems.append(RuleError(code, msgid, **params))


def advanced_collectives(quarters: Sequence[Sequence[Ranked]], places: int = COLLECTIVES) -> Collectives:
    """The advanced collectives from the year's quarterly rankings (see the module's tie rule)."""
    problems: list[RuleError] = []
    if not 1 <= len(quarters) <= 4:
        _p(problems, "awards.quarters", N_("between 1 and 4 quarterly rankings are needed, not %(n)s"),
           n=len(quarters))
    rank_sum: dict[str, int] = {}
    total_sum: dict[str, int] = {}
    seen_in: dict[str, int] = {}
    for q in quarters:
        units = [r.score.unit for r in q]
        if len(set(units)) != len(units):
            _p(problems, "awards.unit_twice", N_("a sub-centre appears twice in one quarter's ranking"))
        for r in q:
            u = r.score.unit
            rank_sum[u] = rank_sum.get(u, 0) + r.rank
            total_sum[u] = total_sum.get(u, 0) + r.score.total
            seen_in[u] = seen_in.get(u, 0) + 1
    for u in sorted(u for u, n in seen_in.items() if n != len(quarters)):
        _p(problems, "awards.missing_quarter", N_("%(unit)s is not ranked in every quarter"), unit=u)
    if places < 1:
        _p(problems, "awards.places", N_("at least one place is awarded"))
    _raise(problems)

    key = {u: (rank_sum[u], -total_sum[u]) for u in rank_sum}
    ordered = sorted(rank_sum, key=lambda u: (key[u], u))
    standings: list[Standing] = []
    for i, u in enumerate(ordered):
        place = standings[-1].place if standings and key[standings[-1].unit] == key[u] else i + 1
        standings.append(Standing(u, rank_sum[u], total_sum[u], len(quarters), place))
    chosen = tuple(s.unit for s in standings if s.place + sum(1 for t in standings if key[t.unit] == key[s.unit]) - 1
                   <= places)
    open_places = min(places, len(standings)) - len(chosen)
    for_meeting: tuple[str, ...] = ()
    if open_places:
        cut = standings[len(chosen)]
        for_meeting = tuple(s.unit for s in standings if key[s.unit] == key[cut.unit])
    return Collectives(chosen, for_meeting, open_places, tuple(standings))


def validate_nominations(nominations: Iterable[Nomination]) -> tuple[Nomination, ...]:
    """Each sub-centre nominates 1-2 window staff; nobody is nominated twice."""
    noms = tuple(nominations)
    problems: list[RuleError] = []
    per_unit: dict[str, int] = {}
    people: set[str] = set()
    for n in noms:
        for field_name in ("unit", "person", "name", "window"):
            if not str(getattr(n, field_name)).strip():
                _p(problems, "awards.nomination_field", N_("nomination of %(person)s: %(field)s is required"),
                   person=n.person or n.name, field=field_name)
        if n.person in people:
            _p(problems, "awards.person_twice", N_("%(person)s is nominated twice"), person=n.person)
        people.add(n.person)
        per_unit[n.unit] = per_unit.get(n.unit, 0) + 1
    low, high = NOMINATIONS_PER_UNIT
    for unit, count in sorted(per_unit.items()):
        if not low <= count <= high:
            _p(problems, "awards.nominations_per_unit",
               N_("%(unit)s nominated %(count)s people; each sub-centre nominates %(low)s to %(high)s"),
               unit=unit, count=count, low=low, high=high)
    if not noms:
        _p(problems, "awards.no_nominations", N_("there are no nominations"))
    _raise(problems)
    return noms


def _check_decision(problems: list[RuleError], decision: Decision) -> None:
    if not decision.decided_by.strip() or not decision.minutes_ref.strip():
        _p(problems, "awards.decision_record",
           N_("a decision names who decided and the minutes it is recorded in"))
    if not isinstance(decision.decided_on, dt.date):
        _p(problems, "awards.decision_date", N_("a decision has a date"))


def record_window_awards(nominations: Iterable[Nomination], models: Sequence[str], individuals: Sequence[str],
                         decision: Decision) -> WindowAwards:
    """The meeting's choice of 5 window service models and 5 advanced window individuals (person ids)."""
    noms = validate_nominations(nominations)
    by_person = {n.person: n for n in noms}
    problems: list[RuleError] = []
    _check_decision(problems, decision)
    for title, chosen, want in (("window service models", models, WINDOW_MODELS),
                                ("advanced window individuals", individuals, ADVANCED_INDIVIDUALS)):
        if len(chosen) != want:
            _p(problems, "awards.count", N_("%(title)s: %(want)s are chosen, not %(count)s"),
               title=title, want=want, count=len(chosen))
    everyone = [*models, *individuals]
    for person in sorted({p for p in everyone if everyone.count(p) > 1}):
        _p(problems, "awards.person_twice", N_("%(person)s is chosen twice"), person=person)
    for person in sorted({p for p in everyone if p not in by_person}):
        _p(problems, "awards.not_nominated", N_("%(person)s was not nominated"), person=person)
    _raise(problems)
    return WindowAwards(tuple(by_person[p] for p in models), tuple(by_person[p] for p in individuals), noms,
                        decision)


def record_director_awards(inputs: Iterable[DirectorInput], chosen: Sequence[str],
                           decision: Decision) -> DirectorAwards:
    """The meeting's 3 excellent sub-centre directors, kept with the inputs it decided from."""
    ins = tuple(inputs)
    problems: list[RuleError] = []
    _check_decision(problems, decision)
    by_director: dict[str, DirectorInput] = {}
    for i in ins:
        if not i.year_results.strip() or not i.department_opinion.strip():
            _p(problems, "awards.director_input",
               N_("%(director)s: the year's results and the department's opinion are required"),
               director=i.director)
        if i.director in by_director:
            _p(problems, "awards.person_twice", N_("%(person)s is listed twice"), person=i.director)
        by_director[i.director] = i
    if len(chosen) != EXCELLENT_DIRECTORS:
        _p(problems, "awards.count", N_("%(title)s: %(want)s are chosen, not %(count)s"),
           title="excellent sub-centre directors", want=EXCELLENT_DIRECTORS, count=len(chosen))
    if len(set(chosen)) != len(chosen):
        _p(problems, "awards.person_twice", N_("%(person)s is chosen twice"),
           person=", ".join(sorted({c for c in chosen if list(chosen).count(c) > 1})))
    for person in sorted(set(chosen) - set(by_director)):
        _p(problems, "awards.not_nominated", N_("%(person)s was not nominated"), person=person)
    _raise(problems)
    return DirectorAwards(tuple(by_director[c] for c in chosen), ins, decision)


def quarter_ranks(quarters: Mapping[str, Sequence[Ranked]]) -> list[Sequence[Ranked]]:
    """The year's rankings in quarter order ("2026Q1".."2026Q4"), for advanced_collectives."""
    return [quarters[k] for k in sorted(quarters)]
