"""Working-day calendar: packaged data, the official 2025/2026 arrangements, and due dates."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from casework.calendar import CalendarDataError, DueDate, WorkCalendar, parse_year
from casework.messages import RuleError

ROOT = Path(__file__).resolve().parents[2]
D = dt.date


def days(first: dt.date, last: dt.date) -> set[dt.date]:
    return {first + dt.timedelta(n) for n in range((last - first).days + 1)}


# Written by hand from 国务院办公厅关于2025年部分节假日安排的通知 (November 2024) and
# 国务院办公厅关于2026年部分节假日安排的通知 (4 November 2025): (days off, make-up working days on
# weekends). The packaged data must agree with the notices, not merely with chinese-calendar.
OFFICIAL = {
    2025: (
        {D(2025, 1, 1)} | days(D(2025, 1, 28), D(2025, 2, 4)) | days(D(2025, 4, 4), D(2025, 4, 6))
        | days(D(2025, 5, 1), D(2025, 5, 5)) | days(D(2025, 5, 31), D(2025, 6, 2))
        | days(D(2025, 10, 1), D(2025, 10, 8)),
        {D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)},
    ),
    2026: (
        days(D(2026, 1, 1), D(2026, 1, 3)) | days(D(2026, 2, 15), D(2026, 2, 23))
        | days(D(2026, 4, 4), D(2026, 4, 6)) | days(D(2026, 5, 1), D(2026, 5, 5))
        | days(D(2026, 6, 19), D(2026, 6, 21)) | days(D(2026, 9, 25), D(2026, 9, 27))
        | days(D(2026, 10, 1), D(2026, 10, 7)),
        {D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)},
    ),
}

CAL = WorkCalendar.packaged()


@pytest.mark.parametrize("year", [2025, 2026])
def test_packaged_data_matches_the_state_council_notice(year: int) -> None:
    off, makeup = OFFICIAL[year]
    data = CAL.year_data(year)
    assert {D.fromisoformat(d) for d in data["holidays"]} == off
    assert {D.fromisoformat(d) for d in data["workdays"]} == makeup
    assert all(d.weekday() >= 5 for d in makeup)
    for day in days(D(year, 1, 1), D(year, 12, 31)):
        expected = day in makeup or (day.weekday() < 5 and day not in off)
        assert CAL.is_working_day(day) is expected, day


def test_names() -> None:
    assert CAL.holiday_name(D(2026, 2, 17)) == "春节"
    assert CAL.holiday_name(D(2026, 2, 14)) == "春节"  # the make-up day belongs to the festival
    assert CAL.holiday_name(D(2025, 10, 6)) == "中秋"
    assert CAL.holiday_name(D(2026, 3, 3)) is None
    assert CAL.holiday_name(D(2031, 1, 1)) is None


def test_packaged_years_are_what_chinese_calendar_knows() -> None:
    assert CAL.known_years == tuple(range(2004, 2027))
    assert [y["year"] for y in CAL.to_years()] == list(range(2004, 2027))


def test_packaged_files_equal_a_fresh_export() -> None:
    pytest.importorskip("chinese_calendar")
    spec = importlib.util.spec_from_file_location("export_calendar", ROOT / "tools" / "export_calendar.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["export_calendar"] = module
    spec.loader.exec_module(module)
    exported = module.export_years()
    assert [y["year"] for y in exported] == list(CAL.known_years)
    for year in exported:
        path = ROOT / "casework" / "data" / "calendar" / f"{year['year']}.json"
        assert path.read_text(encoding="utf-8") == module.dumps(year), path.name
        assert CAL.year_data(year["year"]) == year
    assert module.main(["--check"]) == 0


def test_agrees_with_chinese_calendar_on_every_day() -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")
    for day in days(D(2004, 1, 1), D(2026, 12, 31)):
        assert CAL.is_working_day(day) == chinese_calendar.is_workday(day), day


def test_casework_never_imports_chinese_calendar() -> None:
    import re

    pattern = re.compile(r"^\s*(import|from)\s+chinese_calendar\b|import_module\(.chinese_calendar", re.M)
    for path in (ROOT / "casework").rglob("*.py"):
        assert not pattern.search(path.read_text(encoding="utf-8")), path
    assert pattern.search("from chinese_calendar import is_workday")


# --- due dates -------------------------------------------------------------------------------


def due(start: dt.date | dt.datetime, n: int, **kw: Any) -> dt.date:
    result = CAL.add_working_days(start, n, **kw)
    assert result.provisional is False
    return result.date


def test_start_day_not_counted() -> None:
    assert due(D(2026, 3, 2), 1) == D(2026, 3, 3)  # Monday -> Tuesday
    assert due(D(2026, 3, 6), 1) == D(2026, 3, 9)  # Friday -> Monday
    assert due(D(2026, 3, 2), 0) == D(2026, 3, 2)  # an immediate case: the same day


def test_across_spring_festival_2026() -> None:
    # Thu 12 Feb; 13 Feb (Fri) = 1, 14 Feb (Saturday, make-up) = 2, 15-23 off, 24-26 = 3..5
    assert due(dt.datetime(2026, 2, 12, 10, 0), 5) == D(2026, 2, 26)
    # 20 working days from Mon 2 Feb 2026: 3-6 Feb (4), 9-13 (9), Sat 14 (10), 24-27 (14),
    # Sat 28 Feb make-up (15), 2-6 Mar (20)
    assert due(D(2026, 2, 2), 20) == D(2026, 3, 6)
    assert CAL.working_days_between(D(2026, 2, 2), D(2026, 3, 6)) == 20


def test_across_national_day_2025() -> None:
    # Fri 26 Sep 2025; 28 Sep (Sunday) is a make-up working day = 1, 29 = 2, 30 = 3,
    # 1-8 Oct off, 9 = 4, 10 = 5, 11 Oct (Saturday, make-up) = 6, 13 = 7
    assert due(D(2025, 9, 26), 7) == D(2025, 10, 13)
    assert due(D(2025, 9, 30), 1) == D(2025, 10, 9)  # a period ending in the holiday rolls on


def test_across_national_day_2026() -> None:
    # Fri 18 Sep 2026; 20 Sep (Sunday make-up) = 1, 21-24 = 2..5, 25-27 Mid-autumn off,
    # 28-30 = 6..8, 1-7 Oct off, 8 = 9, 9 = 10, 10 Oct (Saturday make-up) = 11
    assert due(D(2026, 9, 18), 11) == D(2026, 10, 10)
    assert due(D(2026, 9, 18), 20) == D(2026, 10, 22)  # 12-16 Oct = 12..16, 19-22 = 17..20


def test_received_after_cutoff_counts_from_next_working_day() -> None:
    assert due(dt.datetime(2026, 3, 2, 16, 59), 1) == D(2026, 3, 3)
    assert due(dt.datetime(2026, 3, 2, 17, 0), 1) == D(2026, 3, 3)  # at 17:00 still in time
    assert due(dt.datetime(2026, 3, 2, 17, 1), 1) == D(2026, 3, 4)
    # Friday evening before Spring Festival 2026: deemed received Sat 14 Feb (make-up day)
    assert due(dt.datetime(2026, 2, 13, 18, 30), 1) == D(2026, 2, 24)
    assert CAL.received_on(dt.datetime(2026, 2, 13, 18, 30)).date == D(2026, 2, 14)
    # an aware time (central's UTC receipt stamp) is read in China time: 09:30 UTC = 17:30 CST
    assert due(dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC), 1) == D(2026, 3, 4)
    assert due(dt.datetime(2026, 3, 2, 8, 30, tzinfo=dt.UTC), 1) == D(2026, 3, 3)
    assert due(dt.datetime(2026, 3, 1, 17, 0, tzinfo=dt.UTC), 1) == D(2026, 3, 3)  # Mon 01:00 CST
    # a different cut-off, per call or per calendar
    assert due(dt.datetime(2026, 3, 2, 16, 0), 1, cutoff=dt.time(15, 30)) == D(2026, 3, 4)
    early = WorkCalendar.from_years(CAL.to_years(), cutoff=dt.time(12, 0))
    assert early.add_working_days(dt.datetime(2026, 3, 2, 12, 30), 1).date == D(2026, 3, 4)


def test_received_on_a_holiday_counts_from_next_working_day() -> None:
    # received at a village room on Sunday 1 Mar 2026: deemed received Monday 2 Mar
    assert due(D(2026, 3, 1), 1) == D(2026, 3, 3)
    assert due(dt.datetime(2026, 2, 17, 9, 0), 0) == D(2026, 2, 24)  # immediate, in the festival
    # Sunday and the Friday evening before count alike (both deemed received on Monday 9 Mar)
    assert due(D(2026, 3, 8), 1) == due(dt.datetime(2026, 3, 6, 17, 30), 1) == D(2026, 3, 10)
    # ... unless the Saturday is a make-up working day: Fri 27 Feb 2026 evening -> Sat 28 Feb
    assert due(dt.datetime(2026, 2, 27, 17, 30), 1) == D(2026, 3, 2)


def test_paused_days_do_not_count() -> None:
    # Mon 2 Mar 2026, 5 days -> Mon 9 Mar; an expert review 4-5 Mar pauses two working days
    assert due(D(2026, 3, 2), 5) == D(2026, 3, 9)
    assert due(D(2026, 3, 2), 5, paused=[(D(2026, 3, 4), D(2026, 3, 5))]) == D(2026, 3, 11)
    # a pause over a weekend only costs its working days; two pauses add up
    assert due(D(2026, 3, 2), 5, paused=[(D(2026, 3, 6), D(2026, 3, 8))]) == D(2026, 3, 10)
    assert due(D(2026, 3, 2), 5, paused=[(D(2026, 3, 3), D(2026, 3, 3)), (D(2026, 3, 9), D(2026, 3, 9))]) == D(
        2026, 3, 11)
    # a pause before receipt changes nothing
    assert due(D(2026, 3, 2), 5, paused=[(D(2026, 2, 1), D(2026, 3, 2))]) == D(2026, 3, 9)
    with pytest.raises(RuleError) as caught:
        CAL.add_working_days(D(2026, 3, 2), 5, paused=[(D(2026, 3, 5), D(2026, 3, 4))])
    assert caught.value.code == "calendar.bad_pause"


@pytest.mark.parametrize("n", [-1, 1.5, True, "5", 10**6])
def test_bad_period_refused(n: Any) -> None:
    with pytest.raises(RuleError) as caught:
        CAL.add_working_days(D(2026, 3, 2), n)
    assert caught.value.code == "calendar.bad_period"


def test_unknown_year_refused_or_provisional() -> None:
    with pytest.raises(RuleError) as caught:
        CAL.add_working_days(D(2026, 12, 21), 20)
    assert caught.value.code == "calendar.unknown_year"
    assert "2027" in str(caught.value) and "2004-2026" in str(caught.value)
    with pytest.raises(RuleError):
        CAL.is_working_day(D(2027, 1, 4))
    # within the known year: not provisional even with the flag
    assert CAL.add_working_days(D(2026, 12, 21), 5, allow_provisional=True) == DueDate(D(2026, 12, 28))
    # crossing into 2027: weekends only, clearly marked
    result = CAL.add_working_days(D(2026, 12, 21), 20, allow_provisional=True)
    assert result == DueDate(D(2027, 1, 18), provisional=True)
    assert CAL.next_working_day(D(2026, 12, 31), allow_provisional=True) == DueDate(D(2027, 1, 1), True)
    assert CAL.is_working_day(D(2027, 1, 2), allow_provisional=True) is False


def test_publishing_a_year_makes_it_known() -> None:
    y2027 = {"year": 2027, "holidays": ["2027-01-01"], "workdays": [], "names": {"2027-01-01": "元旦"},
             "source": "test"}
    cal = CAL.with_year(y2027)
    assert cal.add_working_days(D(2026, 12, 31), 1) == DueDate(D(2027, 1, 4))
    assert 2027 in cal.known_years and 2027 not in CAL.known_years
    corrected = cal.with_year({**y2027, "holidays": [], "names": {}})
    assert corrected.is_working_day(D(2027, 1, 1))


def test_next_working_day_and_between() -> None:
    assert CAL.next_working_day(D(2025, 9, 27)).date == D(2025, 9, 28)  # Saturday -> make-up Sunday
    assert CAL.next_working_day(D(2026, 2, 14)).date == D(2026, 2, 24)
    assert CAL.working_days_between(D(2026, 3, 2), D(2026, 3, 2)) == 0
    assert CAL.working_days_between(D(2026, 3, 2), D(2026, 3, 9)) == 5
    assert CAL.working_days_between(D(2026, 3, 9), D(2026, 3, 2)) == -5
    assert CAL.working_days_between(D(2026, 2, 13), D(2026, 2, 24)) == 2
    # datetimes count by their (China) day: 20:00 UTC on Sunday 1 Mar is Monday 2 Mar in China
    assert CAL.working_days_between(dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC), D(2026, 3, 9)) == 5
    assert CAL.working_days_between(dt.datetime(2026, 3, 2, 23, 0), dt.datetime(2026, 3, 9, 1, 0)) == 5


def test_consistency_of_due_and_between() -> None:
    for start in days(D(2025, 12, 1), D(2026, 2, 28)):
        for n in (1, 5, 20):
            end = CAL.add_working_days(start, n).date
            begin = CAL.received_on(start).date
            assert CAL.working_days_between(begin, end) == n
            assert CAL.is_working_day(end)


# --- data checks -----------------------------------------------------------------------------

GOOD = {"year": 2030, "holidays": ["2030-01-01"], "workdays": ["2030-01-05"],
        "names": {"2030-01-01": "元旦", "2030-01-05": "元旦"}, "source": "test"}


def test_good_year_round_trips() -> None:
    assert parse_year(GOOD).to_data() == GOOD


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"extra": 1}, "calendar.unknown_key"),
        ({"year": "2030"}, "calendar.bad_year"),
        ({"year": 2030.0}, "calendar.bad_year"),
        ({"holidays": "2030-01-01"}, "calendar.not_list"),
        ({"holidays": ["2030-1-1"]}, "calendar.bad_date"),
        ({"holidays": ["2030-02-30"]}, "calendar.bad_date"),
        ({"holidays": ["2031-01-01"]}, "calendar.wrong_year"),
        ({"holidays": ["2030-01-01", "2030-01-01"]}, "calendar.duplicate"),
        ({"workdays": ["2030-01-01", "2030-01-05"]}, "calendar.both"),
        ({"workdays": ["2030-01-07"]}, "calendar.workday_not_weekend"),
        ({"names": {"2030-03-03": "x"}}, "calendar.name_unlisted"),
        ({"names": {"2030-01-01": ""}}, "calendar.bad_name"),
        ({"names": []}, "calendar.not_table"),
        ({"source": " "}, "calendar.bad_source"),
    ],
)
def test_bad_data_refused_with_reason(change: dict[str, Any], code: str) -> None:
    with pytest.raises(CalendarDataError) as caught:
        WorkCalendar.from_years([{**GOOD, **change}])
    assert code in [p.code for p in caught.value.problems], caught.value.problems


def test_missing_keys_and_duplicate_years() -> None:
    with pytest.raises(CalendarDataError) as caught:
        parse_year({"year": 2030})
    assert sorted(p.params["field"] for p in caught.value.problems) == ["holidays", "names", "source", "workdays"]
    with pytest.raises(CalendarDataError) as caught:
        WorkCalendar.from_years([GOOD, GOOD])
    assert caught.value.problems[0].code == "calendar.duplicate_year"
