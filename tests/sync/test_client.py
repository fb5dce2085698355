"""The node's client beyond one exchange: restore from an old backup, forks, status for screens,
and the background loop's backoff and "needs attention"."""

from __future__ import annotations

import socket
import sqlite3
import time

from sync.client import Backoff, SyncLoop
from sync.status import describe
from tests.sync.conftest import make_node


def backup(src, dst) -> None:  # type: ignore[no-untyped-def]
    """What a nightly backup does: SQLite's online backup of the node's database."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def test_node_restored_from_old_backup_pulls_its_history_back_first(central, node_factory, tmp_path):
    v = node_factory("V000001")
    for i in range(5):
        v.store.append("case.received", {"case": f"A{i}"})
    assert v.client.sync_once().ok
    backup(v.folder / "node.sqlite", tmp_path / "backup.sqlite")
    for i in range(5, 12):
        v.store.append("case.received", {"case": f"A{i}"})
    assert v.client.sync_once().ok
    assert central.store.head("V000001")[0] == 12
    lost_head = v.store.head()
    v.store.close()
    # the PC dies; the node is restored from last night's backup (its key file survived)
    restored = tmp_path / "restored"
    restored.mkdir()
    backup(tmp_path / "backup.sqlite", restored / "node.sqlite")
    r = make_node(restored, "V000001", central.url, key=v.key)
    assert r.store.head()[0] == 5
    report = r.client.sync_once()
    assert report.ok, report.error
    assert report.recovered == 7 and "sync.restored" in report.notes
    assert r.store.head() == lost_head and r.store.count_pending("C") == 0
    # and it carries on numbering after its real history: no fork
    r.store.append("case.received", {"case": "after restore"})
    assert r.client.sync_once().ok
    assert central.store.head("V000001")[0] == 13 and central.store.forks() == []


def test_restored_node_that_wrote_first_is_rebased_after_centrals_history(central, node_factory, tmp_path):
    v = node_factory("V000001")
    for i in range(3):
        v.store.append("case.received", {"case": f"A{i}"})
    assert v.client.sync_once().ok
    backup(v.folder / "node.sqlite", tmp_path / "backup.sqlite")
    v.store.append("case.received", {"case": "A3"})
    assert v.client.sync_once().ok
    central_seq4 = central.store.head("V000001")[1]
    restored = tmp_path / "restored"
    restored.mkdir()
    backup(tmp_path / "backup.sqlite", restored / "node.sqlite")
    r = make_node(restored, "V000001", central.url, key=v.key)
    mine = r.store.append("case.received", {"case": "written before first contact"})  # seq 4 again
    report = r.client.sync_once()
    assert report.ok, report.error
    assert "sync.rebased" in report.notes and report.rebased == 1
    # central's seq 4 stands; ours came after it, with a sync.rebased record naming both
    assert r.store.records_of("V000001", 4, 4)[0].id == central_seq4
    bodies = [x.body for x in r.store.records_of("V000001", 5)]
    assert bodies[0] == {"case": "written before first contact"} and "records" in bodies[1]
    assert [f["record"].id for f in r.store.forks("V000001")] == [mine.id]  # the original kept
    assert central.store.head("V000001")[0] == 6 and r.store.count_pending("C") == 0
    assert central.store.verify_all() == [] and r.store.verify_all() == []


def test_fork_that_cannot_be_rebased_stops_sync(central, node_factory, tmp_path):
    v = node_factory("V000001")
    v.store.append("case.received", {"case": "A"})
    assert v.client.sync_once().ok
    v.store.register_projector(lambda db, rec: None)  # the app has projections but gave no reset
    central_copy = make_node(tmp_path / "twin", "V000001", central.url, key=v.key)
    central_copy.store.append("case.received", {"case": "twin 1"})
    central_copy.store.append("case.received", {"case": "twin 2"})
    assert central_copy.client.sync_once().ok is False  # the twin itself is a fork of seq 1
    v.store.append("case.received", {"case": "B"})
    central.store.append("catalogue.item", {"code": "x"})
    report = v.client.sync_once()
    assert report.ok  # v is central's history: nothing to rebase
    report = central_copy.client.sync_once()
    assert not report.ok and report.error.code == "sync.fork"
    st = central_copy.client.status()
    assert st.state == "stopped" and "restored from an old backup" in st.error
    again = central_copy.client.sync_once()
    assert not again.ok and again.pushed == 0
    assert central.store.head("V000001")[0] == 2


def test_status_counts_pending_and_oldest_age(central, node_factory):
    v = node_factory("V000001")
    assert v.client.status().state == "never"
    v.store.append("case.received", {"case": "A"})
    v.store.append("case.received", {"case": "B"})
    st = v.client.status(now=time.time() + 120)
    assert st.pending == 2 and st.oldest_unsent_age is not None and st.oldest_unsent_age >= 119
    assert v.client.sync_once().ok
    st = v.client.status()
    assert st.pending == 0 and st.oldest_unsent_age is None and st.state == "ok" and st.last_success


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there now


def test_loop_backs_off_then_needs_attention_then_recovers(central, node_factory):
    v = node_factory("V000001", url=dead_url())
    v.store.append("case.received", {"case": "A"})
    loop = SyncLoop(v.client, interval=0.05, backoff=Backoff(base=0.01, cap=0.05), attention_after=3)
    loop.start()
    try:
        deadline = time.time() + 10
        while time.time() < deadline and v.client.status().state != "needs_attention":
            time.sleep(0.05)
        st = v.client.status()
        assert st.state == "needs_attention" and st.failures >= 3 and not st.online
        assert st.error_code == "net.unreachable" and st.pending == 1
        # the link comes back
        v.client.url = central.url
        loop.poke()
        deadline = time.time() + 10
        while time.time() < deadline and v.client.status().state != "ok":
            time.sleep(0.05)
        st = v.client.status()
        assert st.pending == 0 and st.state == "ok"
    finally:
        loop.stop()
    assert central.store.head("V000001")[0] == 1


def test_backoff_has_full_jitter_and_a_cap():
    import random

    b = Backoff(base=2, cap=300)
    rng = random.Random(1)
    delays = [b.delay(n, rng) for n in range(12) for _ in range(20)]
    assert max(delays) <= 300 and min(delays) >= 0
    assert len({round(d, 3) for d in delays}) > 200  # no lockstep


def test_every_reason_has_plain_words():
    assert "off by 7 minutes" in describe("auth.clock_skew", minutes=7)
    assert describe("unknown.code") == "unknown.code"
