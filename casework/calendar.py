"""Working days: when a promised case is due, and how many working days it is overdue.

Time limits in the Administrative Licensing Law run in working days, and China moves weekends
around its holidays (调休): a Saturday may be a working day and a Wednesday a holiday. Which days
are which is decided by the State Council each year, so the calendar is DATA, one dict per year in
the form central signs and publishes (docs/contracts.md "Calendar data"):

    {"year": 2026, "holidays": ["2026-01-01", ...], "workdays": ["2026-01-04", ...],
     "names": {"2026-01-01": "元旦", ...}, "source": "..."}

`holidays` are the days off of the official holiday periods (weekend days inside them included),
`workdays` the make-up working days that fall on a weekend, `names` the festival each listed day
belongs to. Packaged initial data (casework/data/calendar/YYYY.json) is exported from the
`chinese-calendar` package by tools/export_calendar.py; later years arrive as records.

How a due date is counted (DOMAIN.md; Civil Code arts. 201-203; Administrative Licensing Law
arts. 42 and 45):
- An application received after the cut-off (17:00, the centre's closing time) or on a day that
  is not a working day is deemed received on the next working day; otherwise on its own day.
- The day of receipt is not counted: day 1 is the first working day after it.
- Paused days (hearings, tests, expert reviews: art. 45) do not count.
- Only working days count, so a period can never end on a holiday: it rolls on by itself.
- A date in a year the calendar does not know is never guessed silently: by default a
  RuleError ``calendar.unknown_year``; with ``allow_provisional=True`` a weekends-only
  assumption, and the result is marked ``provisional`` for the screen to say so.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from casework.messages import N_, RuleError

DEFAULT_CUTOFF = dt.time(17, 0)
CHINA_TIME = dt.timezone(dt.timedelta(hours=8), "CST")
MAX_PERIOD = 2500  # ten years of working days: no legal limit is longer
_KEYS = {"year", "holidays", "workdays", "names", "source"}


class CalendarDataError(RuleError):
    """A year's calendar data is wrong; `problems` lists every problem as RuleErrors."""

    def __init__(self, problems: list[RuleError]) -> None:
        self.problems = problems
        super().__init__(
            "calendar.invalid_data",
            N_("The holiday calendar has %(count)s problem(s): %(problems)s"),
            count=len(problems),
            problems="; ".join(p.english() for p in problems),
        )


@dataclass(frozen=True)
class DueDate:
    """A computed date; `provisional` when it rests on a year the calendar does not know yet."""

    date: dt.date
    provisional: bool = False

    def isoformat(self) -> str:
        return self.date.isoformat()


@dataclass(frozen=True)
class CalendarYear:
    """One year's holiday arrangement, checked."""

    year: int
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    names: Mapping[str, str]
    source: str

    def to_data(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
            "names": dict(sorted(self.names.items())),
            "source": self.source,
        }


