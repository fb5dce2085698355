"""The supervision board and a window queue with 1,000,000 cases in central's database.

Builds a real central (`bianmin central init`), then fills its board projection with N cases in
bulk: rows are inserted straight into `board_cases` (the table central keeps as the projection of
each case's records) rather than by signing and folding a million case histories, which would
measure the fold, not the pages. The mix is a city's: most cases closed, about 5 % open, of
which some overdue, due soon, paused or waiting for supplements, a few on service cards, spread
over every department, window and 200 nodes. Then central is served by waitress on loopback and
the pages are fetched over HTTP by signed-in staff, each many times.

Printed: `name=value` lines; the headline `p95_ms=` (the worst page's 95th percentile) last.

    python bench/central_board.py [--cases 1000000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import requests  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from serving import serve  # noqa: E402

from central import board_store  # noqa: E402
from central.cli import central as central_cli  # noqa: E402

CHINA = dt.timezone(dt.timedelta(hours=8))
TODAY = dt.datetime(2026, 11, 25, 10, 0, tzinfo=CHINA)
PASSWORD = "bench-pass-1"


def make_central(folder: Path) -> None:
    runner = CliRunner()
    for args in (["init", "--data", str(folder), "--admin-password", PASSWORD, "--network", "bench"],
                 ["staff", "add", "clerk", "--data", str(folder), "--role", "window_clerk", "--place", "W36",
                  "--password", PASSWORD],
                 ["staff", "add", "sup", "--data", str(folder), "--role", "supervisor", "--password", PASSWORD]):
        result = runner.invoke(central_cli, args)
        if result.exit_code != 0:
            raise SystemExit(result.output)


def rows(n: int, catalogue, rng: random.Random):
    items = list(catalogue.items)
    nodes = [f"V{100000 + i:06d}" for i in range(180)] + [f"T{1000 + i:04d}" for i in range(20)]
    start = TODAY.date() - dt.timedelta(days=400)
    for i in range(n):
        item = rng.choice(items)
        received = start + dt.timedelta(days=i * 400 // n)
        day = received.strftime("%y%m%d")
        number = f"C-{day}-{i % 99999 + 1:05d}-{i // 99999}"  # unique; the check character is not needed here
        node = rng.choice(nodes) if rng.random() < 0.6 else ""
        is_open = (received > TODAY.date() - dt.timedelta(days=30) and rng.random() < 0.6) or rng.random() < 0.01
        status = "delivered"
        due = board_store.NO_DUE
        if is_open:
            status = rng.choice(["accepted", "promised", "promised", "paused", "waiting_supplement", "received",
                                 "forwarded"])
            if status in ("accepted", "promised", "paused"):
                due = (TODAY.date() + dt.timedelta(days=rng.randint(-10, 20))).isoformat()
        holder = f"window:{item.window}"
        green = int(rng.random() < 0.03)
        yield (number, item.code, item.name, item.kind, item.department, item.window, holder, holder, status,
               int(is_open), green, node, received.isoformat(), due, f"KC-{day}-00001-1" if green else None,
               "王*明", None, 0, 0, 0, "", TODAY.isoformat())


def login(base: str, username: str) -> requests.Session:
    s = requests.Session()
    page = s.get(base + "/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = s.post(base + "/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
               allow_redirects=False)
    assert r.status_code == 302, r.text[:300]
    return s


def timed(session: requests.Session, url: str, rounds: int) -> list[float]:
    for _ in range(3):
        session.get(url).raise_for_status()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = session.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def main() -> None:
    # waitress logs a harmless error when the loopback server is shut while a keep-alive is open
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the generated central here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="central-board-") as tmp:
        folder = args.keep or Path(tmp) / "central"
        fresh = not (folder / "bianmin.sqlite").exists()
        if fresh:
            make_central(folder)
        from central.app import create_app

        app = create_app({"DATA_DIR": str(folder), "SMS_SENDER": False, "CENTRAL_CLOCK": lambda: TODAY})
        central = app.extensions["central"]
        t0 = time.perf_counter()
        if fresh:
            with central.log.transaction() as db:
                # bulk load: indexes dropped, rows inserted in number order, indexes built once
                indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                                     " AND tbl_name = 'board_cases' AND sql IS NOT NULL").fetchall()
                for name, _sql in indexes:
                    db.execute(f"DROP INDEX {name}")
                board_store.insert_many(db, rows(args.cases, central.catalogue(), random.Random(5)))
                for _name, sql in indexes:
                    db.execute(sql)
            central.log.db.execute("ANALYZE")
        db = central.log.db
        gen = time.perf_counter() - t0
        open_cases = db.execute("SELECT count(*) FROM board_cases WHERE open = 1").fetchone()[0]
        print(f"cases={args.cases}")
        print(f"open_cases={open_cases}")
        print(f"generate_seconds={gen:.1f}")
        with serve(app, threads=4) as base:
            sup = login(base, "sup")
            clerk = login(base, "clerk")
            page = clerk.get(base + "/window/choose")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            clerk.post(base + "/window/choose", data={"window": "W36", "csrf_token": token})
            pages = {
                "board": (sup, "/supervision/"),
                "overdue_list": (sup, "/supervision/cases?light=red"),
                "department_list": (sup, "/supervision/cases?department=scjg"),
                "window_queue": (clerk, "/window/"),
            }
            results = {}
            for name, (session, path) in pages.items():
                results[name] = p95(timed(session, base + path, args.rounds))
                print(f"p95_{name}_ms={results[name]:.1f}")
        central.close()
    print(f"p95_ms={max(results.values()):.1f}")


if __name__ == "__main__":
    main()
