"""The window workstation and settlement centre end to end through real HTTP handling and a real
SQLite file: a case taken in at a window, its payment notice, the pre-fee rule, payment, a refund
with a second approver, and every step a signed, verifiable record."""

from __future__ import annotations

from centralkit import Clerk

from central import board_store, settlement_store


def _intake(clerk: Clerk, item: str, *, materials: list[str], phone: str = "13812345678", card: str = "") -> str:
    response = clerk.post(f"/window/intake?item={item}", {
        "applicant_type": "person", "name": "王小明", "id_number": "11010519491231002X", "phone": phone,
        "materials": materials, "card": card})
    assert response.status_code == 302, response.text[:2000]
    return response.headers["Location"].rsplit("/", 1)[1]


def test_window_case_with_pre_fee_payment_and_refund(app):
    central = app.extensions["central"]
    wang = Clerk(app, "wang")
    assert wang.post("/window/choose", {"window": "W06"}).status_code == 302
    item = central.catalogue().item("GA005")  # 临时居民身份证签发: immediate, pre-fee
    number = _intake(wang, "GA005", materials=[m.name for m in item.materials])
    state = central.fold(number)
    assert state.holder == "window:W06" and state.status.value == "received"

    # the payment notice: computed from the fee standard, flagged pre-fee
    assert wang.post(f"/window/case/{number}/fees", {"use_F0203": "1"}).status_code == 302
    state = central.fold(number)
    assert state.pre_fee_unpaid and state.assessments[0].total_fen == central.catalogue().fee("F0203").assess()
    # accepting with the pre-fee unpaid is refused, and nothing is signed
    before = central.log.head()[0]
    refused = wang.post(f"/window/case/{number}/act/accepted", {})
    assert refused.status_code == 400 and central.log.head()[0] == before

    # the cashier takes the fee at the settlement centre
    qian = Clerk(app, "qian")
    db = central.log.db
    notice = settlement_store.notices_of_case(db, number)[0]
    assert qian.post(f"/settlement/notice/{notice.assessment}/pay", {"method": "cash"}).status_code == 302
    assert settlement_store.notice(db, notice.assessment).paid_fen == notice.total_fen
    # a window clerk cannot take money
    assert wang.post(f"/settlement/notice/{notice.assessment}/pay", {"method": "cash"}).status_code == 403

    # now accepted, then finished on the spot with a licence and a delivery
    assert wang.post(f"/window/case/{number}/act/accepted", {}).status_code == 302
    assert wang.post(f"/window/case/{number}/act/finish_now", {"licence_number": "LS-001"}).status_code == 302
    state = central.fold(number)
    assert state.status.value == "delivered" and state.licence["number"] == "LS-001"
    assert wang.get(f"/window/case/{number}/notice/delivery").status_code == 200

    # a refund: asked by one cashier, refused to the same one, approved by a second
    assert qian.post(f"/settlement/notice/{notice.assessment}/refund", {"amount": "5.00", "reason": "多收"}
                     ).status_code == 302
    request = settlement_store.open_refund_requests(db)[0]
    qian.post(f"/settlement/refund/{request.request}/approve", {})
    assert settlement_store.open_refund_requests(db), "the asker must not approve their own refund"
    sun = Clerk(app, "sun")
    assert sun.post(f"/settlement/refund/{request.request}/approve", {}).status_code == 302
    assert not settlement_store.open_refund_requests(db)
    assert central.fold(number).refunded_fen == 500

    # every record of the case verifies
    li = Clerk(app, "li")
    page = li.get(f"/supervision/verify/{number}")
    assert page.status_code == 200 and 'id="verdict" class="balance-ok"' in page.text
    # the board no longer lists it as open
    assert board_store.get(db, number).open == 0


def test_supplement_notice_lists_every_missing_material_and_sms_is_queued(app):
    central = app.extensions["central"]
    wang = Clerk(app, "wang")
    wang.post("/window/choose", {"window": "W52"})
    item = central.catalogue().item("BDC001")
    number = _intake(wang, "BDC001", materials=[item.materials[0].name])
    assert wang.post(f"/window/case/{number}/act/supplement_requested", {}).status_code == 302
    state = central.fold(number)
    required = [m.name for m in item.materials if m.required][1:]
    assert set(required) <= set(state.supplement_requested)
    reasons = [r for (r,) in central.log.db.execute("SELECT reason FROM sms_outbox WHERE case_number = ?",
                                                    [number])]
    assert reasons == ["received", "supplement"]
    assert "W52" in wang.get("/window/").text


def test_the_shared_case_page_shows_central_cases_with_verified_signatures(app):
    central = app.extensions["central"]
    wang = Clerk(app, "wang")
    wang.post("/window/choose", {"window": "W52"})
    item = central.catalogue().item("BDC001")
    number = _intake(wang, "BDC001", materials=[m.name for m in item.materials])
    page = wang.get(f"/case/{number}?lang=en")
    assert page.status_code == 200 and "NOT verified" not in page.text and page.text.count("✓ verified") >= 1
    # an action from the shared page acts as the clerk's window
    assert wang.post(f"/case/{number}/act/accepted", {}, page=f"/case/{number}").status_code == 302
    state = central.fold(number)
    assert state.status.value == "accepted" and state.accepted_by == "window:W52"
    # the applicant rates the service on the shared rating screen
    wang.post(f"/window/case/{number}/act/finished", {"outcome": "granted"})
    assert wang.post(f"/case/{number}/evaluate", {"level": "5", "channel": "counter"},
                     page=f"/case/{number}/evaluate").status_code in (200, 302)
    assert central.fold(number).evaluations[0].level == 5
