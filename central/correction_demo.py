"""Demo data for scorecard versions and corrections, through the record paths the pages use.

`record_demo(central)` signs what a centre would have done after `central.assessment_demo` published
last quarter: the supervisor revises the scorecard (one clause: late arrival and early leaving now
costs 2 points an occurrence, by the centre's revised rules) as version 2, in force from next
quarter; and last quarter gets one correction, a finding that should not have counted (the staff
concerned had leave approved, shown later with the approval slip), filed by one supervisor and
approved by another, so the quarter's pages, the public bulletin and the awards show it as
corrected. A second run adds nothing; with no published quarter there is nothing to correct.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from casework.assessment import parse_scorecard
from central import (
    assessment_corrections,
    assessment_store,
    correction_store,
    scorecard_records,
    scorecard_store,
)
from central import correction_records as kinds
from central.assessment_demo import _evidence, _photo
from central.assessment_records import SIGNING
from central.quarters import Quarter
from central.runtime import Central
from store.accounts import all_accounts
from sync.blobs import BlobStore

REVISED_CLAUSE = "R01"
REVISION_NOTE = "依据中心《分中心管理考核办法（修订）》：工作人员无故缺勤、迟到早退每次扣2分"
CORRECTION_REASON = "经复核，所涉两名工作人员当日已按规定办理请假手续（请假审批单事后补交），该项扣分撤销"


@dataclass(frozen=True)
class CorrectionDemo:
    version: int | None  # the scorecard version signed, if one was
    corrected: str | None  # the quarter corrected, if one was
    correction: str | None  # its record id
    approved: bool


def _supervisors(central: Central) -> list[str]:
    with central.log._lock:
        return sorted(a.username for a in all_accounts(central.log.db) if a.active and "supervisor" in a.roles)


def record_demo(central: Central, *, rng: random.Random | None = None, filer: str | None = None,
                approver: str | None = None) -> CorrectionDemo:
    """Version 2 of the scorecard from next quarter, and one approved correction of the last published
    quarter (see the module). `filer` and `approver` default to two different supervisors."""
    rng = rng or random.Random(2027)
    scorecard_records.seed(central)
    people = _supervisors(central)
    filer = filer or (people[0] if people else "admin")
    approver = approver or next((p for p in people if p != filer), None)
    version = _revise(central, filer)
    quarter, correction, approved = _correct(central, rng, filer, approver)
    return CorrectionDemo(version, quarter, correction, approved)


def _revise(central: Central, staff: str) -> int | None:
    with central.log._lock:
        if scorecard_store.current_version(central.log.db) > 1:
            return None
        base = scorecard_store.in_force(central.log.db, Quarter.of(central.today()).next().text)
    assert base is not None
    data = base.card.to_data()
    for part in data["part"]:
        for clause in part["deduction"]:
            if clause["code"] == REVISED_CLAUSE:
                clause["points"], clause["cap"] = 2, 8
    return scorecard_records.publish(central, parse_scorecard(data), from_quarter=Quarter.of(central.today()).next(),
                                     note=REVISION_NOTE, staff=staff)


def _correct(central: Central, rng: random.Random, filer: str,
             approver: str | None) -> tuple[str | None, str | None, bool]:
    with central.log._lock:
        db = central.log.db
        published = assessment_store.published_quarters(db)
        if not published or correction_store.of_subject(db, "quarter", published[0].quarter):
            return None, None, False
        quarter = published[0].quarter
        target = next((e for e in assessment_store.entries(db, quarter) if e.active and e.kind == "finding"), None)
    if target is None:
        return None, None, False
    blobs = BlobStore(central.data.blobs)
    try:
        evidence = [_evidence(blobs, _photo(rng, f"{target.unit} leave slip"), "请假审批单.png")]
    finally:
        blobs.close()
    with SIGNING:
        filed = central.sign(kinds.QUARTER_FILED, kinds.check(kinds.QUARTER_FILED, {
            "quarter": quarter, "unit": target.unit, "change": {"op": "withdraw", "entry": target.id},
            "reason": CORRECTION_REASON, "evidence": evidence, "staff": filer}))
    if approver is None:
        return quarter, filed.id, False
    with SIGNING:
        card, _version = scorecard_records.scorecard_for(central, Quarter.parse(quarter))
        with central.log._lock:
            correction = correction_store.get(central.log.db, filed.id)
            assert correction is not None
            units = assessment_corrections.effect(central.log.db, correction, card).after
        central.sign(kinds.QUARTER_DECIDED, kinds.check(kinds.QUARTER_DECIDED, {
            "correction": filed.id, "quarter": quarter, "outcome": "approved",
            "note": "已核对请假审批单原件，同意更正", "units": units, "staff": approver}))
    return quarter, filed.id, True
