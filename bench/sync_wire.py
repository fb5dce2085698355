"""Wire efficiency: bytes on the wire per record pushed, against gzip of the records themselves.

The node pushes N records to a real central on loopback through a byte-counting TCP relay (the
sync tests' fault proxy, with no faults); every byte in both directions counts: HTTP request and
response headers, request signatures, the framed and gzipped batches, the per-record decisions,
the signed receipts with their Merkle proofs. The baseline is the records alone as they must
travel, each record's canonical bytes and its 64-byte signature, concatenated and gzipped in
one stream at level 9: what an ideal transport with no protocol at all would send.

Prints `name=value` lines, the headline `wire_ratio=` last (target <= 1.15).

    python bench/sync_wire.py [--records 20000] [--batch 500]
"""

from __future__ import annotations

import argparse
import gzip
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sync_ingest  # noqa: E402 - the sibling benchmark builds the same central and node

from tests.sync.faultproxy import FaultProxy  # noqa: E402 - the byte-counting relay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args(argv)
    bodies = sync_ingest.make_bodies(args.records)
    with tempfile.TemporaryDirectory() as tmp:
        central = sync_ingest.Central(Path(tmp))
        relay = FaultProxy("127.0.0.1", central.port)
        try:
            _, store, client = sync_ingest.setup(Path(tmp), bodies, batch=args.batch, url=relay.url,
                                                 central=central)
            client.session.close()
            relay.reset_stats()
            pushed = client.push()
            client.session.close()
            if pushed != args.records:
                raise RuntimeError(f"pushed {pushed} of {args.records}")
            up, down = relay.stats.bytes_up, relay.stats.bytes_down
            records = store.records_of("V000001", 1, args.records)
            with_sigs = gzip.compress(b"".join(r.raw + r.sig for r in records), 9)
            raw_only = gzip.compress(b"".join(r.raw for r in records), 9)
            canonical = sum(len(r.raw) for r in records)
        finally:
            relay.close()
            central.close()
    wire = up + down
    print(f"records={args.records}")
    print(f"batch={args.batch}")
    print(f"canonical_bytes_per_record={canonical / args.records:.1f}")
    print(f"gzip_records_bytes_per_record={len(with_sigs) / args.records:.1f}")
    print(f"gzip_raw_only_bytes_per_record={len(raw_only) / args.records:.1f}")
    print(f"wire_up_bytes_per_record={up / args.records:.1f}")
    print(f"wire_down_bytes_per_record={down / args.records:.1f}")
    print(f"wire_bytes_per_record={wire / args.records:.1f}")
    print(f"wire_ratio_to_raw_only={wire / len(raw_only):.3f}")
    print(f"wire_ratio={wire / len(with_sigs):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
