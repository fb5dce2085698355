"""store.cases: a case's life through signed records into its `cases` row; lists, search, counts.

Real SQLite files, a real LogStore, records signed with generated keys: central appends its own
records, town and village records are signed with their keys and ingested as an upload would be.
(Named test_store_cases.py: tests/casework/test_cases.py already takes the module name.)
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from casework.cases import Status, new_event_body
from store import cases, counters, projections
from sync.envelope import Record, sign_record
from sync.keys import NodeKey
from sync.logstore import LogStore

NET = "test"
CENTRAL = NodeKey.generate()
TOWN, VILLAGE = "T0101", "V010101"
KEYS = {TOWN: NodeKey.generate(), VILLAGE: NodeKey.generate()}
CHINA = dt.timezone(dt.timedelta(hours=8))

CITY_ITEM = {
    "code": "zjj001", "name": "建设工程规划许可证核发", "department": "zjj", "window": "W12",
    "kind": "promised", "handle_tier": "city", "promised_limit_days": 10, "legal_limit_days": 20,
    "materials": [{"name": "申请表", "required": True}, {"name": "土地证明", "required": True}],
    "fees": [],
}
VILLAGE_ITEM = {
    "code": "mzj003", "name": "老年优待证办理", "department": "mzj", "window": "W03",
    "kind": "immediate", "handle_tier": "village", "promised_limit_days": 0, "legal_limit_days": 5,
    "materials": [{"name": "身份证", "required": True}],
}
ID_NUMBER = "320682195003151234"
PHONE = "13812345678"


def person(name: str = "王秀英", id_number: str = ID_NUMBER, phone: str = PHONE) -> dict[str, Any]:
    return {"type": "person", "name": name, "id_type": "resident_id", "id_number": id_number, "phone": phone}


class Network:
    """A central LogStore with the projections, and places that act on cases through records."""

    def __init__(self, log: LogStore) -> None:
        self.log = log
        self.db = log.db
        self.heads: dict[str, tuple[int, str | None]] = {}

    def sign(self, origin: str, kind: str, body: dict[str, Any], time: str) -> Record:
        """A record of `origin` stored at central: appended (central) or ingested (a node's upload)."""
        if origin == "C":
            return self.log.append(kind, body, time=time)
        seq, prev = self.heads.get(origin, (0, None))
        record = sign_record(KEYS[origin], net=NET, origin=origin, seq=seq + 1, prev=prev, kind=kind,
                             body=body, time=time)
        result = self.log.ingest([record])
        assert result.ok and result.decisions[0].outcome == "accepted", result.decisions
        self.heads[origin] = (seq + 1, record.id)
        return record

    def receive(self, origin: str, *, item: dict[str, Any] = CITY_ITEM, applicant: dict[str, Any] | None = None,
                materials: list[str] | None = None, day: dt.date = dt.date(2026, 3, 2), hour: int = 10,
                window: str | None = None, **fields: Any) -> str:
        with self.log.transaction() as db:
            number = counters.next_case_number(db, origin, day).text
            body = new_event_body("received", case=number, after=[], window=window if origin == "C" else None,
                                  item=item, applicant=applicant or person(),
                                  materials=materials if materials is not None else [m["name"] for m in item["materials"]],
                                  **fields)
            self.sign(origin, "case.received", body, _time(day, hour))
        return number

    def act(self, origin: str, number: str, kind: str, *, day: dt.date = dt.date(2026, 3, 2), hour: int = 11,
            window: str | None = None, after: list[str] | None = None, **fields: Any) -> Record:
        state = cases.get_case_state(self.db, number)
        assert state is not None
        heads = list(state.heads) if after is None else after
        body = new_event_body(kind, case=number, after=heads, window=window, **fields)
        return self.sign(origin, f"case.{kind}", body, _time(day, hour))

    def row(self, number: str, today: dt.date = dt.date(2026, 3, 3)) -> cases.CaseRow:
        found = cases.get_case_row(self.db, number, today=today)
        assert found is not None
        return found


def _time(day: dt.date, hour: int) -> str:
    return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=CHINA).isoformat()


