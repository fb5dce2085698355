"""Bundles on a USB stick: export at a village, import at central (directly or carried by a town
over its link), reply carried home; a tampered or truncated bundle is refused whole. The scans in
a bundle are sealed to central: no plain scan byte is on the stick, the town that relays it cannot
open it, and a sealed scan altered, renamed, swapped into another bundle or sealed to another
central is refused with nothing stored. Old plain bundles are accepted only until central's date."""

from __future__ import annotations

import datetime as dt
import io
import random
import tracemalloc
import zipfile

import pytest

from sync.bundle import FORMAT, answer_bundle, export_bundle, import_reply, read_bundle
from sync.canonical import Refusal, decode
from sync.keys import NodeKey
from sync.sealing import ALGORITHM, Context, SealError, SealingKey, open_sealed
from tests.sync.bundlekit import flip, members, pack, plain_bundle, resigned
from tests.sync.conftest import CENTRAL_KEY, CENTRAL_SEALING, SEAL_TO, make_central

MARKER = "居民身份证 320682199001011234 王芳".encode() * 40
"""What a scan of an ID card holds in plain; it must never appear on a stick."""


@pytest.fixture
def village(node_factory):  # type: ignore[no-untyped-def]
    v = node_factory("V000001")
    for i in range(25):
        v.store.append("case.received", {"case": f"V-{i}", "applicant": "王芳"})
    return v


def scan(seed: int, size: int = 300_000) -> bytes:
    """A scan whose plain bytes carry the marker (as a JPEG carries its picture)."""
    return MARKER + random.Random(seed).randbytes(size) + MARKER


def routes(central):  # type: ignore[no-untyped-def]
    return central.routes


def answer(central, data, **kw):  # type: ignore[no-untyped-def]
    return answer_bundle(central.store, routes(central), data, blobs=central.blobs, sealing=CENTRAL_SEALING, **kw)


def test_round_trip_by_stick(central, village, tmp_path):
    scans = [scan(1, 700_000), scan(2), b""]
    names = [village.blobs.put(s) for s in scans]
    central.store.append("catalogue.item", {"code": "S0001"})
    stick = tmp_path / "stick" / "V000001.bianmin"
    stick.parent.mkdir()
    manifest = export_bundle(village.store, village.key, stick, blobs=village.blobs, seal_to=SEAL_TO)
    assert manifest["records"] == 25 and manifest["first_seq"] == 1 and manifest["format"] == FORMAT
    assert sorted(manifest["sealed"]["blobs"]) == sorted(names) and manifest["sealed"]["key"] == SEAL_TO.key_id
    assert not list(stick.parent.glob(".*.part"))  # written atomically, nothing left beside it
    result, reply = answer(central, stick)
    assert result["accepted"] == 25 and result["status"] == 200
    assert sorted(result["blobs"]) == sorted(names)
    assert central.store.head("V000001")[0] == 25
    assert [central.blobs.read(n) for n in names] == scans  # central keeps them in plain
    back = tmp_path / "stick" / "reply.bianmin"
    back.write_bytes(reply)
    home = import_reply(village.store, CENTRAL_KEY.public, back, blobs=village.blobs)
    assert home["receipt_seq"] == 25 and village.store.count_pending("C") == 0 and home["warnings"] == []
    assert village.store.head("C") == central.store.head("C")  # central's records came home
    assert village.blobs.unsent() == []  # central holds them: the next bundle leaves them out
    again = export_bundle(village.store, village.key, tmp_path / "next.bianmin", blobs=village.blobs, seal_to=SEAL_TO)
    assert again["sealed"]["blobs"] == [] and again["records"] == 0
    # carrying the same bundle again is harmless
    result, _ = answer(central, stick)
    assert result["duplicate"] == 25 and result["accepted"] == 0
    assert import_reply(village.store, CENTRAL_KEY.public, back)["pulled"] == 0


def test_no_plain_scan_byte_is_on_the_stick(central, village, tmp_path):
    for i in range(3):
        village.blobs.put(scan(i))
    stick = tmp_path / "V000001.zip"
    export_bundle(village.store, village.key, stick, blobs=village.blobs, seal_to=SEAL_TO)
    data = stick.read_bytes()
    assert MARKER[:30] not in data
    files = members(data)
    assert len([n for n in files if n.startswith("blobs/")]) == 3
    for name, content in files.items():
        assert MARKER[:30] not in content, name
    # while the same bundle in the old plain form shows them to anyone
    plain_bundle(village.store, village.key, tmp_path / "old.zip", blobs=village.blobs)
    assert MARKER[:30] in (tmp_path / "old.zip").read_bytes()


