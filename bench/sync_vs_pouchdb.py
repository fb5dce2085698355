"""The same documents replicated by PouchDB (its peer) and by bianmin's sync, in one run.

PouchDB/CouchDB replication is the best-known offline-first sync that village software would
otherwise use. This script installs `pouchdb-node` and `pouchdb-server` with npm into a cache
folder (once), starts pouchdb-server on loopback with on-disk LevelDB, puts N documents into a
local pouchdb-node database and times one replication to the server; then it times bianmin's
push of the same N bodies as signed records to a real central on loopback (bench/sync_ingest.py).
Both sides use the same batch size; each runs `--repeat` times, interleaved, best time kept. Printed: `name=value` lines, the headline
`ratio_vs_pouchdb=` (our seconds over theirs: below 1 means we are faster) last.

    python bench/sync_vs_pouchdb.py [--records 20000] [--batch 500]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sync_ingest  # the sibling benchmark: our side of the comparison

CACHE = Path(os.environ.get("BIANMIN_BENCH_CACHE", Path.home() / ".cache" / "bianmin-bench")) / "pouchdb"
PACKAGES = ["pouchdb-node@9", "pouchdb-server@4"]

REPLICATE_JS = r"""
const PouchDB = require('pouchdb-node');
const fs = require('fs');
const [dir, url, docsFile, batch] = process.argv.slice(2);
(async () => {
  const docs = JSON.parse(fs.readFileSync(docsFile, 'utf8'));
  const local = new PouchDB(dir + '/local');
  for (let i = 0; i < docs.length; i += 1000) await local.bulkDocs(docs.slice(i, i + 1000));
  const remote = new PouchDB(url);
  await remote.info();
  const t0 = process.hrtime.bigint();
  const result = await PouchDB.replicate(local, remote, {batch_size: Number(batch)});
  const t1 = process.hrtime.bigint();
  const info = await remote.info();
  console.log(JSON.stringify({seconds: Number(t1 - t0) / 1e9, written: result.docs_written,
                              remote_docs: info.doc_count, ok: result.ok}));
})().catch(e => { console.error(e); process.exit(1); });
"""


def npm_available() -> bool:
    return shutil.which("npm") is not None and shutil.which("node") is not None


def install() -> Path:
    """npm-install the two packages into the cache folder once; return its node_modules."""
    modules = CACHE / "node_modules"
    if (modules / "pouchdb-node").exists() and (modules / "pouchdb-server").exists():
        return modules
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "package.json").write_text('{"name": "bianmin-bench-pouchdb", "private": true}\n')
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES],
                   cwd=CACHE, check=True, stdout=subprocess.DEVNULL)
    return modules


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_pouchdb(bodies: list[dict], batch: int) -> float:
    modules = install()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        server = subprocess.Popen(
            [str(modules / ".bin" / "pouchdb-server"), "--port", str(port), "--host", "127.0.0.1",
             "--dir", str(Path(tmp) / "server"), "--no-stdout-logs"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        raise RuntimeError("pouchdb-server did not start") from None
                    time.sleep(0.2)
            docs = [{"_id": f"doc{i:08d}", **body} for i, body in enumerate(bodies)]
            docs_file = Path(tmp) / "docs.json"
            docs_file.write_text(json.dumps(docs, ensure_ascii=False))
            script = Path(tmp) / "replicate.js"
            script.write_text(REPLICATE_JS)
            out = subprocess.run(
                ["node", str(script), tmp, f"http://127.0.0.1:{port}/bench", str(docs_file), str(batch)],
                check=True, capture_output=True, text=True, env={**os.environ, "NODE_PATH": str(modules)})
            result = json.loads(out.stdout.strip().splitlines()[-1])
            if result["remote_docs"] != len(bodies):
                raise RuntimeError(f"pouchdb replicated {result['remote_docs']} of {len(bodies)}")
            return float(result["seconds"])
        finally:
            server.terminate()
            server.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    if not npm_available():
        print("skipped=npm or node not installed", flush=True)
        return 2
    bodies = sync_ingest.make_bodies(args.records)
    # best of --repeat runs each, interleaved, so a shared machine's swings hit both sides alike
    ours_runs, theirs_runs = [], []
    for _ in range(args.repeat):
        ours_runs.append(sync_ingest.run_push(bodies, batch=args.batch)["seconds"])
        theirs_runs.append(run_pouchdb(bodies, args.batch))
    ours, theirs = {"seconds": min(ours_runs)}, min(theirs_runs)
    print(f"records={args.records}")
    print(f"batch={args.batch}")
    print(f"bianmin_seconds={ours['seconds']:.3f}")
    print(f"pouchdb_seconds={theirs:.3f}")
    print(f"bianmin_records_per_s={args.records / ours['seconds']:.0f}")
    print(f"pouchdb_docs_per_s={args.records / theirs:.0f}")
    print(f"ratio_vs_pouchdb={ours['seconds'] / theirs:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