def open_central(path: Path) -> LogStore:
    log = LogStore.open(path, network=NET, origin="C", signer=CENTRAL)
    projections.register_all(log)
    if log.head("C")[0] == 0:
        for node, key in KEYS.items():
            tier = "town" if node[0] == "T" else "village"
            log.append("node.enrolled", {"node": node, "tier": tier, "name": f"{node} 便民服务中心",
                                         "public_key": key.public.hex(), "key": key.key_id, "from_seq": 1})
    return log


@pytest.fixture
def net(tmp_path: Path) -> Network:
    return Network(open_central(tmp_path / "central.sqlite"))


# --- a case's life -----------------------------------------------------------------------------

def test_a_village_proxy_case_through_its_whole_life(net: Network) -> None:
    proxy = {"name": "村代办员李四", "authorisation": "委托书"}
    number = net.receive(VILLAGE, proxy=proxy, card=None)
    row = net.row(number)
    assert (row.status, row.holder, row.received_by, row.origin) == ("received", f"node:{VILLAGE}",
                                                                    f"node:{VILLAGE}", VILLAGE)
    assert (row.item_code, row.item_name, row.department, row.window, row.item_kind) == (
        "zjj001", "建设工程规划许可证核发", "zjj", "W12", "promised")
    assert row.proxy and row.open and row.due_date is None and row.events == 1
    assert (row.applicant_name, row.id_masked, row.phone_masked) == ("王秀英", "320682********1234", "138****5678")
    assert row.received_at == "2026-03-02T10:00:00" and row.received_date == "2026-03-02"

    net.act(VILLAGE, number, "forwarded", to="window:W12")
    row = net.row(number)
    assert (row.status, row.holder, row.pending_holder) == ("forwarded", f"node:{VILLAGE}", "window:W12")
    assert [r.number for r in cases.list_cases(net.db, place="window:W12")[0]] == [number]

    net.act("C", number, "handover_accepted", window="W12", hour=14)
    row = net.row(number)
    assert (row.status, row.holder, row.pending_holder) == ("received", "window:W12", None)

    assessed = net.act("C", number, "fee_assessed", window="W12", hour=15,
                       lines=[{"fee": "F0101", "name": "登记费", "amount_fen": 8000, "pre_fee": True}])
    row = net.row(number)
    assert (row.assessed_fen, row.paid_fen, row.outstanding_fen, row.pre_fee_unpaid) == (8000, 0, 8000, True)
    net.act("C", number, "fee_paid", hour=16, assessment=assessed.id, amount_fen=8000, receipt="R1")
    row = net.row(number)
    assert (row.paid_fen, row.balance_fen, row.outstanding_fen, row.pre_fee_unpaid) == (8000, 8000, 0, False)

    net.act("C", number, "accepted", window="W12", day=dt.date(2026, 3, 3), hour=9)
    row = net.row(number)
    assert row.status == "accepted" and row.accepted_at == "2026-03-03T09:00:00"
    assert row.due_date == "2026-03-17"  # 10 working days after 3 March 2026
    net.act("C", number, "clock_paused", window="W12", day=dt.date(2026, 3, 4), reason="expert_review")
    row = net.row(number)
    assert row.paused and row.status == "paused"
    net.act("C", number, "clock_resumed", window="W12", day=dt.date(2026, 3, 6))
    row = net.row(number)
    assert not row.paused and row.status == "accepted" and row.due_date == "2026-03-19"  # two days paused
    net.act("C", number, "finished", window="W12", day=dt.date(2026, 3, 20))
    row = net.row(number)
    assert (row.status, row.finished_at, row.late) == ("finished", "2026-03-20T11:00:00", True)
    net.act("C", number, "licence_issued", window="W12", day=dt.date(2026, 3, 20), hour=12,
            licence={"number": "建字第320682202600001号"})
    net.act("C", number, "delivered", window="W12", day=dt.date(2026, 3, 20), hour=13, method="village")
    net.act(VILLAGE, number, "evaluated", day=dt.date(2026, 3, 21), level=2, reason="等了太久")
    row = net.row(number)
    assert (row.status, row.open, row.closed_at) == ("delivered", False, "2026-03-20T13:00:00")
    assert (row.evaluation_level, row.bad_review, row.conflicts, row.events) == (2, True, 0, 12)
    assert row.last_event_at == "2026-03-21T11:00:00"

    state = cases.get_case_state(net.db, number)
    assert state is not None and state.status is Status.DELIVERED and state.conflicts == ()
    records = cases.case_events(net.db, number)
    assert [r.kind for r in records][:3] == ["case.received", "case.forwarded", "case.handover_accepted"]
    assert len(records) == 12 and all(r.body["case"] == number for r in records)


