"""Rating on the public status page (channel `web`): only after the phone digits unlock the case, only
once a case is finished, once per case, never revealing personal data, and rate-limited."""

from __future__ import annotations

import datetime as dt
import re

from centralkit import CHINA

from casework.cases import item_snapshot
from central import reviews_store

PHONE = "13812345678"


def _case(central, clock, *, finish: bool = True) -> str:
    clock.now = dt.datetime(2026, 11, 25, 9, 0, tzinfo=CHINA)
    item = central.catalogue().item("BDC001")
    number = central.next_number("case")
    central.act(number, "case.received", window="W52", staff="wang", item=item_snapshot(item),
                applicant={"type": "person", "name": "王小明", "id_type": "resident_id",
                           "id_number": "11010519491231002X", "phone": PHONE},
                materials=[m.name for m in item.materials])
    central.act(number, "case.accepted", window="W52", staff="wang", due_date="2026-12-10")
    if finish:
        central.act(number, "case.finished", window="W52", staff="wang", outcome="granted")
    clock.now = dt.datetime(2026, 11, 26, 15, 0, tzinfo=CHINA)
    return number


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _unlock(client, number: str, suffix: str = "5678"):
    page = client.get("/status", query_string={"case": number})
    return client.post("/status", data={"case": number, "phone4": suffix, "csrf_token": _token(page.text)})


def _rate(client, number: str, **form):
    page = client.get("/status", query_string={"case": number})
    return client.post("/status/rate", data={"case": number, "csrf_token": _token(page.text), **form})


def _evaluations(central, number: str):
    return [e for e in central.case_events(number) if e.kind == "case.evaluated"]


def _no_personal_data(html: str) -> None:
    for secret in ("王小明", "王*明", "11010519491231002X", "1101", PHONE, "138****5678"):
        assert secret not in html


def test_unlocked_finished_case_is_rated_once_and_a_bad_rating_needs_a_reason(app, clock):
    central = app.extensions["central"]
    number = _case(central, clock)
    client = app.test_client()
    unlocked = _unlock(client, number)
    assert 'id="rate-form"' in unlocked.text
    _no_personal_data(unlocked.text)

    missing = _rate(client, number, level="2", reason="", real_name="1")
    assert missing.status_code == 400 and 'id="reason-error"' in missing.text
    assert 'value="2" checked' in missing.text and 'name="real_name" value="1" checked' in missing.text  # kept
    assert _evaluations(central, number) == []

    rated = _rate(client, number, level="2", reason="窗口人员态度不好", real_name="1")
    assert rated.status_code == 200 and 'id="rating-thanks"' in rated.text and 'id="rate-form"' not in rated.text
    _no_personal_data(rated.text)
    (event,) = _evaluations(central, number)
    assert event.origin == "C" and event.body["channel"] == "web" and event.body["level"] == 2
    assert event.body["real_name"] is True and "staff" not in event.body and "window" not in event.body
    row = reviews_store.get(central.log.db, event.id)
    assert row.unit == "window:W52" and row.status == "awaiting_callback" and row.due_date == "2026-12-03"

    again = _rate(client, number, level="5", reason="")
    assert again.status_code == 409 and 'id="rating-done"' in again.text
    assert len(_evaluations(central, number)) == 1
    # a fresh look-up says so too, with no form
    other = app.test_client()
    page = _unlock(other, number)
    assert 'id="rating-done"' in page.text and 'id="rate-form"' not in page.text


def test_no_rating_without_the_phone_digits_nor_before_the_case_is_finished(app, clock):
    central = app.extensions["central"]
    number = _case(central, clock)
    client = app.test_client()
    locked = _rate(client, number, level="5")
    assert locked.status_code == 400 and 'id="rate-locked"' in locked.text and 'id="status-value"' not in locked.text
    wrong = _unlock(client, number, "5679")
    assert 'id="rate-form"' not in wrong.text and 'id="status-value"' not in wrong.text
    assert _rate(client, number, level="5").status_code == 400  # a wrong suffix unlocks nothing
    assert _evaluations(central, number) == []

    running = _case(central, clock, finish=False)
    page = _unlock(client, running)
    assert 'id="rating-later"' in page.text and 'id="rate-form"' not in page.text
    refused = _rate(client, running, level="5")
    assert refused.status_code == 409 and _evaluations(central, running) == []

    # a good rating needs no reason; not agreeing to be called back is recorded
    _unlock(client, number)
    assert _rate(client, number, level="4").status_code == 200
    (event,) = _evaluations(central, number)
    assert event.body["level"] == 4 and event.body["real_name"] is False and "reason" not in event.body


def test_ratings_count_against_the_per_address_limit(app, clock):
    central = app.extensions["central"]
    number = _case(central, clock)
    client = app.test_client()
    _unlock(client, number)  # 1 try
    for _ in range(9):  # bad forms do not count; a refused rating does
        assert _rate(client, number, level="9").status_code == 400
    for _ in range(9):
        _rate(client, number, level="5")  # the first is signed, the rest are refused as already rated
    limited = _rate(client, number, level="5")
    assert limited.status_code == 429 and 'id="status-limit"' in limited.text
    assert len(_evaluations(central, number)) == 1
