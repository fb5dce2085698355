"""`bianmin central doctor`: checks an administrator can run when something seems wrong.

Each check says in plain words what it found and, when something is wrong, what to do. Nothing
is changed. Levels: ok, warning (works, but look at it soon), error (fix this first).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from central.datadir import DataDir

MIN_FREE_BYTES = 500 * 1024 * 1024
SILENT_NODE_DAYS = 3


@dataclass(frozen=True)
class Finding:
    level: str  # ok | warning | error
    what: str


def examine(folder: Path, *, now: dt.datetime | None = None) -> list[Finding]:
    data = DataDir(folder)
    found: list[Finding] = []
    if not data.config_file.exists() or not data.db.exists():
        return [Finding("error", f"{folder} is not a central's data folder (no central.toml or bianmin.sqlite); "
                                 "run `bianmin central init --data DIR` or give the right folder.")]
    if not data.key.exists():
        return [Finding("error", f"The signing key {data.key} is missing: restore it from the key backup "
                                 "(never from a database backup, which does not hold it).")]
    mode = data.key.stat().st_mode & 0o777
    if mode & 0o077:
        found.append(Finding("error", f"The signing key is readable by others (mode {mode:o}); "
                                      f"run: chmod 600 {data.key}"))
    else:
        found.append(Finding("ok", "The signing key is private to its owner."))
    found.append(_sealing_key(data))
    free = shutil.disk_usage(folder).free
    level = "ok" if free >= MIN_FREE_BYTES else "error"
    found.append(Finding(level, f"{free // (1024 * 1024)} MB free on the data disk"
                         + ("" if level == "ok" else "; free space or move the data folder before it fills up.")))
    conn = sqlite3.connect(f"file:{data.db}?mode=ro", uri=True)
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
        found.append(Finding("ok", "The database file is intact.") if result == "ok" else
                     Finding("error", f"The database file is damaged ({result}); stop central and restore the "
                                      "latest backup."))
    finally:
        conn.close()

    from central.runtime import Central

    try:
        central = Central(data)
    except Exception as exc:  # the finding is the message; the doctor itself must not crash
        found.append(Finding("error", f"central cannot open its data: {exc}"))
        return found
    try:
        problems = central.log.verify_all()
        found.append(Finding("ok", f"All {central.log.count()} records, chains and the Merkle log check out.")
                     if not problems else
                     Finding("error", f"{len(problems)} problem(s) in the record log, first: {problems[0]}"))
        found.append(Finding("ok", f"Catalogue version {central.catalogue_version()} is published.")
                     if central.catalogue_version() else
                     Finding("error", "No catalogue is published: nodes cannot work."))
        today = central.today()
        if today.month >= 11 and today.year + 1 not in central.calendar().known_years:
            found.append(Finding("warning", f"The holiday calendar for {today.year + 1} is not published yet: "
                                            "due dates in it are provisional. Publish it under Administration."))
        now = now or dt.datetime.now(dt.UTC)
        from store.directory import list_nodes

        for node in list_nodes(central.log.db):
            if node.node == "C":
                continue
            if node.status == "revoked":
                found.append(Finding("warning", f"{node.node} {node.name}: its key is revoked; enrol it again."))
                continue
            if central.log.forks(node.node):
                found.append(Finding("error", f"{node.node} {node.name}: a fork (two histories) was detected; "
                                              "the node must recover from central before it writes again."))
            if node.last_contact:
                silent = now - dt.datetime.fromisoformat(node.last_contact).astimezone(dt.UTC)
                if silent > dt.timedelta(days=SILENT_NODE_DAYS):
                    found.append(Finding("warning", f"{node.node} {node.name}: nothing received for "
                                                    f"{silent.days} days; call the service point."))
        waiting = central.log.db.execute(
            "SELECT count(*) FROM sms_outbox WHERE sent_at IS NULL AND created_at < ?",
            [time.time() - 3600]).fetchone()[0]
        if waiting:
            found.append(Finding("warning", f"{waiting} text message(s) have waited over an hour; check the SMS "
                                            "gateway address in central.toml and that the gateway is up."))
        found += _retention(central, data)
    finally:
        central.close()
    return found


def _sealing_key(data: DataDir) -> Finding:
    """The key the scans in the nodes' USB bundles are sealed to (central.sealing_key)."""
    if not data.sealing_key.exists():
        return Finding("warning", f"No sealing key yet ({data.sealing_key.name}): central makes it when it next "
                                  "starts; until then service points send their USB bundles without scans.")
    mode = data.sealing_key.stat().st_mode & 0o777
    if mode & 0o077:
        return Finding("error", f"The sealing key is readable by others (mode {mode:o}); run: chmod 600 "
                                f"{data.sealing_key}")
    return Finding("ok", "The sealing key for the scans in USB bundles is private to its owner.")


RETENTION_WORDS = {
    "archive_cases": "ended cases to archive (their scans then leave the service points)",
    "expire_scans": "scan files past their years at the city",
    "sms": "sent SMS still holding a number or text",
    "login_failures": "old failed sign-ins",
    "ops_logs": "old operators' log files",
    "bundles": "old USB bundle files (replies to service points)",
}


def _retention(central: object, data: DataDir) -> list[Finding]:
    """What the retention policy has due now (the hourly pass of `central run` applies it)."""
    from central.retention_job import due
    from sync.blobs import BlobStore

    blobs = BlobStore(data.blobs)
    try:
        pending = due(central, blobs, data.root)  # type: ignore[arg-type]
    finally:
        blobs.close()
    found = []
    if pending.waiting:
        first = pending.waiting[0]
        found.append(Finding("warning", f"{len(pending.waiting)} ended case(s) wait for scans from their service "
                                        f"points before the city can archive them (first: {first[0]}, "
                                        f"{len(first[1])} scan(s) missing); see that the service point syncs."))
    counts = pending.sweep.counts
    found.append(Finding("ok", "Retention: due at the next hourly pass: " + "; ".join(
        f"{n} {RETENTION_WORDS.get(k, k)}" for k, n in sorted(counts.items())) if counts else
        "Retention: nothing is due for deletion."))
    return found

