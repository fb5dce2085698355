"""A village forwards a town item; the town takes the case over and decides it (the holder rule)."""

from __future__ import annotations

import pytest
from nodekit import ingest, sign_in

from node.config import DB_FILE
from sync.keys import NodeKey, default_key_path
from sync.logstore import LogStore

pytestmark = pytest.mark.browser


def test_town_takes_over_a_forwarded_case_and_decides_it(village, village_dir, town, town_dir, page,
                                                         artifacts):  # type: ignore[no-untyped-def]
    vbase, _ = village
    sign_in(page, vbase)
    page.goto(vbase + "/intake/new?item=MZJ005")     # 尊老金: decided by the town
    page.fill("#name", "郑老")
    page.fill("#id_number", "11010519491231002X")
    for i in range(3):
        page.check(f"#have_{i}")
    page.click("#intake-submit")
    page.wait_for_selector("#case-number")
    number = page.inner_text("#case-number").strip()

    # what sync would carry: central's enrolment of the village, then the village's records
    vfolder, tfolder = village_dir[0], town_dir[0]
    village_key = NodeKey.load(default_key_path(vfolder / DB_FILE))
    vlog = LogStore.open(vfolder / DB_FILE, network="test-rugao", origin="V000101")
    try:
        records = vlog.records_of("V000101")
    finally:
        vlog.close()
    central = town_dir[1]
    ingest(tfolder, "T0101", central, [central.sign("node.enrolled", {
        "node": "V000101", "tier": "village", "name": "如皋市丁堰镇皋南村便民服务室",
        "public_key": village_key.public.hex(), "key": village_key.key_id, "from_seq": 1})])
    ingest(tfolder, "T0101", central, records)

    tbase, _ = town
    page.context.clear_cookies()
    sign_in(page, tbase)
    page.goto(tbase + "/cases/?show=forwarded")
    assert number in page.inner_text("table")
    page.goto(tbase + f"/case/{number}")
    summaries = [s.strip() for s in page.locator("details.action summary").all_inner_texts()]
    page.screenshot(path=str(artifacts / "town_before_takeover.png"), full_page=True)
    assert "接手办件" in summaries or any("接" in s for s in summaries)
    page.click("#action-handover_accepted summary")
    page.click("#action-handover_accepted button[type=submit]")
    page.wait_for_load_state()
    page.click("#action-accepted summary")
    page.click("#action-accepted button[type=submit]")
    page.wait_for_load_state()
    page.click("#action-promised summary")
    page.click("#action-promised button[type=submit]")
    page.wait_for_load_state()
    assert "承诺件通知单" in page.inner_text("h1")
    page.goto(tbase + f"/case/{number}")
    timeline = page.inner_text(".timeline")
    assert "皋南村" in timeline and "未核验" not in timeline     # the village's records verify at the town
    page.screenshot(path=str(artifacts / "town_after_takeover.png"), full_page=True)