def parse_year(data: Mapping[str, Any]) -> CalendarYear:
    """Check one year's data (as published by central) and raise CalendarDataError listing every
    problem: unknown keys, dates that are not ISO dates of that year, a day both holiday and
    make-up workday, a make-up workday that is not on a weekend, names for unlisted days."""
    problems: list[RuleError] = []

    def bad(code: str, msgid: str, **params: Any) -> None:
        problems.append(RuleError(code, msgid, **params))

    if not isinstance(data, Mapping):
        raise CalendarDataError([RuleError("calendar.not_table", N_("a calendar year must be a table, not %(value)s"),
                                           value=type(data).__name__)])
    for key in sorted(set(data) - _KEYS, key=str):
        bad("calendar.unknown_key", N_("%(field)s: is not a field of a calendar year"), field=str(key))
    for key in sorted(_KEYS - set(data)):
        bad("calendar.missing", N_("%(field)s: is required"), field=key)
    year = data.get("year")
    if "year" in data and (isinstance(year, bool) or not isinstance(year, int) or not 1949 <= year <= 2200):
        bad("calendar.bad_year", N_("year: must be a whole year such as 2026, not %(value)s"), value=repr(year))
        year = None

    def dates(key: str) -> set[dt.date]:
        raw = data.get(key, [])
        if not isinstance(raw, list):
            bad("calendar.not_list", N_("%(field)s: must be a list of dates, not %(value)s"), field=key,
                value=repr(raw))
            return set()
        found: set[dt.date] = set()
        for i, text in enumerate(raw):
            day = _iso_date(text)
            if day is None:
                bad("calendar.bad_date", N_("%(field)s: %(value)s is not a date written YYYY-MM-DD"),
                    field=f"{key}[{i}]", value=repr(text))
            elif year is not None and day.year != year:
                bad("calendar.wrong_year", N_("%(field)s: %(value)s is not in %(year)s"), field=f"{key}[{i}]",
                    value=text, year=year)
            elif day in found:
                bad("calendar.duplicate", N_("%(field)s: %(value)s is listed twice"), field=f"{key}[{i}]",
                    value=text)
            else:
                found.add(day)
        return found

    holidays, workdays = dates("holidays"), dates("workdays")
    for day in sorted(holidays & workdays):
        bad("calendar.both", N_("%(value)s is listed both as a holiday and as a make-up working day"),
            value=day.isoformat())
    for day in sorted(workdays - holidays):
        if day.weekday() < 5:
            bad("calendar.workday_not_weekend",
                N_("workdays: %(value)s is a weekday; only weekend days can be make-up working days"),
                value=day.isoformat())
    names = data.get("names", {})
    clean_names: dict[str, str] = {}
    if not isinstance(names, Mapping):
        bad("calendar.not_table", N_("names: must be a table of date -> name, not %(value)s"), value=repr(names))
    else:
        listed = {d.isoformat() for d in holidays | workdays}
        for key, name in names.items():
            if key not in listed:
                bad("calendar.name_unlisted", N_("names: %(value)s is neither a holiday nor a make-up working day"),
                    value=repr(key))
            elif not isinstance(name, str) or not name.strip():
                bad("calendar.bad_name", N_("names: the name of %(value)s must be non-empty text"), value=key)
            else:
                clean_names[key] = unicodedata.normalize("NFC", name.strip())
    source = data.get("source", "")
    if not isinstance(source, str) or ("source" in data and not source.strip()):
        bad("calendar.bad_source", N_("source: must say where the arrangement comes from"))
    if problems:
        raise CalendarDataError(problems)
    assert isinstance(year, int)
    return CalendarYear(year, frozenset(holidays), frozenset(workdays), clean_names,
                        unicodedata.normalize("NFC", source.strip()))


def _iso_date(text: Any) -> dt.date | None:
    if not isinstance(text, str) or len(text) != 10:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


