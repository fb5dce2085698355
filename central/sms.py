"""Text messages to applicants: what they say, and the adapter that hands them to the gateway.

Applicants hear from the centre when their case is received, needs supplements, is ready, or
is overdue. Messages are queued in the outbox (central.sms_store) in the same transaction as the
record that caused them, then delivered by `deliver_due`, which a background thread runs every
`sms_interval_seconds`. The gateway speaks plain HTTP: POST JSON `{"id", "to", "text"}` to
`sms_gateway_url`, any 2xx means taken. While the gateway is down nothing is lost: each failure
is counted and retried later, backing off up to ten minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests
from sqlite_utils import Database

from casework.case_state import CaseState
from central import board_store, sms_store

log = logging.getLogger(__name__)
SIGNATURE = "【如皋市行政服务中心】"
MAX_BACKOFF = 600.0
RATING_INVITATION = "欢迎回复1-5评价服务（5非常满意，1非常不满意）。"


def message_for(kind: str, state: CaseState) -> tuple[str, str] | None:
    """(reason, text) for the record just applied to `state`, or None if it texts no one."""
    item = state.item.get("name", "")
    case = state.number
    if kind == "case.received":
        return "received", f"{SIGNATURE}您申请的“{item}”已收到，办件号{case}。可凭办件号和手机尾号查询进度。"
    if kind == "case.supplement_requested":
        missing = "、".join(state.supplement_requested) or "见补办件通知单"
        return "supplement", f"{SIGNATURE}您的办件{case}（{item}）需补齐材料：{missing}。请一次补齐后到原窗口办理。"
    if kind == "case.finished":  # the "ready" text also invites a rating by reply (central.sms_replies)
        if state.outcome == "denied":
            return "ready", (f"{SIGNATURE}您的办件{case}（{item}）已办结，结果为不予许可，请凭受理回执领取决定书。"
                             f"{RATING_INVITATION}")
        return "ready", f"{SIGNATURE}您的办件{case}（{item}）已办结，请凭受理回执领取结果。{RATING_INVITATION}"
    return None


def queue_overdue(db: Database, today: Any, now: float) -> int:
    """Queue one apology-and-reminder per overdue case that has a phone number; returns how many."""
    n = 0
    for row in board_store.overdue_open(db, today):
        if row.phone and sms_store.enqueue(
                db, dedupe=f"{row.number}:overdue", case=row.number, phone=row.phone, reason="overdue", now=now,
                text=f"{SIGNATURE}您的办件{row.number}（{row.item_name}）已超过承诺办结日期{row.due_date}，"
                     "中心已督办，请谅解。"):
            n += 1
    return n


def deliver_due(db: Database, gateway_url: str, *, now: float | None = None, timeout: float = 5.0) -> tuple[int, int]:
    """Send every message that is due; returns (sent, failed). Stops at the first connection error:
    if the gateway is down, trying the other messages would only wait out more timeouts."""
    now = time.time() if now is None else now
    sent = failed = 0
    for message in sms_store.due(db, now):
        if not gateway_url:
            return sent, failed
        try:
            response = requests.post(gateway_url, json={"id": message.id, "to": message.phone, "text": message.text},
                                     timeout=timeout)
            ok = 200 <= response.status_code < 300
            error = "" if ok else f"gateway answered {response.status_code}"
        except requests.RequestException as exc:
            ok, error = False, f"gateway unreachable ({type(exc).__name__})"
        if ok:
            sms_store.mark_sent(db, message.id, time.time())
            sent += 1
            continue
        delay = min(MAX_BACKOFF, 15.0 * 2 ** min(message.attempts, 6))
        sms_store.mark_failed(db, message.id, error, now + delay)
        failed += 1
        log.warning("sms %s not delivered: %s", message.id, error)
        if "unreachable" in error:
            break
    return sent, failed


class Sender:
    """The background thread that empties the outbox while the app runs."""

    OVERDUE_EVERY = 3600.0

    def __init__(self, open_db: Any, gateway_url: str, interval: float, today: Any = None,
                 chores: tuple[Any, ...] = ()) -> None:
        self.open_db = open_db
        self.chores = chores  # functions run each round before delivery (held SMS ratings signed: sms_replies)
        self.gateway_url = gateway_url
        self.interval = interval
        self.today = today  # a function giving central's date: overdue reminders are queued hourly
        self._last_overdue = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sms-sender", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                db = self.open_db()
            except Exception:  # the data folder went away (tests, a restore): nothing to send from
                log.exception("sms outbox cannot be opened")
                continue
            try:
                for chore in self.chores:
                    chore()
                if self.today is not None and time.time() - self._last_overdue >= self.OVERDUE_EVERY:
                    queue_overdue(db, self.today(), time.time())
                    self._last_overdue = time.time()
                deliver_due(db, self.gateway_url)
            except Exception:  # the thread must outlive any one bad round
                log.exception("sms delivery round failed")
            finally:
                db.close()
