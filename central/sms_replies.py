"""Ratings by SMS reply (好差评, channel `sms`): the gateway posts each text an applicant sends back.

The "ready" text (central.sms) invites a reply 1-5. The gateway POSTs every inbound text to
`/sms/inbound` as JSON `{"from", "text", "id", "time"}`, signed: header `X-Bianmin-Signature:
sha256=<hex>`, the HMAC-SHA256 of the exact body bytes under `sms_inbound_secret` (central.toml).
An HMAC rather than a bearer token because the secret then never travels: a proxy log or a
mistaken redirect shows a signature valid for that one body only. A replayed body is harmless: each
reply has its effect once, by the gateway's message `id` (the `time` is only information).

What a reply does (`handle`):
- it is matched to the most recent case whose invitation the gateway took for that phone within
  `sms_invitation_days`; none: `unknown_phone`, or `stale` when there was one before that;
- "1".."5", full-width digits, 一..五 with 分/星, and the words 非常满意 / 满意 / 基本满意 / 不满意 /
  非常不满意 (and a few close forms) are ratings; text after the rating is its reason (`parse_reply`);
  anything else is `garbage`, answered once per case with a short help text;
- a good rating, or a bad one with a reason, is signed at once (`rated`; a bad one is acknowledged);
- a bad one without a reason is held and the applicant is asked why (`asked_reason`); the next reply
  from that phone within `sms_reason_hours` is its reason (`reason_added`), or a new rating, which
  replaces it. When no reason comes in time the rating is signed without one (`flush_waiting`,
  run by the SMS sender's thread), so a bad review is never lost;
- a case already rated from afar (web or SMS) is not rated again (`already_rated`).
Every reply answers 200 once its signature holds, so the gateway never retries forever; each is
logged with its outcome and a masked phone, never the number in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from casework import reviews
from casework.identity import mask_phone, parse_mobile
from casework.messages import RuleError
from central import remote_ratings, sms_replies_store, sms_store
from central.runtime import Central
from central.sms import SIGNATURE
from store.cases import keyed_hash

log = logging.getLogger(__name__)
HEADER = "X-Bianmin-Signature"
MAX_BODY = 16_384
NO_REASON = "（申请人未回复不满意原因）"

_PHRASES = sorted([
    ("非常不满意", 1), ("很不满意", 1), ("极不满意", 1), ("不满意", 2), ("不太满意", 2), ("基本满意", 3),
    ("一般", 3), ("比较满意", 4), ("满意", 4), ("很满意", 5), ("非常满意", 5),
], key=lambda p: -len(p[0]))
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
_DIGIT = re.compile(r"^([1-5])(?![0-9])\s*(?:颗星|分|星)?(.*)$", re.S)
_CHINESE = re.compile(r"^([一二三四五])\s*(?:颗星|分|星)(.*)$", re.S)
_EDGE = " \t\r\n,，.。:：;；!！、-—~～"


def signature(secret: str, body: bytes) -> str:
    """The header value the gateway must send with `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(secret, body), header.strip().lower())


def parse_reply(text: str) -> tuple[int, str] | None:
    """(level, what follows it) for a rating reply; None when the text is not a rating."""
    plain = unicodedata.normalize("NFKC", text).strip(_EDGE)
    level = None
    found = _DIGIT.match(plain) or _CHINESE.match(plain)
    if found:
        level = int(found.group(1)) if found.group(1).isdigit() else _CHINESE_DIGITS[found.group(1)]
        rest = found.group(2)
    else:
        for phrase, value in _PHRASES:
            if plain.startswith(phrase):
                level, rest = value, plain[len(phrase):]
                break
    if level is None:
        return None
    return level, unicodedata.normalize("NFC", rest.strip(_EDGE))[:500]


@dataclass(frozen=True)
class Outcome:
    """What became of one reply: `code` (see the module docstring), the case and record if any."""

    code: str
    case: str = ""
    record: str = ""


def _texts(case: str, days: int) -> dict[str, str]:
    return {
        "why": f"{SIGNATURE}很抱歉未能让您满意。请直接回复不满意的原因，我们将核实整改并回访。",
        "ack": f"{SIGNATURE}您对办件{case}的评价已收到，我们将在{days}个工作日内核实整改并回访。感谢监督！",
        "help": f"{SIGNATURE}请回复一个数字评价办件{case}：5非常满意，4满意，3基本满意，2不满意，1非常不满意。",
    }


def handle(central: Central, message: Mapping[str, Any], *, now: float | None = None) -> Outcome:
    """Act on one inbound text (signature already checked). Never raises for what a sender typed."""
    reply_id, text, sender = message.get("id"), message.get("text"), message.get("from")
    if not (isinstance(reply_id, str | int) and str(reply_id).strip() and isinstance(text, str)
            and isinstance(sender, str)):
        log.warning("sms reply: malformed message ignored")
        return Outcome("malformed")
    reply_id = str(reply_id).strip()[:100]
    now = time.time() if now is None else now
    try:
        phone: str | None = parse_mobile(sender)
    except RuleError:
        phone = None
    with central.one_at_a_time(), central.log.transaction() as db:
        if sms_replies_store.get(db, reply_id) is not None:
            return Outcome("duplicate")
        outcome = _decide(central, db, reply_id, text, phone, now)
    log.info("sms reply %s from %s: %s", reply_id, mask_phone(phone) if phone else "(not a mobile)", outcome.code)
    return outcome


def _decide(central: Central, db: Any, reply_id: str, text: str, phone: str | None, now: float) -> Outcome:
    config = central.config
    phone_hash = keyed_hash(db, phone) if phone else ""

    def keep(code: str, case: str = "", *, level: int | None = None, record: str = "",
             waiting: bool = False) -> Outcome:
        sms_replies_store.add(db, reply_id=reply_id, received_at=now, phone_hash=phone_hash, text=text,
                              outcome=code, case=case, level=level, record_id=record, waiting=waiting)
        return Outcome(code, case, record)

    def sign(case: str, level: int, reason: str | None, code: str = "rated") -> Outcome:
        try:
            record = remote_ratings.rate(central, case, level=level, reason=reason, channel="sms", real_name=True,
                                         reply=reply_id)
        except remote_ratings.RatingRefused as refused:
            return keep(refused.code, case, level=level)
        except RuleError as err:
            log.warning("sms reply %s: rating refused (%s)", reply_id, err.code)
            return keep("refused", case, level=level)
        if reviews.is_bad(level) and phone:
            _send(db, case, phone, "ack", now, config.review_rectify_days)
        return keep(code, case, level=level, record=record.id)

    if phone is None:
        return keep("unknown_phone")
    parsed = parse_reply(text)
    waiting = sms_replies_store.waiting_for(db, phone_hash, since=now - config.sms_reason_hours * 3600)
    if waiting is not None:
        if parsed is not None and not parsed[1]:  # a new rating instead of a reason: it replaces the held one
            sms_replies_store.close(db, waiting.id, outcome="superseded")
            if reviews.is_bad(parsed[0]):
                return keep("asked_reason", waiting.case_number, level=parsed[0], waiting=True)
            return sign(waiting.case_number, parsed[0], None)
        level = parsed[0] if parsed is not None else int(waiting.level or 2)
        reason = parsed[1] if parsed is not None else unicodedata.normalize("NFC", text.strip())[:500]
        outcome = sign(waiting.case_number, level, reason or None, "reason_added")
        sms_replies_store.close(db, waiting.id, record_id=outcome.record)
        return outcome
    since = now - config.sms_invitation_days * 86400
    invited = sms_store.sent_to(db, phone, "ready", since=since)
    if not invited:
        return keep("stale" if sms_store.sent_to(db, phone, "ready") else "unknown_phone")
    case = invited[0].case_number
    if parsed is None:
        _send(db, case, phone, "help", now, config.review_rectify_days)
        return keep("garbage", case)
    level, rest = parsed
    if reviews.is_bad(level) and not rest:
        problem = remote_ratings.refusal(central.fold(case))
        if problem:
            return keep(problem, case, level=level)
        _send(db, case, phone, "why", now, config.review_rectify_days)
        return keep("asked_reason", case, level=level, waiting=True)
    return sign(case, level, rest or None)


def _send(db: Any, case: str, phone: str, which: str, now: float, days: int) -> None:
    """Queue a reply text; at most one of each kind per case (an auto-responder cannot loop)."""
    sms_store.enqueue(db, dedupe=f"{case}:rating-{which}", case=case, phone=phone, text=_texts(case, days)[which],
                      reason=f"rating-{which}", now=now)


def flush_waiting(central: Central, *, now: float | None = None) -> int:
    """Sign every held bad rating whose reason did not come within `sms_reason_hours`; returns how many."""
    now = time.time() if now is None else now
    before = now - central.config.sms_reason_hours * 3600
    done = 0
    with central.one_at_a_time(), central.log.transaction() as db:
        for held in sms_replies_store.waiting_before(db, before):
            try:
                record = remote_ratings.rate(central, held.case_number, level=int(held.level or 2), reason=NO_REASON,
                                             channel="sms", real_name=True, reply=held.id)
            except remote_ratings.RatingRefused as refused:
                sms_replies_store.close(db, held.id, outcome=refused.code)
                continue
            except RuleError as err:
                log.warning("sms reply %s: held rating refused (%s)", held.id, err.code)
                sms_replies_store.close(db, held.id, outcome="refused")
                continue
            sms_replies_store.close(db, held.id, outcome="rated_without_reason", record_id=record.id)
            done += 1
    return done
