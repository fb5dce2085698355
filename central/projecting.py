"""Applying one record to one of central's own projections without ever stopping sync.

A projection runs inside the transaction that stores a record it may never have seen the like
of (a newer central, a hand-made body). If it raised, the record could not be stored and sync
would stall for everyone, so a body the projection cannot take is logged and skipped: the record
stays in the log, and a fixed projection rebuilds from it (`Central.rebuild`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlite_utils import Database

from sync.envelope import Record

Apply = Callable[[Database, Record], "str | None"]


def apply_or_log(db: Database, record: Record, apply: Apply, log: logging.Logger) -> None:
    """Run `apply` (which returns a problem in words, or None); log a problem or a broken body."""
    try:
        problem = apply(db, record)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        problem = type(err).__name__
    if problem:
        log.warning("%s %s not projected: %s", record.kind, record.id[:12], problem)
