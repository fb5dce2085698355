"""The sync page: status in plain words, and USB-stick sync from the browser."""

from __future__ import annotations

import zipfile

import pytest
from nodekit import sign_in

pytestmark = pytest.mark.browser


def test_export_for_the_usb_stick_and_refuse_a_bad_reply(village, page, artifacts, tmp_path):  # type: ignore[no-untyped-def]
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/intake/new?item=SFJ002")
    page.fill("#name", "钱多")
    page.fill("#id_number", "11010519491231002X")
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    page.goto(base + "/sync/")
    assert "条记录" in page.inner_text(".sync-box")
    page.screenshot(path=str(artifacts / "sync_page.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#export-bundle")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.startswith("V000101-")
    with zipfile.ZipFile(path) as z:
        assert {"manifest.json", "manifest.sig", "records.bin"} <= set(z.namelist())
    # the bundle is not a reply: refused, nothing stored
    page.set_input_files("#reply", str(path))
    page.click("#import-reply")
    page.wait_for_load_state()
    assert "不是市中心发给本服务点的回执" in page.inner_text(".flashes") and "均未保存" in page.inner_text(".flashes")
    page.screenshot(path=str(artifacts / "sync_page_refused.png"), full_page=True)


def test_records_a_projection_cannot_use_are_listed(village, village_dir, page):  # type: ignore[no-untyped-def]
    from nodekit import ingest

    folder, central = village_dir
    ingest(folder, "V000101", central, [central.sign("catalogue.published", {"version": 2, "data": {"bad": 1}})])
    base, _ = village
    sign_in(page, base)
    page.goto(base + "/sync/")
    assert "catalogue.published" in page.inner_text("#record-problems")
    page.goto(base + "/guide/")                      # the good version stays in use
    assert page.locator("table tbody tr").count() > 10


def test_scans_wait_for_the_city_key_then_go_sealed(village, village_dir, page, artifacts, tmp_path):  # type: ignore[no-untyped-def]
    """A node enrolled before sealing (no key in node.toml, none in its log) says its scans wait and
    exports records only; once central's `sealing.key` record arrives, the page says scans are sealed
    and the bundle carries them sealed (no plain byte of the scan in it)."""
    import json
    import random

    from nodekit import ingest

    from sync.sealing import Context, SealingKey, open_sealed, record_body

    folder, central = village_dir
    base, app = village
    plain = random.Random(3).randbytes(120_000)
    sha = app.extensions["bianmin_node"].blobs.put(plain)
    sign_in(page, base)
    page.goto(base + "/sync/")
    assert "尚未收到市中心用于加封扫描件的密钥" in page.inner_text("#sealing-note")
    assert page.inner_text("#sealing-key") == "尚未收到"
    page.screenshot(path=str(artifacts / "sync_page_no_sealing_key.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#export-bundle")
    first = tmp_path / "first.zip"
    info.value.save_as(first)
    with zipfile.ZipFile(first) as z:
        assert not [n for n in z.namelist() if n.startswith("blobs/")]
        assert json.loads(z.read("manifest.json"))["held_back"] == 1
    page.goto(base + "/sync/")
    assert "留在服务点" in page.inner_text(".flashes")  # told after the download

    key = SealingKey.from_seed(b"k" * 32)
    ingest(folder, "V000101", central, [central.sign("sealing.key", record_body(key, "C"))])
    page.goto(base + "/sync/")
    assert "只有市中心服务器能够打开" in page.inner_text("#sealing-note")
    assert page.inner_text("#sealing-key") == key.recipient("C").fingerprint
    assert page.locator("#carry").count() == 0  # no link here: nothing to relay with
    page.screenshot(path=str(artifacts / "sync_page_sealed.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#export-bundle")
    second = tmp_path / "second.zip"
    info.value.save_as(second)
    with zipfile.ZipFile(second) as z:
        manifest = json.loads(z.read("manifest.json"))
        sealed = z.read(f"blobs/{sha}")
    assert plain[1000:1064] not in second.read_bytes()
    ctx = Context(net=manifest["net"], sender="V000101", recipient="C", bundle=manifest["id"], blob=sha)
    assert open_sealed(key, ctx, sealed) == plain


def test_a_town_with_a_link_relays_a_village_bundle(tmp_path, page, artifacts):  # type: ignore[no-untyped-def]
    """The relay form is there where the node has a link; a city that cannot be reached is said so."""
    from nodekit import make_node
    from serving import serve

    from node.app import create_app

    folder = tmp_path / "town"
    make_node(folder, node_id="T0101", name="如皋市丁堰镇便民服务中心", parent="", central_url="http://127.0.0.1:9")
    app = create_app({"DATA_DIR": str(folder)})
    try:
        with serve(app) as base:
            sign_in(page, base)
            page.goto(base + "/sync/")
            assert "为村便民服务室转交U盘数据" in page.inner_text("#carry")
            page.screenshot(path=str(artifacts / "sync_page_town_relay.png"), full_page=True)
            stick = tmp_path / "V000101-1-3.zip"
            stick.write_bytes(b"PK\x05\x06" + bytes(18))
            page.set_input_files("#carry input[type=file]", str(stick))
            with page.expect_navigation():
                page.click("#carry-bundle")
            assert "无法连接市中心服务器" in page.inner_text(".flashes")
    finally:
        app.extensions["bianmin_node"].close()
