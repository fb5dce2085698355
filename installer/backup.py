"""Daily backups of a node's or central's data folder to another disk or a USB stick, and restore.

    bianmin backup  --data DIR --to DEST [--keep 7]
    bianmin restore --from DEST_OR_SNAPSHOT --data DIR [--force]

The database is copied with SQLite's online backup API, so the copy is consistent while the app
keeps serving and writing (a plain file copy of a WAL database can catch it half-way). Scans are
content-addressed, so they go into one pool beside the snapshots and each is copied once, ever:
a daily backup of a village PC costs the database plus the day's new scans. Layout of DEST:

    DEST/blobs/objects/ab/cd/<sha256>        every scan, shared by all snapshots
    DEST/20261125T020000Z/manifest.json      what, whose, when, and the database's SHA-256
    DEST/20261125T020000Z/bianmin.sqlite     the record log and projections (one file, no WAL)
    DEST/20261125T020000Z/blobs.sqlite       the scan index
    DEST/20261125T020000Z/node.toml          (or central.toml)

Rotation keeps the newest snapshot of each of the last `keep` days that have one (default: the
retention policy's `backup_days`, casework.retention); older snapshots are deleted. A scan leaves
the pool only when the data folder itself dropped it on purpose (archived at the city and deleted
here, sync/blobs.py `dropped`): a village's backup stick must not keep what its PC let go.

Scans on a node are encrypted at rest under its scan key (`scans.key`, sync/blobcrypt.py), and the
pool holds them as they are on disk: ciphertext. The scan key, like the signing key, is never in a
backup, so a lost stick shows no ID card. Restoring on the SAME PC reads them (its scans.key is
still in the data folder: restore never touches keys). Restoring onto a NEW PC cannot read them:
the node makes a new scan key, and after its first sync (node.housekeeping) deletes each copy it
cannot read and fetches the scan again from central, which holds every scan a node sent; a scan
taken there and never sent can only be read with the old PC's scans.key, which doctor says.

What a backup never holds: the key files (the signing key `bianmin.key`, DESIGN.md and
sync/keys.py: a stolen USB stick must not let anyone sign as this service point; the scan key
`scans.key`) and the session secret. A
restored node therefore either still has its key file on the PC, or is enrolled again with a new
token (`installer.recovery.reenrol`), after which central's copy of its history comes back.

Restoring a node holds its writing (`LogStore.hold_writes`) until its first contact with central:
a backup is always older than the node's last state, and sync's head check then pulls back every
record of this node that central holds and the backup lacks, before anything new is written
(sync/PROTOCOL.md section 11). Nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from installer.datadir import BLOBS_DIR, DB_FILE, AppDir, NotADataDirError, detect

MANIFEST = "manifest.json"
BLOB_INDEX = "blobs.sqlite"
FORMAT = 1
STAMP = "%Y%m%dT%H%M%SZ"


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


@dataclass(frozen=True)
class Snapshot:
    path: Path
    created: datetime
    kind: str
    origin: str
    db_sha256: str

    @property
    def day(self) -> str:
        return self.created.date().isoformat()


@dataclass
class BackupResult:
    snapshot: Snapshot
    db_bytes: int
    blobs_copied: int
    blobs_total: int
    removed: list[Path] = field(default_factory=list)
    scans_pruned: int = 0


@dataclass
class RestoreResult:
    snapshot: Snapshot
    data_dir: Path
    moved_aside: Path | None
    blobs_copied: int
    key_present: bool
    writes_held: bool


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy a live SQLite file with the backup API into `target` as one self-contained file."""
    tmp = target.with_name(target.name + ".partial")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(str(source), timeout=30)
    try:
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst, pages=256, sleep=0.005)  # small steps: the app's writers get their turn
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            problem = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if problem != "ok":
        tmp.unlink(missing_ok=True)
        raise BackupError(f"the copy of {source.name} fails its integrity check ({problem}); "
                          "run `bianmin doctor` on the data folder")
    with tmp.open("rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, target)


def _origin(app: AppDir) -> str:
    if app.kind == "central":
        return "C"
    import tomllib

    return str(tomllib.loads(app.config_file.read_text("utf-8")).get("node_id", ""))


def _copy_new_blobs(source_objects: Path, target_objects: Path) -> tuple[int, int]:
    """Copy scans the target lacks (same name = same bytes: they are named by their SHA-256)."""
    copied = total = 0
    if not source_objects.is_dir():
        return 0, 0
    for path in source_objects.rglob("*"):
        if not path.is_file() or len(path.name) != 64:
            continue
        total += 1
        dest = target_objects / path.relative_to(source_objects)
        if dest.exists() and dest.stat().st_size == path.stat().st_size:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".partial")
        shutil.copyfile(path, tmp)
        os.replace(tmp, dest)
        copied += 1
    return copied, total


