"""Ratings by SMS reply, end to end over real HTTP: central texts the "ready" invitation through a
gateway stub on loopback, the test (playing the gateway) posts the applicants' replies, signed, to
central served by waitress. Bad signatures are refused; a reply posted twice counts once; full-width
digits and Chinese words are read; a bad rating without a reason is asked why and finished by the
next reply, or signed without one when none comes; unknown, stale and garbage replies answer 200."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time

import pytest
import requests
from centralkit import CHINA
from serving import serve
from test_sms import _free_port, _set_gateway, gateway

from casework.cases import item_snapshot
from central import reviews_store, sms, sms_replies, sms_store

SECRET = "gateway-shared-secret-for-tests"


def _finished(central, clock, phone: str) -> str:
    clock.now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=CHINA)
    item = central.catalogue().item("BDC001")
    number = central.next_number("case")
    central.act(number, "case.received", window="W52", staff="wang", item=item_snapshot(item),
                applicant={"type": "person", "name": "王小明", "phone": phone}, materials=[m.name for m in item.materials])
    central.act(number, "case.accepted", window="W52", staff="wang", due_date="2026-12-10")
    clock.now = dt.datetime(2026, 11, 26, 14, 0, tzinfo=CHINA)
    central.act(number, "case.finished", window="W52", staff="wang", outcome="granted")
    return number


def _post(url: str, message: dict, *, secret: str = SECRET, signature: str | None = None) -> requests.Response:
    body = json.dumps(message, ensure_ascii=False).encode()
    header = signature if signature is not None else sms_replies.signature(secret, body)
    return requests.post(f"{url}/sms/inbound", data=body, timeout=10,
                         headers={"Content-Type": "application/json", sms_replies.HEADER: header})


def _evaluations(central, number: str):
    return [e for e in central.case_events(number) if e.kind == "case.evaluated"]


@pytest.fixture
def setup(central_dir, make_app, clock):
    port = _free_port()
    _set_gateway(central_dir, f"http://127.0.0.1:{port}/send")
    config = central_dir / "central.toml"
    config.write_text(config.read_text().replace('sms_inbound_secret = ""', f'sms_inbound_secret = "{SECRET}"'))
    app = make_app()
    received: list[dict] = []
    with gateway(port, received), serve(app) as url:
        yield app.extensions["central"], url, received, f"http://127.0.0.1:{port}/send"


def test_replies_rate_cases_end_to_end(setup, clock, caplog):
    caplog.set_level(logging.INFO)
    central, url, texts, send = setup
    db = central.log.db
    one = _finished(central, clock, "13811110001")
    two = _finished(central, clock, "13811110002")
    three = _finished(central, clock, "13811110003")
    sent, failed = sms.deliver_due(db, send)
    assert failed == 0 and sent == 6  # received + ready for each
    ready = [t for t in texts if "已办结" in t["text"]]
    assert len(ready) == 3 and all(sms.RATING_INVITATION in t["text"] for t in ready)

    # a forged or missing signature is refused and changes nothing
    assert _post(url, {"from": "13811110001", "text": "1", "id": "g-0"}, secret="wrong").status_code == 403
    assert _post(url, {"from": "13811110001", "text": "1", "id": "g-0"}, signature="").status_code == 403
    assert _evaluations(central, one) == []

    # full-width 5 from +86: rated; the same message posted again counts once
    answer = _post(url, {"from": "+86 138-1111-0001", "text": "５", "id": "g-1", "time": "2026-11-26T15:00:00+08:00"})
    assert answer.status_code == 200 and answer.json() == {"ok": True, "outcome": "rated"}
    assert _post(url, {"from": "13811110001", "text": "５", "id": "g-1"}).json()["outcome"] == "duplicate"
    (event,) = _evaluations(central, one)
    assert event.body["level"] == 5 and event.body["channel"] == "sms" and event.body["reply"] == "g-1"
    assert _post(url, {"from": "13811110001", "text": "1", "id": "g-1b"}).json()["outcome"] == "already_rated"
    assert len(_evaluations(central, one)) == 1

    # 不满意 without a reason: asked why; the next reply is the reason
    assert _post(url, {"from": "13811110002", "text": "不满意", "id": "g-2"}).json()["outcome"] == "asked_reason"
    assert _evaluations(central, two) == []
    sms.deliver_due(db, send)
    assert "原因" in texts[-1]["text"] and texts[-1]["to"] == "13811110002"
    assert _post(url, {"from": "13811110002", "text": "排队等了三个小时，窗口只开一个", "id": "g-3"}).json()[
        "outcome"] == "reason_added"
    (event,) = _evaluations(central, two)
    assert (event.body["level"], event.body["reason"]) == (2, "排队等了三个小时，窗口只开一个")
    review = reviews_store.get(db, event.id)
    assert review.status == "awaiting_callback" and review.channel == "sms" and review.real_name
    sms.deliver_due(db, send)
    assert "核实整改" in texts[-1]["text"] and texts[-1]["to"] == "13811110002"  # acknowledged

    # a rating with its reason in one text needs no question
    assert _post(url, {"from": "13811110003", "text": "1 态度生硬", "id": "g-4"}).json()["outcome"] == "rated"
    (event,) = _evaluations(central, three)
    assert (event.body["level"], event.body["reason"]) == (1, "态度生硬")

    # nobody invited, a stale invitation, and garbage: all answered 200, logged without the number
    assert _post(url, {"from": "13999999999", "text": "5", "id": "g-5"}).json()["outcome"] == "unknown_phone"
    assert _post(url, {"from": "not a phone", "text": "5", "id": "g-6"}).json()["outcome"] == "unknown_phone"
    later = sms_replies.handle(central, {"from": "13811110003", "text": "5", "id": "g-7"},
                               now=time.time() + 8 * 86400)
    assert later.code == "stale"
    assert _post(url, {"from": "13811110002", "text": "谢谢", "id": "g-8"}).json()["outcome"] == "garbage"
    assert _post(url, {"from": "13811110002", "text": "？", "id": "g-9"}).json()["outcome"] == "garbage"
    assert sum(1 for m in sms_store.recent(db) if m.reason == "rating-help") == 1  # helped once, no loop
    not_json = b"not json"
    answer = requests.post(f"{url}/sms/inbound", data=not_json, timeout=10,
                           headers={sms_replies.HEADER: sms_replies.signature(SECRET, not_json)})
    assert answer.status_code == 200 and answer.json()["outcome"] == "malformed"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "13999999999" not in logged and "13811110002" not in logged and "138****0002" in logged


def test_a_bad_rating_whose_reason_never_comes_is_signed_without_one(setup, clock):
    central, url, _texts, send = setup
    number = _finished(central, clock, "13811110004")
    sms.deliver_due(central.log.db, send)
    assert _post(url, {"from": "13811110004", "text": "1", "id": "h-1"}).json()["outcome"] == "asked_reason"
    assert sms_replies.flush_waiting(central) == 0  # not yet
    # a second bare rating replaces the held one and keeps waiting
    assert _post(url, {"from": "13811110004", "text": "二星", "id": "h-2"}).json()["outcome"] == "asked_reason"
    assert sms_replies.flush_waiting(central, now=time.time() + 49 * 3600) == 1
    (event,) = _evaluations(central, number)
    assert event.body["level"] == 2 and event.body["reason"] == sms_replies.NO_REASON
    assert sms_replies.flush_waiting(central, now=time.time() + 50 * 3600) == 0


def test_inbound_refused_when_no_secret_is_set(app):
    client = app.test_client()
    body = json.dumps({"from": "13811110001", "text": "5", "id": "x"}).encode()
    answer = client.post("/sms/inbound", data=body, headers={sms_replies.HEADER: sms_replies.signature("", body)})
    assert answer.status_code == 403


@pytest.mark.parametrize("text, expected", [
    ("5", (5, "")), ("５", (5, "")), (" 4。", (4, "")), ("1分", (1, "")), ("3 还行", (3, "还行")),
    ("非常满意", (5, "")), ("满意", (4, "")), ("基本满意", (3, "")), ("不满意", (2, "")), ("非常不满意", (1, "")),
    ("很满意！", (5, "")), ("不满意，材料要求说不清", (2, "材料要求说不清")), ("五星", (5, "")), ("一般", (3, "")),
    ("2：太慢", (2, "太慢")),
    ("6", None), ("10", None), ("55", None), ("谢谢", None), ("", None), ("0", None), ("好", None),
])
def test_reply_forms(text, expected):
    assert sms_replies.parse_reply(text) == expected