class WorkCalendar:
    """Working days over the years it knows; immutable (build a new one when a year is published)."""

    def __init__(self, years: Iterable[CalendarYear], *, cutoff: dt.time = DEFAULT_CUTOFF) -> None:
        self._years: dict[int, CalendarYear] = {}
        for year in years:
            if year.year in self._years:
                raise CalendarDataError([RuleError("calendar.duplicate_year", N_("year %(year)s is given twice"),
                                                   year=year.year)])
            self._years[year.year] = year
        self.cutoff = cutoff

    @classmethod
    def from_years(cls, years: Iterable[Mapping[str, Any]], *, cutoff: dt.time = DEFAULT_CUTOFF) -> WorkCalendar:
        """Build from per-year dicts (packaged files or published calendar records)."""
        return cls([parse_year(y) for y in years], cutoff=cutoff)

    @classmethod
    def packaged(cls) -> WorkCalendar:
        """The calendar shipped in casework/data/calendar (before any record updates it)."""
        return cls(_packaged_years())

    def with_year(self, data: Mapping[str, Any]) -> WorkCalendar:
        """A new calendar where `data`'s year replaces (or adds) that year: central's correction."""
        year = parse_year(data)
        others = [y for y in self._years.values() if y.year != year.year]
        return WorkCalendar([*others, year], cutoff=self.cutoff)

    @property
    def known_years(self) -> tuple[int, ...]:
        return tuple(sorted(self._years))

    def year_data(self, year: int) -> dict[str, Any]:
        return self._require(year).to_data()

    def to_years(self) -> list[dict[str, Any]]:
        return [self._years[y].to_data() for y in self.known_years]

    def knows(self, day: dt.date) -> bool:
        return _as_date(day).year in self._years

    def holiday_name(self, day: dt.date) -> str | None:
        """The festival a listed day belongs to (holiday or make-up working day), if any."""
        year = self._years.get(day.year)
        return year.names.get(day.isoformat()) if year else None

    # --- single days ---------------------------------------------------------------------------

    def is_working_day(self, day: dt.date, *, allow_provisional: bool = False) -> bool:
        """True on a working day; raises RuleError for an unknown year unless `allow_provisional`."""
        return self._working(_as_date(day), allow_provisional)[0]

    def _working(self, day: dt.date, allow_provisional: bool) -> tuple[bool, bool]:
        """(is working day, is provisional)."""
        year = self._years.get(day.year)
        if year is None:
            if not allow_provisional:
                raise self._unknown(day.year)
            return day.weekday() < 5, True
        if day in year.workdays:
            return True, False
        return day.weekday() < 5 and day not in year.holidays, False

    def _unknown(self, year: int) -> RuleError:
        known = self.known_years
        return RuleError(
            "calendar.unknown_year",
            N_("The holiday calendar for %(year)s has not been published yet (known: %(known)s); "
               "working days in %(year)s cannot be counted"),
            year=year,
            known=f"{known[0]}-{known[-1]}" if known else "none",
        )

    def _require(self, year: int) -> CalendarYear:
        if year not in self._years:
            raise self._unknown(year)
        return self._years[year]

    def next_working_day(self, day: dt.date, *, allow_provisional: bool = False) -> DueDate:
        """The first working day strictly after `day`."""
        current, provisional = _as_date(day), False
        while True:
            current += dt.timedelta(days=1)
            working, guessed = self._working(current, allow_provisional)
            provisional |= guessed
            if working:
                return DueDate(current, provisional)

    def received_on(self, received: dt.datetime | dt.date, *, allow_provisional: bool = False,
                    cutoff: dt.time | None = None) -> DueDate:
        """The working day an application counts as received on (after the cut-off or on a
        non-working day: the next working day). Its own day is day 0 of every period.

        A naive datetime is local (China) time; an aware one (e.g. central's UTC receipt stamp)
        is converted to China Standard Time (UTC+8, no daylight saving) first."""
        if isinstance(received, dt.datetime) and received.tzinfo is not None:
            received = received.astimezone(CHINA_TIME)
        day = _as_date(received)
        limit = self.cutoff if cutoff is None else cutoff
        late = isinstance(received, dt.datetime) and received.time() > limit
        working, provisional = self._working(day, allow_provisional)
        if working and not late:
            return DueDate(day, provisional)
        following = self.next_working_day(day, allow_provisional=allow_provisional)
        return DueDate(following.date, provisional or following.provisional)

    # --- periods -------------------------------------------------------------------------------

    def add_working_days(
        self,
        start: dt.datetime | dt.date,
        n: int,
        *,
        paused: Sequence[tuple[dt.date, dt.date]] = (),
        allow_provisional: bool = False,
        cutoff: dt.time | None = None,
    ) -> DueDate:
        """The due date of a period of `n` working days from a receipt at `start`.

        `paused` are inclusive (first, last) date ranges whose days do not count (art. 45).
        n = 0 (an immediate case) is due on the day it counts as received.
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_PERIOD:
            raise RuleError("calendar.bad_period", N_("A time limit must be a whole number of working days from 0 "
                                                      "to %(max)s, not %(value)s"), max=MAX_PERIOD, value=repr(n))
        pauses = _pauses(paused)
        begin = self.received_on(start, allow_provisional=allow_provisional, cutoff=cutoff)
        current, provisional, counted = begin.date, begin.provisional, 0
        while counted < n:
            current += dt.timedelta(days=1)
            working, guessed = self._working(current, allow_provisional)
            provisional |= guessed
            if working and not _in(current, pauses):
                counted += 1
        return DueDate(current, provisional)

    def working_days_between(self, a: dt.date, b: dt.date, *, allow_provisional: bool = False) -> int:
        """Working days after `a` up to and including `b` (negative when b is before a).

        So a case due on `a` and finished on `b` is `working_days_between(a, b)` working days
        overdue when that is positive; finished on its due date it is 0.
        """
        a, b = _as_date(a), _as_date(b)
        if b < a:
            return -self.working_days_between(b, a, allow_provisional=allow_provisional)
        count, current = 0, a
        while current < b:
            current += dt.timedelta(days=1)
            if self._working(current, allow_provisional)[0]:
                count += 1
        return count


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    """The calendar day of a date or datetime; an aware datetime is read in China time."""
    if isinstance(value, dt.datetime):
        return (value.astimezone(CHINA_TIME) if value.tzinfo is not None else value).date()
    if isinstance(value, dt.date):
        return value
    raise RuleError("calendar.not_a_date", N_("%(value)s is not a date"), value=repr(value))


def _pauses(paused: Sequence[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    result = []
    for first, last in paused:
        first, last = _as_date(first), _as_date(last)
        if last < first:
            raise RuleError("calendar.bad_pause", N_("A pause cannot end (%(last)s) before it starts (%(first)s)"),
                            first=first.isoformat(), last=last.isoformat())
        result.append((first, last))
    return result


def _in(day: dt.date, pauses: list[tuple[dt.date, dt.date]]) -> bool:
    return any(first <= day <= last for first, last in pauses)


@lru_cache(maxsize=1)
def _packaged_years() -> tuple[CalendarYear, ...]:
    folder = resources.files("casework") / "data" / "calendar"
    years = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            years.append(parse_year(json.loads(entry.read_text(encoding="utf-8"))))
    return tuple(years)