def test_records_stay_readable_for_a_relay_and_an_auditor(village, tmp_path):
    village.blobs.put(scan(9))
    stick = tmp_path / "b.zip"
    export_bundle(village.store, village.key, stick, blobs=village.blobs, seal_to=SEAL_TO)
    files = members(stick.read_bytes())
    assert "王芳".encode() in files["records.bin"]  # signed, not secret
    assert decode(files["manifest.json"])["records"] == 25


def _sealed_bundle(village, tmp_path, name="b.zip", seeds=(1, 2)):  # type: ignore[no-untyped-def]
    for seed in seeds:
        village.blobs.put(scan(seed))
    stick = tmp_path / name
    export_bundle(village.store, village.key, stick, blobs=village.blobs, seal_to=SEAL_TO)
    return stick.read_bytes()


def _blob_members(data: bytes) -> list[str]:
    return sorted(n for n in members(data) if n.startswith("blobs/"))


def _refused(central, data, code):  # type: ignore[no-untyped-def]
    before, blobs_before = central.store.count(), central.blobs.names()
    with pytest.raises(Refusal) as err:
        answer(central, data)
    assert err.value.code == code, err.value.detail
    assert central.store.count() == before and central.store.head("V000001")[0] == 0
    assert central.blobs.names() == blobs_before  # not one scan stored from it


