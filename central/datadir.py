"""Where central keeps its things inside its data folder.

One SQLite file (the record log, the shared projections and central's own tables), the signing
key beside it and never inside it (backups of the database must not carry the key), the Flask
session secret, attachments (blobs) and central.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from central.config import CentralConfig, load
from sync.keys import default_key_path


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
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def config_file(self) -> Path:
        return self.root / "central.toml"

    def config(self) -> CentralConfig:
        return load(self.config_file)

    def exists(self) -> bool:
        return self.db.exists() and self.key.exists()
