"""Personal data at central (issue 8): numbers masked everywhere, shown in full only with a reason and a
record written first; every print, scan view and export is one access record; nothing is shown when
the record cannot be written; the supervisors' access page filters and exports (itself recorded).

Real central app (a data folder made by `bianmin central init`), real SQLite, Flask's test client
with real CSRF tokens (centralkit.Clerk)."""

from __future__ import annotations

import io
import re

import pytest
from centralkit import Clerk
from openpyxl import load_workbook

from casework.retention import KIND as POLICY
from central import access_store

ID = "11010519491231002X"
PHONE = "13812345678"
MASKED_ID = "110105********002X"
MASKED_PHONE = "138****5678"


def _accesses(central, kind: str = "access.logged") -> list:
    return [record for record, _at in central.records_of_kind(kind, origin=None)]


def _case(app, clerk: Clerk, window: str = "W06", item: str = "GA005") -> str:
    central = app.extensions["central"]
    assert clerk.post("/window/choose", {"window": window}).status_code == 302
    materials = [m.name for m in central.catalogue().item(item).materials]
    response = clerk.post(f"/window/intake?item={item}", {
        "applicant_type": "person", "name": "王小明", "id_number": ID, "phone": PHONE, "materials": materials})
    assert response.status_code == 302, response.text[:1000]
    return response.headers["Location"].rsplit("/", 1)[1]


@pytest.fixture
def case(app):
    wang = Clerk(app, "wang")
    return wang, _case(app, wang)


def test_unmask_needs_a_reason_keeps_what_was_typed_and_records_first(app, case):
    central = app.extensions["central"]
    wang, number = case
    page = wang.get(f"/window/case/{number}").text
    assert MASKED_ID in page and ID not in page and PHONE not in page and "显示完整号码" in page
    refused = wang.post(f"/window/case/{number}/unmask", {"field": "id", "reason": "", "reason_text": "窗口核对用"})
    assert refused.status_code == 400 and ID not in refused.text
    assert "窗口核对用" in refused.text and "请选择需要显示完整号码的事由" in refused.text
    other = wang.post(f"/window/case/{number}/unmask", {"field": "id", "reason": "other", "reason_text": ""})
    assert other.status_code == 400 and "请填写事由" in other.text and ID not in other.text
    assert _accesses(central) == []                              # a refused form writes nothing

    shown = wang.post(f"/window/case/{number}/unmask", {"field": "id", "reason": "verify_identity",
                                                        "reason_text": "申请人持证在场"})
    assert shown.status_code == 200 and ID in shown.text and PHONE not in shown.text
    [record] = _accesses(central)
    body = record.body
    assert record.origin == "C" and body["action"] == "unmask_id" and body["case"] == number
    assert body["staff"]["username"] == "wang" and body["staff"]["roles"] == ["window_clerk"]
    assert body["place"] == "window:W06" and body["what"] == {"field": "applicant"}
    assert body["reason"] == {"code": "verify_identity", "text": "申请人持证在场"}
    assert body["subject"] == {"name": "王*明", "id": MASKED_ID} and ID not in str(body)
    # for that one page view: the next view is masked again
    assert ID not in wang.get(f"/window/case/{number}").text
    # the shared case page offers the same, the phone here
    phone = wang.post(f"/case/{number}/unmask", {"field": "phone", "reason": "contact_applicant"})
    assert phone.status_code == 200 and PHONE in phone.text and ID not in phone.text
    assert [r.body["action"] for r in _accesses(central)] == ["unmask_id", "unmask_phone"]


def test_who_may_unmask(app, case):
    central = app.extensions["central"]
    _wang, number = case
    form = {"field": "phone", "reason": "supervision"}
    for username in ("qian", "xun"):                      # a cashier, an inspector: the role is not enough
        clerk = Clerk(app, username)
        assert clerk.post(f"/window/case/{number}/unmask", form).status_code == 403
        assert clerk.post(f"/case/{number}/unmask", form).status_code == 403
        assert "显示完整号码" not in clerk.get(f"/window/case/{number}").text
    zhao = Clerk(app, "zhao")                             # a window clerk whose window never had the case
    assert zhao.post(f"/window/case/{number}/unmask", form).status_code == 403
    assert PHONE not in zhao.post(f"/case/{number}/unmask", form).text
    assert _accesses(central) == []
    li = Clerk(app, "li")                                 # a supervisor acts for the whole centre
    shown = li.post(f"/case/{number}/unmask", form)
    assert shown.status_code == 200 and PHONE in shown.text
    assert _accesses(central)[0].body["place"] == "central"