def policy_keep(app: AppDir, default: int = 7) -> int:
    """The retention policy's `backup_days` as the data folder's records say (read-only)."""
    from sqlite_utils import Database

    from store import retention as store_retention

    try:
        conn = sqlite3.connect(f"file:{app.db}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return default
    try:
        return store_retention.current(Database(conn))["backup_days"]
    except sqlite3.Error:  # a file from before the policy existed
        return default
    finally:
        conn.close()


def _prune_dropped(app: AppDir, pool: Path) -> int:
    """Delete from the pool the scans the data folder dropped on purpose and no longer holds."""
    index = app.blobs / BLOB_INDEX
    if not index.exists() or not pool.is_dir():
        return 0
    conn = sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=10)
    try:
        dropped = [r[0] for r in conn.execute("SELECT sha256 FROM blobs WHERE dropped_at IS NOT NULL")]
    except sqlite3.OperationalError:  # an index from before dropping existed
        dropped = []
    finally:
        conn.close()
    done = 0
    for sha in dropped:
        if len(sha) != 64 or (app.blobs / "objects" / sha[:2] / sha[2:4] / sha).exists():
            continue
        target = pool / sha[:2] / sha[2:4] / sha
        if target.exists():
            target.unlink()
            done += 1
    return done


def backup(data_dir: str | Path, dest: str | Path, *, keep: int | None = None,
           now: datetime | None = None) -> BackupResult:
    """Take one snapshot of the data folder into `dest` and rotate; safe while the app runs. `keep`:
    days of snapshots (default: the retention policy's `backup_days`)."""
    try:
        app = detect(data_dir)
    except NotADataDirError as err:
        raise BackupError(str(err)) from None
    if not app.db.exists():
        raise BackupError(f"{app.db} does not exist: nothing to back up")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    name = now.strftime(STAMP)
    folder = dest / name
    work = dest / (name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    # blobs first: a snapshot must never name a scan the pool lacks
    copied, total = _copy_new_blobs(app.blobs / "objects", dest / BLOBS_DIR / "objects")
    sqlite_copy(app.db, work / DB_FILE)
    if (app.blobs / BLOB_INDEX).exists():
        sqlite_copy(app.blobs / BLOB_INDEX, work / BLOB_INDEX)
    shutil.copy2(app.config_file, work / app.config_file.name)
    digest = _sha256_file(work / DB_FILE)
    manifest = {"format": FORMAT, "kind": app.kind, "origin": _origin(app), "created": now.isoformat(),
                "db_sha256": digest, "db_bytes": (work / DB_FILE).stat().st_size, "source": str(app.root),
                "blobs_in_pool": total, "note": "keys are never in a backup (DESIGN.md); a node's scans are encrypted under its scans.key"}
    (work / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), "utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(work, folder)
    snap = read_snapshot(folder)
    removed = rotate(dest, keep if keep is not None else policy_keep(app))
    pruned = _prune_dropped(app, dest / BLOBS_DIR / "objects")
    return BackupResult(snap, manifest["db_bytes"], copied, total, removed, pruned)


def read_snapshot(folder: Path) -> Snapshot:
    try:
        data = json.loads((folder / MANIFEST).read_text("utf-8"))
        return Snapshot(folder, datetime.fromisoformat(data["created"]), data["kind"], data["origin"],
                        data["db_sha256"])
    except (OSError, ValueError, KeyError) as err:
        raise BackupError(f"{folder} is not a complete bianmin backup ({err})") from None


def list_snapshots(dest: str | Path) -> list[Snapshot]:
    """Complete snapshots in `dest`, oldest first (unfinished `.partial` folders are ignored)."""
    dest = Path(dest)
    found = []
    for child in sorted(dest.iterdir()) if dest.is_dir() else []:
        if child.is_dir() and (child / MANIFEST).exists():
            try:
                found.append(read_snapshot(child))
            except BackupError:
                continue
    return sorted(found, key=lambda s: s.created)


def rotate(dest: str | Path, keep: int) -> list[Path]:
    """Keep the newest snapshot of each of the `keep` most recent days; delete the rest."""
    snaps = list_snapshots(dest)
    newest_per_day: dict[str, Snapshot] = {}
    for snap in snaps:  # oldest first: later ones replace earlier ones of the same day
        newest_per_day[snap.day] = snap
    kept_days = sorted(newest_per_day)[-max(1, keep):]
    kept = {newest_per_day[d].path for d in kept_days}
    removed = []
    for snap in snaps:
        if snap.path not in kept:
            shutil.rmtree(snap.path, ignore_errors=True)
            removed.append(snap.path)
    return removed


def find_snapshot(source: str | Path) -> Snapshot:
    """`source` is a snapshot folder, or a backup folder (its newest snapshot is used)."""
    source = Path(source)
    if (source / MANIFEST).exists():
        return read_snapshot(source)
    snaps = list_snapshots(source)
    if not snaps:
        raise BackupError(f"{source} holds no bianmin backup")
    return snaps[-1]


def _pool_of(snap: Snapshot) -> Path:
    return snap.path.parent / BLOBS_DIR / "objects"


def restore(source: str | Path, data_dir: str | Path, *, force: bool = False,
            hold_until_contact: bool = True) -> RestoreResult:
    """Put a snapshot back into `data_dir`.

    Refuses a folder that already holds a database unless `force`; with `force` the current files
    are moved aside into `before-restore-<time>/` (never deleted). The key file is never written,
    moved or deleted. A node with a central address has its writing held until sync's first
    contact has brought back what central holds of it (see the module docstring)."""
    snap = find_snapshot(source)
    data = Path(data_dir)
    if _sha256_file(snap.path / DB_FILE) != snap.db_sha256:
        raise BackupError(f"{snap.path / DB_FILE} does not match its manifest: the backup is damaged; "
                          "try an older snapshot")
    data.mkdir(parents=True, exist_ok=True)
    config_name = "node.toml" if snap.kind == "node" else "central.toml"
    live = [data / n for n in (DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm", config_name) if (data / n).exists()]
    moved_aside = None
    if (data / DB_FILE).exists():
        if not force:
            raise BackupError(f"{data} already holds a database: stop the app and restore with --force "
                              "(the current files are then moved aside, not deleted)")
        moved_aside = data / ("before-restore-" + datetime.now(UTC).strftime(STAMP))
        moved_aside.mkdir()
        for path in live:
            os.replace(path, moved_aside / path.name)
        for name in (BLOB_INDEX, BLOB_INDEX + "-wal", BLOB_INDEX + "-shm"):
            if (data / BLOBS_DIR / name).exists():
                os.replace(data / BLOBS_DIR / name, moved_aside / name)
    tmp = data / (DB_FILE + ".restoring")
    shutil.copyfile(snap.path / DB_FILE, tmp)
    os.replace(tmp, data / DB_FILE)
    if not (data / config_name).exists():
        shutil.copy2(snap.path / config_name, data / config_name)
    (data / BLOBS_DIR / "objects").mkdir(parents=True, exist_ok=True)
    if (snap.path / BLOB_INDEX).exists():
        shutil.copyfile(snap.path / BLOB_INDEX, data / BLOBS_DIR / BLOB_INDEX)
    copied, _ = _copy_new_blobs(_pool_of(snap), data / BLOBS_DIR / "objects")
    app = detect(data)
    held = False
    if app.kind == "node" and hold_until_contact:
        held = _hold_node(app)
    return RestoreResult(snap, data, moved_aside, copied, app.key.exists(), held)


def _hold_node(app: AppDir) -> bool:
    """Hold a restored node's writing until its first sync has compared heads with central."""
    import tomllib

    from sync.logstore import LogStore

    config = tomllib.loads(app.config_file.read_text("utf-8"))
    if not config.get("central_url"):
        return False  # a USB-only node: its bundles carry the same check
    log = LogStore.open(app.db, network=str(config["network"]), origin=str(config["node_id"]))
    try:
        log.hold_writes(f"restored from a backup at {time.strftime('%Y-%m-%d %H:%M')}: "
                        "waiting for the first contact with the city server")
    finally:
        log.close()
    return True
