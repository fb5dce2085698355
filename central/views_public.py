"""The public case-status query (no sign-in): `/status?case=NUMBER`, where the notices' QR codes land.

Anyone holding a notice may ask; to see anything they must also type the last 4 digits of the
applicant's phone. The answer reveals only the item, the status, the received and due dates and the
place holding the case: never a name, an ID or the phone. A wrong suffix and an unknown number
give the SAME neutral message, so the page cannot be used to learn whether a case exists.

Once unlocked, a finished (or otherwise closed) case can be rated on five levels (好差评, channel
`web`, central.remote_ratings): `POST /status/rate`. The unlock is remembered in the visitor's
session for `UNLOCK_SECONDS`, so the rating form carries no phone digits; each rating counts as a
try against the same per-address limit as the query.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, render_template, request, session
from flask_babel import gettext

from casework.identity import normalise
from casework.messages import RuleError
from casework.numbering import parse_case_number
from central import remote_ratings
from central.pages import central_of, place_label, status_name
from store.cases import find_case_number, get_case_row, get_case_state
from sync.canonical import nfc
from web.case_actions import LEVEL_NAMES
from web.settings import store_db

bp = Blueprint("public", __name__)

MAX_TRIES = 10
WINDOW_SECONDS = 600
UNLOCK_SECONDS = 1800
UNLOCKED = "status_unlocked"
REASON_LIMIT = 500


class TryLimiter:
    """At most `limit` tries per client address in a sliding window of `seconds`.

    In memory, per process, on purpose: central runs as one waitress process, the state is worth
    nothing after a restart (a guesser gains 10 tries per restart, at most 10,000 suffixes to try),
    and a table would turn every public query into a write on the record database."""

    def __init__(self, limit: int = MAX_TRIES, seconds: float = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.seconds = seconds
        self._tries: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None, limit: int | None = None) -> bool:
        """Count one try for `client`; False when it is over the limit (`limit`, else the limiter's
        own; that try is not counted)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tries = self._tries.setdefault(client, deque())
            while tries and tries[0] <= now - self.seconds:
                tries.popleft()
            if len(tries) >= (self.limit if limit is None else limit):
                return False
            tries.append(now)
            if len(self._tries) > 10_000:  # forget idle clients so the table cannot grow without end
                for key in [k for k, v in self._tries.items() if not v or v[-1] <= now - self.seconds]:
                    del self._tries[key]
            return True


def _limiter() -> TryLimiter:
    from flask import current_app

    return current_app.extensions.setdefault("public_status_limiter", TryLimiter())


def _allowed() -> bool:
    """One more status question or rating from this client address (a listed hall kiosk gets more)."""
    address = request.remote_addr or "?"
    config = central_of().config
    return _limiter().allow(address, limit=config.kiosk_tries if config.is_kiosk(address) else None)


def _suffix_matches(phone: Any, suffix: str) -> bool:
    """The applicant's phone from the case's records ends with `suffix` (4 digits). The projection
    keeps only a masked phone, whose last 4 digits survive for mobiles but not for other numbers,
    so the check reads the folded case instead."""
    if not isinstance(phone, str):
        return False
    digits = "".join(c for c in normalise(phone) if c.isdigit())
    return len(digits) >= 4 and hmac.compare_digest(digits[-4:], suffix)


def _lookup(typed: str, suffix: str) -> dict[str, Any] | None:
    """What the public may see of case `typed`, or None (unknown case or wrong suffix alike)."""
    db = store_db()
    number = find_case_number(db, typed)
    if number is None:
        return None
    state = get_case_state(db, number)
    if state is None or not _suffix_matches(state.applicant.get("phone"), suffix):
        return None
    return _shown(number, state)


def _shown(number: str, state: Any = None) -> dict[str, Any] | None:
    """What the page shows of a case whose phone digits were proved: no personal data. `rating` is
    `open` (the rating form is offered) or why not (remote_ratings.refusal)."""
    db = store_db()
    row = get_case_row(db, number)
    state = state if state is not None else get_case_state(db, number)
    if row is None or state is None:
        return None
    return {"number": row.number, "item": row.item_name or row.item_code or "", "status": status_name(row.status),
            "received": row.received_date or "", "due": row.due_date or "",
            "holder": place_label(row.holder) if row.holder else "",
            "rating": remote_ratings.refusal(state) or "open"}