def test_every_print_and_scan_view_is_one_record(app, case):
    central = app.extensions["central"]
    wang, number = case
    assert wang.get(f"/window/case/{number}/notice/receipt").status_code == 200
    assert wang.get(f"/case/{number}/notice/receipt").status_code == 200
    scan = b"%PDF-1.4\nID card scan\n%%EOF\n"
    sha = app.extensions["central_blobs"].put(scan)
    central.act(number, "case.material_added", window="W06", staff="wang", material="居民户口簿", sha256=sha)
    for path in (f"/window/case/{number}/scan/{sha}", f"/case/{number}/scan/{sha}"):
        response = wang.get(path)
        assert response.status_code == 200 and response.data == scan
    records = [r.body for r in _accesses(central)]
    assert [(b["action"], b["what"]) for b in records] == [
        ("print_notice", {"notice": "receipt"}), ("print_notice", {"notice": "receipt"}),
        ("view_scan", {"scan": sha[:16], "material": "居民户口簿"}), ("view_scan", {"scan": sha[:16], "material": "居民户口簿"})]
    assert all(b["case"] == number and b["subject"]["id"] == MASKED_ID for b in records)
    # a scan central does not hold shows nothing and records nothing
    missing = "ab" * 32
    central.act(number, "case.material_added", window="W06", staff="wang", material="其他", sha256=missing)
    assert wang.get(f"/case/{number}/scan/{missing}").status_code == 404
    assert len(_accesses(central)) == 4


def test_nothing_is_shown_when_the_access_cannot_be_recorded(app, case):
    central = app.extensions["central"]
    wang, number = case
    scan = b"%PDF-1.4\nsecret scan\n%%EOF\n"
    sha = app.extensions["central_blobs"].put(scan)
    central.act(number, "case.material_added", window="W06", staff="wang", material="居民户口簿", sha256=sha)
    central.log.hold_writes("test: the disk is full")
    try:
        notice = wang.get(f"/window/case/{number}/notice/receipt")
        assert notice.status_code == 503 and "王小明" not in notice.text and "无法记录本次查阅" in notice.text
        assert wang.get(f"/case/{number}/notice/receipt").status_code == 503
        view = wang.get(f"/case/{number}/scan/{sha}")
        assert view.status_code == 503 and scan not in view.data
        unmask = wang.post(f"/window/case/{number}/unmask", {"field": "id", "reason": "verify_identity"})
        assert unmask.status_code == 503 and ID not in unmask.text
        li = Clerk(app, "li")
        export = li.get("/supervision/access.xlsx")
        assert export.status_code == 503 and export.mimetype == "text/html"
    finally:
        central.log.release_writes()
    assert _accesses(central) == []


def test_the_supervisors_access_page_filters_counts_and_exports(app, clock):
    central = app.extensions["central"]
    wang, zhao = Clerk(app, "wang"), Clerk(app, "zhao")
    first = _case(app, wang)
    second = _case(app, zhao, window="W53", item="BDC001")
    for _ in range(3):
        wang.get(f"/window/case/{first}/notice/receipt")
    zhao.post(f"/window/case/{second}/unmask", {"field": "id", "reason": "department_system"})
    li = Clerk(app, "li")
    page = li.get("/supervision/access")
    assert page.status_code == 200 and first in page.text and second in page.text
    rows = page.text.split('id="access-rows"')[1]
    assert rows.count("<tr>") == 1 + 4 and "录入部门业务系统" in rows and ID not in page.text
    counts = page.text.split('id="access-counts"')[1].split("</table>")[0]
    assert "wang" in counts and ">3<" in counts
    only = li.get("/supervision/access?staff=zhao").text.split('id="access-rows"')[1]
    assert second in only and first not in only
    prints = li.get(f"/supervision/access?action=print_notice&case={first.replace('-', '')}").text
    assert prints.split('id="access-rows"')[1].count(first) >= 3
    by_subject = li.get("/supervision/access?subject=002X").text.split('id="access-rows"')[1]
    assert by_subject.count("<tr>") == 1 + 4
    assert "Nothing to show" in li.get("/supervision/access?date_from=2026-11-26&lang=en").text
    assert li.get("/supervision/access?date_from=2026-11-25&date_to=2026-11-25").text.count(first) >= 3
    bad = li.get("/supervision/access?case=not-a-number&date_from=2026-13-01")
    assert bad.status_code == 400 and 'value="not-a-number"' in bad.text
    # the inspector may read it; a window clerk and an administrator may not
    assert Clerk(app, "xun").get("/supervision/access").status_code == 200
    assert wang.get("/supervision/access").status_code == 403

    before = len(_accesses(central))
    export = li.get("/supervision/access.xlsx?staff=wang")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    values = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert len(values) == 1 + 3 and all("王*明" in row for row in values[1:])
    assert ID not in str(values)
    [logged] = _accesses(central)[before:]
    assert logged.body["action"] == "export" and logged.body["what"]["rows"] == 3
    assert logged.body["what"]["filter"] == {"staff": "wang"} and logged.body["staff"]["username"] == "li"


