"""The content of every notice, from realistic cases built on the packaged catalogue and calendar."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest

from casework import notices
from casework.calendar import WorkCalendar
from casework.cases import Event, fold, item_snapshot, new_event_body
from casework.catalogue import Catalogue, load
from casework.fees import assess_case
from casework.messages import RuleError

CASE = "320682-20260302-0007"
VILLAGE, TOWN = "V101001", "T0101"
NAMES = {f"node:{VILLAGE}": "如城街道大明村便民服务室", f"node:{TOWN}": "如城街道便民服务中心"}
PERSON = {"type": "person", "name": "王秀英", "id_type": "resident_id", "id_number": "320682195003151234",
          "phone": "13812345678"}
COMPANY = {"type": "organisation", "name": "如皋市长江机械有限公司", "id_type": "credit_code",
           "id_number": "91320682MA1XXXXX3L", "phone": "051387654321"}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load()


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.packaged()


class Case:
    """Events of one case, each appended with `after` = the heads of everything before it."""

    def __init__(self, catalogue: Catalogue, calendar: WorkCalendar) -> None:
        self.catalogue, self.calendar, self.events, self.seq = catalogue, calendar, [], 0

    def add(self, origin: str, kind: str, time: str, *, window: str | None = None, **fields: Any) -> Event:
        after = fold(self.events).heads
        body = new_event_body(kind, case=CASE, after=after, window=window, **fields)
        self.seq += 1
        digest = hashlib.sha256(json.dumps([origin, self.seq, kind, body], ensure_ascii=False).encode()).hexdigest()
        event = Event(digest, origin, self.seq, f"case.{kind}", body, time)
        self.events.append(event)
        return event

    def receive(self, code: str, origin: str = "C", *, applicant: dict[str, Any] = PERSON,
                missing: tuple[str, ...] = (), time: str = "2026-03-02T10:00:00", **kw: Any) -> Event:
        item = self.catalogue.item(code)
        provided = [m.name for m in item.materials if m.name not in missing]
        window = item.window if origin == "C" else None
        return self.add(origin, "received", time, window=window, item=item_snapshot(item), applicant=applicant,
                        materials=provided, **kw)

    @property
    def state(self) -> Any:
        state = fold(self.events, calendar=self.calendar)
        assert state.conflicts == () and state.pending == ()
        return state


def test_receipt_of_a_counter_case(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    case.receive("BDC002")
    receipt = notices.receipt(case.state, catalogue=catalogue)
    assert receipt.kind == "receipt" and receipt.title == "受理回执"
    assert receipt.number == receipt.case == CASE and receipt.date == dt.date(2026, 3, 2)
    window = catalogue.window(catalogue.item("BDC002").window)
    assert receipt.place == f"如皋市行政服务中心{window.name}（{window.place}）"
    assert receipt.applicant == "王秀英" and receipt.value("applicant") == ""  # the name is printed once
    assert receipt.value("applicant_id") == "320682********1234"
    assert receipt.value("applicant_phone") == "138****5678"
    assert "320682195003151234" not in json.dumps(receipt.to_data(), ensure_ascii=False)
    assert receipt.status_path == f"/status?case={CASE}"
    assert receipt.table and all(row[3] == "已收" for row in receipt.table["rows"])
    assert "第三十二条" in receipt.legal
    assert any("承诺时限" in line for line in receipt.lines)


def test_receipt_of_a_forwarded_village_case_says_where_it_went(catalogue: Catalogue,
                                                                 calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    case.receive("GS001", VILLAGE, proxy={"name": "李主任", "phone": "13900001111", "authorisation": "授权委托书"})
    before = notices.receipt(case.state, names=NAMES, catalogue=catalogue)
    assert before.place == "如城街道大明村便民服务室"
    assert any("市行政服务中心办理" in line and "代为转报" in line for line in before.lines)
    assert before.value("proxy") == "李主任（139****1111）"
    case.add(VILLAGE, "forwarded", "2026-03-02T10:30:00", to=f"node:{TOWN}")
    case.add(TOWN, "handover_accepted", "2026-03-02T14:00:00")
    case.add(TOWN, "forwarded", "2026-03-02T14:10:00", to="window:W64")
    after = notices.receipt(case.state, names=NAMES, catalogue=catalogue)
    line = next(line for line in after.lines if "转报" in line)
    assert "如城街道便民服务中心→如皋市行政服务中心" in line and "由市行政服务中心负责办理" in line
    assert after.place == before.place and after.date == before.date  # the receipt is the village's


def test_supplement_notice_lists_every_missing_material(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    item = catalogue.item("ZJJ001")
    required = [m.name for m in item.materials if m.required]
    case.receive("ZJJ001", applicant=COMPANY, missing=tuple(required[:2]))
    case.add("C", "supplement_requested", "2026-03-02T11:00:00", window=item.window, missing=required[:2],
             deadline="2026-03-09")
    notice = notices.supplement_notice(case.state, catalogue=catalogue)
    assert notice.title == "补办件通知单"
    assert [row[1] for row in notice.table["rows"]] == required[:2]
    assert notice.table["rows"][0][2] in {"原件1份", "复印件1份", "原件及复印件1份"}
    assert "《中华人民共和国行政许可法》第三十二条" in notice.legal and "一次告知" in notice.legal
    assert any("2026年3月9日前" in line for line in notice.lines)
    assert notice.value("applicant_id") == "91320682********3L"
    assert any("一次性告知" in line for line in notice.lines)


def test_promise_notice_with_pause_and_tolerated_gap(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    item = catalogue.item("ZJJ001")
    gap = [m.name for m in item.materials if m.gap_allowed]
    case.receive("ZJJ001", applicant=COMPANY, missing=tuple(gap))
    due = calendar.add_working_days(dt.datetime(2026, 3, 2, 10, 5), item.promised_limit_days).date
    case.add("C", "accepted", "2026-03-02T10:05:00", window=item.window, gap=gap, due_date=due.isoformat(),
             commitment={"signed_by": "张经理", "text": "承诺按期补交", "deadline": due.isoformat()})
    case.add("C", "promised", "2026-03-02T10:06:00", window=item.window, due_date=due.isoformat())
    case.add("C", "clock_paused", "2026-03-03T09:00:00", window=item.window, reason="expert_review")
    case.add("C", "clock_resumed", "2026-03-05T09:00:00", window=item.window)
    state = case.state
    notice = notices.promise_notice(state, catalogue=catalogue)
    assert notice.title == "承诺件通知单"
    assert notice.value("promised_days") == f"{item.promised_limit_days}个工作日"
    assert notice.value("accepted_on") == "2026年3月2日"
    assert state.paused_days == 2 and state.due_date == calendar.add_working_days(due, 2).date
    assert notice.value("due_date") == f"{state.due_date.year}年{state.due_date.month}月{state.due_date.day}日"
    assert any("专家评审" in line and "暂停计时2个工作日" in line for line in notice.lines)
    assert any("容缺受理" in line and f"{due.month}月{due.day}日前补交" in line for line in notice.lines)
    assert "第四十五条" in notice.legal and not notice.provisional


def test_immediate_case_delivery_notice(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    case.receive("SW006", VILLAGE)
    case.add(VILLAGE, "accepted", "2026-03-02T10:01:00")
    case.add(VILLAGE, "finished", "2026-03-02T10:10:00")
    with pytest.raises(RuleError):
        notices.promise_notice(fold(case.events[:1]))
    case.add(VILLAGE, "licence_issued", "2026-03-02T10:11:00", licence={"number": "SB-2026-0042", "name": "缴费凭证"})
    case.add(VILLAGE, "delivered", "2026-03-02T10:12:00", method="on_the_spot", recipient="王秀英")
    notice = notices.delivery_notice(case.state, names=NAMES)
    assert notice.title == "送达通知书" and notice.place == "如城街道大明村便民服务室"
    assert notice.value("outcome") == "准予许可"
    assert notice.value("licence") == "缴费凭证　SB-2026-0042"
    assert notice.value("method") == "当场送达" and notice.value("recipient") == "王秀英"
    assert notice.value("delivered_on") == "2026年3月2日"
    assert notices.available(case.state) == ["receipt", "delivery"]  # nothing to promise on the spot


def test_payment_notice_from_fee_standards(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    item = catalogue.item("GA008")
    case.receive("GA008")
    assessment = assess_case(catalogue.fees_for(item), [{"fee": f} for f in item.fees])
    lines = assessment.to_data()["lines"]
    assessed = case.add("C", "fee_assessed", "2026-03-02T10:05:00", window=item.window, lines=lines,
                        notice="JK-320682-0001")
    notice = notices.payment_notice(case.state, catalogue=catalogue)
    assert notice.title == "缴款通知单" and notice.number == "JK-320682-0001" and notice.case == CASE
    assert notice.total_fen == assessment.total_fen > 0
    assert [row[1] for row in notice.table["rows"]] == [line["name"] for line in lines]
    assert all(row[5] == "是" for row in notice.table["rows"])  # passport fees are pre-fees
    assert notice.value("payable_at") == "如皋市行政服务中心结算中心（一楼 70号窗口、一楼 71号窗口）"
    assert any("前置收费" in line for line in notice.lines)
    case.add("C", "fee_paid", "2026-03-02T10:20:00", window="W70", assessment=assessed.id,
             amount_fen=assessment.total_fen)
    paid = notices.payment_notice(case.state, assessed.id, catalogue=catalogue)
    assert any(line.startswith("已缴款") for line in paid.lines)


def test_refusal_notice_states_reason_and_rights(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    item = catalogue.item("BDC002")
    case.receive("BDC002")
    case.add("C", "refused", "2026-03-03T09:00:00", window=item.window, reason="申请事项不属于本机关职权范围")
    notice = notices.refusal_notice(case.state, catalogue=catalogue)
    assert notice.title == "不予受理通知书" and notice.date == dt.date(2026, 3, 3)
    assert notice.value("reason") == "申请事项不属于本机关职权范围"
    assert "六十日内" in notice.value("rights") and "六个月内" in notice.value("rights")
    assert "行政复议" in notice.value("rights") and "行政诉讼" in notice.value("rights")
    assert notices.available(case.state) == ["receipt", "refusal"]


def test_return_notice(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    item = catalogue.item("BDC002")
    case.receive("BDC002")
    case.add("C", "returned", "2026-03-02T10:30:00", window=item.window, reason="申请人要求取回材料另行申请")
    notice = notices.notice("return", case.state, catalogue=catalogue)
    assert notice.title == "退件通知单" and notice.value("reason") == "申请人要求取回材料另行申请"
    assert sorted(row[1] for row in notice.table["rows"]) == sorted(m.name for m in item.materials)


def test_notices_not_yet_due_are_refused(catalogue: Catalogue, calendar: WorkCalendar) -> None:
    case = Case(catalogue, calendar)
    case.receive("BDC002")
    for kind in ("supplement", "promise", "delivery", "payment", "return", "refusal"):
        with pytest.raises(RuleError) as err:
            notices.notice(kind, case.state)
        assert err.value.code == "notice_not_due"
    with pytest.raises(RuleError):
        notices.notice("nonsense", case.state)


def test_guide_sheet_lists_items_in_order_with_windows(catalogue: Catalogue) -> None:
    ptype = catalogue.project_type("GYJS")
    card = notices.Card(number="YKT-320682-2026-0001", project="年产5万台机械零部件项目", project_type="GYJS",
                        applicant=COMPANY["name"], investment_fen=120_000_000_00, contact="张经理",
                        phone="13812345678", credit_code=COMPANY["id_number"], issued_on=dt.date(2026, 3, 2))
    sheet = notices.guide_sheet(card, catalogue)
    assert sheet.title == "导办服务单" and sheet.number == card.number and sheet.case == ""
    assert sheet.place.endswith("一卡通服务窗口")
    assert [row[1] for row in sheet.table["rows"]] == [catalogue.item(c).name for c in ptype.item_codes]
    first = catalogue.item(ptype.item_codes[0])
    assert sheet.table["rows"][0][3].startswith(catalogue.window(first.window).code)
    steps = [int(row[0]) for row in sheet.table["rows"]]
    assert steps == sorted(steps) and steps[0] == 1
    assert sheet.value("investment") == "12000"
    assert sheet.value("contact") == "张经理（138****5678）"
    assert sheet.value("credit_code") == "91320682********3L"
    joint = [row for row in sheet.table["rows"] if row[0] == "4"]
    assert all(row[5].startswith("联办") for row in joint) and len({row[5] for row in joint}) == 2
    assert sheet.status_path == "/status?card=YKT-320682-2026-0001"
