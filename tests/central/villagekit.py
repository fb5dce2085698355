"""A village PC with no link, enrolled at a test central through its enrolment endpoint, for the
bundle page's tests (a uniquely named module: every test package has a conftest)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sync.blobcrypt import DataKey
from sync.blobs import BlobStore
from sync.bundle import export_bundle
from sync.keys import NodeKey, enrolment_request
from sync.logstore import LogStore
from sync.sealing import Recipient

MARKER = "居民身份证 320682199001011234 王芳".encode() * 30


@dataclass
class Village:
    """A village PC with no link, enrolled through central's enrolment answer (as `enrol-offline` does)."""

    key: NodeKey
    log: LogStore
    blobs: BlobStore
    answer: dict[str, Any]
    folder: Path

    @property
    def seal_to(self) -> Recipient | None:
        return Recipient.from_wire(self.answer.get("sealing", ""), network=self.log.network,
                                   owner_public=bytes.fromhex(self.answer["central_public_key"]))

    def export(self, name: str = "V000101.zip", *, seal_to: Any = "enrolled") -> bytes:
        path = self.folder / name
        export_bundle(self.log, self.key, path, blobs=self.blobs,
                      seal_to=self.seal_to if seal_to == "enrolled" else seal_to)
        return path.read_bytes()


def make_village(app: Any, folder: Path) -> Village:
    """Enrolled with a one-time token through central's enrolment endpoint; three records and three
    scans (ID-card scans: the marker is what must never be readable on a stick)."""
    central = app.extensions["central"]
    token = app.extensions["bianmin_sync"]["tokens"].issue("V000101", "皋南村便民服务室")
    key = NodeKey.generate()
    answer = app.test_client().post("/sync/v1/enrol", json=enrolment_request(
        key, net=central.config.network, node="V000101", token=token)).get_json()
    folder.mkdir()
    log = LogStore.open(folder / "bianmin.sqlite", network=central.config.network, origin="V000101", signer=key,
                        central_public=bytes.fromhex(answer["central_public_key"]))
    blobs = BlobStore(folder / "blobs", cipher=DataKey.generate())
    for i in range(3):
        log.append("access.logged", {"staff": {"username": "clerk", "name": "王村干", "roles": ["village_clerk"]},
                                     "action": "export", "place": "node:V000101", "what": {"name": f"f{i}", "rows": 1}})
        blobs.put(MARKER + random.Random(i).randbytes(200_000))
    return Village(key, log, blobs, answer, folder)
