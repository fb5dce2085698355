"""Personal data at a service point (issue 8): pages never show a full ID or phone, a clerk shows one in
full only with a reason (recorded first, by the node's own signed record), every print, scan view and
USB export is one access record, nothing is shown when the record cannot be written, and the scan
files on the PC's disk are ciphertext that decrypts back exactly.

The node app served by waitress (tests/serving.py), driven over real HTTP with requests."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import requests
from nodekit import PASSWORD
from PIL import Image

from sync import blobcrypt

ID = "11010519491231002X"
PHONE = "13812345678"
PROXY_ID = "320682199001011231"
PROXY_PHONE = "13987654321"
SECRETS = (ID, PHONE, PROXY_ID, PROXY_PHONE, ID.lower())
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _session(base: str, username: str = "clerk") -> requests.Session:
    s = requests.Session()
    token = TOKEN.search(s.get(base + "/login").text).group(1)
    assert s.post(base + "/login", data={"csrf_token": token, "username": username, "password": PASSWORD}).ok
    return s


def _token(s: requests.Session, base: str) -> str:
    return TOKEN.search(s.get(base + "/guide/").text).group(1)


def _jpeg() -> bytes:
    out = io.BytesIO()
    img = Image.new("RGB", (900, 600), (235, 235, 225))
    for x in range(0, 900, 40):
        img.paste((30, 30, 30), (x, 0, x + 4, 600))
    img.save(out, "JPEG")
    return out.getvalue()


def take_in(s: requests.Session, base: str, *, scan: bytes | None = None) -> str:
    """A villager's application through the intake form, with a proxy and (optionally) a scan."""
    token = TOKEN.search(s.get(base + "/intake/new?item=MZJ001").text).group(1)
    files = {"scan_0": ("id-card.jpg", scan, "image/jpeg")} if scan else None
    done = s.post(base + "/intake/new", data={
        "csrf_token": token, "item": "MZJ001", "applicant_type": "person", "name": "姚大", "id_number": ID,
        "phone": PHONE, "proxy": "1", "proxy_name": "王村干", "proxy_id": PROXY_ID, "proxy_phone": PROXY_PHONE,
        "authorisation": "委托书已存档", **{f"have_{i}": "1" for i in range(4)}}, files=files)
    assert done.ok, done.text[:500]
    return re.search(r'id="case-number">([^<]+)<', done.text).group(1)


def accesses(app) -> list:  # type: ignore[no-untyped-def]
    log = app.extensions["bianmin_node"].log
    return [s.record for s in log.records_after(0, kinds=["access.logged"], limit=10_000)]


def test_pages_never_show_a_full_number(village) -> None:  # type: ignore[no-untyped-def]
    base, _app = village
    s = _session(base)
    number = take_in(s, base, scan=_jpeg())
    paths = ["/", "/cases/", f"/cases/?q={number}", f"/cases/?q={ID}", f"/cases/?q={PHONE}", f"/case/{number}",
             f"/intake/done/{number}?outcome=forwarded&notice=receipt", "/sync/"]
    paths += [f"/case/{number}/notice/{kind}" for kind in ("receipt",)]
    for path in paths:
        response = s.get(base + path)
        assert response.status_code == 200, path
        for secret in SECRETS:
            assert secret not in response.text and secret not in response.url, (path, secret)
    found = s.get(base + f"/cases/?q={ID}")                     # found by the full number, shown masked,
    assert number in found.text and "110105********002X" in found.text and ID not in found.url  # not kept in the address
    assert number in s.get(base + f"/cases/?q={PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}").text
    case_page = s.get(base + f"/case/{number}").text
    assert "110105********002X" in case_page and "139****4321" in case_page and "320682********1231" in case_page


def test_a_clerk_shows_a_number_with_a_reason_recorded_by_the_node(village) -> None:  # type: ignore[no-untyped-def]
    base, app = village
    s = _session(base)
    number = take_in(s, base)
    before = len(accesses(app))
    refused = s.post(base + f"/case/{number}/unmask", data={"csrf_token": _token(s, base), "field": "proxy_phone",
                                                             "reason": "", "reason_text": "电话回访代办人"})
    assert refused.status_code == 400 and PROXY_PHONE not in refused.text and "电话回访代办人" in refused.text
    assert 'id="reason-proxy_phone"' in refused.text and "<details class=\"reveal\" open>" in refused.text
    assert len(accesses(app)) == before
    shown = s.post(base + f"/case/{number}/unmask", data={"csrf_token": _token(s, base), "field": "proxy_phone",
                                                           "reason": "contact_applicant", "reason_text": "电话回访代办人"})
    assert shown.status_code == 200 and PROXY_PHONE in shown.text and PHONE not in shown.text and ID not in shown.text
    [record] = accesses(app)[before:]
    node_id = app.extensions["bianmin_node"].config.node_id
    assert record.origin == node_id and record.body["place"] == f"node:{node_id}"
    assert record.body["action"] == "unmask_phone" and record.body["what"] == {"field": "proxy"}
    assert record.body["staff"] == {"username": "clerk", "name": "王村干", "roles": ["village_clerk"]}
    assert record.body["reason"] == {"code": "contact_applicant", "text": "电话回访代办人"}
    assert record.body["subject"] == {"name": "姚*", "id": "110105********002X"}
    # the site administrator reads no case and so shows no number
    admin = _session(base, "admin")
    assert admin.post(base + f"/case/{number}/unmask", data={
        "csrf_token": _token(admin, base), "field": "id", "reason": "supervision"}).status_code == 403


