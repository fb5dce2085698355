"""Routed pull: what a village PC downloads when central holds a city's worth of other places' records.

Central (its own process, the sync blueprint on waitress, on loopback) holds `--others` records
routed elsewhere: cases of other villages and staff accounts of the city, signed by central, and
the records of another village it received; between them, `--routed` records routed to the bench
village V000001 alone. The node then pulls everything central has for it through a byte-counting
relay (the sync tests' fault proxy with no faults), and a second village enrolled only after all
of it (a late enrolment) does the same. Every byte in both directions counts: HTTP headers,
request signatures, frames, elisions, gzip.

The physical limit is the routed records themselves: their canonical bytes and signatures,
concatenated and gzipped at level 9, what a transport with no protocol would send. The headline
`wire_ratio_to_routed=` is the pull's wire bytes over that (a pull that drags other places'
records along shows it at once: before routing privacy it was the whole log's size).

Prints `name=value` lines, the headline last.

    python bench/sync_pull.py [--others 50000] [--routed 20]
"""

from __future__ import annotations

import argparse
import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sync_ingest  # noqa: E402 - realistic case bodies
from flask import Flask  # noqa: E402 - after the path: the bench runs from a checkout

from sync.client import SyncClient  # noqa: E402
from sync.envelope import Record, sign_record  # noqa: E402
from sync.keys import NodeKey  # noqa: E402
from sync.logstore import LogStore  # noqa: E402
from sync.requestauth import NonceStore  # noqa: E402
from sync.server import create_sync_blueprint  # noqa: E402
from tests.sync.faultproxy import FaultProxy  # noqa: E402 - the byte-counting relay
from web.serving import make_server  # noqa: E402

NET = "bench"
CENTRAL_KEY = NodeKey.from_seed(b"c" * 32)
NODE = "V000001"
LATE = "V000003"
OTHER = "V000002"
KEYS = {n: NodeKey.from_seed((n * 8).encode()[:32]) for n in (NODE, LATE, OTHER)}


def route(record: Record) -> set[str]:
    """The bench's routing: configuration to everyone, everything else to the node its body names."""
    if record.kind.startswith("catalogue.") or record.kind.startswith("node."):
        return {"*"}
    to = record.body.get("to")
    return {to} if isinstance(to, str) and to[:1] in "TVS" else set()


def enrol(store: LogStore, node: str) -> None:
    key = KEYS[node]
    store.append("node.enrolled", {"node": node, "tier": "village", "name": f"{node} bench village",
                                   "public_key": key.public.hex(), "key": key.key_id, "from_seq": 1})