def test_the_plain_id_and_phone_never_enter_the_projection(net: Network) -> None:
    net.receive("C", window="W12")
    net.receive(TOWN, item=VILLAGE_ITEM, applicant=person("赵六", "32068219800101123X", "13900001111"))
    dump = json.dumps([list(r) for r in net.db.execute("SELECT * FROM cases")], ensure_ascii=False)
    for secret in (ID_NUMBER, PHONE, "32068219800101123X", "13900001111", "195003151234"):
        assert secret not in dump
    assert "3206************3X" not in dump and "320682********123X" in dump


def test_the_search_hash_key_differs_per_file(tmp_path: Path) -> None:
    a = Network(open_central(tmp_path / "a.sqlite"))
    b = Network(open_central(tmp_path / "b.sqlite"))
    na, nb = a.receive("C", window="W12"), b.receive("C", window="W12")
    assert a.row(na).id_hash != b.row(nb).id_hash
    assert cases.keyed_hash(a.db, "320682 1950 0315 1234") == a.row(na).id_hash


def test_conflicts_are_counted_and_shown(net: Network) -> None:
    number = net.receive("C", window="W12")
    accepted = net.act("C", number, "accepted", window="W12")
    # another window, which is not the holder, tries to change the status
    intruder = net.act("C", number, "promised", window="W05", after=[accepted.id], due_date="2026-03-10")
    # two PCs of the holder change it without knowing of each other: one applies, the other conflicts
    seen = [accepted.id, intruder.id]
    net.act("C", number, "finished", window="W12", after=seen)
    net.act("C", number, "clock_paused", window="W12", after=seen, reason="hearing")
    row = net.row(number)
    assert row.status in ("finished", "paused") and row.conflicts == 2 and row.events == 5
    state = cases.get_case_state(net.db, number)
    assert sorted(c.code for c in state.conflicts) == ["concurrent_change", "not_holder"]  # type: ignore[union-attr]
    assert cases.board_counts(net.db, today=dt.date(2026, 3, 3))["conflicts"] == 1
    assert [r.number for r in cases.list_cases(net.db, status=row.status)[0]] == [number]


def test_a_case_record_without_a_case_is_listed_not_raised(net: Network) -> None:
    record = net.log.append("case.note_added", {"text": "no case number"})
    assert net.db.execute("SELECT count(*) FROM cases").fetchone()[0] == 0
    assert [p["record_id"] for p in projections.problems(net.db)] == [record.id]


# --- lists, search, counts ---------------------------------------------------------------------

