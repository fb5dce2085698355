"""Ratings applicants give from afar: on the public status page (channel `web`) or by an SMS reply
(channel `sms`). Central signs them as `case.evaluated` for the centre as a whole (no window, no
member of staff); the unit rated is then the place that handled the case (central.reviews_store).

One such rating per case: whichever comes first of the web page and the SMS reply counts, and a
second attempt is told the case was already rated, so an applicant (or someone holding their
notice) cannot tilt a window's satisfaction rate by rating again and again. Ratings at a counter
or on a paper form are the clerks' business (the shared case page) and are not limited here.
"""

from __future__ import annotations

from casework.case_state import CLOSED, CaseState, Status
from central.runtime import Central
from sync.envelope import Record

REMOTE_CHANNELS = ("web", "sms")
RATEABLE = frozenset({Status.FINISHED, Status.LICENCE_ISSUED}) | CLOSED


class RatingRefused(Exception):  # noqa: N818 - a refusal with a reason code, not a failure
    """`code`: `unknown` (no such case), `not_finished` (still being handled) or `already_rated`."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def refusal(state: CaseState | None) -> str | None:
    """Why the applicant may not rate this case from afar now, or None if they may."""
    if state is None or state.number is None:
        return "unknown"
    if any(e.channel in REMOTE_CHANNELS for e in state.evaluations):
        return "already_rated"
    if state.status not in RATEABLE:
        return "not_finished"
    return None


def rate(central: Central, number: str, *, level: int, reason: str | None, channel: str, real_name: bool,
         **extra: object) -> Record:
    """Sign the applicant's rating of case `number`; RatingRefused if `refusal` says no, RuleError
    for a bad body (a bad level without a reason). Checked and signed under `act`'s lock, so two
    ratings sent at the same moment cannot both count. `extra` fields go into the body (the fold
    ignores them): the SMS reply's gateway id, for instance."""
    with central.one_at_a_time():
        problem = refusal(central.fold(number))
        if problem:
            raise RatingRefused(problem)
        return central.act(number, "case.evaluated", window=None, staff=None, level=level, reason=reason or None,
                           channel=channel, real_name=real_name, **extra)
