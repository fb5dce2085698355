"""The bad-review workflow's rules (casework.reviews): which step may follow which, and the status."""

from __future__ import annotations

import datetime as dt

import pytest

from casework import reviews
from casework.messages import RuleError

EV = "ab" * 32
DAY = dt.date(2026, 11, 25)


def _body(**fields):
    return {"case": "C-261125-00001-5", "evaluation": EV, "staff": "li", **fields}


def _step(review, kind, **fields):
    return reviews.apply(review, kind, _body(**fields), day=DAY)


def test_real_name_review_is_called_back_then_rectified():
    review = reviews.Review(real_name=True)
    assert review.status == "awaiting_callback"
    assert reviews.allowed(review) == [reviews.CALLED_BACK, reviews.APPEALED]
    with pytest.raises(RuleError) as err:
        _step(review, reviews.RECTIFIED, measures="加开窗口")
    assert err.value.code == "review.call_first"
    review = _step(review, reviews.CALLED_BACK, reached=False)
    assert review.status == "awaiting_callback" and review.callbacks == 1  # an attempt, not reached
    review = _step(review, reviews.RECTIFIED, measures="加开窗口")  # an unreachable applicant cannot block it
    assert review.status == "rectified" and review.final and review.rectified_on == DAY
    review = _step(review, reviews.CALLED_BACK, reached=True, note="告知整改结果")  # telling them afterwards
    assert review.status == "rectified" and review.reached
    with pytest.raises(RuleError) as err:
        _step(review, reviews.RECTIFIED, measures="again")
    assert err.value.code == "review.already_rectified"
    with pytest.raises(RuleError) as err:
        _step(review, reviews.APPEALED, reason="x")
    assert err.value.code == "review.rectified"


def test_anonymous_review_needs_no_call_back_but_rectification():
    review = reviews.Review(real_name=False)
    assert review.status == "awaiting_rectification"
    with pytest.raises(RuleError) as err:
        _step(review, reviews.CALLED_BACK, reached=True)
    assert err.value.code == "review.anonymous"
    assert _step(review, reviews.RECTIFIED, measures="培训").status == "rectified"


def test_appeal_once_decided_by_someone_else():
    review = _step(reviews.Review(real_name=True), reviews.CALLED_BACK, reached=True, note="说明情况")
    assert review.status == "called_back"
    appealed = reviews.apply(review, reviews.APPEALED, _body(reason="恶意差评", staff="wang"), day=DAY)
    assert appealed.status == "appealed" and appealed.appealed_by == "wang"
    with pytest.raises(RuleError) as err:
        _step(appealed, reviews.RECTIFIED, measures="x")
    assert err.value.code == "review.appeal_pending"
    with pytest.raises(RuleError) as err:
        reviews.apply(appealed, reviews.APPEAL_DECIDED, _body(upheld=True, reason="x", staff="wang"), day=DAY)
    assert err.value.code == "review.same_person"
    upheld = _step(appealed, reviews.APPEAL_DECIDED, upheld=True, reason="监控显示按时办理")
    assert upheld.status == "upheld" and upheld.final and not upheld.counts
    assert reviews.allowed(upheld) == []
    rejected = _step(appealed, reviews.APPEAL_DECIDED, upheld=False, reason="确有等候过长")
    assert rejected.status == "called_back" and rejected.appeal == "rejected" and rejected.counts
    with pytest.raises(RuleError) as err:
        _step(rejected, reviews.APPEALED, reason="again")
    assert err.value.code == "review.appealed_once"
    assert _step(rejected, reviews.RECTIFIED, measures="调整").status == "rectified"


def test_overdue_and_late():
    due = dt.date(2026, 12, 2)
    review = reviews.Review(real_name=False)
    assert not review.overdue(due, due) and review.overdue(due, due + dt.timedelta(days=1))
    assert review.late(due, due + dt.timedelta(days=1))
    on_time = reviews.Review(real_name=False, rectified_on=due)
    assert not on_time.overdue(due, dt.date(2027, 1, 1)) and not on_time.late(due, dt.date(2027, 1, 1))
    late = reviews.Review(real_name=False, rectified_on=due + dt.timedelta(days=3))
    assert late.late(due, dt.date(2027, 1, 1)) and not late.overdue(due, dt.date(2027, 1, 1))
    upheld = reviews.Review(real_name=False, appeal="upheld")
    assert not upheld.late(due, dt.date(2027, 1, 1))
    pending = reviews.Review(real_name=False, appeal="pending")
    assert pending.overdue(due, dt.date(2027, 1, 1))  # an appeal does not stop the clock


@pytest.mark.parametrize("kind, body, code", [
    ("review.other", _body(), "review.unknown_kind"),
    (reviews.CALLED_BACK, _body(), "review.malformed"),                      # reached missing
    (reviews.CALLED_BACK, _body(reached="yes"), "review.malformed"),
    (reviews.RECTIFIED, _body(measures="  "), "review.malformed"),
    (reviews.APPEALED, _body(reason=7), "review.malformed"),
    (reviews.APPEAL_DECIDED, _body(upheld=1, reason="x"), "review.malformed"),
    (reviews.RECTIFIED, {**_body(measures="x"), "evaluation": "not-an-id"}, "review.malformed"),
    (reviews.RECTIFIED, {**_body(measures="x"), "staff": ""}, "review.malformed"),
])
def test_bodies_are_checked(kind, body, code):
    with pytest.raises(RuleError) as err:
        reviews.check_body(kind, body)
    assert err.value.code == code


def test_satisfaction_pct():
    assert reviews.satisfaction_pct(19, 20) == 95.0 and reviews.satisfaction_pct(0, 0) is None
    assert reviews.satisfaction_pct(2, 3) == 66.7
