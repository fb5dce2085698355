"""Where central keeps its things inside its data folder.

One SQLite file (the record log, the shared projections and central's own tables), the signing
key and the sealing key beside it and never inside it (backups of the database must not carry a
key), the Flask session secret, attachments (blobs) and central.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from central.config import CentralConfig, load
from sync.keys import default_key_path
from sync.sealing import KEY_FILE as SEALING_KEY_FILE


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def db(self) -> Path:
        return self.root / "bianmin.sqlite"

    @property
    def key(self) -> Path:
        return default_key_path(self.db)

    @property
    def sealing_key(self) -> Path:
        """Central's X25519 sealing key (sync/sealing.py): beside the signing key, 0600, never in
        the database or a backup; the scans in the nodes' USB bundles are sealed to it."""
        return self.root / SEALING_KEY_FILE

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def config_file(self) -> Path:
        return self.root / "central.toml"

    def config(self) -> CentralConfig:
        return load(self.config_file)

    def exists(self) -> bool:
        return self.db.exists() and self.key.exists()