@pytest.fixture
def many(net: Network) -> dict[str, str]:
    """A dozen cases in different states, places and departments."""
    day = dt.date(2026, 3, 2)
    made: dict[str, str] = {}
    made["fresh"] = net.receive("C", window="W12", applicant=person("王秀英"))
    made["waiting"] = net.receive("C", window="W12", applicant=person("王小明", "320682199001011235", "13700000001"),
                                  materials=["申请表"])
    net.act("C", made["waiting"], "supplement_requested", window="W12", missing=["土地证明"])
    made["accepted"] = net.receive("C", window="W12", applicant=person("李娜", "320682199202021236", "13700000002"))
    net.act("C", made["accepted"], "accepted", window="W12")  # due 2026-03-16
    made["overdue"] = net.receive("C", window="W12", applicant=person("张伟", "320682199303031237", "13700000003"),
                                  day=dt.date(2026, 2, 2))
    net.act("C", made["overdue"], "accepted", window="W12", day=dt.date(2026, 2, 2))  # due 2026-02-14 (a make-up working Saturday)
    made["paused"] = net.receive("C", window="W12", applicant=person("刘洋", "320682199404041238", "13700000004"),
                                 day=dt.date(2026, 2, 2))
    net.act("C", made["paused"], "accepted", window="W12", day=dt.date(2026, 2, 2))
    net.act("C", made["paused"], "clock_paused", window="W12", day=dt.date(2026, 2, 3), reason="hearing")
    made["village_done"] = net.receive(VILLAGE, item=VILLAGE_ITEM, applicant=person("陈静", "320682199505051239",
                                                                                     "13700000005"))
    net.act(VILLAGE, made["village_done"], "accepted")
    net.act(VILLAGE, made["village_done"], "finished", hour=12)
    made["town"] = net.receive(TOWN, item=VILLAGE_ITEM, applicant=person("王芳", "32068219960606124X", "13700000006"),
                               card="KC-260302-00001-5")
    made["town_forwarded"] = net.receive(TOWN, applicant=person("杨帆", "320682199707071241", "13700000007"))
    net.act(TOWN, made["town_forwarded"], "forwarded", to="window:W12")
    assert day
    return made


def numbers(page: Any) -> set[str]:
    rows, _total = page
    return {r.number for r in rows}


def test_list_filters(net: Network, many: dict[str, str]) -> None:
    db, today = net.db, dt.date(2026, 3, 3)
    rows, total = cases.list_cases(db, today=today)
    assert total == len(many) == len(rows)
    assert numbers(cases.list_cases(db, status="accepted", today=today)) == {many["accepted"], many["overdue"]}
    assert numbers(cases.list_cases(db, status=["paused", "waiting_supplement"], today=today)) == {
        many["paused"], many["waiting"]}
    assert many["village_done"] not in numbers(cases.list_cases(db, status="open", today=today))
    assert numbers(cases.list_cases(db, status="closed", today=today)) == {many["village_done"]}
    assert numbers(cases.list_cases(db, holder=f"node:{TOWN}", today=today)) == {many["town"], many["town_forwarded"]}
    assert numbers(cases.list_cases(db, node=VILLAGE, today=today)) == {many["village_done"]}
    assert numbers(cases.list_cases(db, place="window:W12", today=today)) == {
        many[k] for k in ("fresh", "waiting", "accepted", "overdue", "paused", "town_forwarded")}
    assert numbers(cases.list_cases(db, department="mzj", today=today)) == {many["village_done"], many["town"]}
    assert numbers(cases.list_cases(db, window="W03", today=today)) == {many["village_done"], many["town"]}
    assert numbers(cases.list_cases(db, card="KC-260302-00001-5", today=today)) == {many["town"]}
    assert numbers(cases.list_cases(db, due_before=dt.date(2026, 3, 1), today=today)) == {
        many["overdue"], many["paused"]}

    overdue_rows, overdue_total = cases.list_cases(db, overdue=True, today=today)
    assert [r.number for r in overdue_rows] == [many["overdue"]] and overdue_total == 1  # paused is not overdue
    assert overdue_rows[0].overdue and overdue_rows[0].due_date == "2026-02-14"
    assert many["overdue"] not in numbers(cases.list_cases(db, overdue=False, today=today))
    assert not cases.list_cases(db, overdue=True, today=dt.date(2026, 2, 14))[1]  # due today is not overdue
    # combined filters are ANDed, and the total is counted (capped), not read from a tally
    page = cases.list_cases(db, holder="window:W12", status="open", today=today)
    assert page.total == 5 and page.exact


