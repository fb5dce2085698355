"""Routing, yellow and red cards, node revocation, page guards and rebuilding the projections."""

from __future__ import annotations

import datetime as dt

import pytest
from centralkit import Clerk

from casework.cases import item_snapshot
from central import board_store, supervision_cards
from central.admin_records import place_node
from central.routing import EVERYONE, Router, target_for
from sync.keys import NodeKey, enrolment_request
from sync.server import EnrolmentBook


def _case(central, code: str, *, window: str | None = None, accept: bool = True) -> str:
    item = central.catalogue().item(code)
    number = central.next_number("case")
    window = window or item.window
    central.act(number, "case.received", window=window, staff="wang", item=item_snapshot(item),
                applicant={"type": "person", "name": "张三"}, materials=[m.name for m in item.materials])
    if accept:
        central.act(number, "case.accepted", window=window, staff="wang",
                    due_date=(central.today() + dt.timedelta(days=2)).isoformat())
    return number


def test_routing_sends_configuration_everywhere_and_cases_only_where_they_went(app):
    central = app.extensions["central"]
    router = Router(lambda: central.log.db)
    catalogue_record = central.records_of_kind("catalogue.published")[0][0]
    assert router.nodes_for(catalogue_record) == {EVERYONE}
    staff = next(r for r, _ in central.records_of_kind("staff.account") if r.body["username"] == "wang")
    assert router.nodes_for(staff) == set()  # window clerks' accounts stay in the city
    admin = next(r for r, _ in central.records_of_kind("staff.account") if r.body["username"] == "admin")
    assert router.nodes_for(admin) == set()  # nor does the administrator's, though it acts for "*"
    number = _case(central, "GA001", accept=False)
    record = central.act(number, "case.forwarded", window="W05", staff="wang", to="node:T0101", note="镇办理")
    assert router.nodes_for(record) == {"T0101"}
    assert router.wants("T0101", record) and not router.wants("V000123", record)


def test_town_items_from_a_village_are_routed_to_its_town():
    from casework.catalogue import load

    catalogue = load()
    item = item_snapshot(catalogue.item("GA001"))
    assert target_for(catalogue, item, {"V000123": "T0101"}, "V000123") == "node:T0101"
    assert target_for(catalogue, item, {}, "V000999") == "window:W05"
    city = item_snapshot(catalogue.item("BDC001"))
    assert target_for(catalogue, city, {"V000123": "T0101"}, "V000123") == "window:W52"


def test_placement_records_feed_routing(app):
    central = app.extensions["central"]
    place_node(central, "V000123", name="皋南村", town="T0101")
    assert central.towns() == {"V000123": "T0101"}


def test_yellow_then_red_cards_are_recorded_once(app, clock):
    central = app.extensions["central"]
    db = central.log.db
    number = _case(central, "BDC001")
    assert not supervision_cards.due_cards(central, db, central.today())
    clock.now += dt.timedelta(days=5)  # a few working days late: yellow
    due = supervision_cards.due_cards(central, db, central.today())
    assert [(row.number, colour) for row, colour, _ in due] == [(number, "yellow")]
    li = Clerk(app, "li")
    li.post("/supervision/cards", {}, page="/supervision/cards")
    assert set(supervision_cards.issued(central)) == {(number, "yellow")}
    assert not supervision_cards.due_cards(central, db, central.today())
    clock.now += dt.timedelta(days=14)  # past the grace period: red, once
    assert supervision_cards.issue(central, supervision_cards.due_cards(central, db, central.today()), "li") == 1
    assert supervision_cards.issue(central, supervision_cards.due_cards(central, db, central.today()), "li") == 0
    board = li.get("/supervision/").text
    assert 'id="kpi-red">1<' in board


def test_admin_revokes_a_node_key(app):
    central = app.extensions["central"]
    key = NodeKey.generate()
    token = EnrolmentBook(central.log).issue("V000200", "测试村")
    EnrolmentBook(central.log).enrol(enrolment_request(key, net=central.log.network, node="V000200", token=token))
    admin = Clerk(app, "admin", "admin-pass-1")
    assert "V000200" in admin.get("/admin/nodes").text
    admin.post("/admin/nodes/V000200/revoke", {"reason": "电脑被盗"}, page="/admin/nodes")
    assert central.log.directory.current("V000200") is None
    page = Clerk(app, "li").get("/supervision/nodes").text
    assert "V000200" in page and "tag bad" in page, page[-2500:]


@pytest.mark.parametrize("path", ["/window/", "/card/", "/settlement/", "/supervision/", "/admin/staff",
                                  "/supervision/sms", "/settlement/reconciliation"])
def test_every_page_needs_a_login(app, path):
    response = app.test_client().get(path)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_roles_guard_each_area(app):
    wang = Clerk(app, "wang")
    for path in ("/admin/", "/settlement/", "/card/", "/supervision/cards"):
        assert wang.get(path).status_code == 403, path
    qian = Clerk(app, "qian")
    for path in ("/admin/staff", "/window/", "/card/"):
        assert qian.get(path).status_code == 403, path
    assert Clerk(app, "li").get("/admin/nodes").status_code == 403


