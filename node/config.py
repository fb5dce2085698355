"""A node's data folder and its `node.toml`: who this service point is, and whom it trusts.

The folder holds everything a node has, so that backing it up (or moving it to a new PC) is one
copy, and the key file lives outside the database so that backups of the database never carry it:

    node.toml           node id, tier, name, network, central's URL and pinned public key, and
                        central's signed sealing key as the enrolment answer carried it
    bianmin.sqlite      the record log (sync) and every projection (store), one SQLite file (WAL)
    bianmin.key         this node's Ed25519 key (0600; sync.keys.default_key_path)
    secret_key          signs session cookies (web.security)
    blobs/              scans and photos, content-addressed (sync.blobs)
    sync-state.json     what the sync client last saw (sync.status)

`node.toml` is written once at enrolment and read at every start. It is plain TOML so that an
installer (or a person on the phone with the city) can read it; it holds no secret.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

CONFIG_FILE = "node.toml"
DB_FILE = "bianmin.sqlite"
BLOBS_DIR = "blobs"
SYNC_STATE_FILE = "sync-state.json"

TIER_OF_LETTER = {"T": "town", "V": "village", "S": "subcentre"}


class NodeConfigError(RuntimeError):
    """The data folder is not an enrolled node's, or its node.toml is damaged; says what to do."""


@dataclass(frozen=True)
class NodeConfig:
    """What `node.toml` holds."""

    node_id: str                 # T0101, V000123, S01
    name: str                    # 如皋市丁堰镇便民服务中心
    network: str                 # the sync network id (a test network never mixes with production)
    central_url: str             # https://bianmin.rugao.example (empty for a USB-only node)
    central_public: str          # central's Ed25519 public key, hex: the pinned trust anchor
    central_fingerprint: str     # as shown at enrolment, for people to compare
    public_url: str = ""         # the status-query address printed on notices (default central_url)
    parent: str = ""             # a village room's town centre (T0101): where town items go
    central_sealing: str = ""    # central's signed `sealing.key` record from the enrolment answer
    #                              (base64 raw "." base64 sig; sync/sealing.py): scans in a USB bundle
    #                              are sealed to it, even before the first sync brings the record

    @property
    def tier(self) -> str:
        """town, village or subcentre, from the first letter of the node id."""
        return TIER_OF_LETTER.get(self.node_id[:1], "town")

    @property
    def case_tier(self) -> str:
        """The tier in casework's terms (village, town, city): a sub-centre is a city hall."""
        return {"subcentre": "city"}.get(self.tier, self.tier)

    @property
    def place(self) -> str:
        """This node as a case holder: `node:<id>`."""
        return f"node:{self.node_id}"

    @property
    def central_public_bytes(self) -> bytes:
        return bytes.fromhex(self.central_public)


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def write_config(data_dir: str | Path, config: NodeConfig) -> Path:
    """Write node.toml atomically (a power cut leaves the old file or the new one, never half)."""
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# bianmin node: written at enrolment. Central's key is pinned here; do not edit it.",
             f"tier = {_quote(config.tier)}"]
    lines += [f"{key} = {_quote(str(value))}" for key, value in asdict(config).items()]
    path = folder / CONFIG_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_config(data_dir: str | Path) -> NodeConfig:
    """The node's configuration; NodeConfigError if the folder was never enrolled or is damaged."""
    path = Path(data_dir) / CONFIG_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NodeConfigError(
            f"{path} does not exist: this folder is not an enrolled node. "
            "Run `bianmin node init --data DIR --central URL --token TOKEN` first."
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise NodeConfigError(f"{path} is damaged ({err}); restore it from a backup or enrol again") from err
    fields = {k: str(v) for k, v in data.items() if k in NodeConfig.__dataclass_fields__}
    missing = [k for k in ("node_id", "name", "network", "central_public") if not fields.get(k)]
    if missing:
        raise NodeConfigError(f"{path} lacks {', '.join(missing)}; enrol again")
    fields.setdefault("central_url", "")
    fields.setdefault("central_fingerprint", "")
    return NodeConfig(**fields)