def test_a_flipped_byte_in_a_sealed_scan_is_refused(central, village, tmp_path):
    data = _sealed_bundle(village, tmp_path)
    first = _blob_members(data)[0]
    # as found on the stick: the manifest's hash of the member gives it away
    files = members(data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in files.items():
            z.writestr(n, flip(b, 5000) if n == first else b)
    _refused(central, out.getvalue(), "bundle_tampered")
    # and with the manifest signed again by the sender's own key, the seal itself refuses it
    _refused(central, resigned(data, village.key, lambda f, m: f.__setitem__(first, flip(f[first], 5000))),
             "bundle_tampered")


def test_a_sealed_scan_renamed_is_refused(central, village, tmp_path):
    data = _sealed_bundle(village, tmp_path)
    a, b = _blob_members(data)

    def swap_names(files, manifest):  # type: ignore[no-untyped-def]
        files[a], files[b] = files[b], files[a]
    _refused(central, resigned(data, village.key, swap_names), "bundle_tampered")


def test_a_sealed_scan_swapped_from_another_bundle_is_refused(central, village, tmp_path):
    first = _sealed_bundle(village, tmp_path, "first.zip", seeds=(1,))
    second = tmp_path / "second.zip"  # the same scan, still unsent, sealed again into the next bundle
    export_bundle(village.store, village.key, second, blobs=village.blobs, seal_to=SEAL_TO)
    (name,) = _blob_members(first)
    assert members(first)[name] != members(second.read_bytes())[name]  # a fresh seal every time
    moved = resigned(second.read_bytes(), village.key, lambda f, m: f.__setitem__(name, members(first)[name]))
    _refused(central, moved, "bundle_tampered")
    # unchanged, each opens
    answer(central, first)
    assert central.blobs.has(name[len("blobs/"):])


def test_a_bundle_sealed_to_another_central_is_refused_with_a_reply_that_brings_the_key(central, village,
                                                                                       tmp_path):
    """Scans sealed to a key central does not hold (another central's, or a lost one of ours): nothing
    is stored, but the sender is proven, so the reply still brings central's records (its current
    sealing key among them) and the node can seal again to the right key."""
    village.blobs.put(scan(3))
    stick = tmp_path / "b.zip"
    other = SealingKey.from_seed(b"o" * 32).recipient("C")
    export_bundle(village.store, village.key, stick, blobs=village.blobs, seal_to=other)
    central.store.append("sealing.key", {"node": "C", "public_key": CENTRAL_SEALING.public.hex(),
                                         "key": CENTRAL_SEALING.key_id, "algorithm": ALGORITHM})
    before, stored = central.store.count(), central.blobs.names()
    result, reply = answer(central, stick.read_bytes())
    assert result["error"] == "bundle_sealed_elsewhere" and result["accepted"] == 0 and "receipt" not in result
    assert central.store.count() == before and central.store.head("V000001")[0] == 0 and central.blobs.names() == stored
    home = import_reply(village.store, CENTRAL_KEY.public, reply, blobs=village.blobs)
    assert home["error"] == "bundle_sealed_elsewhere" and home["receipt_seq"] == 0 and home["pulled"] >= 2
    assert village.store.count_pending("C") == 25                  # nothing marked sent
    kinds = [s.record.kind for s in village.store.records_after(0, origins=["C"], limit=100)]
    assert "sealing.key" in kinds                                  # the current key came home
    # a manifest re-signed to name our key does not make the scans ours: refused whole
    moved = resigned(stick.read_bytes(), village.key,
                     lambda f, m: m["sealed"].__setitem__("key", CENTRAL_SEALING.key_id))
    result, _ = answer(central, moved)
    assert result["error"] == "bundle_sealed_elsewhere" and central.store.count() == before


def test_a_bundle_of_another_network_is_refused(central, village, tmp_path):
    data = _sealed_bundle(village, tmp_path)
    other = resigned(data, village.key, lambda f, m: m.__setitem__("net", "prod"))
    _refused(central, other, "wrong_network")


def test_manifest_and_scans_must_agree(central, village, tmp_path):
    data = _sealed_bundle(village, tmp_path)
    a = _blob_members(data)[0]
    dropped = resigned(data, village.key, lambda f, m: f.pop(a))
    _refused(central, dropped, "bundle_format")
    stray = resigned(data, village.key, lambda f, m: f.__setitem__("notes.txt", b"hello"))
    _refused(central, stray, "bundle_format")


def test_without_centrals_sealing_key_the_records_go_and_the_scans_wait(central, village, tmp_path):
    name = village.blobs.put(scan(4))
    stick = tmp_path / "b.zip"
    manifest = export_bundle(village.store, village.key, stick, blobs=village.blobs, seal_to=None)
    assert manifest["held_back"] == 1 and manifest["sealed"]["blobs"] == [] and manifest["records"] == 25
    assert _blob_members(stick.read_bytes()) == []
    result, reply = answer(central, stick)
    assert result["accepted"] == 25 and result["held_back"] == 1 and result["blobs"] == []
    import_reply(village.store, CENTRAL_KEY.public, reply, blobs=village.blobs)
    assert village.blobs.unsent() == [name]  # still to go, sealed, with the next bundle


@pytest.mark.parametrize("attack,code", [
    ("record_byte", "bundle_tampered"),
    ("manifest_byte", "bad_signature"),
    ("extra_file", "bundle_tampered"),
    ("missing_file", "bundle_tampered"),
    ("truncated", "bundle_corrupt"),
    ("resigned_by_stranger", "unknown_key"),
])
def test_tampered_or_truncated_bundle_is_refused_and_nothing_stored(central, village, tmp_path, attack, code):
    data = _sealed_bundle(village, tmp_path)

    def rezip(change):  # type: ignore[no-untyped-def]
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
            for n in zin.namelist():
                new = change(n, zin.read(n))
                if new is not None:
                    zout.writestr(n, new)
        return out.getvalue()

    if attack == "record_byte":
        data = rezip(lambda n, b: flip(b, len(b) // 2) if n == "records.bin" else b)
    elif attack == "manifest_byte":
        data = rezip(lambda n, b: b.replace(b'"records":25', b'"records":24') if n == "manifest.json" else b)
    elif attack == "extra_file":
        data = rezip(lambda n, b: b)
        with zipfile.ZipFile(buf := io.BytesIO(data), "a") as z:
            z.writestr("records2.bin", b"1:x")
        data = buf.getvalue()
    elif attack == "missing_file":
        data = rezip(lambda n, b: None if n == "records.bin" else b)
    elif attack == "truncated":
        data = data[: random.Random(3).randrange(10, len(data) - 1)]
    else:
        stranger = NodeKey.from_seed(b"z" * 32)
        data = resigned(data, stranger, lambda f, m: m.__setitem__("key", stranger.key_id))
    _refused(central, data, code)


def test_a_town_carries_a_village_bundle_it_cannot_open(central, village, node_factory, tmp_path):
    town = node_factory("T0001")
    data = _sealed_bundle(village, tmp_path)
    # everything the town holds of the bundle: no scan byte, and no key of its own opens one
    town_key = SealingKey.generate()
    manifest = decode(members(data)["manifest.json"])
    for member in _blob_members(data):
        sealed = members(data)[member]
        assert MARKER[:30] not in sealed
        ctx = Context(net=manifest["net"], sender="V000001", recipient="C", bundle=manifest["id"],
                      blob=member[len("blobs/"):])
        with pytest.raises(SealError) as err:
            open_sealed(town_key, ctx, sealed)
        assert err.value.code == "seal.wrong_recipient"
        relabelled = sealed[:8] + bytes.fromhex(town_key.key_id) + sealed[16:]
        with pytest.raises(SealError) as err:
            open_sealed(town_key, ctx, relabelled)
        assert err.value.code == "seal.damaged"
    town.client.check_time()
    reply = town.client.carry_bundle(data)
    assert central.store.head("V000001")[0] == 25
    assert central.store.head("T0001")[0] == 0  # the carrier's identity does not make them its records
    assert len(central.blobs.names()) == 2  # central opened them
    result = import_reply(village.store, CENTRAL_KEY.public, reply, blobs=village.blobs)
    assert result["receipt_seq"] == 25 and village.blobs.unsent() == []
    # a tampered bundle carried over HTTP is refused with its code
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in members(data).items():
            z.writestr(n, flip(b, 10) if n == "records.bin" else b)
    resp = town.client._send("POST", "/sync/v1/bundle", out.getvalue(), {})
    assert resp.status_code == 422 and resp.json()["error"] == "bundle_tampered"


def test_reply_for_another_node_or_forged_reply_is_refused(central, village, node_factory, tmp_path):
    other = node_factory("V000002")
    stick = tmp_path / "v2.bianmin"
    export_bundle(other.store, other.key, stick)
    _, reply = answer(central, stick)
    with pytest.raises(Refusal) as err:
        import_reply(village.store, CENTRAL_KEY.public, reply)
    assert err.value.code == "bundle_format"
    forged = resigned(reply, NodeKey.from_seed(b"f" * 32), lambda f, m: None)
    with pytest.raises(Refusal):
        import_reply(other.store, CENTRAL_KEY.public, forged)
    with pytest.raises(Refusal) as err:
        read_bundle(reply, network="prod", lookup=lambda n, k: CENTRAL_KEY.public, kind="reply")
    assert err.value.code == "wrong_network"
    # a reply carries no scans: one that does (plain, on a stick) is refused, whoever signed it
    with_scan = resigned(reply, CENTRAL_KEY, lambda f, m: f.__setitem__("blobs/" + "0" * 64, MARKER))
    with pytest.raises(Refusal) as err:
        import_reply(other.store, CENTRAL_KEY.public, with_scan)
    assert err.value.code == "bundle_format"


def test_old_plain_bundles_only_until_centrals_date(central, village, tmp_path):
    name = village.blobs.put(scan(5))
    old = tmp_path / "old.zip"
    plain_bundle(village.store, village.key, old, blobs=village.blobs)
    today = dt.date(2026, 3, 2)
    _refused(central, old.read_bytes(), "bundle_plain")                     # no date set: refused
    with pytest.raises(Refusal) as err:
        answer(central, old, plain_until=dt.date(2026, 3, 1), today=today)  # the date has passed
    assert err.value.code == "bundle_plain" and "2026-03-01" in err.value.detail
    result, reply = answer(central, old, plain_until=today, today=today)    # until the day itself
    assert result["accepted"] == 25 and result["blobs"] == [name] and central.blobs.read(name) == scan(5)
    assert result["warnings"] == [{"code": "plain_scans", "scans": 1, "until": "2026-03-02"}]
    home = import_reply(village.store, CENTRAL_KEY.public, reply, blobs=village.blobs)
    assert home["warnings"][0]["code"] == "plain_scans"
    # an old plain bundle whose scan does not hash to its name is refused whole
    files = members(old.read_bytes())
    manifest = decode(files.pop("manifest.json"))
    files.pop("manifest.sig")
    files[f"blobs/{name}"] = flip(files[f"blobs/{name}"], 100)
    manifest.pop("files")
    other = make_central(tmp_path / "c2")
    try:
        other.enrol("V000001")
        with pytest.raises(Refusal) as err:
            answer_bundle(other.store, other.routes, pack(manifest, files, village.key), blobs=other.blobs,
                          plain_until=today, today=today)
        assert err.value.code == "bundle_tampered" and other.blobs.names() == []
    finally:
        other.close()


def test_old_plain_bundle_carried_by_a_town_gets_centrals_answer(tmp_path, village):
    """Over the town's link, central's own date decides (central.toml's plain_bundles_until)."""
    town_central = make_central(tmp_path / "strict")
    try:
        town_central.enrol("T0001")
        from tests.sync.conftest import make_node

        town = make_node(tmp_path / "T0001", "T0001", town_central.url)
        try:
            town_central.enrol("V000001")
            plain_bundle(village.store, village.key, tmp_path / "old.zip")
            town.client.check_time()
            resp = town.client._send("POST", "/sync/v1/bundle", (tmp_path / "old.zip").read_bytes(), {})
            assert resp.status_code == 422 and resp.json()["error"] == "bundle_plain"
        finally:
            town.close()
    finally:
        town_central.close()


def test_a_20_mb_scan_is_exported_and_imported_in_little_memory(central, village, tmp_path):
    big = scan(6, 20 * 1024 * 1024)
    name = village.blobs.put(big)
    del big
    stick = tmp_path / "big.zip"
    tracemalloc.start()
    try:
        export_bundle(village.store, village.key, stick, blobs=village.blobs, seal_to=SEAL_TO)
        exported = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        answer(central, stick)
        imported = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert central.blobs.read(name) == scan(6, 20 * 1024 * 1024)
    assert exported < 4 * 1024 * 1024, exported   # a few segments (measured 1.4 MB), not the scan (20 MB)
    assert imported < 4 * 1024 * 1024, imported   # measured 2.2 MB
