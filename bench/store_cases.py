"""Case lists and case pages at central's scale: N cases made as signed records, then timed queries.

Central holds every case of the city (about 100,000 a year; a province-wide central, a million).
The supervision board and every window's list must answer in under 100 ms (p95) at 100,000 cases
and 200 ms at 1,000,000. This script builds a real central file the way production does: cases
received at central's windows and at town centres and village rooms, each event a signed record
(`sync.envelope.sign_record`), ingested through `LogStore.ingest` (signature, chain and directory
checks) with `store.projections` registered, so every record re-folds its case into `cases`.
A realistic mix of statuses: received, waiting for supplements, accepted, promised, paused,
forwarded, finished, delivered, refused, withdrawn; fees; evaluations.

Then it times (p95 over many runs with varied parameters) the queries the screens make: open
cases by due date, per status / holder / department / window / node / place, overdue, search by
number prefix, name prefix and exact ID, a case page (fresh fold) and a list row, and the
counts of the home screens and the board. Printed: `name=value` lines; the last line is
`p95_ms=`, the worst p95 of the list pages and case fetches.

    python bench/store_cases.py [--cases 100000] [--db /tmp/bench-cases.sqlite] [--keep]
                                [--scale-rows 1000000]

An existing --db with at least --cases cases is reused (only the queries run again).
`--scale-rows N` also times the same lists on a copy whose `cases` table is repeated to N rows
(lines prefixed `rowsN_`), a quick look at the indexes at a size the generator needs long for:
it signs, ingests and projects about 1,400-1,900 records a second on a shared 2-core machine,
so 100,000 cases (340,000 records) take 3-6 minutes and 1,000,000 cases (3.4 million records,
a 4.6 GB file) about 40 minutes. Measured 2026-11-25: worst list/case p95 7.4 ms at 100,000
cases, 107 ms at 1,000,000 (a window's cases newest first, which sorts that window's rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from casework.cases import new_event_body
from store import cases, projections
from sync.envelope import Record, sign_record
from sync.keys import NodeKey
from sync.logstore import LogStore

NET = "bench"
CENTRAL = NodeKey.from_seed(b"c" * 32)
TOWNS = [f"T{n:04d}" for n in range(1, 21)]
VILLAGES = [f"V{n:06d}" for n in range(1, 41)]
WINDOWS = [f"W{n:02d}" for n in range(1, 31)]
DEPARTMENTS = [f"D{n:02d}" for n in range(1, 31)]
FAMILY = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "秀英明华建国红梅志强丽娟军伟芳敏静霞平刚桂兰玉海燕文涛晓东云飞春花金凤永宏亮"
BATCH = 2000
CHINA = dt.timezone(dt.timedelta(hours=8))


def key_of(origin: str) -> NodeKey:
    return CENTRAL if origin == "C" else NodeKey.from_seed(origin.encode().ljust(32, b"k"))


class Maker:
    """Signs records for many origins, keeping each origin's seq and prev."""

    def __init__(self, log: LogStore) -> None:
        self.log = log
        self.heads: dict[str, tuple[int, str | None]] = {}
        self.pending: list[Record] = []
        self.counters: dict[tuple[str, str], int] = {}

    def sign(self, origin: str, kind: str, body: dict[str, Any], when: dt.datetime) -> Record:
        seq, prev = self.heads.get(origin) or self.log.head(origin)
        record = sign_record(key_of(origin), net=NET, origin=origin, seq=seq + 1, prev=prev, kind=kind, body=body,
                             time=when.replace(tzinfo=CHINA).isoformat(timespec="seconds"))
        self.heads[origin] = (seq + 1, record.id)
        self.pending.append(record)
        if len(self.pending) >= BATCH:
            self.flush()
        return record

    def flush(self) -> None:
        if self.pending:
            result = self.log.ingest(self.pending)
            if not result.ok:
                raise SystemExit(f"ingest refused: {result.refused}")
            self.pending = []

    def number(self, origin: str, day: dt.date) -> str:
        from casework.numbering import case_number

        n = self.counters[(origin, day.isoformat())] = self.counters.get((origin, day.isoformat()), 0) + 1
        return case_number(origin, day, n).text