def test_prints_scans_and_exports_are_recorded_and_scans_are_ciphertext_on_disk(
        village, village_dir) -> None:  # type: ignore[no-untyped-def]
    base, app = village
    s = _session(base)
    jpeg = _jpeg()
    number = take_in(s, base, scan=jpeg)
    the_node = app.extensions["bianmin_node"]
    [sha] = [x for x in the_node.blobs.names()]
    raw = the_node.blobs.path(sha).read_bytes()
    assert raw.startswith(blobcrypt.MAGIC) and not raw.startswith(b"\xff\xd8")
    with pytest.raises(Exception):  # noqa: B017 - whatever Pillow raises, the file must not open as a picture
        Image.open(io.BytesIO(raw)).load()
    key = blobcrypt.DataKey.load(Path(village_dir[0]) / "scans.key")
    with the_node.blobs.path(sha).open("rb") as f:
        plain = key.decrypt_file(f, sha)
    before = len(accesses(app))
    assert s.get(base + f"/case/{number}/notice/receipt").ok
    served = s.get(base + f"/case/{number}/scan/{sha}")
    assert served.ok and served.content == plain and served.headers["Content-Type"] == "image/jpeg"
    bundle = s.post(base + "/sync/export", data={"csrf_token": _token(s, base)})
    assert bundle.ok and bundle.headers["Content-Type"] == "application/zip"
    records = [r.body for r in accesses(app)[before:]]
    assert [b["action"] for b in records] == ["print_notice", "view_scan", "export"]
    assert records[0]["what"] == {"notice": "receipt"} and records[0]["case"] == number
    assert records[1]["what"] == {"scan": sha[:16], "material": "居民户口簿"} or records[1]["what"]["scan"] == sha[:16]
    name = re.search(r'filename="([^"]+)"', bundle.headers["Content-Disposition"]).group(1)
    assert records[2]["what"]["name"] == name and records[2]["what"]["rows"] >= 3 and "case" not in records[2]


def test_nothing_is_shown_when_the_node_cannot_record(village) -> None:  # type: ignore[no-untyped-def]
    base, app = village
    s = _session(base)
    jpeg = _jpeg()
    number = take_in(s, base, scan=jpeg)
    the_node = app.extensions["bianmin_node"]
    [sha] = the_node.blobs.names()
    before = len(accesses(app))
    the_node.log.hold_writes("restored from a backup: waiting for the first sync")
    try:
        notice = s.get(base + f"/case/{number}/notice/receipt")
        assert notice.status_code == 503 and "姚大" not in notice.text and "无法记录本次查阅" in notice.text
        scan = s.get(base + f"/case/{number}/scan/{sha}")
        assert scan.status_code == 503 and scan.headers["Content-Type"].startswith("text/html")
        unmask = s.post(base + f"/case/{number}/unmask", data={"csrf_token": _token(s, base), "field": "id",
                                                                "reason": "verify_identity"})
        assert unmask.status_code == 503 and ID not in unmask.text
        bundle = s.post(base + "/sync/export", data={"csrf_token": _token(s, base)})
        assert bundle.status_code == 503 and not bundle.content.startswith(b"PK")
    finally:
        the_node.log.release_writes()
    assert len(accesses(app)) == before


def test_the_node_demo_signs_the_clerks_accesses(village) -> None:  # type: ignore[no-untyped-def]
    import random

    from installer.privacy_demo import node_demo

    base, app = village
    s = _session(base)
    take_in(s, base)
    the_node = app.extensions["bianmin_node"]
    before = len(accesses(app))
    assert node_demo(the_node, random.Random(3), days=5, per_day=2) == 10
    records = accesses(app)[before:]
    assert len(records) == 10 and all(r.body["place"] == "node:V000101" for r in records)
    assert all(r.body["staff"]["username"] == "clerk" for r in records) and ID not in str([r.body for r in records])
