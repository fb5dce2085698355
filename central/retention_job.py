"""Central's side of retention: archiving ended cases' scans, and applying the retention policy.

"Archived at central", precisely: central signs `scans.archived` {case, scans: [sha256...], ended,
closed_at, after_days, policy} for a case when
1. the case has ended: its status is delivered, refused, returned or withdrawn (store.scans);
2. `node_scans_days` of the policy have passed since it ended (the fold's trusted closing time,
   judged on central's clock: a village PC's clock is often wrong, so no node decides this);
3. central holds every scan the case's records name (its blob store has each file, whole and
   hash-checked). A case with a scan still missing waits; doctor lists it.
The record is routed to every node the case touched (central.routing), which then deletes its copies
after asking central's blob status once more (node.housekeeping) and signs `scans.dropped`. Towns and
sub-centres drop them too, not only villages: the risk (a PC in an open office) is the same, and the
city's copy is the one the archive law cares about.

Then the rest of the policy, at central:
- `central_scans_years` after a case ended (unless 0: for ever), its scan files at central are
  deleted; `scans.expired` {case, scans, years, policy} is signed FIRST, so a missing file is always
  explained by a record (a deletion that fails is retried on the next pass);
- SMS outbox: the phone numbers and texts of messages sent more than `sms_days` ago are masked
  and blanked (the case, reason and time stay);
- failed sign-ins and operators' log files (web.retention).
Access records are never deleted: they are records (casework.retention).

`run_once` applies, `due` reports (central doctor); both use the same selection. `start(app, central)`
runs `run_once` on a thread an hour apart (and 30 s after start), as the SMS sender does.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from casework.retention import RetentionPolicy
from central import sms_store
from central.runtime import Central
from store import retention as store_retention
from store import scans as store_scans
from sync.blobs import BlobStore
from web import retention

log = logging.getLogger(__name__)
INTERVAL_S = 3600.0
FIRST_RUN_S = 30.0


@dataclass
class Pass:
    """One pass: what was (or is) due, per kind, and cases still waiting for a scan to arrive."""

    sweep: retention.Sweep = field(default_factory=retention.Sweep)
    waiting: list[tuple[str, list[str]]] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)


def _policy(central: Central) -> RetentionPolicy:
    with central.log._lock:
        return store_retention.current(central.log.db)


def _archive_selection(central: Central, blobs: BlobStore, policy: RetentionPolicy
                       ) -> tuple[list[tuple[str, list[str]]], list[tuple[str, list[str]]]]:
    """(cases due for archiving with all their scans here, cases due but waiting for scans)."""
    cutoff = retention.china_cutoff(central.now(), policy["node_scans_days"])
    with central.log._lock:
        candidates = store_scans.archive_candidates(central.log.db, ended_before=cutoff)
    ready, waiting = [], []
    for case, scans in candidates:
        missing = [sha for sha in scans if not blobs.has(sha)]
        (waiting if missing else ready).append((case, missing if missing else scans))
    return ready, waiting


def _expiry_selection(central: Central, policy: RetentionPolicy) -> list[tuple[str, list[str]]]:
    years = policy["central_scans_years"]
    if not years:
        return []
    cutoff = retention.china_cutoff(central.now(), years * 365 + years // 4)
    with central.log._lock:
        return store_scans.expiry_candidates(central.log.db, ended_before=cutoff)


def _ended(central: Central, case: str) -> tuple[str, str]:
    with central.log._lock:
        row = central.log.db.execute("SELECT status, closed_at FROM cases WHERE number = ?", [case]).fetchone()
    return (row[0], row[1]) if row else ("", "")


def archive(central: Central, blobs: BlobStore, policy: RetentionPolicy | None = None) -> list[Any]:
    """Sign `scans.archived` for every case due (see the module docstring); returns the records."""
    policy = policy or _policy(central)
    ready, _waiting = _archive_selection(central, blobs, policy)
    records = []
    for case, scans in ready:
        status, closed_at = _ended(central, case)
        records.append(central.sign(store_scans.ARCHIVED, {
            "case": case, "scans": scans, "ended": status, "closed_at": closed_at,
            "after_days": policy["node_scans_days"], "policy": policy.version}))
    return records


def expire(central: Central, blobs: BlobStore, policy: RetentionPolicy | None = None) -> tuple[list[Any], int]:
    """Sign `scans.expired` then delete the files, for cases past `central_scans_years`; also finish
    deletions an earlier pass signed but could not do. Returns (records, files deleted)."""
    policy = policy or _policy(central)
    records = []
    for case, scans in _expiry_selection(central, policy):
        records.append(central.sign(store_scans.EXPIRED, {
            "case": case, "scans": scans, "years": policy["central_scans_years"], "policy": policy.version}))
    with central.log._lock:
        expired = store_scans.expired(central.log.db)
    deleted = sum(1 for sha in expired if blobs.has(sha) and blobs.drop(sha))
    return records, deleted


def _sms_before(central: Central, policy: RetentionPolicy) -> float:
    return central.now().timestamp() - policy["sms_days"] * retention.DAY


def due(central: Central, blobs: BlobStore, data_dir: Path) -> Pass:
    """What a pass would do now (nothing is changed): for `central doctor` and the admin page."""
    policy = _policy(central)
    now = central.now().timestamp()
    found = Pass()
    ready, found.waiting = _archive_selection(central, blobs, policy)
    found.sweep.add("archive_cases", len(ready))
    expiring = _expiry_selection(central, policy)
    found.sweep.add("expire_scans", sum(len(s) for _, s in expiring))
    with central.log._lock:
        db = central.log.db
        found.sweep.add("sms", sms_store.sent_with_numbers(db, before=_sms_before(central, policy)))
        for kind, n in retention.shared_due(data_dir, db, policy, now).counts.items():
            found.sweep.add(kind, n)
    return found


def run_once(central: Central, blobs: BlobStore, data_dir: Path) -> Pass:
    """One pass of everything the policy asks of central (module docstring)."""
    policy = _policy(central)
    now = central.now().timestamp()
    done = Pass()
    done.records = archive(central, blobs, policy)
    done.sweep.add("archive_cases", len(done.records))
    expired, deleted = expire(central, blobs, policy)
    done.records += expired
    done.sweep.add("expire_scans", deleted)
    with central.log.transaction() as db:
        done.sweep.add("sms", sms_store.forget_sent_numbers(db, before=_sms_before(central, policy)))
        for kind, n in retention.shared_apply(data_dir, db, policy, now).counts.items():
            done.sweep.add(kind, n)
    _ready, done.waiting = _archive_selection(central, blobs, policy)
    if done.sweep.total():
        log.info("retention pass: %s", ", ".join(f"{k}={v}" for k, v in sorted(done.sweep.counts.items())))
    return done


class Job:
    """`run_once` on a daemon thread, every INTERVAL_S; a failing pass is logged and retried later."""

    def __init__(self, central: Central, blobs: BlobStore, data_dir: Path, *, interval: float = INTERVAL_S) -> None:
        self.central, self.blobs, self.data_dir, self.interval = central, blobs, data_dir, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="central-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        wait = FIRST_RUN_S
        while not self._stop.wait(wait):
            started = time.monotonic()
            try:
                run_once(self.central, self.blobs, self.data_dir)
            except Exception:  # a pass must never kill the thread; the next one tries again
                log.exception("retention pass failed")
            wait = max(60.0, self.interval - (time.monotonic() - started))


def start(app: Flask, central: Central) -> Job:
    job = Job(central, app.extensions["central_blobs"], central.data.root)
    job.start()
    central.on_close(job.stop)
    app.extensions["central_retention"] = job
    return job