def test_projections_rebuild_to_the_same_board(app):
    central = app.extensions["central"]
    numbers = [_case(central, code) for code in ("BDC001", "GA001", "MZJ001")]
    db = central.log.db
    before = [board_store.get(db, n) for n in numbers]
    central.rebuild()
    assert [board_store.get(db, n) for n in numbers] == before


def test_admin_signs_a_node_key_rotation_and_refuses_a_forged_one(app):
    from sync.keys import rotation_proof

    central = app.extensions["central"]
    old = NodeKey.generate()
    token = EnrolmentBook(central.log).issue("V000201", "换钥村")
    EnrolmentBook(central.log).enrol(enrolment_request(old, net=central.log.network, node="V000201", token=token))
    new = NodeKey.generate()
    admin = Clerk(app, "admin", "admin-pass-1")
    forged = rotation_proof(NodeKey.generate(), new, net=central.log.network, node="V000201", from_seq=5)
    forged["old_key"] = old.key_id
    import json

    admin.post("/admin/nodes/rotate", {"proof_json": json.dumps(forged)}, page="/admin/nodes")
    assert central.log.directory.current("V000201").key_id == old.key_id
    proof = rotation_proof(old, new, net=central.log.network, node="V000201", from_seq=5)
    admin.post("/admin/nodes/rotate", {"proof_json": json.dumps(proof)}, page="/admin/nodes")
    assert central.log.directory.current("V000201").key_id == new.key_id


def test_admin_publishes_a_holiday_year_and_a_bad_one_is_refused(app):
    import json

    central = app.extensions["central"]
    admin = Clerk(app, "admin", "admin-pass-1")
    before = central.log.head()[0]
    admin.post("/admin/calendar", {"year_json": '{"year": 2027, "holidays": ["2027-13-01"]}'}, page="/admin/calendar")
    assert central.log.head()[0] == before and 2027 not in central.calendar().known_years
    year = {"year": 2027, "holidays": ["2027-01-01"], "workdays": [], "names": {"2027-01-01": "元旦"},
            "source": "test"}
    assert admin.post("/admin/calendar", {"year_json": json.dumps(year)}, page="/admin/calendar").status_code == 302
    assert 2027 in central.calendar().known_years
    assert not central.calendar().is_working_day(dt.date(2027, 1, 1))


def test_the_service_guide_is_public(app):
    assert app.test_client().get("/guide/").status_code == 200


def test_doctor_says_what_is_wrong(central_dir):
    from click.testing import CliRunner

    from central.cli import central as central_cli

    ok = CliRunner().invoke(central_cli, ["doctor", "--data", str(central_dir)])
    assert ok.exit_code == 0 and "record log" not in ok.output and "check out" in ok.output
    (central_dir / "bianmin.key").chmod(0o644)
    bad = CliRunner().invoke(central_cli, ["doctor", "--data", str(central_dir)])
    assert bad.exit_code == 1 and "chmod 600" in bad.output


def test_admin_edits_a_fee_standard_as_json_and_a_broken_entry_is_refused(app):
    import json

    central = app.extensions["central"]
    admin = Clerk(app, "admin", "admin-pass-1")
    page = admin.get("/admin/catalogue?section=fees&code=F0203").text
    assert "F0203" in page and "amount_fen" in page
    fee = next(f for f in central.catalogue().to_data()["fees"] if f["code"] == "F0203")
    version = central.catalogue_version()
    broken = dict(fee, amount_fen=12.5)  # floats are refused: money is integer fen
    admin.post("/admin/catalogue/entry", {"section": "fees", "code": "F0203", "entry_json": json.dumps(broken)},
               page="/admin/catalogue")
    assert central.catalogue_version() == version
    changed = dict(fee, amount_fen=1500)
    admin.post("/admin/catalogue/entry", {"section": "fees", "code": "F0203", "entry_json": json.dumps(changed),
                                          "note": "调整工本费"}, page="/admin/catalogue")
    assert central.catalogue_version() == version + 1 and central.catalogue().fee("F0203").assess() == 1500


def test_hostile_records_from_a_node_never_stall_sync_nor_pose_as_central(app):
    from sync.envelope import sign_record

    central = app.extensions["central"]
    key = NodeKey.generate()
    token = EnrolmentBook(central.log).issue("V000300", "试村")
    EnrolmentBook(central.log).enrol(enrolment_request(key, net=central.log.network, node="V000300", token=token))
    bodies = [
        ("card.registered", {"card": "KC-261125-00099-1", "project": "not a table"}),
        ("directory.placed", {"node": "V000123", "town": "T9999"}),
        ("supervision.card", {"case": "C-261125-00001-5", "colour": "red"}),
        ("case.fee_paid", {"case": "C-261125-09999-1", "after": ["ab"], "assessment": "cd", "amount_fen": 5}),
        ("case.received", {"case": "V000300-261125-0001-1", "after": [], "item": {"code": 7}}),
    ]
    records, prev = [], None
    for seq, (kind, body) in enumerate(bodies, start=1):
        record = sign_record(key, net=central.log.network, origin="V000300", seq=seq, prev=prev, kind=kind, body=body)
        records.append(record)
        prev = record.id
    result = central.log.ingest(records)
    assert result.ok, result.refused
    assert central.log.head("V000300")[0] == len(bodies)  # every record kept as evidence
    assert central.towns() == {} and supervision_cards.issued(central) == {}
    assert board_store.by_card(central.log.db, "KC-261125-00099-1") == []
