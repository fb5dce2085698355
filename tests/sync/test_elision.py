"""Routing privacy: a node receives only the records routed to it, and for the rest of each origin's
chain central's signed elisions, against a real central on loopback.

What is proved here: what a node holds is exactly what `route` (and a case's group) sends it, one
elision per gap; a re-cut brings back earlier records of a case without splitting across pages;
a late node gets one elision per origin; every tampering with a pull (a record removed, an elision
forged, made for another node, stretched, contradicting, of the node's own origin, of another
network) is refused with its code and nothing after it is stored; bundles carry the same entries;
records stored while no router listened are routed; an old queue is migrated in place."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from sync.bundle import answer_bundle, export_bundle, import_reply
from sync.client import ELIDED, SyncError, encode_frames, ingest_routed, split_frames
from sync.elision import ELISION_DOMAIN, Elision, parse_elision, sign_elision
from sync.envelope import sign_record
from sync.keys import NodeKey
from sync.logstore import LogStore
from sync.server import Routes
from tests.sync.conftest import CENTRAL_KEY, NET, make_central, make_node


def route(record):  # type: ignore[no-untyped-def]
    """Configuration to everyone; anything else to the nodes its body lists in `to`."""
    if record.kind.startswith(("node.", "catalogue.")):
        return {"*"}
    to = record.body.get("to")
    return set(to) if isinstance(to, list) else set()


def group(record):  # type: ignore[no-untyped-def]
    case = record.body.get("case")
    return f"case:{case}" if isinstance(case, str) else None


@pytest.fixture
def city(tmp_path: Path):  # type: ignore[no-untyped-def]
    c = make_central(tmp_path / "central", route=route, group=group)
    yield c
    c.close()


def nodes(city, tmp_path: Path, *ids: str, batch: int = 200):  # type: ignore[no-untyped-def]
    out = {}
    for n in ids:
        city.enrol(n)
        out[n] = make_node(tmp_path / n, n, city.url, batch=batch)
    return out


def ids_of(store: LogStore, origin: str) -> list[str]:
    return [r.id for r in store.records_of(origin)]


def routed_to(central: LogStore, node: str, origin: str = "C") -> list[str]:
    return [r.id for r in central.records_of(origin) if node in route(r) or "*" in route(r)]


def test_a_node_holds_what_is_routed_to_it_and_one_elision_per_gap(city, tmp_path):
    v = nodes(city, tmp_path, "V000001", "V000002")
    city.store.append("catalogue.published", {"version": 1})
    for i in range(300):   # the city's work for other places, the odd record for our village
        to = ["V000001"] if i % 50 == 7 else ["V000002"] if i % 3 == 0 else ["V000099"]
        city.store.append("case.finished", {"case": f"C-{i}", "applicant": "王芳", "to": to})
    city.store.append("staff.account", {"username": "city-admin", "password_hash": "scrypt$secret"})
    for node in v.values():
        assert node.client.sync_once().ok
    mine = v["V000001"].store
    assert ids_of(mine, "C") == routed_to(city.store, "V000001")
    assert len(ids_of(mine, "C")) == 3 + 6  # two enrolments and the catalogue; six cases
    assert not [r for r in mine.records_of("C") if r.kind == "staff.account"]
    # one elision before each routed record that does not follow the one before it; nothing after
    # the last routed record is elided until something after it is routed
    elisions = mine.elisions("C")
    assert [(e.first, e.last) for e in elisions] == _gaps(city.store, "V000001")
    assert mine.withheld() == {"C": sum(e.count for e in elisions)}
    assert mine.head("C")[0] == max(r.seq for r in mine.records_of("C"))
    assert mine.verify_all(signatures=True) == []
    # pulling again moves nothing
    assert v["V000001"].client.sync_once().pulled == 0
    # the other village: its records, not ours
    theirs = v["V000002"].store
    assert ids_of(theirs, "C") == routed_to(city.store, "V000002")
    assert not set(ids_of(theirs, "C")) & (set(ids_of(mine, "C")) - set(routed_to(city.store, "*")))


def _gaps(central: LogStore, node: str) -> list[tuple[int, int]]:
    seqs = [r.seq for r in central.records_of("C") if node in route(r) or "*" in route(r)]
    out, last = [], 0
    for s in seqs:
        if s > last + 1:
            out.append((last + 1, s - 1))
        last = s
    return out


def test_a_case_reaching_a_town_late_brings_its_history_in_one_unit(city, tmp_path):
    """The town is routed cases B and then A of a village (A older): A's history comes back out of a
    range already elided to the town, as a re-cut: never split, even one entry per page."""
    n = nodes(city, tmp_path, "T0001", "V000001", batch=1)   # pages of one entry
    village, town = n["V000001"], n["T0001"]
    for i in range(12):
        village.store.append("case.note_added", {"case": f"other-{i}", "text": "村里别的事"})
        if i == 3:
            village.store.append("case.received", {"case": "A", "applicant": "郑老"})
        if i == 6:
            village.store.append("case.received", {"case": "B", "applicant": "王芳"})
            village.store.append("case.note_added", {"case": "A", "text": "补材料"})
    village.store.append("case.forwarded", {"case": "B", "to": ["T0001"]})
    assert village.client.sync_once().ok and town.client.sync_once().ok
    assert {r.body["case"] for r in town.store.records_of("V000001")} == {"B"}
    village.store.append("case.forwarded", {"case": "A", "to": ["T0001"]})
    assert village.client.sync_once().ok and town.client.sync_once().ok
    held = town.store.records_of("V000001")
    assert [r.body["case"] for r in held] == ["A", "B", "A", "B", "A"]   # in seq order
    assert not [r for r in held if r.body["case"].startswith("other")]
    assert town.store.verify_all(signatures=True) == []
    spans = [(e.first, e.last) for e in town.store.elisions("V000001")]
    seqs = sorted(r.seq for r in held)
    covered = sorted([s for f, t in spans for s in range(f, t + 1)] + seqs)
    assert covered == list(range(1, village.store.head()[0] + 1))   # every seq once: record or elision
    # the re-cut was one unit: a one-entry page still carried it whole
    routes = city.routes
    frames, _, _ = routes.pull("T0001", 0, 1000)
    units = city.store.db.conn.execute(
        "SELECT unit, count(*) FROM sync_routes WHERE node = 'T0001' AND unit > 0 GROUP BY unit"
        " HAVING count(*) > 1").fetchall()
    assert units, "a re-cut unit was queued"
    assert len(frames) >= 8


def test_a_node_enrolled_late_gets_one_elision_per_origin(city, tmp_path):
    early = nodes(city, tmp_path, "V000001")["V000001"]
    early.store.append_many([("case.received", {"case": f"V1-{i}"}) for i in range(40)])
    early.store.append("case.note_added", {"case": "joint", "to": ["V000003"]})   # before V000003 exists
    assert early.client.sync_once().ok
    city.store.append_many([("case.finished", {"case": f"C-{i}", "to": ["V000001"]}) for i in range(40)])
    city.store.append("case.note_added", {"case": "X", "to": ["V000003"]})
    late = nodes(city, tmp_path, "V000003")["V000003"]
    city.store.append("case.finished", {"case": "mine", "to": ["V000003"]})
    assert late.client.sync_once().ok
    assert [(e.origin, e.first, e.last) for e in late.store.elisions()] == [("C", 2, 41), ("V000001", 1, 40)]
    assert [r.body.get("case") for r in late.store.records_of("C")] == [None, "X", None, "mine"]
    assert [r.body.get("case") for r in late.store.records_of("V000001")] == ["joint"]
    assert late.store.verify_all(signatures=True) == []


# --- tampering: a pull page changed on its way ----------------------------------------------------

@pytest.fixture
def page(city, tmp_path):  # type: ignore[no-untyped-def]
    """A village and the real first page central serves it: elisions around its routed records."""
    v = nodes(city, tmp_path, "V000001", "V000002")["V000001"]
    for i in range(10):
        city.store.append("case.finished", {"case": f"C-{i}", "to": ["V000001"] if i in (2, 6) else ["V000002"]})
    v.client.check_time()
    resp = v.client.request("GET", "/sync/v1/pull?after=0&limit=100")
    frames = split_frames(resp.content, elisions=True)
    assert [pos for pos, _, _ in frames].count(ELIDED) == 2
    return v, frames, int(resp.headers["X-Bianmin-Cursor"]), city.store


def _elision_of(frames, n: int = 0) -> Elision:  # type: ignore[no-untyped-def]
    found = [parse_elision(raw, sig) for pos, raw, sig in frames if pos == ELIDED]
    return found[n]


def _frame(e: Elision):  # type: ignore[no-untyped-def]
    return (ELIDED, e.raw, e.sig)


def _resign(e: Elision, key: NodeKey = CENTRAL_KEY, **change) -> Elision:  # type: ignore[no-untyped-def]
    fields = {"net": e.net, "node": e.node, "origin": e.origin, "first": e.first, "last": e.last, "prev": e.prev,
              "id": e.id, **change}
    return sign_elision(key, **fields)


def _refused(v, frames, cursor, code):  # type: ignore[no-untyped-def]
    """Ingesting `frames` is refused with `code`: what came before the refused entry may be stored,
    nothing at or after it, the cursor does not move."""
    before, at = set(ids_of_all(v.store)), v.store.cursor("C", "pulled")
    elided = {e.raw for e in v.store.elisions()}
    with pytest.raises(SyncError) as err:
        ingest_routed(v.store, frames, cursor)
    assert err.value.params.get("reason") == code, err.value
    index = err.value.params["index"]
    earlier = {hashlib.sha256(raw).hexdigest() for pos, raw, _ in frames[:index]}
    assert set(ids_of_all(v.store)) - before <= earlier
    assert {e.raw for e in v.store.elisions()} - elided <= {raw for _, raw, _ in frames[:index]}
    assert v.store.cursor("C", "pulled") == at


def ids_of_all(store: LogStore) -> list[str]:
    return [s.record.id for s in store.records_after(0, limit=1_000_000)]


def test_the_untouched_page_is_taken(page):
    v, frames, cursor, _ = page
    assert ingest_routed(v.store, frames, cursor) == 4      # the two enrolments and two cases
    assert [(e.first, e.last) for e in v.store.elisions("C")] == [(3, 4), (6, 8)]
    assert v.store.verify_all(signatures=True) == []


@pytest.mark.parametrize("attack,code,without_central_key", [
    ("bad_signature", "bad_signature", True),
    ("forged_by_a_stranger", "bad_signature", True),
    ("signed_as_a_record", "bad_signature", True),
    ("made_for_another_node", "elision_misdirected", True),     # replayed from another village's pull
    ("record_removed", "gap", True),
    ("record_removed_and_elision_stretched_by_a_stranger", "bad_signature", True),
    ("wrong_id_hides_the_next_record", "broken_chain", False),
    ("own_origin", "elision_own", False),
    ("another_network", "wrong_network", False),
    ("gap_after_elision", "gap", False),
])
def test_a_tampered_pull_is_refused_and_nothing_after_it_stored(page, attack, code, without_central_key):
    v, frames, cursor, central = page
    frames = list(frames)
    first = _elision_of(frames)
    at = next(i for i, f in enumerate(frames) if f[0] == ELIDED)
    if attack == "bad_signature":
        frames[at] = (ELIDED, first.raw, bytes([first.sig[0] ^ 1]) + first.sig[1:])
    elif attack == "forged_by_a_stranger":
        frames[at] = _frame(_resign(first, NodeKey.from_seed(b"m" * 32)))
    elif attack == "signed_as_a_record":
        from sync.envelope import RECORD_DOMAIN
        frames[at] = (ELIDED, first.raw, CENTRAL_KEY.sign(RECORD_DOMAIN + first.raw))
    elif attack == "made_for_another_node":
        frames[at] = _frame(_resign(first, node="V000002"))
    elif attack == "record_removed":
        del frames[at + 1]                       # the routed record after the first elision
    elif attack == "record_removed_and_elision_stretched_by_a_stranger":
        second = _elision_of(frames, 1)
        stretched = _resign(first, NodeKey.from_seed(b"m" * 32), last=second.last, id=second.id)
        frames[at:at + 3] = [_frame(stretched)]   # elision, record, elision -> one forged elision
    elif attack == "wrong_id_hides_the_next_record":
        frames[at] = _frame(_resign(first, id="ab" * 32))   # genuinely signed, but not the chain
    elif attack == "own_origin":
        frames.append(_frame(_resign(first, origin="V000001")))
    elif attack == "another_network":
        frames[at] = _frame(_resign(first, net="prod"))
    elif attack == "gap_after_elision":
        frames[at] = _frame(_resign(first, last=first.last - 1, id=_id_at(central, first.last - 1)))
    _refused(v, frames, cursor, code)
    assert v.store.verify_all(signatures=True) == []
    if without_central_key:   # what someone on the link did is undone by asking again
        ingest_routed(v.store, page[1], cursor)
        assert ids_of(v.store, "C") == routed_to(central, "V000001")


def _id_at(central: LogStore, seq: int) -> str:
    """The id central holds at C `seq` (what a genuinely signed elision of another range names)."""
    return central.records_of("C", seq, seq)[0].id


def test_elisions_that_overlap_or_contradict_what_is_held(page):
    v, frames, cursor, central = page
    ingest_routed(v.store, frames, cursor)
    first = v.store.elisions("C")[0]
    held = v.store.records_of("C")
    record = next(r for r in held if r.seq == first.last + 1)
    # a finer cut inside a withheld range alone (no records with it): overlap
    inner = _resign(first, last=first.last - 1, id=_id_at(central, first.last - 1))
    _refused(v, [_frame(inner)], cursor, "elision_overlap")
    # stretched over a held record and beyond what is held: overlap
    over = _resign(first, last=record.seq + 1, id=_id_at(central, record.seq + 1))
    _refused(v, [_frame(over)], cursor, "elision_overlap")
    # over a held record, aligned, but contradicting its id: a fork, kept as evidence
    forked = _resign(first, last=record.seq, id="cd" * 32)
    _refused(v, [_frame(forked)], cursor, "fork")
    assert [f["elision"].raw for f in v.store.elision_forks()] == [forked.raw]
    # over a held record, aligned and consistent (an older, coarser statement): harmless
    coarse = _resign(first, last=record.seq, id=record.id)
    assert ingest_routed(v.store, [_frame(coarse)], cursor) == 0
    assert v.store.verify_all(signatures=True) == []
    # a record of a withheld seq without the elisions that re-cut its range: refused
    hidden = central.records_of("C", first.first + 1, first.first + 1)[0]
    _refused(v, [(5, hidden.raw, hidden.sig)], cursor, "elision_overlap")
    # a record where a held elision names another one: a fork, kept as evidence
    other = sign_record(CENTRAL_KEY, net=NET, origin="C", seq=first.last, prev=hidden.id, kind="case.finished",
                        body={"case": "rewritten"})
    _refused(v, [(None, other.raw, other.sig)], cursor, "fork")
    assert [f["record"].id for f in v.store.forks("C")] == [other.id]


def test_a_recut_that_does_not_cover_its_range_is_refused_whole(city, tmp_path):
    n = nodes(city, tmp_path, "T0001", "V000001")
    village, town = n["V000001"], n["T0001"]
    village.store.append("case.received", {"case": "A"})
    village.store.append_many([("case.note_added", {"case": f"x{i}"}) for i in range(5)])
    village.store.append("case.received", {"case": "B"})
    village.store.append("case.forwarded", {"case": "B", "to": ["T0001"]})
    assert village.client.sync_once().ok and town.client.sync_once().ok
    village.store.append("case.forwarded", {"case": "A", "to": ["T0001"]})
    assert village.client.sync_once().ok
    after = town.store.cursor("C", "pulled")
    frames, cursor, _ = city.routes.pull("T0001", after, 100)
    unit = [f for f in frames if f[0] == ELIDED or parse_record_origin(f) == "V000001"]
    assert len(unit) >= 3
    # the record A, then the elision after it: drop the elision and the range is left half re-cut
    cut = [f for f in frames if f is not unit[1]]
    _refused(town, cut, cursor, "gap")
    assert ingest_routed(town.store, frames, cursor) == 2
    assert town.store.verify_all(signatures=True) == []


def parse_record_origin(frame) -> str:  # type: ignore[no-untyped-def]
    from sync.envelope import parse_record
    pos, raw, sig = frame
    return "" if pos == ELIDED else parse_record(raw, sig).origin


def test_verify_all_finds_a_changed_or_missing_elision(page, tmp_path):
    v, frames, cursor, _ = page
    ingest_routed(v.store, frames, cursor)
    path = tmp_path / "V000001" / "node.sqlite"
    conn = sqlite3.connect(path)
    raw, sig = conn.execute("SELECT raw, sig FROM elisions ORDER BY first LIMIT 1").fetchone()
    conn.execute("UPDATE elisions SET sig = ? WHERE raw = ?", (bytes([sig[0] ^ 1]) + sig[1:], raw))
    conn.commit()
    assert any("elision" in p and "signature" in p for p in v.store.verify_all(signatures=True))
    conn.execute("DELETE FROM elisions WHERE raw = ?", (raw,))
    conn.commit()
    conn.close()
    assert any("chain broken" in p for p in v.store.verify_all())


def test_a_push_may_not_carry_an_elision(page):
    v, frames, _, _ = page
    e = _elision_of(frames)
    body = encode_frames([(ELIDED, e.raw, e.sig)])
    resp = v.client._send("POST", "/sync/v1/push?since=0", body, {"Content-Type": "application/x-bianmin-records"})
    assert resp.status_code == 400 and resp.json()["error"] == "bad_batch"


def test_elision_domain_is_its_own():
    e = sign_elision(CENTRAL_KEY, net=NET, node="V000001", origin="C", first=1, last=3, prev=None, id="ab" * 32)
    assert CENTRAL_KEY.sign(ELISION_DOMAIN + e.raw) == e.sig
    with pytest.raises(Exception) as err:
        sign_elision(CENTRAL_KEY, net=NET, node="C", origin="V000001", first=1, last=3, prev=None, id="ab" * 32)
    assert "central holds every record" in str(err.value)


# --- bundles, catch-up, migration ----------------------------------------------------------------

def test_bundle_replies_carry_the_same_entries(city, tmp_path):
    v = nodes(city, tmp_path, "V000001", "V000002")["V000001"]
    v.store.append_many([("case.received", {"case": f"V-{i}"}) for i in range(5)])
    for i in range(30):
        city.store.append("case.finished", {"case": f"C-{i}", "to": ["V000001"] if i % 10 == 9 else ["V000002"]})
    stick = tmp_path / "stick.bianmin"
    export_bundle(v.store, v.key, stick)
    _, reply = answer_bundle(city.store, city.routes, stick)
    result = import_reply(v.store, CENTRAL_KEY.public, reply)
    assert result["receipt_seq"] == 5 and result["pulled"] == 5    # the two enrolments and three cases
    assert ids_of(v.store, "C") == routed_to(city.store, "V000001")
    assert len(v.store.elisions("C")) == 3
    assert import_reply(v.store, CENTRAL_KEY.public, reply)["pulled"] == 0   # carried twice: harmless
    assert v.store.verify_all(signatures=True) == []


def test_records_stored_while_no_router_listened_are_routed(city, tmp_path):
    v = nodes(city, tmp_path, "V000001")["V000001"]
    assert v.client.sync_once().ok
    other = LogStore.open(city.folder / "central.sqlite", network=NET, origin="C", signer=CENTRAL_KEY)
    try:   # central's command line, another process: no Routes registered on this store
        other.append_many([("case.finished", {"case": f"C-{i}", "to": ["V000001"] if i == 4 else []})
                           for i in range(6)])
    finally:
        other.close()
    assert v.client.sync_once().pulled == 1
    assert [(e.first, e.last) for e in v.store.elisions("C")] == [(2, 5)]


def test_an_old_queue_is_migrated_and_pulls_go_on(tmp_path):
    store = LogStore.open(tmp_path / "central.sqlite", network=NET, origin="C", signer=CENTRAL_KEY)
    key = NodeKey.from_seed(b"V" * 32)
    store.append("node.enrolled", {"node": "V000001", "tier": "village", "name": "v", "public_key": key.public.hex(),
                                   "key": key.key_id, "from_seq": 1})
    store.append_many([("case.finished", {"case": f"C-{i}"}) for i in range(4)])
    conn = store.db.conn
    conn.executescript(   # the queue as the chain-closure code kept it, three entries pulled
        "CREATE TABLE sync_routes (n INTEGER PRIMARY KEY, node TEXT NOT NULL, pos INTEGER NOT NULL,"
        " UNIQUE (node, pos)); CREATE INDEX sync_routes_node ON sync_routes (node, n);"
        "CREATE TABLE sync_route_marks (node TEXT NOT NULL, origin TEXT NOT NULL, seq INTEGER NOT NULL,"
        " PRIMARY KEY (node, origin)) WITHOUT ROWID;"
        "INSERT INTO sync_routes (node, pos) SELECT 'V000001', pos FROM records ORDER BY pos;"
        "INSERT INTO sync_route_marks VALUES ('V000001', 'C', 5);")
    routes = Routes(store, route)
    frames, cursor, more = routes.pull("V000001", 3, 100)
    assert [f[0] for f in frames] == [3, 4] and cursor == 5 and not more
    store.append("case.finished", {"case": "new", "to": ["V000001"]})
    store.append("case.finished", {"case": "not ours"})
    store.append("case.finished", {"case": "ours again", "to": ["V000001"]})
    frames, cursor, _ = routes.pull("V000001", cursor, 100)
    assert [f[0] if f[0] == ELIDED else "r" for f in frames] == ["r", ELIDED, "r"]
    store.close()


def test_replaying_the_log_does_not_change_the_queue(city, tmp_path):
    v = nodes(city, tmp_path, "V000001")["V000001"]
    city.store.append_many([("case.finished", {"case": f"C-{i}", "to": ["V000001"] if i % 4 == 0 else []})
                            for i in range(20)])
    before = city.store.db.conn.execute("SELECT * FROM sync_routes ORDER BY n").fetchall()
    city.store.rebuild_projections(lambda db: None)
    assert city.store.db.conn.execute("SELECT * FROM sync_routes ORDER BY n").fetchall() == before
    assert v.client.sync_once().ok and v.store.verify_all(signatures=True) == []


# --- the page as a whole: someone on the link drops or swaps entries -------------------------------

class OnTheLink:
    """A man in the middle on the plain-HTTP link: forwards every request to central and may change
    the pull answers on their way back (`change(body) -> body`, the length fixed so that HTTP itself
    shows nothing), or answer a pull with the first pull answer it saw, headers and all (`replay`)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.change = None
        self.replay = False
        self.pulls: list[tuple[str, list[tuple[str, str]], bytes]] = []

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        import requests

        path = environ["PATH_INFO"] + (f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        headers.update({"Content-Type": environ.get("CONTENT_TYPE", ""), "Accept-Encoding": "identity"})
        resp = requests.request(environ["REQUEST_METHOD"], self.upstream + path, data=body, headers=headers,
                                timeout=10)
        status, content = f"{resp.status_code} {resp.reason}", resp.content
        keep = [(k, v) for k, v in resp.headers.items()
                if k.lower() not in ("content-length", "content-encoding", "transfer-encoding", "connection")]
        if environ["PATH_INFO"] == "/sync/v1/pull":
            self.pulls.append((status, keep, content))
            if self.replay:
                status, keep, content = self.pulls[0]
            elif self.change is not None:
                content = self.change(content)
        start_response(status, [*keep, ("Content-Length", str(len(content)))])
        return [content]


def _recut_scene(city, tmp_path):  # type: ignore[no-untyped-def]
    """A town whose next pull brings a case's earlier records back out of an elided range."""
    from serving import serve

    n = nodes(city, tmp_path, "T0001", "V000001")
    village, town = n["V000001"], n["T0001"]
    village.store.append("case.received", {"case": "A", "applicant": "郑老"})
    village.store.append_many([("case.note_added", {"case": f"x{i}"}) for i in range(4)])
    village.store.append("case.received", {"case": "B"})
    village.store.append("case.forwarded", {"case": "B", "to": ["T0001"]})
    assert village.client.sync_once().ok and town.client.sync_once().ok
    village.store.append("case.forwarded", {"case": "A", "to": ["T0001"]})
    assert village.client.sync_once().ok
    return town, serve


def _drop(body: bytes, keep) -> bytes:  # type: ignore[no-untyped-def]
    return encode_frames([f for i, f in enumerate(split_frames(body, elisions=True)) if keep(i, f)])


@pytest.mark.parametrize("attack", ["recut_dropped", "record_dropped_elision_forged", "tail_dropped",
                                    "another_cursors_page"])
def test_a_page_changed_on_the_link_is_caught_and_nothing_of_it_stored(city, tmp_path, attack):
    town, serve = _recut_scene(city, tmp_path)
    link = OnTheLink(city.url)
    before = set(ids_of_all(town.store))
    cursor = town.store.cursor("C", "pulled")
    stranger = NodeKey.from_seed(b"m" * 32)
    if attack == "recut_dropped":      # the case's history silently kept from the town
        link.change = lambda body: _drop(body, lambda i, f: parse_record_origin(f) != "V000001" and f[0] != ELIDED)
    elif attack == "record_dropped_elision_forged":
        def change(body: bytes) -> bytes:
            frames = split_frames(body, elisions=True)
            e = next(parse_elision(raw, sig) for pos, raw, sig in frames if pos == ELIDED)
            forged = sign_elision(stranger, net=e.net, node=e.node, origin=e.origin, first=1, last=e.last,
                                  prev=None, id=e.id)
            return encode_frames([(ELIDED, forged.raw, forged.sig), *frames[2:]])
        link.change = change
    elif attack == "tail_dropped":
        link.change = lambda body: _drop(body, lambda i, f: i < len(split_frames(body, elisions=True)) - 1)
    else:                               # an earlier answer of central's to this node, replayed whole
        with serve(link) as early:
            town.client.url = early
            town.client.request("GET", "/sync/v1/pull?after=0&limit=5")   # seen on the link, not taken
        link.replay = True
    with serve(link) as url:
        town.client.url = url
        town.client.session.close()
        report = town.client.sync_once()
        assert not report.ok and report.error.code == "sync.refused"
        assert report.error.params["reason"] == "bad_page"
        assert set(ids_of_all(town.store)) == before and town.store.cursor("C", "pulled") == cursor
        assert not town.client.state.stopped    # refused each time, never stored; a cut looks the same
        again = town.client.sync_once()
        assert not again.ok and again.error.params["reason"] == "bad_page"
        assert set(ids_of_all(town.store)) == before and town.client.state.failures == 2
        # once the link is honest again, the same page comes whole
        link.change, link.replay = None, False
        assert town.client.sync_once().ok
    assert {r.body["case"] for r in town.store.records_of("V000001")} == {"A", "B"}
    assert town.store.verify_all(signatures=True) == []


def test_a_rebase_reaches_the_nodes_that_hold_the_origins_records(city, tmp_path):
    """A village restored from an old backup re-signs its records (`sync.rebased` names old and new
    ids): the town that was sent the village's records gets the renaming, a stranger does not."""
    from tests.sync.test_client import backup

    n = nodes(city, tmp_path, "T0001", "V000001", "V000002")
    village, town = n["V000001"], n["T0001"]
    village.store.append("case.received", {"case": "A", "to": ["T0001"]})
    assert village.client.sync_once().ok
    backup(village.folder / "node.sqlite", tmp_path / "old.sqlite")
    village.store.append("case.note_added", {"case": "A", "to": ["T0001"]})
    assert village.client.sync_once().ok and town.client.sync_once().ok
    restored = tmp_path / "restored"
    restored.mkdir()
    backup(tmp_path / "old.sqlite", restored / "node.sqlite")
    again = make_node(restored, "V000001", city.url, key=village.key)
    again.store.append("case.note_added", {"case": "A", "to": ["T0001"], "text": "written before contact"})
    report = again.client.sync_once()
    assert report.ok and "sync.rebased" in report.notes
    assert town.client.sync_once().ok and n["V000002"].client.sync_once().ok
    assert [r.kind for r in town.store.records_of("V000001")][-2:] == ["case.note_added", "sync.rebased"]
    assert n["V000002"].store.records_of("V000001") == []
    assert town.store.verify_all(signatures=True) == []