def test_order_and_paging(net: Network, many: dict[str, str]) -> None:
    db, today = net.db, dt.date(2026, 3, 3)
    by_due = [r for r in cases.list_cases(db, order="due", today=today).rows]
    dues = [r.due_date for r in by_due if r.due_date]
    assert dues == sorted(dues) and by_due[0].due_date is None  # not yet accepted first: act on them
    first, total = cases.list_cases(db, order="number", limit=3, today=today)
    second, _ = cases.list_cases(db, order="number", limit=3, offset=3, today=today)
    assert total == 8 and len(first) == 3 and not {r.number for r in first} & {r.number for r in second}
    assert [r.number for r in first] + [r.number for r in second] == sorted(many.values())[:6]
    received = [r.received_at for r in cases.list_cases(db, order="received", today=today).rows]
    assert received == sorted(received, reverse=True)
    with pytest.raises(ValueError):
        cases.list_cases(db, order="random")


def test_search_by_number_name_id_phone_and_card(net: Network, many: dict[str, str]) -> None:
    db, today = net.db, dt.date(2026, 3, 3)
    town = many["town"]
    typed = town.lower().replace("-", " ")  # "t0101 260302 0001 x" as a clerk might type it
    assert numbers(cases.list_cases(db, search=typed, today=today)) == {town}
    assert numbers(cases.list_cases(db, search=town[:5], today=today)) == {town, many["town_forwarded"]}
    assert cases.find_case_number(db, typed) == town
    assert cases.find_case_number(db, "T0101-260302-9999-1") is None
    assert numbers(cases.list_cases(db, search="王", today=today)) == {many["fresh"], many["waiting"], town}
    assert numbers(cases.list_cases(db, search="王小", today=today)) == {many["waiting"]}
    assert numbers(cases.list_cases(db, search="小明", today=today)) == set()  # names match from the start
    # an ID number matches exactly (lower-case x and spaces as typed), never by a part of it
    found = cases.list_cases(db, search="320682 1996 0606 124x", today=today).rows
    assert [r.number for r in found] == [town] and found[0].id_masked == "320682********124X"
    assert numbers(cases.list_cases(db, search="3206821996", today=today)) == set()
    assert numbers(cases.list_cases(db, search="320682199606061241", today=today)) == set()
    assert numbers(cases.list_cases(db, search="137 0000 0002", today=today)) == {many["accepted"]}
    assert numbers(cases.list_cases(db, search="KC-260302-00001-5", today=today)) == {town}
    assert numbers(cases.list_cases(db, search="  ", today=today)) == set(many.values())


def test_counts_match_the_rows(net: Network, many: dict[str, str]) -> None:
    db, today = net.db, dt.date(2026, 3, 3)
    truth: dict[str, int] = {}
    for (status,) in db.execute("SELECT status FROM cases"):
        truth[status] = truth.get(status, 0) + 1
    assert cases.counts_by(db, "status") == truth
    assert cases.counts_by(db, "status", today=today, window="W12") == {
        "accepted": 2, "paused": 1, "received": 1, "waiting_supplement": 1, "forwarded": 1}
    assert cases.counts_by(db, "node") == {"C": 5, TOWN: 2, VILLAGE: 1}
    assert cases.counts_by(db, "department", status="open") == {"mzj": 1, "zjj": 6}
    assert cases.counts_by(db, "holder")["window:W12"] == 5
    with pytest.raises(ValueError):
        cases.counts_by(db, "applicant_name")
    board = cases.board_counts(db, today=today)
    assert board == {"total": 8, "open": 7, "paused": 1, "waiting_supplement": 1, "forwarded": 1, "overdue": 1,
                     "due_soon": 0, "conflicts": 0, "pre_fee_unpaid": 0, "bad_review": 0, "late": 0}
    # due soon: 2026-03-16 is within 10 working days of 2026-03-03, not within 3
    assert cases.board_counts(db, today=today, soon_days=10)["due_soon"] == 1
    assert cases.board_counts(db, today=today, node=TOWN) == {
        "total": 2, "open": 2, "paused": 0, "waiting_supplement": 0, "forwarded": 1, "overdue": 0, "due_soon": 0,
        "conflicts": 0, "pre_fee_unpaid": 0, "bad_review": 0, "late": 0}
    # the tallies follow every change of a row
    net.act("C", many["accepted"], "finished", window="W12")
    assert cases.counts_by(db, "status")["accepted"] == 1
    assert cases.counts_by(db, "status")["finished"] == 2
    assert cases.list_cases(db, status="finished", today=today).total == 2


