"""Demo data for the personal-data pages (issue 8), made through the record paths only.

`central_demo(central, rng)` publishes a retention policy version and signs about three weeks of
access records at central: window clerks printing notices and opening scans of the cases at their
windows, a few numbers shown in full with their reasons, a supervisor's export, and one clerk who
opened far more scans than the others (so `/supervision/access` has something to stand out).
`node_demo(node, rng)` does the same for a service point's clerks on its own cases; its records
reach the city with the node's next sync. Both append with past times (a record's time is the
origin's clock, information only), like installer.casegen.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from casework.retention import KIND as POLICY_KIND
from central.runtime import Central
from node.context import Node
from store import accounts, cases
from store import retention as store_retention
from web.access_log import KIND, access_body, subject_of

CHINA = dt.timezone(dt.timedelta(hours=8))
NOTICES = ("receipt", "receipt", "promise", "delivery", "supplement")
REASONS = (("verify_identity", ""), ("contact_applicant", "电话告知补件"), ("department_system", "录入公安业务系统"),
           ("applicant_present", "本人到场核对"), ("other", "申请人遗失回执，核对身份后补打"))


def _when(rng: random.Random, days: int) -> str:
    day = dt.datetime.now(CHINA) - dt.timedelta(days=rng.randrange(1, days + 1))
    return day.replace(hour=rng.randrange(9, 17), minute=rng.randrange(60), second=0, microsecond=0).isoformat()


def _staff(account: Any) -> dict[str, Any]:
    return {"username": account.username, "name": account.display_name, "roles": list(account.roles)}


def _one(rng: random.Random, state: Any, staff: dict[str, Any], place: str, *, scans_bias: float = 0.3
         ) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    if roll < scans_bias and state.material_scans:
        scan = rng.choice([s for s in state.material_scans if s.get("sha256")] or [{"sha256": "0" * 64}])
        return KIND, access_body("view_scan", staff=staff, place=place, case=state.number,
                                 what={"scan": scan["sha256"][:16], "material": scan.get("material")},
                                 subject=subject_of(state))
    if roll < 0.85:
        return KIND, access_body("print_notice", staff=staff, place=place, case=state.number,
                                 what={"notice": rng.choice(NOTICES)}, subject=subject_of(state))
    code, text = rng.choice(REASONS)
    action = "unmask_id" if rng.random() < 0.7 else "unmask_phone"
    return KIND, access_body(action, staff=staff, place=place, case=state.number, what={"field": "applicant"},
                             subject=subject_of(state), reason={"code": code, "text": text})


def central_demo(central: Central, rng: random.Random, *, days: int = 21, per_day: int = 6) -> int:
    """See the module docstring; returns how many records were signed."""
    db = central.log.db
    signed = 0
    if store_retention.current(db).version == 0:
        central.log.append(POLICY_KIND, {"version": 1, "note": "按《个人信息保护法》和本市规定确定保存期限",
                                         "staff": "admin", "settings": {"node_scans_days": 30, "sms_days": 30,
                                                                        "ops_log_days": 365, "backup_days": 7}},
                           time=_when(rng, days))
        signed += 1
    clerks = [a for a in accounts.all_accounts(db) if a.active and a.has_role("window_clerk", "card_clerk")]
    supervisors = [a for a in accounts.all_accounts(db) if a.active and a.has_role("supervisor")]
    page = cases.list_cases(db, order="recent", limit=200)
    states = [s for s in (central.fold(row.number) for row in page.rows) if s is not None and s.number]
    if not clerks or not states:
        return signed
    busy = clerks[0]
    for _ in range(days * per_day):
        clerk = rng.choice(clerks)
        state = rng.choice(states)
        window = (state.holder or "").removeprefix("window:") if (state.holder or "").startswith("window:") else ""
        place = f"window:{window}" if window else "central"
        central.log.append(*_one(rng, state, _staff(clerk), place), time=_when(rng, days))
        signed += 1
    for _ in range(days * 3):   # one clerk opens many more scans than the others: the page marks it
        state = rng.choice(states)
        central.log.append(*_one(rng, state, _staff(busy), "central", scans_bias=0.9), time=_when(rng, days))
        signed += 1
    if supervisors:
        staff = _staff(supervisors[0])
        central.log.append(KIND, access_body("export", staff=staff, place="central",
                                             what={"name": "access-demo.xlsx", "rows": signed}), time=_when(rng, 3))
        signed += 1
    return signed


def node_demo(node: Node, rng: random.Random, *, days: int = 21, per_day: int = 3) -> int:
    """The same at a service point, by its own clerks on its own cases; returns how many records."""
    db = node.log.db
    clerks = [a for a in accounts.all_accounts(db) if a.active and a.has_role("village_clerk", "town_clerk")
              and a.acts_for(node.config.node_id)]
    page = cases.list_cases(db, order="recent", limit=100)
    states = [s for s in (cases.get_case_state(db, row.number) for row in page.rows) if s is not None and s.number]
    if not clerks or not states:
        return 0
    for _ in range(days * per_day):
        node.log.append(*_one(rng, rng.choice(states), _staff(rng.choice(clerks)), node.config.place),
                        time=_when(rng, days))
    return days * per_day
