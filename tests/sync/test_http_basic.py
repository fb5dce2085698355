"""The HTTP API end to end against a real central on loopback: time, push with a signed receipt,
pull of routed records, head, and the node's status afterwards."""

from __future__ import annotations

import requests

from sync import merkle


def test_time_is_unauthenticated_and_gives_limits(central):
    resp = requests.get(central.url + "/sync/v1/time", timeout=5)
    assert resp.status_code == 200
    data = resp.json()
    assert data["net"] == "test" and data["limits"]["max_batch_records"] > 0
    assert "Date" in resp.headers


def test_push_gets_a_verified_receipt_and_pull_brings_routed_records(central, node_factory):
    a = node_factory("V000001")
    b = node_factory("T0001")
    for i in range(7):
        a.store.append("case.received", {"case": f"A{i}"})
    report = a.client.sync_once()
    assert report.ok, report.error
    assert report.pushed == 7 and report.receipts == 1
    assert central.store.head("V000001")[0] == 7
    receipts = a.store.receipts("C")
    assert receipts and receipts[-1].seq == 7
    assert a.store.count_pending("C") == 0
    # the receipt is central's signature over its checkpoint; verify it again from scratch
    merkle.verify_receipt(receipts[-1].raw, receipts[-1].sig, central.store.signer.public, network="test")
    # b pulls a's records (route everything) and central's directory records
    report = b.client.sync_once()
    assert report.ok, report.error
    assert b.store.head("V000001")[0] == 7
    assert b.store.head("C")[0] == central.store.head("C")[0]
    # pulling again is a no-op
    assert b.client.sync_once().pulled == 0
    st = a.client.status()
    assert st.state == "ok" and st.pending == 0 and st.online


def test_unsigned_or_foreign_requests_are_refused(central, node_factory):
    n = node_factory("V000001")
    resp = requests.get(central.url + "/sync/v1/head", timeout=5)
    assert resp.status_code == 401 and resp.json()["error"] == "auth.missing"
    other = node_factory("V000002", enrol=False)
    resp = other.client._send("GET", "/sync/v1/head", b"", {})
    assert resp.status_code == 401 and resp.json()["error"] == "auth.unknown_key"
    assert n.client.head()["node"] == "V000001"


def test_openapi_documents_exactly_the_blueprints_routes(central):
    import json
    import re
    from pathlib import Path

    import sync

    spec = json.loads((Path(sync.__file__).parent / "openapi.json").read_text("utf-8"))
    assert spec["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items()
                  for method in ops if method != "parameters"}
    served = set()
    for rule in central.served.app.url_map.iter_rules():
        if rule.endpoint.startswith("bianmin_sync."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix("/sync/v1")
            served |= {(path, m) for m in rule.methods - {"OPTIONS"} if not (m == "HEAD" and "GET" in rule.methods)}
    assert documented == served


def test_routing_sends_only_what_route_says_and_elides_the_rest(tmp_path):
    from tests.sync.conftest import make_central, make_node

    def route(record):  # central's config to everyone; a village's case 3 and 6 forwarded to its town
        if record.origin == "C":
            return {"*"}
        if record.origin == "V000001" and record.body.get("case") in ("c3", "c6"):
            return {"T0001"}
        return set()

    c = make_central(tmp_path / "c", route=route)
    try:
        nodes = {}
        for n in ("T0001", "V000001", "V000002"):
            c.enrol(n)
            nodes[n] = make_node(tmp_path / n, n, c.url)
        for i in range(1, 9):
            nodes["V000001"].store.append("case.received", {"case": f"c{i}"})
        c.store.append("catalogue.item", {"code": "S1"})
        for _ in range(2):
            for node in nodes.values():
                assert node.client.sync_once().ok
        # the town got the village's cases 3 and 6 and, around them, central's elisions; nothing after
        town = nodes["T0001"].store
        assert [r.body["case"] for r in town.records_of("V000001")] == ["c3", "c6"]
        assert [(e.first, e.last) for e in town.elisions("V000001")] == [(1, 2), (4, 5)]
        assert town.head("V000001")[0] == 6 and town.verify_all(signatures=True) == []
        assert nodes["V000002"].store.head("V000001")[0] == 0
        for node in nodes.values():  # everyone has all of central's records
            assert node.store.head("C") == c.store.head("C")
    finally:
        c.close()


def test_central_keeps_every_receipt_it_issues(central, node_factory):
    """The auditor bundle reads central's receipts table: each issued receipt must be in it,
    byte for byte the one the node holds."""
    a = node_factory("V000003")
    a.store.append("case.received", {"case": "R1"})
    assert a.client.sync_once().ok
    a.store.append("case.received", {"case": "R2"})
    assert a.client.sync_once().ok
    held = [(r.raw, r.sig) for r in central.store.receipts("V000003")]
    sent = [(r.raw, r.sig) for r in a.store.receipts("C")]
    assert len(held) == 2
    assert held == sent