def test_unusual_volume_stands_out(app):
    db = app.extensions["central"].log.db
    central = app.extensions["central"]
    for username, n in (("a", 5), ("b", 6), ("c", 4), ("d", 40)):
        for _ in range(n):
            central.sign("access.logged", {"staff": {"username": username, "name": username, "roles": ["window_clerk"]},
                                           "action": "view_scan", "place": "window:W06", "case": "C-1"})
    counts = {c.username: c for c in access_store.counts(db, access_store.Filter())}
    assert counts["d"].unusual and not any(counts[u].unusual for u in "abc")


def test_a_node_cannot_claim_another_place_or_store_a_number_in_clear(app):
    """The table takes a node's place from its signature, and masks a clear number a faulty node sent."""
    from types import SimpleNamespace

    db = app.extensions["central"].log.db
    record = SimpleNamespace(id="r" * 64, origin="V000101", seq=3, time="2026-11-25T10:00:00+08:00", body={
        "staff": {"username": "clerk", "name": "王村干", "roles": ["village_clerk"]}, "action": "unmask_phone",
        "place": "window:W06", "case": "V000101-261125-0001-3", "subject": {"name": "王小明", "id": ID},
        "reason": {"code": "other", "text": "x"}})
    assert access_store.project(db, record, day="2026-11-25", received_at=None)
    [row], _total = access_store.search(db, access_store.Filter(case="V000101-261125-0001-3"))
    assert row.place == "node:V000101" and row.subject_id == MASKED_ID and row.subject_name == "王*明"
    assert not access_store.project(db, SimpleNamespace(id="s" * 64, origin="C", seq=1, time="", body={"action": "x"}),
                                    day="", received_at=None)


def test_lists_notices_and_exports_never_show_a_full_number(app, case):
    """Crawl central's pages with a case whose ID and phone are known: the full strings never appear."""
    central = app.extensions["central"]
    wang, number = case
    wang.post(f"/window/case/{number}/fees", {"use_F0203": "1"})
    central.sign(POLICY, {"version": 1, "settings": {}, "note": "defaults", "staff": "admin"})
    pages = {
        "wang": ["/window/", f"/window/case/{number}", f"/case/{number}", f"/window/case/{number}/notice/receipt",
                 f"/case/{number}/notice/receipt", f"/window/find?q={number}"],
        "qian": ["/settlement/", f"/window/case/{number}"],
        "li": ["/supervision/", "/supervision/cases", f"/supervision/cases?q={number}", "/supervision/sms",
               "/supervision/enquiries", "/supervision/nodes", "/supervision/cards", f"/supervision/verify/{number}",
               "/supervision/access", "/reports/monthly", "/supervision/access.xlsx", "/reports/monthly.xlsx"],
        "xun": [f"/window/case/{number}", f"/case/{number}"],
    }
    seen = 0
    for username, paths in pages.items():
        clerk = Clerk(app, username)
        for path in paths:
            response = clerk.get(path, follow_redirects=True)
            assert response.status_code == 200, (username, path, response.status_code)
            data = response.data
            if response.mimetype.endswith("sheet"):
                data = str([list(r) for s in load_workbook(io.BytesIO(data)) for r in s.iter_rows(values_only=True)]
                           ).encode()
            for secret in (ID, PHONE, ID.lower()):
                assert secret.encode() not in data, (username, path)
            seen += 1
    assert seen >= 20
    # while the masked forms are there
    assert MASKED_ID in wang.get(f"/case/{number}").text
    assert re.search(r"138\*{4}5678", Clerk(app, "li").get("/supervision/sms").text)


def test_the_demo_data_fills_the_access_page(app) -> None:
    """installer.privacy_demo: a policy version and weeks of access records, one clerk standing out."""
    import random

    from installer.privacy_demo import central_demo

    wang = Clerk(app, "wang")
    for _ in range(3):
        _case(app, wang)
    central = app.extensions["central"]
    signed = central_demo(central, random.Random(7), days=10, per_day=2)
    assert signed == len(_accesses(central)) + len(central.records_of_kind(POLICY)) == 1 + 20 + 30 + 1
    page = Clerk(app, "li").get("/supervision/access").text
    assert "异常" in page and ID not in page and PHONE not in page
    assert Clerk(app, "admin", password="admin-pass-1").get("/admin/retention").text.count("按《个人信息保护法》") == 1
