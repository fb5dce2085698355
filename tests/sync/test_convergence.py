"""Random workloads on three nodes and central, over a link that cuts, stalls and duplicates at
random, always end in identical logs once the link is calm: at-least-once delivery, exactly-once
effect, nothing lost, nothing doubled."""

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


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(workload=steps, seed=st.integers(0, 2**16), fault_rate=st.sampled_from([0.5, 0.8]))
def test_random_faults_end_in_identical_logs(workload, seed, fault_rate):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        central = make_central(folder / "central")
        proxy = FaultProxy("127.0.0.1", central.served.port)
        try:
            nodes = {}
            for n in NODES:
                central.enrol(n)
                nodes[n] = make_node(folder / n, n, proxy.url, batch=7, retries=0)
                nodes[n].client.timeout = 5
            proxy.chaos(seed, fault_rate)
            for actor, action, k in workload:
                if actor == "C":
                    central.store.append_many([("catalogue.item", {"code": f"I{seed}-{i}"}) for i in range(k)])
                elif action == "append":
                    nodes[actor].store.append_many([("case.received", {"case": f"{actor}-{i}"}) for i in range(k)])
                else:
                    nodes[actor].client.session.close()  # a fresh connection: a fresh chance of a fault
                    nodes[actor].client.sync_once()
            for _ in range(3):  # and a few more exchanges under the faults, whatever the workload
                for node in nodes.values():
                    node.client.session.close()
                    node.client.sync_once()
            faults = len(proxy.stats.faults)
            proxy.calm()
            for _ in range(2):  # push everything, then everyone pulls everything
                for node in nodes.values():
                    node.client.session.close()
                    report = node.client.sync_once()
                    assert report.ok, (report.error, proxy.stats.faults)
            want = ids(central.store)
            for n, node in nodes.items():
                assert ids(node.store) == want, n
                assert node.store.count_pending("C") == 0
                assert node.store.verify_all() == []
                assert node.store.forks() == []
            assert central.store.verify_all() == []
            assert central.store.count() == len(want)
            note(f"{faults} faulted connections of {proxy.stats.connections}")
        finally:
            proxy.close()
            central.served.close()
