"""USB bundles at the city: central's sealing key (made on the first start of a data folder that
lacks it, published as a signed record, carried by the enrolment answer), and the administrator's
bundle page: a village's sealed bundle imported and its reply handed back; a bundle sealed for
another central, altered, or old and plain refused in Chinese with nothing stored."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from centralkit import Clerk
from villagekit import MARKER, Village, make_village

from central import sealing_key
from central.datadir import DataDir
from sync.bundle import import_reply
from sync.sealing import KIND, Recipient, SealingKey
from tests.sync.bundlekit import flip, members, plain_bundle, resigned


@pytest.fixture
def village_at(tmp_path: Path) -> Iterator[Any]:
    made: list[Village] = []

    def make(app: Any) -> Village:
        made.append(make_village(app, tmp_path / f"village{len(made)}"))
        return made[-1]

    yield make
    for v in made:
        v.blobs.close()
        v.log.close()


@pytest.fixture
def village(app: Any, village_at: Any) -> Village:
    return village_at(app)


def _upload(admin: Clerk, data: bytes) -> Any:
    return admin.post("/admin/bundles", {"bundle": (io.BytesIO(data), "V000101.zip")}, page="/admin/bundles")


def test_a_central_made_before_sealing_gets_its_key_on_next_start_and_loses_nothing(central_dir, make_app) -> None:
    """`central init` made this folder as every earlier release did: no sealing key, no record of one."""
    data = DataDir(central_dir)
    assert not data.sealing_key.exists()
    from central.runtime import Central

    old = Central(data)
    try:
        before = old.log.count()
        heads = old.log.heads()
        assert old.records_of_kind(KIND) == []
    finally:
        old.close()
    app = make_app()
    central = app.extensions["central"]
    assert stat.S_IMODE(data.sealing_key.stat().st_mode) == 0o600
    key = SealingKey.load(data.sealing_key)
    assert sealing_key.published(central) == Recipient("C", key.public, central.log.head("C")[0])
    assert central.log.count() == before + 1                       # one record added, nothing else
    assert {o: h for o, h in central.log.heads().items() if o != "C"} == {o: h for o, h in heads.items() if o != "C"}
    assert central.log.verify_all() == []
    assert Clerk(app, "li").get("/supervision/").status_code in (200, 302)  # staff still sign in
    # started again: the same key, no second record
    again = make_app().extensions["central"]
    assert SealingKey.load(data.sealing_key).public == key.public and len(again.records_of_kind(KIND)) == 1
    # the key file lost (a disk restored without it): a new key is made and published
    data.sealing_key.unlink()
    third = make_app().extensions["central"]
    assert len(third.records_of_kind(KIND)) == 2
    assert sealing_key.published(third).public == SealingKey.load(data.sealing_key).public != key.public
    assert "sealing.key" not in {r[0] for r in third.log.db.execute("SELECT name FROM sqlite_master")}


def test_the_enrolment_answer_carries_the_signed_sealing_key(app, village) -> None:
    central = app.extensions["central"]
    found = village.seal_to
    assert found is not None and found == sealing_key.published(central)
    assert found.public == SealingKey.load(central.data.sealing_key).public


def test_a_village_bundle_imported_on_the_page_and_its_reply(app, village) -> None:
    central = app.extensions["central"]
    admin = Clerk(app, "admin", password="admin-pass-1")
    page = admin.get("/admin/bundles")
    assert page.status_code == 200 and "服务点U盘数据包" in page.text
    assert sealing_key.published(central).fingerprint in page.text and "拒收" in page.text
    data = village.export()
    assert MARKER[:30] not in data
    done = _upload(admin, data)
    assert done.status_code == 200, done.text[:2000]
    assert "数据包已导入" in done.text and 'id="reply-download"' in done.text
    assert central.log.head("V000101")[0] == 3
    blobs = app.extensions["bianmin_sync"]["blobs"]
    plain = [blobs.read(n) for n in village.blobs.unsent()]
    assert len(plain) == 3 and all(p.startswith(MARKER) for p in plain)   # opened, kept in plain
    name = next(r for r in (central.data.root / "bundles").glob("V000101-reply-*.zip")).name
    reply = admin.get(f"/admin/bundles/reply/{name}")
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/zip"
    assert [r.body["what"]["name"] for r, _ in central.records_of_kind("access.logged")
            if r.body["action"] == "export"] == [name]                    # taking it away is recorded
    home = import_reply(village.log, bytes.fromhex(village.answer["central_public_key"]), reply.data,
                        blobs=village.blobs)
    assert home["receipt_seq"] == 3 and village.blobs.unsent() == []
    came = [Recipient.from_record(s.record) for s in village.log.records_after(0, kinds=[KIND])]
    assert came == [sealing_key.published(central)]                     # the sealing key record came too
    assert admin.get(f"/admin/bundles/reply/{name.replace('V0', 'X0')}").status_code == 404
    assert admin.get("/admin/bundles/reply/..%2Fbianmin.key").status_code == 404
    assert Clerk(app, "li").get("/admin/bundles").status_code == 403


def _refused_on_the_page(app: Any, village: Village, data: bytes, *texts: str, reply: bool = False) -> Any:
    central = app.extensions["central"]
    blobs = app.extensions["bianmin_sync"]["blobs"]
    before, stored = central.log.count(), blobs.names()
    page = _upload(Clerk(app, "admin", password="admin-pass-1"), data)
    assert page.status_code == 422
    for text in (*texts, "其中的内容均未保存"):
        assert text in page.text, text
    assert central.log.count() == before and central.log.head("V000101")[0] == 0 and blobs.names() == stored
    assert len(list((central.data.root / "bundles").glob("*.zip"))) == (1 if reply else 0)
    assert ('id="reply-download"' in page.text) == reply
    return page


def test_a_bundle_sealed_for_another_central_is_refused_in_chinese(app, village) -> None:
    """Nothing stored; the reply (offered all the same) brings the village the city's current key."""
    other = SealingKey.generate().recipient("C")
    _refused_on_the_page(app, village, village.export(seal_to=other), "为其他市中心服务器加封", "bundle_sealed_elsewhere",
                         reply=True)
    name = next((app.extensions["central"].data.root / "bundles").glob("V000101-reply-*.zip")).name
    reply = Clerk(app, "admin", password="admin-pass-1").get(f"/admin/bundles/reply/{name}")
    home = import_reply(village.log, bytes.fromhex(village.answer["central_public_key"]), reply.data,
                        blobs=village.blobs)
    assert home["error"] == "bundle_sealed_elsewhere" and len(village.blobs.unsent()) == 3
    assert [Recipient.from_record(s.record) for s in village.log.records_after(0, kinds=[KIND])] == [village.seal_to]


