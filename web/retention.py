"""Housekeeping both apps do under the retention policy (casework.retention, store.retention).

The steps that are the same at a village PC and at the city: the operators' log files past
`ops_log_days`, the failed sign-ins past `login_failures_days`, and the USB bundle files kept in
`<data>/bundles/` past `bundle_days` (a node's exports, central's replies to bundles brought to its
page). Each step has a "due" half (what `bianmin node doctor` / `central doctor` report) and an
"apply" half (what the app's job does), from the same selection, so a report and the deletion it
announces never disagree. Each app adds its own steps (node.housekeeping: archived scans;
central.retention_job: archiving, SMS, scans at the city).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from casework.retention import RetentionPolicy
from store import accounts

LOG_DIR = "logs"          # installer.ops_logging writes <data>/logs/bianmin.log, rotated daily
LOG_PREFIX = "bianmin.log"
BUNDLES_DIR = "bundles"   # USB bundle files an app keeps a while (`bundle_days`): `*.zip`
DAY = 86400.0


@dataclass
class Sweep:
    """What one housekeeping pass found due (or did): counts per kind, for doctor and the ops log."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int) -> None:
        if n:
            self.counts[kind] = self.counts.get(kind, 0) + n

    def total(self) -> int:
        return sum(self.counts.values())


def old_files(folder: Path, pattern: str, *, days: int, now: float, keep: set[Path] | None = None) -> list[Path]:
    """Files in `folder` matching `pattern` last written more than `days` ago (never those in `keep`)."""
    if not folder.is_dir():
        return []
    cutoff = now - days * DAY
    found = []
    for path in folder.glob(pattern):
        if path.is_file() and (keep is None or path not in keep) and path.stat().st_mtime < cutoff:
            found.append(path)
    return sorted(found)


def old_log_files(data_dir: Path, policy: RetentionPolicy, now: float) -> list[Path]:
    """Rotated operators' logs past `ops_log_days` (the file being written is never one of them)."""
    folder = data_dir / LOG_DIR
    return old_files(folder, LOG_PREFIX + ".*", days=policy["ops_log_days"], now=now, keep={folder / LOG_PREFIX})


def delete(paths: list[Path]) -> int:
    done = 0
    for path in paths:
        try:
            os.remove(path)
            done += 1
        except FileNotFoundError:
            continue
    return done


def old_bundle_files(data_dir: Path, policy: RetentionPolicy, now: float) -> list[Path]:
    """USB bundle files in `<data>/bundles/` past `bundle_days`."""
    return old_files(data_dir / BUNDLES_DIR, "*.zip", days=policy["bundle_days"], now=now)


def shared_due(data_dir: Path, db: Database, policy: RetentionPolicy, now: float) -> Sweep:
    sweep = Sweep()
    sweep.add("bundles", len(old_bundle_files(data_dir, policy, now)))
    sweep.add("ops_logs", len(old_log_files(data_dir, policy, now)))
    sweep.add("login_failures", accounts.stale_failures(db, before=now - policy["login_failures_days"] * DAY, now=now))
    return sweep


def shared_apply(data_dir: Path, db: Database, policy: RetentionPolicy, now: float) -> Sweep:
    """Delete what `shared_due` reports (`db` in a transaction the caller holds, or autocommit)."""
    sweep = Sweep()
    sweep.add("bundles", delete(old_bundle_files(data_dir, policy, now)))
    sweep.add("ops_logs", delete(old_log_files(data_dir, policy, now)))
    sweep.add("login_failures", accounts.forget_failures(db, before=now - policy["login_failures_days"] * DAY, now=now))
    return sweep


def china_cutoff(now: dt.datetime, days: int) -> str:
    """`days` before `now`, as the naive China-time ISO text the cases table holds (`closed_at`)."""
    china = dt.timezone(dt.timedelta(hours=8))
    moment = now.astimezone(china) if now.tzinfo else now
    return (moment - dt.timedelta(days=days)).replace(tzinfo=None).isoformat(timespec="seconds")
