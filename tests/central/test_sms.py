"""SMS to applicants through a real HTTP gateway stub on loopback: held while it is down, sent
once it is up, never twice."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Iterator

from centralkit import Clerk
from flask import Flask, request

from casework.cases import item_snapshot
from central import sms, sms_store
from web.serving import make_server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gateway(port: int, received: list[dict]) -> Iterator[None]:
    """The SMS gateway stub: accepts POST /send JSON {id, to, text}."""
    stub = Flask("sms-stub")

    @stub.post("/send")
    def send() -> tuple[str, int]:
        received.append(request.get_json())
        return "OK", 200

    server = make_server(stub, host="127.0.0.1", port=port, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield
    finally:
        for channel in list(server._map.values()):
            channel.close()
        server.task_dispatcher.shutdown(timeout=5)
        thread.join(timeout=10)


def _set_gateway(central_dir, url: str, interval: int = 30) -> None:
    config = central_dir / "central.toml"
    lines = [x for x in config.read_text().splitlines() if not x.startswith(("sms_gateway_url", "sms_interval"))]
    config.write_text("\n".join([*lines, f'sms_gateway_url = "{url}"', f"sms_interval_seconds = {interval}"]) + "\n")


def test_outbox_holds_messages_while_the_gateway_is_down_and_sends_them_once_up(central_dir, make_app, clock):
    port = _free_port()
    _set_gateway(central_dir, f"http://127.0.0.1:{port}/send")
    app = make_app()
    central = app.extensions["central"]
    item = central.catalogue().item("BDC001")
    number = central.next_number("case")
    central.act(number, "case.received", window="W52", staff="wang", item=item_snapshot(item),
                applicant={"type": "person", "name": "王小明", "phone": "13812345678"},
                materials=[m.name for m in item.materials])
    db = central.log.db
    assert sms_store.counts(db) == (1, 0)

    li = Clerk(app, "li")
    li.post("/supervision/sms", {"do": "send"}, page="/supervision/sms")  # the gateway is down
    waiting = sms_store.recent(db)[0]
    assert waiting.sent_at is None and waiting.attempts == 1 and "unreachable" in waiting.last_error
    assert 'id="waiting">1<' in li.get("/supervision/sms").text

    received: list[dict] = []
    with gateway(port, received):
        answer = li.post("/supervision/sms", {"do": "send"}, page="/supervision/sms")
        assert answer.status_code == 302, answer.text[:3000]
        assert sms_store.counts(db) == (0, 1), (received, sms_store.recent(db))
        assert len(received) == 1 and received[0]["to"] == "13812345678" and number in received[0]["text"]
        # sending again sends nothing twice
        assert sms.deliver_due(db, f"http://127.0.0.1:{port}/send", now=10**12) == (0, 0)
        assert len(received) == 1

        # accepted, then overdue: the reminder goes out once
        central.act(number, "case.accepted", window="W52", staff="wang", due_date="2026-11-27")
        clock.now += dt.timedelta(days=10)
        assert sms.queue_overdue(db, central.today(), 0) == 1
        assert sms.queue_overdue(db, central.today(), 0) == 0
        assert sms.deliver_due(db, f"http://127.0.0.1:{port}/send", now=10**12) == (1, 0)
        assert "超过" in received[-1]["text"]


def test_the_background_sender_delivers_without_anyone_asking(central_dir, make_app):
    import time

    port = _free_port()
    _set_gateway(central_dir, f"http://127.0.0.1:{port}/send", interval=1)
    received: list[dict] = []
    with gateway(port, received):
        app = make_app(SMS_SENDER=True)
        central = app.extensions["central"]
        item = central.catalogue().item("BDC001")
        number = central.next_number("case")
        central.act(number, "case.received", window="W52", staff="wang", item=item_snapshot(item),
                    applicant={"type": "person", "name": "王小明", "phone": "13812345678"})
        deadline = time.time() + 10
        while not received and time.time() < deadline:
            time.sleep(0.2)
        assert received and received[0]["to"] == "13812345678"
