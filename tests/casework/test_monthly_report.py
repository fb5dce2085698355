"""The monthly report's body rules and its due day, counted in working days of the published calendar."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework import monthly_report as mr
from casework.calendar import WorkCalendar
from casework.messages import RuleError

CAL = WorkCalendar.packaged()
UTC = dt.UTC
FIGURES = {"received": 12, "accepted": 11, "finished": 10, "on_time": 9, "overdue": 1, "returned": 1, "refused": 0,
           "fees_fen": 1500, "evaluated": 8, "satisfied": 7}


def _body(**changes):
    body = {"node": "S01", "month": "2026-09", "figures": dict(FIGURES),
            "remarks": {"matters": "国庆前办件高峰", "problems": "", "measures": "增开窗口"},
            "submitted_by": {"username": "zhangzr", "name": "张主任"}, "version": 1, "reason": ""}
    body.update(changes)
    return body


def test_september_2026_is_due_on_the_fifth_working_day_after_national_day():
    # 1-7 October 2026 are holidays and Saturday 10 October is a make-up working day:
    # working days 8, 9, 10, 12, 13 -> due on the 13th (a calendar-day count would say the 5th or 7th)
    assert mr.due_date(CAL, "2026-09", 5) == mr.DueDate(dt.date(2026, 10, 13), False)
    assert mr.due_date(CAL, "2026-09", 3).date == dt.date(2026, 10, 10)  # the make-up Saturday counts
    assert mr.due_date(CAL, "2026-08", 5).date == dt.date(2026, 9, 7)
    # a year whose holidays are not published: weekends only, and marked provisional
    december = mr.due_date(CAL, "2026-12", 5)
    assert december.provisional and december.date == dt.date(2027, 1, 7)


def test_lateness_counts_working_days_and_central_receipt_times_in_china():
    due = dt.date(2026, 10, 13)
    assert mr.working_days_late(CAL, due, dt.datetime(2026, 10, 13, 15, 59, tzinfo=UTC)) == 0  # 23:59 in China
    assert mr.working_days_late(CAL, due, dt.datetime(2026, 10, 13, 16, 1, tzinfo=UTC)) == 1   # 00:01 on the 14th
    assert mr.working_days_late(CAL, due, dt.date(2026, 10, 16)) == 3                           # Wed, Thu, Fri
    assert mr.working_days_late(CAL, due, dt.date(2026, 10, 17)) == 4  # Saturday counts as Monday 19th
    assert mr.working_days_late(CAL, dt.date(2026, 9, 30), dt.date(2026, 10, 8)) == 1  # the holiday week is free
    assert mr.working_days_late(CAL, due, dt.date(2026, 10, 1)) == 0


def test_timeliness_of_each_kind():
    sep = "2026-09"
    on_time = mr.timeliness(CAL, sep, first_received=dt.date(2026, 10, 12), today=dt.date(2026, 10, 20))
    assert (on_time.status, on_time.late_days, on_time.counts_against) == (mr.ON_TIME, 0, False)
    late = mr.timeliness(CAL, sep, first_received=dt.date(2026, 10, 16), today=dt.date(2026, 10, 20))
    assert (late.status, late.late_days, late.counts_against) == (mr.LATE, 3, True)
    waiting = mr.timeliness(CAL, sep, first_received=None, today=dt.date(2026, 10, 13))
    assert (waiting.status, waiting.counts_against) == (mr.NOT_DUE, False)
    missing = mr.timeliness(CAL, sep, first_received=None, today=dt.date(2026, 10, 14))
    assert (missing.status, missing.late_days, missing.counts_against) == (mr.MISSING, 1, True)
    joined_later = mr.timeliness(CAL, sep, first_received=None, today=dt.date(2026, 11, 1),
                                 joined=dt.date(2026, 10, 2))
    assert joined_later.status == mr.NOT_REQUIRED and not joined_later.counts_against
    joined_during = mr.timeliness(CAL, sep, first_received=None, today=dt.date(2026, 11, 1),
                                  joined=dt.date(2026, 9, 30))
    assert joined_during.status == mr.MISSING


def test_months_due_within_a_quarter():
    assert mr.months_due_within(dt.date(2026, 10, 1), dt.date(2026, 12, 31), CAL) == ["2026-09", "2026-10", "2026-11"]
    # with the due day on the 5th working day, September is due inside October, not September
    assert mr.months_due_within(dt.date(2026, 7, 1), dt.date(2026, 9, 30), CAL) == ["2026-06", "2026-07", "2026-08"]
    assert mr.months_due_within(dt.date(2026, 10, 14), dt.date(2026, 10, 31), CAL) == []


def test_a_good_body_round_trips_and_text_is_stripped():
    body = mr.report_body(node="S01", month="2026-09", figures=FIGURES, remarks={"matters": "  高峰  "},
                          submitted_by={"username": "zhangzr", "name": "张主任"}, version=1)
    assert body["remarks"] == {"matters": "高峰", "problems": "", "measures": ""}
    assert mr.parse_report(body).to_body() == body
    assert mr.problems_of(_body()) == []


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"node": "C"}, "node", "report.bad_node"),
    ({"month": "2026-13"}, "month", "report.bad_month"),
    ({"figures": {**FIGURES, "received": -1}}, "figures", "report.bad_figure"),
    ({"figures": {**FIGURES, "received": 1.5}}, "figures", "report.bad_figure"),
    ({"figures": {**FIGURES, "received": True}}, "figures", "report.bad_figure"),
    ({"figures": {k: v for k, v in FIGURES.items() if k != "fees_fen"}}, "figures", "report.bad_figures"),
    ({"figures": {**FIGURES, "on_time": 11}}, "figures", "report.inconsistent"),
    ({"remarks": {"matters": "x" * (mr.MAX_REMARK + 1)}}, "matters", "report.remark_too_long"),
    ({"remarks": {"other": "x"}}, "remarks", "report.bad_remarks"),
    ({"submitted_by": {"name": "张主任"}}, "submitted_by", "report.no_submitter"),
    ({"version": 0}, "version", "report.bad_version"),
    ({"version": 2}, "reason", "report.reason_required"),
    ({"version": 2, "reason": "  "}, "reason", "report.reason_required"),
    ({"reason": "x" * (mr.MAX_REASON + 1)}, "reason", "report.reason_too_long"),
])
def test_every_bad_body_is_named(changes, field, code):
    found = mr.problems_of(_body(**changes))
    assert [(p.field, p.error.code) for p in found] == [(field, code)]
    with pytest.raises(mr.ReportError) as err:
        mr.parse_report(_body(**changes))
    assert [(p.field, p.error.code) for p in err.value.problems] == [(field, code)]


def test_a_correction_with_a_reason_is_good():
    assert mr.problems_of(_body(version=2, reason="漏报两件")) == []
    assert mr.problems_of("not a body")[0].error.code == "report.not_an_object"


def test_the_due_workday_setting_is_checked():
    assert mr.check_due_workday(5) == 5
    for bad in (0, 16, "5", True, None):
        with pytest.raises(RuleError):
            mr.check_due_workday(bad)


def test_months_arithmetic():
    assert mr.previous_month(dt.date(2026, 1, 15)) == "2025-12"
    assert mr.shift_month("2026-12", 1) == "2027-01"
    assert mr.shift_month("2026-01", -13) == "2024-12"
    assert mr.parse_month("2026-12") == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))


@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2026, 11, 30)), st.integers(1, 15))
def test_the_due_day_is_a_working_day_of_the_next_month_and_late_starts_the_day_after(day, workday):
    month = mr.month_of(day)
    due = mr.due_date(CAL, month, workday).date
    assert mr.parse_month(month)[1] <= due and CAL.is_working_day(due)
    assert sum(CAL.is_working_day(d) for d in (mr.parse_month(month)[1] + dt.timedelta(n)
                                               for n in range((due - mr.parse_month(month)[1]).days + 1))) == workday
    assert mr.working_days_late(CAL, due, due) == 0
    assert mr.working_days_late(CAL, due, due + dt.timedelta(days=1)) == 1
