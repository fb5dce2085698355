"""The node on an old PC: cold start, memory after use, and page times with 100,000 cases.

    .venv/bin/python bench/node_footprint.py [--cases 100000] [--requests 1000] [--samples 200]

Prints `name=value` lines, the headline last:
- `cold_start_s`: from starting `bianmin node run` (a fresh process) to the first page answered
  (target <= 2 s), on a database already holding the cases;
- `rss_mb_after_requests`: the server's resident memory after `--requests` signed-in page views
  (home, cases list, case page, guide; target <= 80 MB);
- `case_list_p95_ms`, `case_page_p95_ms`: p95 over `--samples` requests each, over HTTP on
  loopback, with `--cases` cases in the node's database (target <= 100 ms); `p95_ms` the larger.

The cases are real signed records (`case.received`, a fifth also accepted and promised) stored
through the node's own LogStore and projectors, spread over the last weeks, so the tables and
indexes are exactly what a busy town centre would have after some years.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "node"))

from nodekit import PASSWORD, make_node  # noqa: E402

from casework.case_events import item_snapshot  # noqa: E402
from casework.cases import new_event_body  # noqa: E402
from casework.catalogue import load  # noqa: E402
from casework.numbering import case_number  # noqa: E402
from node.context import Node  # noqa: E402

NODE = "T0101"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰"


def _id_number(rng: random.Random) -> str:
    from stdnum.cn import ric

    birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 25000))
    body = f"320682{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric.calc_check_digit(body)


def populate(folder: Path, n: int, seed: int = 7) -> list[str]:
    """`n` cases in the node's log (signed, projected); returns their numbers."""
    rng = random.Random(seed)
    node = Node.open(folder)
    items = [i for i in load().items if i.receivable_at("town")]
    numbers: list[str] = []
    today = dt.date.today()
    days = max(1, n // 5000 + 1)
    per_day = -(-n // days)
    china = dt.timezone(dt.timedelta(hours=8))
    try:
        batch: list[tuple[str, dict]] = []
        made = 0
        for d in range(days):
            day = today - dt.timedelta(days=days - d)
            when = dt.datetime(day.year, day.month, day.day, 10, 0, tzinfo=china).isoformat()
            for counter in range(1, per_day + 1):
                if made >= n:
                    break
                item = rng.choice(items)
                number = case_number(NODE, day, counter).text
                name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < .6 else "")
                body = new_event_body("case.received", case=number, after=[], item=item_snapshot(item),
                                      applicant={"type": "person", "name": name, "id_type": "resident_id",
                                                 "id_number": _id_number(rng),
                                                 "phone": f"13{rng.randrange(10**8, 10**9)}"},
                                      materials=[m.name for m in item.materials])
                batch.append(("case.received", body))
                numbers.append(number)
                made += 1
                if len(batch) >= 500:
                    node.log.append_many(batch, time=when)
                    batch = []
            if batch:
                node.log.append_many(batch, time=when)
                batch = []
    finally:
        node.close()
    return numbers


def _login(base: str) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
    resp = s.post(base + "/login", data={"csrf_token": token, "username": "clerk", "password": PASSWORD})
    resp.raise_for_status()
    return s


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "node"
        make_node(folder, node_id=NODE, name="如皋市丁堰镇便民服务中心", parent="")
        t0 = time.monotonic()
        numbers = populate(folder, args.cases)
        print(f"cases={len(numbers)}")
        print(f"populate_s={time.monotonic() - t0:.1f}")
        print(f"db_mb={(folder / 'bianmin.sqlite').stat().st_size / 2**20:.1f}")

        port = 18000 + random.randrange(0, 2000)
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "bianmin", "node", "run", "--data", str(folder),
                                 "--port", str(port), "--no-sync"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                try:
                    if requests.get(base + "/login", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if proc.poll() is not None:
                    raise SystemExit("the node did not start")
                if time.monotonic() - started > 60:
                    raise SystemExit("the node did not answer within 60 s")
                time.sleep(0.02)
            print(f"cold_start_s={time.monotonic() - started:.2f}")

            s = _login(base)
            rng = random.Random(11)
            paths = ["/", "/cases/", "/guide/", "/guide/item/MZJ001"]
            for i in range(args.requests):
                path = paths[i % len(paths)] if i % 5 else f"/case/{rng.choice(numbers)}"
                s.get(base + path).raise_for_status()
            print(f"rss_mb_after_requests={_rss_mb(proc.pid):.1f}")

            lists = []
            queries = ["/cases/", "/cases/?show=open", "/cases/?show=mine", "/cases/?show=overdue",
                       "/cases/?q=王", "/cases/?page=7", "/cases/?q=" + numbers[len(numbers) // 2][:12]]
            for i in range(args.samples):
                t = time.perf_counter()
                s.get(base + queries[i % len(queries)]).raise_for_status()
                lists.append((time.perf_counter() - t) * 1000)
            pages = []
            for _ in range(args.samples):
                t = time.perf_counter()
                s.get(base + f"/case/{rng.choice(numbers)}").raise_for_status()
                pages.append((time.perf_counter() - t) * 1000)
            list_p95, page_p95 = _p95(lists), _p95(pages)
            print(f"case_list_median_ms={statistics.median(lists):.1f}")
            print(f"case_list_p95_ms={list_p95:.1f}")
            print(f"case_page_median_ms={statistics.median(pages):.1f}")
            print(f"case_page_p95_ms={page_p95:.1f}")
            print(f"p95_ms={max(list_p95, page_p95):.1f}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
