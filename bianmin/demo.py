"""`bianmin demo [--data DIR]`: the whole network on one PC, with a few weeks of history.

Central, one town centre (T0101), two village rooms (V000101, V000102 under it) and a sub-centre
(S01, the tax hall), each its own process with its own SQLite file, on 127.0.0.1; four more
sub-centres (S02-S05) are enrolled and have history but do not run (the quarterly assessment ranks
five). The first run sets everything up the way a real
city does it, through the real paths:
1. `central init` (key, catalogue, calendar, administrator as signed records), staff accounts,
   and one-time enrolment tokens for the three service points;
2. central is started, and each node is enrolled with its token over HTTP (`node init`: key made,
   proof of possession, central's key pinned), pulling staff, catalogue and calendar;
3. a few weeks of history are made through the apps' record paths (installer.casegen): clerks take
   applications in on past days (complete, incomplete and waiting for supplements, forwarded to
   the town or to a city window, finished on the spot, promised), sync carries them, the town
   takes over the cases villages forwarded to it, the city's windows accept, charge fees the
   settlement centre collects, finish and deliver; applicants give evaluations; some promised
   cases are left past their due date (overdue, red on the supervision board); the sub-centres
   work their own items and sign their monthly reports (some late or missing); at central,
   ratings with bad reviews called back, rectified and appealed, the last quarter's assessment
   recorded and published with evidence, access records and a retention policy;
4. every app is started as its own process, the nodes syncing in the background.

A later run with the same --data starts the same network again (no new history). It prints every
address and the demo logins; Ctrl-C (or SIGTERM) stops every process cleanly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

NETWORK = "demo"
PASSWORD = "demo-2026"
CHINA = dt.timezone(dt.timedelta(hours=8))
TOWN = ("T0101", "如皋市丁堰镇便民服务中心")
VILLAGES = [("V000101", "丁堰镇皋南村便民服务室"), ("V000102", "丁堰镇堰北村便民服务室")]
# sub-centre, name, the items it takes in (its department's, received and decided at city tier)
SUBCENTRES = [
    ("S01", "如皋市税务局办税服务厅", ["SW003", "SW004", "SW005", "SW007"]),
    ("S02", "如皋市公安局出入境与户政服务大厅", ["GA003", "GA004", "GA007", "GA008"]),
    ("S03", "如皋市不动产登记中心", ["BDC002", "BDC003", "BDC005", "BDC008"]),
    ("S04", "如皋市人力资源和社会保障局服务大厅", ["RSJ005", "RSJ006", "RSJ008"]),
    ("S05", "如皋市住房公积金管理中心服务大厅", ["GJJ002", "GJJ003", "GJJ004"]),
]
RUNNING_SUBCENTRE = "S01"
# username: (display name, roles, places)
STAFF: dict[str, tuple[str, list[str], list[str]]] = {
    "wang": ("王村干", ["village_clerk"], ["V000101"]),
    "zhou": ("周村干", ["village_clerk"], ["V000102"]),
    "chen": ("陈镇办事员", ["town_clerk"], ["T0101"]),
    "zhang": ("张主任", ["node_admin", "town_clerk"], ["S01"]),
    "li": ("李窗口", ["window_clerk"], ["W05", "W12", "W16", "W35", "W44", "W63", "W64", "W68"]),
    "qian": ("钱收费员", ["cashier"], ["W70"]),
    "sun": ("孙督查", ["supervisor", "inspector"], ["*"]),
    "zhao": ("赵科长", ["supervisor"], ["*"]),   # the second pair of eyes on corrections
}
READY = "bianmin demo ready"


@dataclass
class Proc:
    name: str
    url: str
    popen: subprocess.Popen[bytes]


@dataclass
class Network:
    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)

    @property
    def central_dir(self) -> Path:
        return self.root / "central"

    def node_dir(self, node_id: str) -> Path:
        return self.root / node_id


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_cli(args: list[str]) -> None:
    """A `bianmin ...` command in this process (one Python start instead of one per command)."""
    from bianmin.cli import main

    try:
        main.main(args, prog_name="bianmin", standalone_mode=False)
    except click.ClickException as err:
        raise click.ClickException(f"bianmin {' '.join(args[:2])}: {err.format_message()}") from err


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(f"{url} exited with code {proc.returncode} while starting")
        try:
            requests.get(url, timeout=2, allow_redirects=False)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {timeout:.0f} s")


def start(net: Network, name: str, args: list[str], port: int) -> Proc:
    url = f"http://127.0.0.1:{port}/"
    log = (net.root / f"{name}.log").open("ab")
    popen = subprocess.Popen([sys.executable, "-m", "bianmin", *args, "--port", str(port)],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc = Proc(name, url, popen)
    net.procs.append(proc)
    _wait_http(url, popen)
    return proc


def stop(net: Network, name: str | None = None) -> None:
    """SIGINT (what waitress and the node's sync loop stop cleanly on), then wait, then insist."""
    chosen = [p for p in net.procs if name is None or p.name == name]
    for p in chosen:
        if p.popen.poll() is None:
            p.popen.send_signal(signal.SIGINT)
    for p in chosen:
        try:
            p.popen.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.popen.terminate()
            try:
                p.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait()
        net.procs.remove(p)


# --- first run: set the network up ------------------------------------------------------------------

def set_up(net: Network, *, seed: int, say: Any) -> None:
    central = str(net.central_dir)
    say("creating central (keys, catalogue, calendar, staff)...")
    _run_cli(["central", "init", "--data", central, "--network", NETWORK, "--admin-password", PASSWORD,
              "--public-url", f"http://127.0.0.1:{net.ports['central']}"])
    for username, (name, roles, places) in STAFF.items():
        args = ["central", "staff", "add", username, "--data", central, "--password", PASSWORD, "--name", name]
        args += [x for r in roles for x in ("--role", r)] + [x for p in places for x in ("--place", p)]
        _run_cli(args)
    tokens = {}
    tokens[TOWN[0]] = _token(central, TOWN[0], TOWN[1], None)
    for node_id, name in VILLAGES:
        tokens[node_id] = _token(central, node_id, name, TOWN[0])
    for node_id, name, _items in SUBCENTRES:
        tokens[node_id] = _token(central, node_id, name, None)
    start(net, "central", ["central", "run", "--data", central], net.ports["central"])
    url = f"http://127.0.0.1:{net.ports['central']}"
    for node_id in [TOWN[0], *(v for v, _ in VILLAGES), *(s for s, _, _ in SUBCENTRES)]:
        say(f"enrolling {node_id} with its one-time token...")
        args = ["node", "init", "--data", str(net.node_dir(node_id)), "--central", url, "--token",
                tokens[node_id], "--node-id", node_id, "--network", NETWORK]
        if node_id.startswith("V"):
            args += ["--parent", TOWN[0]]
        _run_cli(args)
    say("making a few weeks of history through the apps' record paths...")
    make_history(net, random.Random(seed))
    (net.root / "demo.json").write_text(json.dumps({"network": NETWORK, "seed": seed}), "utf-8")


def _token(central: str, node_id: str, name: str, town: str | None) -> str:
    from central.admin_records import place_node
    from central.datadir import DataDir
    from central.runtime import Central
    from sync.server import EnrolmentBook

    app = Central(DataDir(Path(central)))
    try:
        token = EnrolmentBook(app.log).issue(node_id, name)
        place_node(app, node_id, name=name, town=town)
        return token
    finally:
        app.close()


def _days_ago(calendar: Any, n: int, rng: random.Random) -> dt.datetime:
    """A working-day morning or afternoon `n` working days before today, in China time."""
    day = dt.datetime.now(CHINA).date()
    while n > 0:
        day -= dt.timedelta(days=1)
        if calendar.is_working_day(day):
            n -= 1
    moment = dt.datetime.combine(day, dt.time(rng.choice([9, 10, 11, 14, 15, 16]), rng.randrange(60)), CHINA)
    return min(moment, dt.datetime.now(CHINA).replace(microsecond=0))  # today's cases never lie in the future


def _sync(folder: Path) -> None:
    from installer.recovery import sync_recovering

    report, _ = sync_recovering(folder)
    if not report.ok:
        raise click.ClickException(f"sync of {folder.name} failed: {report.error}")


def make_history(net: Network, rng: random.Random) -> None:
    from installer.casegen import NodeDesk, person, window_work
    from installer.privacy_demo import node_demo
    from node.context import Node
    from store.db import open_db

    forwarded_to_city: list[tuple[str, dt.datetime]] = []
    forwarded_to_town: list[tuple[str, dt.datetime]] = []
    plan = [  # (item, outcome) as a village clerk meets them
        ("GA006", "auto"), ("RSJ005", "auto"), ("GS001", "auto"), ("YBJ004", "auto"), ("CL001", "auto"),
        ("MZJ001", "auto"), ("MZJ005", "auto"), ("SW006", "auto"), ("SFJ002", "auto"),
        ("GA006", "supplement"), ("MZJ003", "supplement"), ("WJW002", "auto"), ("TYJR001", "auto"),
    ]
    for node_id, _ in VILLAGES:
        node = Node.open(net.node_dir(node_id))
        try:
            desk = NodeDesk(node, {"username": "wang" if node_id.endswith("1") else "zhou", "name": "村干"})
            db = open_db(node.db_path)
            calendar = node.calendar(db)
            db.conn.close()
            for i, (code, outcome) in enumerate(plan * 2):
                when = _days_ago(calendar, 25 - i, rng)
                case, what = desk.take_in(code, when, person(rng), outcome=outcome, missing=1)
                if what == "forwarded":
                    if case.events[-1].body["to"].startswith("node:"):
                        forwarded_to_town.append((case.number, when))
                    else:
                        forwarded_to_city.append((case.number, when))
                elif what in ("finished", "promised"):
                    if what == "promised" and i % 3 != 2:  # most promised village cases are done in time
                        later = when + dt.timedelta(days=1)
                        desk.step(case, "case.finished", later, outcome="granted")
                        desk.step(case, "case.delivered", later, method="on_the_spot",
                                  recipient=case.events[0].body["applicant"]["name"])
                        what = "finished"
                    if what == "finished" and i % 2 == 0:
                        level = rng.choice([5, 5, 5, 4, 4, 3, 2])
                        desk.step(case, "case.evaluated", when + dt.timedelta(days=1), level=level,
                                  channel="counter",
                                  **({"reason": "等候时间较长"} if level <= 2 else {}))
            node_demo(node, rng)  # the clerk's prints, scan views and unmasks, as access records
        finally:
            node.close()
        _sync(net.node_dir(node_id))

    town_dir = net.node_dir(TOWN[0])
    _sync(town_dir)  # brings the villages' cases forwarded to the town
    town = Node.open(town_dir)
    try:
        desk = NodeDesk(town, {"username": "chen", "name": "陈镇办事员"})
        db = open_db(town.db_path)
        calendar = town.calendar(db)
        db.conn.close()
        for i, (number, forwarded) in enumerate(forwarded_to_town):
            when = min(forwarded + dt.timedelta(days=1), dt.datetime.now(CHINA))
            case = desk.accept_handover(number, when)
            if i % 3 == 2:
                continue  # waiting at the town
            limit = int(case.events[0].body["item"].get("promised_limit_days") or 0)
            due = calendar.add_working_days(when.replace(tzinfo=None), limit, allow_provisional=True).date
            desk.step(case, "case.accepted", when, due_date=due.isoformat())
            desk.step(case, "case.promised", when, due_date=due.isoformat())
            if i % 3 == 0:
                desk.step(case, "case.finished", when + dt.timedelta(days=2), outcome="granted")
                desk.step(case, "case.delivered", when + dt.timedelta(days=2), method="village")
        for i, code in enumerate(["GA001", "RSJ001", "MZJ005", "RSJ009", "SCJG009", "YBJ001", "RSJ002"] * 2):
            when = _days_ago(calendar, 18 - i, rng)
            case, what = desk.take_in(code, when, person(rng))
            if what == "promised" and i % 2 == 0:
                desk.step(case, "case.finished", when + dt.timedelta(days=1), outcome="granted")
                desk.step(case, "case.delivered", when + dt.timedelta(days=1), method="on_the_spot")
            if what == "finished":
                desk.step(case, "case.evaluated", when, level=rng.choice([5, 4]), channel="counter")
    finally:
        town.close()
    _sync(town_dir)
    for index, (node_id, _name, items) in enumerate(SUBCENTRES):
        _subcentre_history(net, node_id, items, index, rng)

    stop(net, "central")  # the city's windows work on central's own file, then central serves again
    _city_windows(net, forwarded_to_city, rng, window_work)
    start(net, "central", ["central", "run", "--data", str(net.central_dir)], net.ports["central"])


def _month(day: dt.date, back: int) -> str:
    """The month `back` months before the month of `day`, as YYYY-MM."""
    index = day.year * 12 + day.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _subcentre_history(net: Network, node_id: str, items: list[str], index: int, rng: random.Random) -> None:
    """A sub-centre's last seven weeks: its own items taken in and decided there (some promised cases
    late), ratings at the counter, and its monthly reports: the month before last from every
    sub-centre, last month from the first three only (the others' are missing or not yet due)."""
    from installer.casegen import NodeDesk, person
    from installer.demo_reports import sign_demo_report
    from node.context import Node
    from store.db import open_db

    folder = net.node_dir(node_id)
    node = Node.open(folder)
    director = {"username": "zhang", "name": "张主任"} if node_id == "S01" else {"username": f"{node_id.lower()}-dir",
                                                                                 "name": "分中心主任"}
    try:
        desk = NodeDesk(node, director)
        db = open_db(node.db_path)
        calendar = node.calendar(db)
        db.conn.close()
        now = dt.datetime.now(CHINA)
        for i in range(18):
            when = _days_ago(calendar, 34 - 2 * i + rng.randrange(2), rng)
            case, what = desk.take_in(rng.choice(items), when, person(rng))
            if what == "promised":
                late = (i + index) % 5 == 0  # one in five finished after its due date
                due = dt.date.fromisoformat(case.events[-1].body["due_date"])
                done = dt.datetime.combine(due + dt.timedelta(days=3 if late else -1), dt.time(15), CHINA)
                if done <= when:
                    done = when + dt.timedelta(hours=1)
                if done > now:
                    continue  # still running
                desk.step(case, "case.finished", done, outcome="granted")
                desk.step(case, "case.delivered", done, method="on_the_spot",
                          recipient=case.events[0].body["applicant"]["name"])
                when = done
            if i % 2 == 0:
                level = rng.choice([5, 5, 5, 4, 4, 3] + ([1] if index == 3 else []))
                desk.step(case, "case.evaluated", min(when + dt.timedelta(hours=1), now), level=level,
                          channel="counter", **({"reason": "窗口解释不清楚"} if level <= 2 else {}))
        today = now.date()
        for back, who in ((2, SUBCENTRES), (1, SUBCENTRES[:3])):
            month = _month(today, back)
            if node_id in {s for s, _, _ in who}:
                signed = dt.datetime.combine(dt.date.fromisoformat(_month(today, back - 1) + "-03"), dt.time(10),
                                             CHINA)
                sign_demo_report(node, month, when=min(signed, now), rng=rng, by=director)
    finally:
        node.close()
    _sync(folder)


def _city_windows(net: Network, cases: list[tuple[str, dt.datetime]], rng: random.Random, window_work: Any) -> None:
    from central import assessment_demo, correction_demo, reviews_demo
    from central.datadir import DataDir
    from central.runtime import Central
    from installer.privacy_demo import central_demo

    now = {"t": dt.datetime.now(CHINA)}
    central = Central(DataDir(net.central_dir), clock=lambda: now["t"])
    try:
        for i, (number, received) in enumerate(cases):
            now["t"] = received + dt.timedelta(days=1)
            if now["t"] > dt.datetime.now(CHINA):
                now["t"] = dt.datetime.now(CHINA)
            if i % 5 == 4:
                continue  # still in the window's queue
            window_work(central, number, finish=i % 5 in (0, 1), pay=i % 5 != 3, rng=rng)
        now["t"] = dt.datetime.now(CHINA)
        reviews_demo.add_ratings(central, rng, skip_origins=tuple(s for s, _, _ in SUBCENTRES))  # SMS, web, counter
        assessment_demo.record_demo(central, rng=rng, inspector="sun", supervisor="sun")
        correction_demo.record_demo(central, rng=rng, filer="sun", approver="zhao")  # scorecard v2, a correction
        central_demo(central, rng)  # a retention policy; who looked at whose data
    finally:
        central.close()


# --- running ----------------------------------------------------------------------------------------

def run_network(net: Network, say: Any) -> None:
    if not any(p.name == "central" for p in net.procs):
        start(net, "central", ["central", "run", "--data", str(net.central_dir)], net.ports["central"])
    for node_id in [TOWN[0], *(v for v, _ in VILLAGES), RUNNING_SUBCENTRE]:
        start(net, node_id, ["node", "run", "--data", str(net.node_dir(node_id))], net.ports[node_id])


def banner(net: Network) -> str:
    port = net.ports
    lines = [
        "",
        "便民 bianmin demo: central, a town centre, two village rooms and a sub-centre on this PC",
        f"  city centre (市行政服务中心)   http://127.0.0.1:{port['central']}/",
        f"  town {TOWN[0]} ({TOWN[1]})   http://127.0.0.1:{port[TOWN[0]]}/",
    ]
    lines += [f"  village {v} ({name})   http://127.0.0.1:{port[v]}/" for v, name in VILLAGES]
    sub = next(name for s, name, _ in SUBCENTRES if s == RUNNING_SUBCENTRE)
    lines += [
        f"  sub-centre {RUNNING_SUBCENTRE} ({sub})   http://127.0.0.1:{port[RUNNING_SUBCENTRE]}/",
        f"  (sub-centres {', '.join(s for s, _, _ in SUBCENTRES if s != RUNNING_SUBCENTRE)} are enrolled, not running)",
        "public pages, no login:",
        f"  service guide and forms        http://127.0.0.1:{port['central']}/guide/",
        f"  case status query              http://127.0.0.1:{port['central']}/status",
        f"  touch-screen kiosk             http://127.0.0.1:{port['central']}/kiosk",
        f"  assessment bulletin            http://127.0.0.1:{port['central']}/bulletin/",
        "",
        f"logins (password {PASSWORD} for all):",
        "  admin  administrator at central",
    ]
    lines += [f"  {u:<6} {name}: {', '.join(roles)} at {', '.join(places)}" for u, (name, roles, places) in STAFF.items()]
    lines += ["", f"data and logs in {net.root}; Ctrl-C stops everything.", READY]
    return "\n".join(lines)


@click.command("demo")
@click.option("--data", "data", type=click.Path(path_type=Path, file_okay=False), default=Path("bianmin-demo"),
              show_default=True, help="where the demo's network keeps its folders")
@click.option("--seed", default=2026, show_default=True, help="history generator seed")
def demo(data: Path, seed: int) -> None:
    """Central, a town, two villages and a sub-centre on this PC, enrolled and with weeks of history."""
    net = Network(data.resolve())
    net.ports = {name: free_port() for name in ("central", TOWN[0], *(v for v, _ in VILLAGES), RUNNING_SUBCENTRE)}
    fresh = not (net.root / "demo.json").exists()
    if fresh and net.root.exists() and any(net.root.iterdir()):
        raise click.ClickException(f"{net.root} is not empty and holds no finished demo: choose another --data")
    net.root.mkdir(parents=True, exist_ok=True)

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the demo exactly like Ctrl-C

    # set both explicitly: a shell starting us in the background may have left SIGINT ignored, and
    # an ignored signal would be inherited by every app process we start
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        if fresh:
            set_up(net, seed=seed, say=lambda m: click.echo(m))
        run_network(net, say=click.echo)
        click.echo(banner(net))
        sys.stdout.flush()
        while True:
            for p in net.procs:
                if p.popen.poll() is not None:
                    raise click.ClickException(f"{p.name} stopped (code {p.popen.returncode}); see {net.root}/{p.name}.log")
            time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("stopping...")
    finally:
        # a second Ctrl-C (or a SIGINT forwarded by a wrapper) must not cut the shutdown short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop(net)
    click.echo("stopped.")
