"""What kind of data folder this is (a node's or central's) and where its files are.

Backup, restore, doctor and upgrade work on either app's folder; they tell them apart by the
settings file each app writes once (node.toml at enrolment, central.toml at `central init`).
Both keep the same layout otherwise: one SQLite file, the key beside it (never inside it and
never in a backup), `secret_key` for session cookies, and `blobs/` for scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync.keys import default_key_path

DB_FILE = "bianmin.sqlite"
BLOBS_DIR = "blobs"
NODE_CONFIG = "node.toml"
CENTRAL_CONFIG = "central.toml"
SECRET_FILE = "secret_key"
SYNC_STATE_FILE = "sync-state.json"


class NotADataDirError(RuntimeError):
    """The folder holds neither a node nor a central."""


@dataclass(frozen=True)
class AppDir:
    root: Path
    kind: str  # "node" | "central"

    @property
    def db(self) -> Path:
        return self.root / DB_FILE

    @property
    def key(self) -> Path:
        return default_key_path(self.db)

    @property
    def blobs(self) -> Path:
        return self.root / BLOBS_DIR

    @property
    def config_file(self) -> Path:
        return self.root / (NODE_CONFIG if self.kind == "node" else CENTRAL_CONFIG)


def detect(root: str | Path) -> AppDir:
    """The app whose folder `root` is; NotADataDirError (with what to do) if neither."""
    folder = Path(root)
    if (folder / NODE_CONFIG).exists():
        return AppDir(folder, "node")
    if (folder / CENTRAL_CONFIG).exists():
        return AppDir(folder, "central")
    raise NotADataDirError(f"{folder} holds neither a node (node.toml) nor a central (central.toml)")