def _unlock(number: str) -> None:
    """Remember in this visitor's session that they proved the phone digits for `number`."""
    now = time.time()
    unlocked = {k: v for k, v in (session.get(UNLOCKED) or {}).items()
                if isinstance(v, int | float) and now - v < UNLOCK_SECONDS}
    unlocked[number] = now
    session[UNLOCKED] = dict(sorted(unlocked.items(), key=lambda kv: kv[1])[-5:])


def _unlocked(number: str) -> bool:
    when = (session.get(UNLOCKED) or {}).get(number)
    return isinstance(when, int | float) and time.time() - when < UNLOCK_SECONDS


@dataclass
class StatusAnswer:
    """What one status question gets: the errors per field, the case shown (None: nothing to show),
    whether a lookup was made (so the page may say "no such case or wrong digits"), the HTTP code."""

    errors: dict[str, str] = field(default_factory=dict)
    found: dict[str, Any] | None = None
    asked: bool = False
    code: int = 200


def ask_status(case: str) -> StatusAnswer:
    """Answer a posted status question (`case`, form field `phone4`): the checks, the try limit and
    the lookup of the public page, which the kiosk asks through too, so neither reveals more or
    gives a guesser more tries than the other."""
    answer = StatusAnswer()
    errors = answer.errors
    suffix = "".join((request.form.get("phone4") or "").split())
    if case:
        try:
            parse_case_number(case)
        except RuleError as error:
            errors["case"] = error.translated(gettext)
    else:
        errors["case"] = gettext("Type the case number printed on your notice.")
    if not (len(suffix) == 4 and suffix.isascii() and suffix.isdigit()):
        errors["phone4"] = gettext("Type the last 4 digits of the phone number given when applying.")
    if errors:
        return answer
    if not _allowed():
        errors["_limit"] = gettext("Too many tries from this device. Please wait 10 minutes and try again.")
        answer.code = 429
        return answer
    answer.asked = True
    answer.found = _lookup(case, suffix)
    return answer


@bp.route("/status", methods=["GET", "POST"])
def status() -> tuple[str, int] | str:
    case = (request.values.get("case") or "").strip()
    if request.method != "POST":
        return _page(case, errors={}, found=None, asked=False, code=200)
    answer = ask_status(case)
    if answer.found is not None:
        _unlock(answer.found["number"])
    return _page(case, errors=answer.errors, found=answer.found, asked=answer.asked, code=answer.code)


def _page(case: str, *, errors: dict[str, str], found: dict[str, Any] | None, asked: bool, code: int,
          values: Any = None, rated: int | None = None) -> tuple[str, int]:
    return render_template("public/status.html", case=case, errors=errors, found=found, asked=asked,
                           values=values or {}, rated=rated, level_names=LEVEL_NAMES), code


@bp.post("/status/rate")
def rate() -> tuple[str, int]:
    """The applicant's rating of an unlocked case (channel `web`)."""
    number = find_case_number(store_db(), (request.form.get("case") or "").strip()) or ""
    if not number or not _unlocked(number):
        errors = {"_rate": gettext("Look the case up again with the phone digits to rate it.")}
        return _page(number or (request.form.get("case") or "").strip()[:40], errors=errors, found=None,
                     asked=False, code=400)
    errors: dict[str, str] = {}
    try:
        level = int(request.form.get("level") or 0)
    except ValueError:
        level = 0
    reason = nfc((request.form.get("reason") or "").strip())
    if not 1 <= level <= 5:
        errors["level"] = gettext("Choose one of the five levels.")
    elif level <= 2 and not reason:
        errors["reason"] = gettext("Please tell us what was wrong, so that it can be put right.")
    if len(reason) > REASON_LIMIT:
        errors["reason"] = gettext("Please keep it under %(n)s characters.", n=REASON_LIMIT)
    if not errors and not _allowed():
        errors["_limit"] = gettext("Too many tries from this device. Please wait 10 minutes and try again.")
        return _page(number, errors=errors, found=_shown(number), asked=True, code=429, values=request.form)
    if errors:
        return _page(number, errors=errors, found=_shown(number), asked=True, code=400, values=request.form)
    try:
        remote_ratings.rate(central_of(), number, level=level, reason=reason or None,
                            channel="web", real_name=request.form.get("real_name") == "1")
    except remote_ratings.RatingRefused as refused:
        found = _shown(number)
        if found is not None:
            found["rating"] = refused.code
        return _page(number, errors={}, found=found, asked=True, code=409)
    except RuleError as err:
        return _page(number, errors={"_rule": err.translated(gettext)}, found=_shown(number), asked=True,
                     code=400, values=request.form)
    return _page(number, errors={}, found=_shown(number), asked=True, code=200, rated=level)
