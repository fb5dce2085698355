"""Random workloads on three nodes and central, over a link that cuts, stalls and duplicates at
random, always end in the same place once the link is calm: at-least-once delivery, exactly-once
effect, nothing lost, nothing doubled. Records are routed (some of a node's cases to another node,
case histories following the case, central's records to everyone), so each node's log ends as
exactly its routed subset, elisions crossing the rest, and what all share is identical."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.sync.conftest import make_central, make_node
from tests.sync.faultproxy import FaultProxy

NODES = ["T0001", "V000001", "V000002"]

steps = st.lists(
    st.tuples(st.sampled_from([*NODES, "C"]), st.sampled_from(["append", "sync"]), st.integers(1, 15)),
    min_size=4, max_size=14,
)


def ids(store) -> set[str]:  # type: ignore[no-untyped-def]
    return {s.record.id for s in store.records_after(0, limit=1_000_000)}


def route(record):  # type: ignore[no-untyped-def]
    """Central's records to everyone; a node's record to the nodes its body names."""
    return {"*"} if record.origin == "C" else set(record.body.get("to", []))


def group(record):  # type: ignore[no-untyped-def]
    return record.body.get("case")


def routed_subset(central, node: str) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    """(what `node` must hold, what it may hold): its own records and those routed to it, and with
    them the earlier records of their cases."""
    stored = central.records_after(0, limit=1_000_000)
    must = {s.record.id for s in stored if s.record.origin == node or node in route(s.record) or
            "*" in route(s.record)}
    first = {}
    for s in stored:
        if s.record.id in must and s.record.origin != node:
            first.setdefault(group(s.record), s.pos)
    may = must | {s.record.id for s in stored if s.pos < first.get(group(s.record), 0)}
    return must, may


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(workload=steps, seed=st.integers(0, 2**16), fault_rate=st.sampled_from([0.5, 0.8]))
def test_random_faults_end_in_identical_logs(workload, seed, fault_rate):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        central = make_central(folder / "central", route=route, group=group)
        proxy = FaultProxy("127.0.0.1", central.served.port)
        nodes = {}
        try:
            for n in NODES:
                central.enrol(n)
                nodes[n] = make_node(folder / n, n, proxy.url, batch=7, retries=0)
                nodes[n].client.timeout = 10  # only a hang reaches it: a cut link fails at once
            proxy.chaos(seed, fault_rate)
            for actor, action, k in workload:
                if actor == "C":
                    central.store.append_many([("catalogue.item", {"code": f"I{seed}-{i}"}) for i in range(k)])
                elif action == "append":   # a few cases per node, some sent on to the next node
                    to = NODES[(NODES.index(actor) + 1) % len(NODES)]
                    nodes[actor].store.append_many([("case.received", {"case": f"{actor}-{(k + i) % 4}",
                                                                       "to": [to] if (k + i) % 3 == 0 else []})
                                                    for i in range(k)])
                else:
                    nodes[actor].client.session.close()  # a fresh connection: a fresh chance of a fault
                    nodes[actor].client.sync_once()
            for _ in range(3):  # and a few more exchanges under the faults, whatever the workload
                for node in nodes.values():
                    node.client.session.close()
                    node.client.sync_once()
            faults = len(proxy.stats.faults)
            proxy.calm()
            for _ in range(2):  # push everything, then everyone pulls what is routed to it
                for node in nodes.values():
                    node.client.session.close()
                    report = node.client.sync_once()
                    assert report.ok, (report.error, proxy.stats.faults)
            want = ids(central.store)
            shared = {r.id for r in central.store.records_of("C")}
            for n, node in nodes.items():
                held = ids(node.store)
                must, may = routed_subset(central.store, n)
                assert must <= held <= may, n
                assert {r.id for r in node.store.records_of("C")} == shared, n   # what all share is one
                assert node.store.count_pending("C") == 0
                assert node.store.verify_all(signatures=True) == []
                assert node.store.forks() == [] and node.store.elision_forks() == []
            assert central.store.verify_all() == []
            assert central.store.count() == len(want)
            assert set().union(*(ids(node.store) for node in nodes.values())) == want
            note(f"{faults} faulted connections of {proxy.stats.connections}; withheld: "
                 f"{ {n: node.store.withheld() for n, node in nodes.items()} }")
        finally:  # hypothesis runs this hundreds of times in one process when it shrinks
            for node in nodes.values():
                node.close()
            proxy.close()
            central.close()
