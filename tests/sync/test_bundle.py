"""Bundles on a USB stick: export at a village, import at central (directly or carried by a town
over its link), reply carried home; a tampered or truncated bundle is refused whole."""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from sync.bundle import answer_bundle, export_bundle, import_reply, read_bundle
from sync.canonical import Refusal
from sync.keys import NodeKey
from tests.sync.conftest import CENTRAL_KEY


@pytest.fixture
def village(node_factory):  # type: ignore[no-untyped-def]
    v = node_factory("V000001")
    for i in range(25):
        v.store.append("case.received", {"case": f"V-{i}", "applicant": "王芳"})
    return v


def routes(central):  # type: ignore[no-untyped-def]
    return central.routes


def test_round_trip_by_stick(central, village, tmp_path):
    scan = random.Random(1).randbytes(700_000)
    name = village.blobs.put(scan)
    central.store.append("catalogue.item", {"code": "S0001"})
    stick = tmp_path / "stick" / "V000001.bianmin"
    stick.parent.mkdir()
    manifest = export_bundle(village.store, village.key, stick, blobs=village.blobs)
    assert manifest["records"] == 25 and manifest["first_seq"] == 1
    answer, reply = answer_bundle(central.store, routes(central), stick, blobs=central.blobs)
    assert answer["accepted"] == 25 and answer["status"] == 200
    assert central.store.head("V000001")[0] == 25 and central.blobs.read(name) == scan
    back = tmp_path / "stick" / "reply.bianmin"
    back.write_bytes(reply)
    result = import_reply(village.store, CENTRAL_KEY.public, back)
    assert result["receipt_seq"] == 25 and village.store.count_pending("C") == 0
    assert village.store.head("C") == central.store.head("C")  # central's records came home
    # carrying the same bundle again is harmless
    answer, _ = answer_bundle(central.store, routes(central), stick)
    assert answer["duplicate"] == 25 and answer["accepted"] == 0
    assert import_reply(village.store, CENTRAL_KEY.public, back)["pulled"] == 0


def rezip(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """Rewrite a bundle's zip with `change(name, bytes) -> bytes | None` (None drops the file)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for name in zin.namelist():
            new = change(name, zin.read(name))
            if new is not None:
                zout.writestr(name, new)
    return out.getvalue()


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


@pytest.mark.parametrize("attack,code", [
    ("record_byte", "bundle_tampered"),
    ("manifest_byte", "bad_signature"),
    ("extra_file", "bundle_tampered"),
    ("missing_file", "bundle_tampered"),
    ("truncated", "bundle_corrupt"),
    ("resigned_by_stranger", "unknown_key"),
])
def test_tampered_or_truncated_bundle_is_refused_and_nothing_stored(central, village, tmp_path, attack, code):
    stick = tmp_path / "b.bianmin"
    export_bundle(village.store, village.key, stick)
    data = stick.read_bytes()
    if attack == "record_byte":
        data = rezip(data, lambda n, b: flip(b, len(b) // 2) if n == "records.bin" else b)
    elif attack == "manifest_byte":
        data = rezip(data, lambda n, b: b.replace(b'"records":25', b'"records":24') if n == "manifest.json" else b)
    elif attack == "extra_file":
        data = rezip(data, lambda n, b: b)
        with zipfile.ZipFile(buf := io.BytesIO(data), "a") as z:
            z.writestr("records2.bin", b"1:x")
        data = buf.getvalue()
    elif attack == "missing_file":
        data = rezip(data, lambda n, b: None if n == "records.bin" else b)
    elif attack == "truncated":
        data = data[: random.Random(3).randrange(10, len(data) - 1)]
    else:
        stranger = NodeKey.from_seed(b"z" * 32)

        def resign(name: str, b: bytes) -> bytes:
            if name == "manifest.json":
                return b.replace(village.key.key_id.encode(), stranger.key_id.encode())
            return b
        data = rezip(data, resign)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            raw = z.read("manifest.json")
        from sync.bundle import BUNDLE_DOMAIN
        data = rezip(data, lambda n, b: stranger.sign(BUNDLE_DOMAIN + raw) if n == "manifest.sig" else b)
    before = central.store.count()
    with pytest.raises(Refusal) as err:
        answer_bundle(central.store, routes(central), data, blobs=central.blobs)
    assert err.value.code == code
    assert central.store.count() == before and central.store.head("V000001")[0] == 0


def test_a_town_carries_a_village_bundle_over_its_link(central, village, node_factory):
    town = node_factory("T0001")
    data = export_bundle(village.store, village.key, village.folder / "out.bianmin") and \
        (village.folder / "out.bianmin").read_bytes()
    town.client.check_time()
    reply = town.client.carry_bundle(data)
    assert central.store.head("V000001")[0] == 25
    assert central.store.head("T0001")[0] == 0  # the carrier's identity does not make them its records
    result = import_reply(village.store, CENTRAL_KEY.public, reply)
    assert result["receipt_seq"] == 25
    # a tampered bundle carried over HTTP is refused with its code
    bad = rezip(data, lambda n, b: flip(b, 10) if n == "records.bin" else b)
    resp = town.client._send("POST", "/sync/v1/bundle", bad, {})
    assert resp.status_code == 422 and resp.json()["error"] == "bundle_tampered"


def test_reply_for_another_node_or_forged_reply_is_refused(central, village, node_factory, tmp_path):
    other = node_factory("V000002")
    stick = tmp_path / "v2.bianmin"
    export_bundle(other.store, other.key, stick)
    _, reply = answer_bundle(central.store, routes(central), stick)
    with pytest.raises(Refusal) as err:
        import_reply(village.store, CENTRAL_KEY.public, reply)
    assert err.value.code == "bundle_format"
    forged = rezip(reply, lambda n, b: b + b"" if n != "answer.json" else b.replace(b"accepted", b"accepteD"))
    with pytest.raises(Refusal):
        import_reply(other.store, CENTRAL_KEY.public, forged)
    with pytest.raises(Refusal) as err:
        read_bundle(reply, network="prod", lookup=lambda n, k: CENTRAL_KEY.public, kind="reply")
    assert err.value.code == "wrong_network"