def build(store: LogStore, others: int, routed: int) -> None:
    """`others` records for other places (central's cases and staff accounts, another village's
    records) with `routed` records for NODE spread evenly among them."""
    enrol(store, NODE)
    enrol(store, OTHER)
    store.append("catalogue.published", {"version": 1, "items": 147})
    bodies = sync_ingest.make_bodies(others)
    every = max(1, others // max(1, routed))
    own_seq, prev = 0, None
    village: list[Record] = []
    items: list[tuple[str, dict[str, Any]]] = []
    sent = 0
    for i, body in enumerate(bodies):
        if i % 10 == 9:   # one record in ten is another village's own record, received by central
            own_seq += 1
            r = sign_record(KEYS[OTHER], net=NET, origin=OTHER, seq=own_seq, prev=prev, kind="case.received",
                            body={**body, "to": OTHER}, time="2026-03-02T09:30:00+08:00")
            prev = r.id
            village.append(r)
            continue
        if i % 97 == 0:
            items.append(("staff.account", {"username": f"city{i}", "roles": ["window_clerk"],
                                            "password_hash": "scrypt$" + "ab" * 40, "to": "city"}))
        elif sent < routed and i % every == every // 2:
            items.append(("case.finished", {**body, "to": NODE}))
            sent += 1
        else:
            items.append(("case.accepted", {**body, "to": f"V{100 + i % 300:06d}"}))
        if len(items) >= 1000:
            store.append_many(items, time="2026-03-02T10:00:00+08:00")
            store.ingest(village)
            items, village = [], []
    if items:
        store.append_many(items, time="2026-03-02T10:00:00+08:00")
    if village:
        store.ingest(village)
    while sent < routed:
        store.append("case.finished", {"case": f"late-{sent}", "to": NODE})
        sent += 1
    enrol(store, LATE)     # enrolled after everything: its first pull covers the whole history
    store.append("case.finished", {"case": "late-enrolled", "to": LATE})


def serve(folder: Path, others: int, routed: int) -> None:
    store = LogStore.open(folder / "central.sqlite", network=NET, origin="C", signer=CENTRAL_KEY)
    app = Flask("bench-central")
    app.register_blueprint(create_sync_blueprint(store, route=route, nonces=NonceStore(folder / "nonces.sqlite")))
    t0 = time.perf_counter()
    build(store, others, routed)
    print(f"{time.perf_counter() - t0:.3f}", flush=True)
    server = make_server(app, host="127.0.0.1", port=0, threads=4)
    print(f"http://127.0.0.1:{server.effective_port}", flush=True)  # type: ignore[union-attr]
    server.run()


def pull(folder: Path, node: str, url: str, relay: FaultProxy) -> dict[str, float]:
    store = LogStore.open(folder / f"{node}.sqlite", network=NET, origin=node, signer=KEYS[node],
                          central_public=CENTRAL_KEY.public)
    client = SyncClient(store, url, key=KEYS[node], central_public=CENTRAL_KEY.public,
                        state_path=folder / f"{node}.json", batch=1000, timeout=300)
    try:
        client.check_time()
        client.session.close()
        relay.reset_stats()
        t0 = time.perf_counter()
        pulled = client.pull()
        seconds = time.perf_counter() - t0
        client.session.close()
        wire = relay.stats.bytes_up + relay.stats.bytes_down
        routed = [r for r in store.records_of("C") if r.body.get("to") == node]
        ideal = len(gzip.compress(b"".join(r.raw + r.sig for r in routed), 9))
        problems = store.verify_all(signatures=True)
        if problems:
            raise RuntimeError(f"{node}: {problems[:3]}")
        foreign = sum(1 for s in store.records_after(0, limit=10_000_000)
                      if s.record.body.get("to") not in (node, None) and s.record.kind.startswith("case."))
        elided = len(store.elisions()) if hasattr(store, "elisions") else 0
        return {"seconds": seconds, "wire": wire, "pulled": pulled, "held": store.count(),
                "routed": len(routed), "ideal": ideal, "foreign_cases": foreign, "elisions": elided}
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--others", type=int, default=50000)
    parser.add_argument("--routed", type=int, default=20)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.others, args.routed)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(folder), "--others", str(args.others),
                                 "--routed", str(args.routed)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            build_seconds = float(proc.stdout.readline())
            url = proc.stdout.readline().strip()
            if not url.startswith("http://"):
                raise RuntimeError("central did not start")
            relay = FaultProxy("127.0.0.1", int(url.rsplit(":", 1)[1]))
            try:
                first = pull(folder, NODE, relay.url, relay)
                late = pull(folder, LATE, relay.url, relay)
            finally:
                relay.close()
        finally:
            proc.kill()
            proc.wait()
    print(f"load_average={os.getloadavg()[0]:.2f}")
    print(f"others={args.others}")
    print(f"central_build_seconds={build_seconds:.3f}")
    for name, m in (("node", first), ("late", late)):
        print(f"{name}_routed_records={m['routed']:.0f}")
        print(f"{name}_records_held={m['held']:.0f}")
        print(f"{name}_foreign_case_records_held={m['foreign_cases']:.0f}")
        print(f"{name}_elisions_held={m['elisions']:.0f}")
        print(f"{name}_pull_seconds={m['seconds']:.3f}")
        print(f"{name}_wire_bytes={m['wire']:.0f}")
        print(f"{name}_routed_gzip_bytes={m['ideal']:.0f}")
    print(f"late_wire_ratio_to_routed={late['wire'] / max(1, late['ideal']):.2f}")
    print(f"wire_ratio_to_routed={first['wire'] / max(1, first['ideal']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