class Story:
    """One case being made: its number, the heads of its events, and the place that holds it."""

    def __init__(self, maker: Maker, number: str, first: str, place: str, window: str | None) -> None:
        self.maker, self.number, self.heads = maker, number, [first]
        self.place, self.window = place, window

    def step(self, kind: str, at: dt.datetime, place: str | None = None, **fields: Any) -> None:
        """The next event, by the holder (or by `place`, acting without a window)."""
        origin, window = (self.place, self.window) if place is None else (place, None)
        body = new_event_body(kind, case=self.number, after=self.heads, window=window, **fields)
        self.heads = [self.maker.sign(origin, f"case.{kind}", body, at).id]


def item(rng: random.Random, n: int) -> dict[str, Any]:
    department = DEPARTMENTS[n % len(DEPARTMENTS)]
    immediate = n % 7 == 0
    return {"code": f"{department}-{n:03d}", "name": f"事项{n:03d}（{department}）", "department": department,
            "window": WINDOWS[n % len(WINDOWS)], "kind": "immediate" if immediate else "promised",
            "handle_tier": "village" if immediate else "city", "promised_limit_days": 0 if immediate else 10 + n % 11,
            "legal_limit_days": 20, "materials": [{"name": "申请表", "required": True},
                                                  {"name": "身份证明", "required": True}], "fees": []}


def generate(log: LogStore, n_cases: int, seed: int = 7) -> float:
    """Make n_cases cases (as signed records, ingested) and return the seconds it took."""
    rng = random.Random(seed)
    maker = Maker(log)
    items = [item(rng, i) for i in range(120)]
    start = time.perf_counter()
    first_day = dt.datetime(2026, 1, 5, 9, 0)
    for i in range(n_cases):
        when = first_day + dt.timedelta(minutes=int(i * (300 * 24 * 60) / max(n_cases, 1)) + rng.randrange(60))
        it = items[rng.randrange(len(items))]
        roll = rng.random()
        origin = "C" if roll < 0.6 else (rng.choice(TOWNS) if roll < 0.85 else rng.choice(VILLAGES))
        window = it["window"] if origin == "C" else None
        number = maker.number(origin, when.date())
        name = rng.choice(FAMILY) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        applicant = {"type": "person", "name": name, "id_type": "resident_id",
                     "id_number": f"3206{rng.randrange(10**13, 10**14)}", "phone": f"13{rng.randrange(10**9):09d}"}
        received = maker.sign(origin, "case.received", new_event_body(
            "received", case=number, after=[], window=window, item=it, applicant=applicant,
            materials=["申请表", "身份证明"] if rng.random() < 0.9 else ["申请表"]), when)
        story = Story(maker, number, received.id, origin, window)
        step = story.step
        fate = rng.random()
        later = when + dt.timedelta(hours=1)
        if it["handle_tier"] == "city" and origin != "C":
            if fate < 0.15:
                continue  # still at the node
            step("forwarded", later, to=f"window:{it['window']}")
            if fate < 0.2:
                continue  # in transit
            story.place, story.window = "C", it["window"]
            step("handover_accepted", later + dt.timedelta(hours=2))
        if fate < 0.25:
            continue  # received
        if fate < 0.3:
            step("supplement_requested", later, missing=["身份证明"])
            continue
        if fate < 0.33:
            step("refused", later, reason="不符合受理条件")
            continue
        step("accepted", later)
        if rng.random() < 0.3:
            step("fee_assessed", later, place="C",
                 lines=[{"fee": "F01", "name": "工本费", "amount_fen": 1000 * rng.randrange(1, 9), "pre_fee": False}])
        if fate < 0.55:
            if rng.random() < 0.1:
                step("clock_paused", later + dt.timedelta(days=1), reason="expert_review")
            continue
        if fate < 0.58:
            step("withdrawn", later + dt.timedelta(days=1))
            continue
        done = later + dt.timedelta(days=rng.randrange(0, 20))
        step("finished", done)
        if fate < 0.7:
            continue
        step("delivered", done + dt.timedelta(hours=2), method="on_the_spot")
        if rng.random() < 0.3:
            step("evaluated", done + dt.timedelta(hours=3), level=rng.choice((3, 4, 5, 5, 5, 5)))
    maker.flush()
    return time.perf_counter() - start


