"""Demo ratings for a central that already has finished cases (bianmin demo, screenshots, trying the
pages): every rating and every step of the bad-review workflow goes through Central's record paths
(`Central.act`, `remote_ratings.rate`, `Central.sign` after `casework.reviews.apply`), exactly as the
pages would sign them, so the demo's tables are what a rebuild gives.

`add_ratings(central, rng)` rates the finished cases nobody has rated yet: mostly satisfied, a few
acceptable, about one in eight bad with a reason an applicant would give; then one bad review is
called back and rectified, one is appealed by its window and the appeal upheld by a supervisor, and
the rest stay open for the supervision office to work on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from casework import reviews
from central import remote_ratings, reviews_store
from central.runtime import Central
from store.cases import list_cases

BAD_REASONS = (
    "窗口人员解释不耐心，同一个问题问了三遍才说清楚",
    "材料清单与窗口实际要求不一致，多跑了一趟",
    "排队等候近两个小时，只开了一个窗口",
    "承诺办结日期到了没有人通知",
    "电话咨询一直无人接听",
)
GOOD_REMARKS = ("办理很快，态度很好", "一次就办好了", "", "", "")
STAFF_WINDOW = "demo-window"
STAFF_SUPERVISOR = "demo-supervisor"
STAFF_SECOND = "demo-director"  # an appeal is decided by someone other than who recorded it


@dataclass
class DemoSummary:
    rated: int = 0
    bad: list[str] = field(default_factory=list)  # evaluation record ids
    rectified: str = ""
    appealed: str = ""


def _level(rng: random.Random) -> int:
    return rng.choices([5, 4, 3, 2, 1], weights=[60, 22, 6, 8, 4])[0]


def add_ratings(central: Central, rng: random.Random, *, limit: int = 200,
                skip_origins: tuple[str, ...] = ()) -> DemoSummary:
    """Rate up to `limit` finished, unrated cases and work two of the bad reviews (module docstring).
    Cases received at `skip_origins` are left alone (the demo's sub-centres have already signed
    their monthly reports: a late rating would make central's check of them differ)."""
    summary = DemoSummary()
    window_bad_ids: set[str] = set()
    with central.log._lock:
        page = list_cases(central.log.db, status=["finished", "licence_issued", "delivered"], limit=limit,
                          order="received")
    for row in page.rows:
        if row.number.split("-", 1)[0] in skip_origins:
            continue
        state = central.fold(row.number)
        if state is None or state.evaluations:
            continue
        holder = state.holder or ""
        window_bad = sum(1 for e in summary.bad if e in window_bad_ids)
        # the first two cases a window decided get bad ratings, so the workflow always has one to
        # rectify and one to appeal whatever the random draw
        level = rng.choice([1, 2]) if holder.startswith("window:") and window_bad < 2 else _level(rng)
        reason = rng.choice(BAD_REASONS) if level <= 2 else (rng.choice(GOOD_REMARKS) or None)
        if holder.startswith("window:") and rng.random() < 0.6:
            record = central.act(row.number, "case.evaluated", window=holder.split(":", 1)[1], staff=STAFF_WINDOW,
                                 level=level, reason=reason, channel="counter", real_name=rng.random() < 0.7)
        else:
            try:
                record = remote_ratings.rate(central, row.number, level=level, reason=reason,
                                             channel=rng.choice(["sms", "sms", "web"]), real_name=True)
            except remote_ratings.RatingRefused:
                continue
        summary.rated += 1
        if reviews.is_bad(level):
            summary.bad.append(record.id)
            if holder.startswith("window:"):
                window_bad_ids.add(record.id)
    open_window_reviews = [r for r in (reviews_store.get(central.log.db, e) for e in summary.bad)
                           if r is not None and r.unit.startswith("window:")]
    if open_window_reviews:
        first = open_window_reviews[0]
        if first.real_name:
            _step(central, first, reviews.CALLED_BACK, STAFF_SUPERVISOR, reached=True,
                  note="已电话联系申请人，致歉并说明改进措施，申请人表示理解")
        _step(central, first, reviews.RECTIFIED, STAFF_WINDOW,
              measures="窗口一次性告知清单与系统材料目录核对一致；高峰时段增开一个受理窗口；全员业务培训一次")
        summary.rectified = first.id
    if len(open_window_reviews) > 1:
        second = open_window_reviews[1]
        _step(central, second, reviews.APPEALED, STAFF_WINDOW,
              reason="经调取窗口监控，申请人所述时段本窗口无排队，评价内容与事实不符")
        _step(central, second, reviews.APPEAL_DECIDED, STAFF_SECOND, upheld=True,
              reason="核查监控与叫号记录属实，差评不计入满意率")
        summary.appealed = second.id
    return summary


def _step(central: Central, row: reviews_store.ReviewRow, kind: str, staff: str, **fields: object) -> None:
    body = {"case": row.case_number, "evaluation": row.id, "staff": staff, **fields}
    with central.one_at_a_time(), central.log.transaction() as db:
        now = reviews_store.get(db, row.id)
        assert now is not None
        reviews.apply(now.review, kind, body, day=central.today())
        central.sign(kind, body)