def test_a_calendar_correction_moves_open_due_dates(net: Network, many: dict[str, str]) -> None:
    from casework.calendar import WorkCalendar
    from store.config_records import calendar_year_body

    year = WorkCalendar.packaged().year_data(2026)
    year["holidays"] = sorted({*year["holidays"], "2026-03-10"})
    year["names"] = {**year["names"], "2026-03-10": "测试假日"}
    before = net.row(many["accepted"]).due_date
    net.log.append("calendar.year", calendar_year_body(year))
    assert before == "2026-03-16" and net.row(many["accepted"]).due_date == "2026-03-17"
    assert net.row(many["village_done"]).status == "finished"  # closed cases are left as they were


def test_events_whose_earlier_events_are_missing_wait_then_apply(net: Network, tmp_path: Path) -> None:
    """A town pulls central's records before the village's: central's hand-over follows a village
    event the town has not seen, so it is pending; once the village's records arrive, it applies."""
    number = net.receive(VILLAGE)
    net.act(VILLAGE, number, "forwarded", to="window:W12")
    net.act("C", number, "handover_accepted", window="W12")
    town = LogStore.open(tmp_path / "town.sqlite", network=NET, origin=TOWN, signer=KEYS[TOWN],
                         central_public=CENTRAL.public)
    projections.register_all(town)
    assert town.ingest(net.log.records_of("C")).ok
    row = cases.get_case_row(town.db, number)
    assert row is not None and (row.status, row.pending, row.events) == ("none", 1, 1)
    assert town.ingest(net.log.records_of(VILLAGE)).ok
    row = cases.get_case_row(town.db, number)
    assert row is not None and (row.status, row.holder, row.pending, row.events) == ("received", "window:W12", 0, 3)
    assert cases.get_case_state(town.db, "C-260302-99999-9") is None
    assert cases.case_events(town.db, "C-260302-99999-9") == []


def test_tallies_always_equal_a_fresh_count(net: Network, many: dict[str, str]) -> None:
    """The maintained tallies (what home screens read) against GROUP BY over the rows, after cases
    move between statuses, holders and open/closed."""
    net.act("C", many["accepted"], "finished", window="W12")
    net.act("C", many["town_forwarded"], "handover_accepted", window="W12")
    net.act("C", many["paused"], "clock_resumed", window="W12", day=dt.date(2026, 2, 5))
    net.act("C", many["fresh"], "withdrawn", window="W12")
    for field, column in cases.TALLIED.items():
        truth = dict(net.db.execute(f"SELECT {column}, count(*) FROM cases WHERE {column} IS NOT NULL"
                                    f" GROUP BY {column}").fetchall())
        assert cases.counts_by(net.db, field) == truth, field
        if field != "status":
            open_truth = dict(net.db.execute(f"SELECT {column}, count(*) FROM cases WHERE {column} IS NOT NULL"
                                             f" AND open = 1 GROUP BY {column}").fetchall())
            assert cases.counts_by(net.db, field, status="open") == open_truth, field
    assert cases.counts_by(net.db, "holder", status="open")["window:W12"] == 4
