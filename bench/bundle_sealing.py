"""USB bundles with sealed scans against the same bundles with the scans in plain.

A village exports `--scans` scans of `--mb` MB each (random bytes: JPEGs do not compress either)
with a record naming each, then central imports the bundle. Two ways, on the same data:
- plain: the format-1 bundle nodes wrote before scans were sealed (tests/sync/bundlekit.plain_bundle,
  the old export code), imported by today's central while `plain_until` still allows it;
- sealed: today's export (every scan sealed to central's X25519 key, written piece by piece) and
  import (every sealed scan opened and hashed before anything is stored, then opened again and
  stored in plain).
Each phase is timed on its own (best of `--repeat`, a fresh central each time) and its peak of
Python memory measured in a separate run (tracemalloc: the bytes objects and buffers it allocates,
the scans included). The physical peer is plain: sealing costs an X25519 exchange per scan and
AES-GCM over every byte (twice at central: opened to check, opened to store).

Prints `name=value` lines, the headline last (`sealed_to_plain_time_ratio`: export plus import).

    python bench/bundle_sealing.py [--scans 50] [--mb 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync.blobcrypt import DataKey  # noqa: E402 - after the path: the bench runs from a checkout
from sync.blobs import BlobStore  # noqa: E402
from sync.bundle import answer_bundle, export_bundle  # noqa: E402
from sync.keys import NodeKey  # noqa: E402
from sync.logstore import LogStore  # noqa: E402
from sync.sealing import SealingKey  # noqa: E402
from sync.server import Routes, route_everything  # noqa: E402
from tests.sync.bundlekit import plain_bundle  # noqa: E402 - the format-1 export, as nodes wrote it

NET = "bench"
CENTRAL_KEY = NodeKey.from_seed(b"c" * 32)
VILLAGE_KEY = NodeKey.from_seed(b"v" * 32)
SEALING = SealingKey.from_seed(b"s" * 32)
TODAY = dt.date(2026, 3, 2)


class Village:
    def __init__(self, folder: Path, scans: int, size: int) -> None:
        folder.mkdir(parents=True)
        self.log = LogStore.open(folder / "v.sqlite", network=NET, origin="V000001", signer=VILLAGE_KEY,
                                 central_public=CENTRAL_KEY.public)
        self.blobs = BlobStore(folder / "blobs", cipher=DataKey.generate())  # encrypted at rest, as on a node
        rng = random.Random(1)
        for i in range(scans):
            name = self.blobs.put(rng.randbytes(size))
            self.log.append("case.material_added", {"case": f"V000001-260302-{i:04d}-0", "sha256": name})

    def close(self) -> None:
        self.blobs.close()
        self.log.close()


class City:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        self.log = LogStore.open(folder / "c.sqlite", network=NET, origin="C", signer=CENTRAL_KEY)
        self.log.append("node.enrolled", {"node": "V000001", "tier": "village", "name": "bench village",
                                          "public_key": VILLAGE_KEY.public.hex(), "key": VILLAGE_KEY.key_id,
                                          "from_seq": 1})
        self.blobs = BlobStore(folder / "blobs")
        self.routes = Routes(self.log, route_everything)

    def take(self, stick: Path) -> dict[str, Any]:
        answer, _ = answer_bundle(self.log, self.routes, stick, blobs=self.blobs, sealing=SEALING,
                                  plain_until=TODAY, today=TODAY)
        return answer

    def close(self) -> None:
        self.blobs.close()
        self.log.close()


def export(kind: str, village: Village, stick: Path) -> None:
    if kind == "plain":
        plain_bundle(village.log, VILLAGE_KEY, stick, blobs=village.blobs)
    else:
        export_bundle(village.log, VILLAGE_KEY, stick, blobs=village.blobs, seal_to=SEALING.recipient("C"))


def measure(fn: Callable[[], Any], memory: bool) -> float:
    """Seconds (memory False) or peak MB of Python allocations (memory True) of one call."""
    gc.collect()
    if memory:
        tracemalloc.start()
        try:
            fn()
            return tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(kind: str, village: Village, work: Path, repeat: int) -> dict[str, float]:
    stick = work / f"{kind}.zip"
    out: dict[str, float] = {}
    out["export_s"] = min(measure(lambda: export(kind, village, stick), False) for _ in range(repeat))
    out["export_peak_mb"] = measure(lambda: export(kind, village, stick), True)
    out["bundle_mb"] = stick.stat().st_size / 2**20
    times, peaks = [], []
    for i in range(repeat + 1):
        city = City(work / f"{kind}-city-{i}")
        try:
            if i == 0:
                peaks.append(measure(lambda city=city: city.take(stick), True))
            else:
                times.append(measure(lambda city=city: city.take(stick), False))
            assert len(city.blobs.names()) == len(village.blobs.names()), "every scan stored at central"
        finally:
            city.close()
    out["import_s"], out["import_peak_mb"] = min(times), peaks[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=50)
    parser.add_argument("--mb", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = int(args.mb * 1024 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        village = Village(work / "village", args.scans, size)
        try:
            results = {kind: run(kind, village, work, args.repeat) for kind in ("plain", "sealed")}
        finally:
            village.close()
    print(f"scans={args.scans}")
    print(f"scan_mb={args.mb}")
    print(f"cpus={os.cpu_count()}")
    for kind, figures in results.items():
        for name, value in figures.items():
            print(f"{kind}_{name}={value:.3f}" if name.endswith("_s") else f"{kind}_{name}={value:.1f}")
    plain, sealed = results["plain"], results["sealed"]
    print(f"sealed_to_plain_export_time={sealed['export_s'] / plain['export_s']:.2f}")
    print(f"sealed_to_plain_import_time={sealed['import_s'] / plain['import_s']:.2f}")
    print(f"sealed_to_plain_export_peak={sealed['export_peak_mb'] / plain['export_peak_mb']:.3f}")
    print(f"sealed_to_plain_import_peak={sealed['import_peak_mb'] / plain['import_peak_mb']:.3f}")
    print(f"sealed_to_plain_time_ratio={(sealed['export_s'] + sealed['import_s']) / (plain['export_s'] + plain['import_s']):.2f}")


if __name__ == "__main__":
    main()