def enrol_all(log: LogStore) -> None:
    if log.head("C")[0] > 0:
        return
    for node in TOWNS + VILLAGES:
        tier = "town" if node[0] == "T" else "village"
        key = key_of(node)
        log.append("node.enrolled", {"node": node, "tier": tier, "name": f"{node} 便民服务中心",
                                     "public_key": key.public.hex(), "key": key.key_id, "from_seq": 1})


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000


def timed(fn: Callable[[int], Any], runs: int) -> list[float]:
    out = []
    for i in range(runs):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def scale_rows(path: Path, target: int) -> Path:
    """A copy of the file whose `cases` table is repeated up to `target` rows (numbers made unique,
    tallies recounted). Only for timing the list queries at a size the record generator cannot
    reach in one sitting: the extra rows have no records behind them."""
    import shutil
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    copy = path.with_name(f"{path.stem}-rows{target}.sqlite")
    shutil.copy(path, copy)
    conn = sqlite3.connect(copy)
    held = conn.execute("SELECT max(id) FROM cases").fetchone()[0]
    columns = [c[1] for c in conn.execute("PRAGMA table_info(cases)") if c[1] != "id"]
    picked = ", ".join(
        "number || '/' || :k" if c == "number" else "number_key || '/' || :k" if c == "number_key" else c
        for c in columns)
    with conn:
        for k in range(1, -(-target // held)):
            conn.execute(f"INSERT INTO cases ({', '.join(columns)}) SELECT {picked} FROM cases WHERE id <= :held",
                         {"k": k, "held": held})
        conn.execute("DELETE FROM cases WHERE id > ?", [target])
        conn.execute("DELETE FROM case_tallies")
        for field, column in cases.TALLIED.items():
            count = f"INSERT INTO case_tallies SELECT ?, {column}, count(*) FROM cases WHERE {column} IS NOT NULL"
            conn.execute(f"{count} GROUP BY {column}", [field])
            if field != "status":
                conn.execute(f"{count} AND open = 1 GROUP BY {column}", [f"open.{field}"])
    conn.execute("ANALYZE")
    conn.close()
    return copy


def measure(db: Any, runs: int, prefix: str = "") -> float:
    """Time the screens' queries on `db`; print `<prefix><name>_p95_ms=`; return the worst list/case p95."""
    import json

    rng = random.Random(1)
    numbers = [n for (n,) in db.execute("SELECT number FROM cases WHERE number NOT LIKE '%/%' ORDER BY random() LIMIT 500")]
    names = [n for (n,) in db.execute("SELECT applicant_name FROM cases ORDER BY random() LIMIT 200")]
    raws = [r[0] for r in db.execute(
        "SELECT r.raw FROM records r WHERE kind = 'case.received' ORDER BY random() LIMIT 100")]
    id_numbers = [json.loads(raw)["body"]["applicant"]["id_number"] for raw in raws]
    today = dt.date(2026, 11, 25)
    statuses = ["accepted", "promised", "received", "finished", "delivered", "waiting_supplement", "paused"]
    queries: dict[str, Callable[[int], Any]] = {
        "list_open_by_due": lambda i: cases.list_cases(db, status="open", offset=(i % 5) * 50, today=today),
        "list_deep_page": lambda i: cases.list_cases(db, status="open", offset=2000 + i * 50, today=today),
        "list_all_recent": lambda i: cases.list_cases(db, order="recent", today=today),
        "list_status": lambda i: cases.list_cases(db, status=statuses[i % len(statuses)], today=today),
        "list_holder": lambda i: cases.list_cases(db, holder=f"window:{rng.choice(WINDOWS)}", today=today),
        "list_holder_open": lambda i: cases.list_cases(db, holder=f"window:{rng.choice(WINDOWS)}", status="open",
                                                       today=today),
        "list_department": lambda i: cases.list_cases(db, department=rng.choice(DEPARTMENTS), today=today),
        "list_window_received": lambda i: cases.list_cases(db, window=rng.choice(WINDOWS), order="received",
                                                           today=today),
        "list_node": lambda i: cases.list_cases(db, node=rng.choice(TOWNS), order="received", today=today),
        "list_place": lambda i: cases.list_cases(db, place=f"node:{rng.choice(TOWNS)}", today=today),
        "list_overdue": lambda i: cases.list_cases(db, overdue=True, today=today),
        "list_overdue_department": lambda i: cases.list_cases(db, overdue=True, department=rng.choice(DEPARTMENTS),
                                                              today=today),
        "search_number_prefix": lambda i: cases.list_cases(db, search=rng.choice(numbers)[:12], today=today),
        "search_name": lambda i: cases.list_cases(db, search=rng.choice(names), today=today),
        "search_family_name": lambda i: cases.list_cases(db, search=rng.choice(FAMILY[:10]), today=today),
        "search_id": lambda i: cases.list_cases(db, search=rng.choice(id_numbers), today=today),
        "get_case_state": lambda i: cases.get_case_state(db, rng.choice(numbers)),
        "get_case_row": lambda i: cases.get_case_row(db, rng.choice(numbers), today=today),
        "case_events": lambda i: cases.case_events(db, rng.choice(numbers)),
    }
    counts: dict[str, Callable[[int], Any]] = {
        "counts_by_status": lambda i: cases.counts_by(db, "status"),
        "counts_by_department_open": lambda i: cases.counts_by(db, "department", status="open"),
        "counts_by_status_window": lambda i: cases.counts_by(db, "status", window=rng.choice(WINDOWS)),
        "board_counts": lambda i: cases.board_counts(db, today=today),
        "board_counts_department": lambda i: cases.board_counts(db, today=today, department=rng.choice(DEPARTMENTS)),
    }
    worst = 0.0
    for name, fn in queries.items():
        fn(0)  # warm the page cache and the calendar
        value = p95(timed(fn, runs))
        worst = max(worst, value)
        print(f"{prefix}{name}_p95_ms={value:.1f}")
    for name, fn in counts.items():
        fn(0)
        print(f"{prefix}{name}_p95_ms={p95(timed(fn, max(10, runs // 3))):.1f}")
    _rows, total = cases.list_cases(db, status="open", today=today)
    print(f"{prefix}open_cases={total}")
    print(f"{prefix}cases_with_conflicts={db.execute('SELECT count(*) FROM cases WHERE conflicts > 0').fetchone()[0]}")
    print(f"{prefix}median_get_case_ms={statistics.median(timed(queries['get_case_state'], runs)) * 1000:.2f}")
    print(f"{prefix}worst_list_or_case_p95_ms={worst:.1f}")
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--db", default="")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--scale-rows", type=int, default=0,
                        help="also time the lists on a copy whose cases table is repeated to this many rows")
    args = parser.parse_args()
    path = Path(args.db or f"/tmp/bench-store-cases-{args.cases}.sqlite")
    log = LogStore.open(path, network=NET, origin="C", signer=CENTRAL)
    projections.register_all(log)
    db = log.db
    held = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    print(f"cases_requested={args.cases}")
    if held < args.cases:
        enrol_all(log)
        seconds = generate(log, args.cases - held, seed=held + 7)
        records = log.count()
        print(f"generate_s={seconds:.1f}")
        print(f"records={records}")
        print(f"records_per_s={(records - held) / seconds:.0f}")
    held = db.execute("SELECT count(*) FROM cases").fetchone()[0]
    print(f"cases={held}")
    print(f"file_mb={os.path.getsize(path) / 1e6:.0f}")
    db.execute("ANALYZE")
    worst = measure(db, args.runs)
    log.close()
    if args.scale_rows:
        copy = scale_rows(path, args.scale_rows)
        scaled = LogStore.open(copy, network=NET, origin="C", signer=CENTRAL)
        print(f"rows{args.scale_rows}_file_mb={os.path.getsize(copy) / 1e6:.0f}")
        measure(scaled.db, args.runs, prefix=f"rows{args.scale_rows}_")
        scaled.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(copy) + suffix).unlink(missing_ok=True)
    if not args.keep and not args.db:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    print(f"p95_ms={worst:.1f}")


if __name__ == "__main__":
    main()
