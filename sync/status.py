"""What a node's screens show about sync: online or not, when it last worked, what is waiting.

A clerk in a village room needs to know three things: did today's cases reach the city, how many
are still waiting (and since when), and if something is wrong, what to do about it. The client
writes its side of that here after every attempt (atomically, a small JSON file beside the node's
database, so a sync process killed at any moment leaves the last complete status behind); the
counts of waiting records are read from the log itself when the screen asks, so they are never
stale.

Sync never imports the translation layer: every problem is a stable reason code plus an English
message with `%(name)s` placeholders (MESSAGES below); the web layer translates the msgid and
fills the parameters, just as it does for casework's RuleError.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path


def N_(msgid: str) -> str:  # noqa: N802 - the name babel's extractor looks for
    """Marks a msgid for extraction (web/translate.py) without translating it here."""
    return msgid


# reason code -> English msgid (the web layer translates these; parameters in `params`)
MESSAGES: dict[str, str] = {
    "ok": N_("Synced."),
    "net.unreachable": N_("Cannot reach the city server. Check the network cable or mobile link; "
                       "work goes on offline and will be sent later."),
    "net.timeout": N_("The city server did not answer in time. Sync will try again."),
    "net.cut": N_("The link was cut in the middle of a transfer. Sync will resume where it stopped."),
    "server.error": N_("The city server had a problem (HTTP %(status)s). Sync will try again."),
    "server.bad_answer": N_("The city server's answer could not be understood."),
    "auth.clock_skew": N_("This computer's clock is off by %(minutes)s minutes. Set the date and time, "
                       "then sync again."),
    "auth.unknown_key": N_("This service point's key is not enrolled at the city server. Ask the city "
                        "administrator to enrol it again."),
    "auth.revoked": N_("This service point's key has been revoked. Ask the city administrator."),
    "auth.bad_signature": N_("The city server refused this service point's signature."),
    "auth.replay": N_("A request was refused as a repeat; sync will try again."),
    "receipt.invalid": N_("The city server's receipt did not verify. Nothing was marked as sent; "
                       "tell the city administrator."),
    "sync.fork": N_("The city holds different records under the same numbers as this service point "
                 "(restored from an old backup?). Sync has stopped; ask the city administrator."),
    "sync.restored": N_("The city held newer records of this service point; they were brought back."),
    "sync.rebased": N_("This service point's records differed from the city's under the same numbers; "
                    "the city's were taken, ours were added again after them (the originals are kept)."),
    "sync.refused": N_("The city server refused a record (%(reason)s). Sync has stopped; ask the "
                    "city administrator."),
    "sync.clock_flagged": N_("Records made here carry a date more than a day away from the city server's "
                          "clock. They were accepted (the city's receipt time counts), but please set "
                          "this computer's date and time."),
    "sync.needs_attention": N_("Sync has failed %(failures)s times in a row. Last problem: %(last)s"),
}


def describe(code: str, **params: object) -> str:
    """The English text for a reason code, parameters filled (for logs and English screens)."""
    msgid = MESSAGES.get(code, code)
    try:
        return msgid % params if params else msgid
    except (KeyError, TypeError, ValueError):
        return msgid


@dataclass
class SyncState:
    """What the client remembers between attempts (the file's content)."""

    last_attempt: float | None = None
    last_success: float | None = None
    last_error_code: str | None = None
    last_error_params: dict[str, object] = field(default_factory=dict)
    failures: int = 0  # consecutive
    needs_attention: bool = False
    stopped: bool = False  # a fork or refusal: a person must act before sync goes on
    clock_offset: float = 0.0  # central's clock minus ours, seconds, last measured
    notes: list[str] = field(default_factory=list)  # codes worth showing from the last exchange

    @property
    def last_error(self) -> str | None:
        if self.last_error_code is None:
            return None
        return describe(self.last_error_code, **self.last_error_params)


class StateFile:
    """The client's state, in a JSON file replaced atomically on each write."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def load(self) -> SyncState:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except (FileNotFoundError, ValueError):
            return SyncState()
        known = {k: v for k, v in data.items() if k in SyncState.__dataclass_fields__}
        return SyncState(**known)

    def save(self, state: SyncState) -> None:
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(state), ensure_ascii=False), "utf-8")
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class SyncStatus:
    """One snapshot for a screen."""

    state: str  # "ok" | "offline" | "retrying" | "needs_attention" | "stopped" | "never"
    online: bool
    last_success: float | None
    last_attempt: float | None
    pending: int
    oldest_unsent_age: float | None  # seconds
    failures: int
    error_code: str | None
    error_params: dict[str, object]
    error: str | None  # English; the web layer translates error_code's msgid instead
    notes: list[str] = field(default_factory=list)  # e.g. sync.restored, sync.clock_flagged

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def snapshot(state: SyncState, *, pending: int, oldest_unsent: float | None,
             now: float | None = None) -> SyncStatus:
    """Combine the remembered state with the log's counts (read fresh by the caller)."""
    now = time.time() if now is None else now
    online = state.last_attempt is not None and state.failures == 0
    if state.stopped:
        label = "stopped"
    elif state.needs_attention:
        label = "needs_attention"
    elif state.last_attempt is None:
        label = "never"
    elif state.failures == 0:
        label = "ok"
    elif state.last_error_code in ("net.unreachable", "net.timeout"):
        label = "offline"
    else:
        label = "retrying"
    return SyncStatus(
        state=label,
        online=online,
        last_success=state.last_success,
        last_attempt=state.last_attempt,
        pending=pending,
        oldest_unsent_age=None if oldest_unsent is None else max(0.0, now - oldest_unsent),
        failures=state.failures,
        error_code=state.last_error_code,
        error_params=dict(state.last_error_params),
        error=state.last_error,
        notes=list(state.notes),
    )