def test_a_tampered_sealed_scan_is_refused_in_chinese(app, village) -> None:
    data = village.export()
    first = sorted(n for n in members(data) if n.startswith("blobs/"))[0]
    bad = resigned(data, village.key, lambda f, m: f.__setitem__(first, flip(f[first], 9000)))
    _refused_on_the_page(app, village, bad, "保存后被改动", "bundle_tampered")


def test_a_bundle_of_another_network_is_refused_in_chinese(app, village) -> None:
    data = resigned(village.export(), village.key, lambda f, m: m.__setitem__("net", "prod"))
    _refused_on_the_page(app, village, data, "属于其他网络", "wrong_network")


def test_nothing_chosen_keeps_the_page(app) -> None:
    page = Clerk(app, "admin", password="admin-pass-1").post("/admin/bundles", {}, page="/admin/bundles")
    assert page.status_code == 400 and "请选择U盘中的数据包文件" in page.text


def test_an_old_plain_bundle_refused_then_accepted_until_the_date(central_dir, make_app, village_at) -> None:
    config = central_dir / "central.toml"
    app = make_app()
    village = village_at(app)
    plain_bundle(village.log, village.key, village.folder / "old.zip", blobs=village.blobs)
    old = (village.folder / "old.zip").read_bytes()
    _refused_on_the_page(app, village, old, "旧版软件生成", "请升级服务点软件", "bundle_plain")
    lines = [ln for ln in config.read_text().splitlines() if not ln.startswith("plain_bundles_until")]
    config.write_text("\n".join([*lines, 'plain_bundles_until = "2026-11-30"', ""]))  # the clock: 2026-11-25
    app = make_app()
    admin = Clerk(app, "admin", password="admin-pass-1")
    assert "在 2026年11月30日 前接收" in admin.get("/admin/bundles").text
    done = _upload(admin, old)
    assert done.status_code == 200 and "未加封传送" in done.text and "2026-11-30" in done.text
    assert app.extensions["central"].log.head("V000101")[0] == 3


def test_doctor_looks_at_the_sealing_key(central_dir, make_app) -> None:
    from click.testing import CliRunner

    from central.cli import central as central_cli

    before = CliRunner().invoke(central_cli, ["doctor", "--data", str(central_dir)])
    assert before.exit_code == 0 and "WARNING No sealing key yet" in before.output
    make_app()
    ok = CliRunner().invoke(central_cli, ["doctor", "--data", str(central_dir)])
    assert ok.exit_code == 0 and "sealing key for the scans in USB bundles is private" in ok.output
    (central_dir / "sealing.key").chmod(0o644)
    bad = CliRunner().invoke(central_cli, ["doctor", "--data", str(central_dir)])
    assert bad.exit_code == 1 and "sealing key is readable by others" in bad.output


def test_a_bundle_from_a_node_without_the_key_says_its_scans_wait(app, village) -> None:
    done = _upload(Clerk(app, "admin", password="admin-pass-1"), village.export(seal_to=None))
    assert done.status_code == 200 and "数据包已导入" in done.text
    assert "有 3 份扫描件留在服务点" in done.text and "回执文件会带回该密钥" in done.text
    assert app.extensions["central"].log.head("V000101")[0] == 3
