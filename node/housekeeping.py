"""A service point's side of retention: drop scans the city archived, fetch back scans it cannot read,
and apply the retention policy to its files. Runs after every successful sync (node.syncing), and
`due_at()` tells `bianmin node doctor` what the next pass will do.

1. Archived scans. Central signs `scans.archived` {case, scans} once a case has ended, the delay of
   the policy has passed and central holds every scan (central.retention_job). For each scan named
   there that is still on this PC, the node asks central's blob status (`GET /sync/v1/blobs/<sha>/
   status`, signed) once more; only if central answers `complete` is the local copy deleted. Then
   the node signs `scans.dropped` {case, scans, archive: record id}, its own evidence that it let
   them go. A scan central lacks stays, and is tried again on the next pass.
2. Scans this PC cannot read: after a backup is restored onto a new PC the scans in it are
   ciphertext under the old PC's `scans.key`, which backups never hold (sync/blobcrypt.py). Each
   such scan that central holds is deleted here and downloaded again (central has every scan a node
   ever sent). One never sent is kept untouched (the old key file may still be found) and doctor
   says so. Archived scans are never fetched back.
3. Files: USB bundle files in `<data>/bundles/` past `bundle_days`, operators' log files past
   `ops_log_days`, failed sign-ins past `login_failures_days` (web.retention, as at central).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from casework.retention import DEFAULT, RetentionPolicy
from node.config import BLOBS_DIR, DB_FILE
from node.context import Node
from store import retention as store_retention
from store import scans as store_scans
from sync import blobcrypt
from sync.blobcrypt import DataKey, default_data_key_path
from sync.blobs import SHA256_RE
from web import retention

log = logging.getLogger(__name__)
BUNDLES_DIR = retention.BUNDLES_DIR


@dataclass
class Pass:
    sweep: retention.Sweep = field(default_factory=retention.Sweep)
    kept: list[str] = field(default_factory=list)         # archived, but central could not confirm it holds them
    unsent_unreadable: list[str] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)
    retry_unreadable: bool = False  # a scan this PC cannot read is still to be fetched again


def _policy(node: Node) -> RetentionPolicy:
    with node.log._lock:
        return store_retention.current(node.log.db)


def archived_here(node: Node) -> dict[str, list[tuple[str, str]]]:
    """case -> [(sha256, archive record)] of archived scans still held on this PC.

    Runs after every sync, and the archive only grows: scans already dropped here are set aside by
    one query of the blob index, so a pass costs what is left to drop, not every scan ever archived."""
    with node.log._lock:
        archived = store_scans.archived(node.log.db)
    gone = set(node.blobs.dropped())
    held = {case: kept for case, pairs in archived.items()
            if (kept := [(sha, rid) for sha, rid in pairs if sha not in gone and node.blobs.has(sha)])}
    if not held:
        return {}
    with node.log._lock:
        needed = {sha for pairs in held.values() for sha, _ in pairs
                  if store_scans.needed_elsewhere(node.log.db, sha)}
    return {case: kept for case, pairs in held.items() if (kept := [p for p in pairs if p[0] not in needed])}


def _central_holds(client: Any, sha256: str) -> bool:
    try:
        resp = client.request("GET", f"/sync/v1/blobs/{sha256}/status")
        return bool(resp.json().get("complete"))
    except Exception as err:  # unreachable, refused, garbled: keep the scan and try again later
        log.warning("blob status for an archived scan not confirmed (%s)", type(err).__name__)
        return False


def drop_archived(node: Node, client: Any) -> Pass:
    """Step 1 of the module docstring."""
    done = Pass()
    for case, pairs in archived_here(node).items():
        dropped = []
        for sha, _rid in pairs:
            if _central_holds(client, sha):
                node.blobs.drop(sha)
                dropped.append(sha)
            else:
                done.kept.append(sha)
        if dropped:
            done.records.append(node.append(store_scans.DROPPED, {
                "case": case, "scans": dropped, "archive": sorted({rid for _sha, rid in pairs})[0]}))
            done.sweep.add("scans_dropped", len(dropped))
    return done


def refetch_unreadable(node: Node, client: Any) -> Pass:
    """Step 2 of the module docstring."""
    done = Pass()
    with node.log._lock:
        db = node.log.db
        archived = {sha for pairs in store_scans.archived(db).values() for sha, _ in pairs}
    for sha in node.blobs.unreadable():
        if not node.blobs.is_sent(sha):
            done.unsent_unreadable.append(sha)
            continue
        if sha in archived:
            node.blobs.drop(sha)   # another PC's copy of a scan the city archived: nothing to fetch
            continue
        if not _central_holds(client, sha):
            done.retry_unreadable = True
            continue
        node.blobs.drop(sha)
        try:
            client.download_blob(sha)
        except Exception as err:  # the next pass tries again; the case page says "not on this computer"
            log.warning("an unreadable scan could not be fetched again (%s)", type(err).__name__)
            done.retry_unreadable = True
            continue
        done.sweep.add("scans_fetched", 1)
    return done


def due_at(folder: Path, now: float | None = None) -> Pass:
    """What the next pass would do, read from the data folder without opening the node (nothing is
    written, no key is made): for `bianmin node doctor`, which must be safe while the node runs."""
    now = time.time() if now is None else now
    found = Pass()
    objects = folder / BLOBS_DIR / "objects"
    present = {p.name: p for p in objects.glob("??/??/*") if SHA256_RE.match(p.name)} if objects.is_dir() else {}
    db_path = folder / DB_FILE
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10) if db_path.exists() else None
    try:
        db = Database(conn) if conn is not None else None
        try:
            policy = store_retention.current(db) if db is not None else DEFAULT
            archived = store_scans.archived(db) if db is not None else {}
            needed = {sha for pairs in archived.values() for sha, _ in pairs if store_scans.needed_elsewhere(db, sha)}
        except sqlite3.OperationalError:  # a file from before these tables: nothing archived, defaults apply
            policy, archived, needed = DEFAULT, {}, set()
        found.sweep.add("scans_to_drop", sum(1 for pairs in archived.values() for sha, _ in pairs
                                             if sha in present and sha not in needed))
        if db is None:  # no database yet: the files are still judged, by the default policy
            found.sweep.add("bundles", len(retention.old_bundle_files(folder, policy, now)))
        else:
            with contextlib.suppress(sqlite3.OperationalError):
                for kind, n in retention.shared_due(folder, db, policy, now).counts.items():
                    found.sweep.add(kind, n)
    finally:
        if conn is not None:
            conn.close()
    key_path = default_data_key_path(db_path)
    try:
        key_id: bytes | None = DataKey.load(key_path).key_id
    except (OSError, ValueError):
        key_id = None
    unreadable = [sha for sha, path in present.items() if blobcrypt.key_id_of(path) != key_id]
    sent = _sent_blobs(folder / BLOBS_DIR / "blobs.sqlite")
    found.unsent_unreadable = sorted(sha for sha in unreadable if sha not in sent)
    found.sweep.add("scans_to_fetch", len(unreadable) - len(found.unsent_unreadable))
    return found


def _sent_blobs(index: Path) -> set[str]:
    if not index.exists():
        return set()
    conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=10)
    try:
        return {r[0] for r in conn.execute("SELECT sha256 FROM blobs WHERE sent_at IS NOT NULL")}
    except sqlite3.OperationalError:
        return set()
    finally:
        conn.close()


def run(node: Node, client: Any, now: float | None = None, *, unreadable: bool = True) -> Pass:
    """One pass of every step (module docstring); never raises for one step's trouble.

    `unreadable`: look for scans this PC cannot read (step 2). That reads the head of every scan
    file, and such files only appear when a backup is restored with the node stopped, so the sync
    loop asks for it on its first pass and then only while one is left to fetch (`retry_unreadable`)."""
    now = time.time() if now is None else now
    policy = _policy(node)
    done = Pass()
    steps = [("archived scans", lambda: drop_archived(node, client))]
    if unreadable:
        steps.append(("unreadable scans", lambda: refetch_unreadable(node, client)))
    for name, step in steps:
        try:
            result = step()
        except Exception:  # one step failing must not stop the others, nor sync
            log.exception("housekeeping step failed: %s", name)
            done.retry_unreadable = done.retry_unreadable or name == "unreadable scans"
            continue
        done.retry_unreadable = done.retry_unreadable or result.retry_unreadable
        done.records += result.records
        done.kept += result.kept
        done.unsent_unreadable += result.unsent_unreadable
        for kind, n in result.sweep.counts.items():
            done.sweep.add(kind, n)
    with node.log.transaction() as db:
        for kind, n in retention.shared_apply(node.data_dir, db, policy, now).counts.items():
            done.sweep.add(kind, n)
    if done.sweep.total():
        log.info("housekeeping: %s", ", ".join(f"{k}={v}" for k, v in sorted(done.sweep.counts.items())))
    return done
