"""The assessment in real Chromium against a real central served by waitress: an inspector records an
undercover finding with a photo (a refused first try keeps the photo), the supervisor confirms the
system's proposal and publishes; the public bulletin prints on one A4 page.

Screenshots go to test-artifacts/test_assessment_browser/ for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
from assessmentkit import photo, settle
from centralkit import PASSWORD, Clerk
from subcentrekit import SubCentre
from test_awards_pages import nominate, year  # noqa: F401  (the fixture: four published quarters of 2026)

pytestmark = pytest.mark.browser


def _login(page, url: str, username: str) -> None:
    page.set_default_timeout(10000)
    page.goto(url + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()


def test_inspector_finding_with_photo_and_supervisor_publishes(page, browser, central_url, app, artifacts, tmp_path):
    central = app.extensions["central"]
    units = {code: SubCentre(central, code) for code in ("S01", "S02", "S03")}
    item = next(i.code for i in central.catalogue().items if i.kind == "promised" and i.handle_tier == "city")
    late = units["S01"].case(item, dt.date(2026, 8, 3), due=dt.date(2026, 8, 14), finished=dt.date(2026, 8, 20),
                             level=5)
    picture = tmp_path / "暗访-3号窗口.png"
    picture.write_bytes(photo("#c0392b", (800, 600)))

    _login(page, central_url, "xun")
    page.click("nav.main-nav a[href='/assessment/']")
    page.goto(central_url + "/assessment/2026-Q3")
    page.click("#new-finding")
    page.select_option("#unit", "S01")
    page.select_option("#clause", "R01")
    page.fill("#count", "2")
    page.select_option("#source", "undercover")
    page.fill("#checked_on", "2026-12-20")  # in the future: refused by the server
    page.fill("#text", "9月15日上午暗访，3号窗口两名工作人员9:20仍未到岗")
    page.set_input_files("#evidence", str(picture))
    page.click("#finding-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".error-summary").count() == 1
    assert page.input_value("#count") == "2" and page.input_value("#unit") == "S01"
    assert page.locator("#kept-evidence input[name=kept]").is_checked()
    page.screenshot(path=artifacts / "finding_refused_photo_kept.png", full_page=True)
    assert page.input_value("#text").startswith("9月15日上午暗访")
    page.fill("#checked_on", "2026-09-15")
    page.click("#finding-form button[type=submit]")
    page.wait_for_load_state()
    assert "/assessment/2026-Q3/unit/S01" in page.url
    assert page.locator("#unit-total").inner_text() == "93"
    thumb = page.locator("img.evidence-thumb").first
    assert thumb.is_visible() and thumb.evaluate("img => img.naturalWidth") == 800
    page.screenshot(path=artifacts / "unit_scorecard_inspector.png", full_page=True)
    page.click(".logout-form button")

    _login(page, central_url, "li")
    page.goto(central_url + "/assessment/2026-Q3/unit/S01")
    proposal = page.locator("#proposal-H01")
    assert late in proposal.inner_text()
    page.screenshot(path=artifacts / "unit_proposals_supervisor.png", full_page=True)
    proposal.locator("button[value=confirm]").click()
    page.wait_for_load_state()
    assert page.locator("#unit-total").inner_text() == "92"
    settle(app, Clerk(app, "li"))  # whatever else the records propose (late monthly reports, ...)
    page.goto(central_url + "/assessment/2026-Q3")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#publish-button")
    page.wait_for_load_state()
    assert page.locator("#quarter-state.ok").count() == 1
    assert page.locator("#scores tbody tr").count() == 3
    assert page.locator("svg.bar-chart rect").count() == 3
    page.screenshot(path=artifacts / "quarter_published.png", full_page=True)

    public = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
    public.goto(central_url + "/bulletin/2026-Q3")
    rows = public.locator("#bulletin-table tbody tr")
    assert rows.count() == 3
    assert re.sub(r"\s+", " ", rows.nth(2).inner_text()).startswith("3 " + units["S01"].name)
    public.screenshot(path=artifacts / "bulletin_public.png", full_page=True)
    pdf = artifacts / "bulletin.pdf"
    public.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
    public.context.close()


def test_supervisor_records_the_meetings_decision(page, central_url, app, year, artifacts):  # noqa: F811
    li = year["li"]
    people = {"S01": ["王敏", "李娜"], "S02": ["张伟", "刘洋"], "S03": ["陈静", "杨帆"], "S04": ["赵磊", "黄丽"],
              "S05": ["周杰", "吴芳"]}
    for unit, names in people.items():
        for name in names:
            assert nominate(li, unit, name).status_code == 302
    _login(page, central_url, "li")
    page.goto(central_url + "/awards/2026")
    assert page.locator("#standings-table tr.tied").count() == 2
    page.screenshot(path=artifacts / "awards_before_decision.png", full_page=True)
    page.fill("#minutes_ref", "皋政服纪〔2027〕1号")
    page.fill("#decided_on", "2027-01-05")
    page.check("#fill input[value=S03]")
    radios = page.locator("#award-table tbody tr")
    for i in range(radios.count()):
        radios.nth(i).locator("input[type=radio]").nth(1 if i < 5 else 2).check()
    for unit in ("S01", "S03", "S05"):
        page.fill(f"input[name=director-{unit}]", f"{unit[-1]}号主任")
        page.fill(f"textarea[name=opinion-{unit}]", "部门分管领导同意推荐")
        page.check(f"input[name=director_chosen][value={unit}]")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#decide-button")
    page.wait_for_load_state()
    assert "/awards/2026/result" in page.url
    assert page.locator("#result-collectives li").count() == 3
    assert page.locator("#result-models li").count() == 5 and page.locator("#result-individuals li").count() == 5
    page.screenshot(path=artifacts / "awards_result.png", full_page=True)
    pdf = artifacts / "awards_result.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+1$", info, re.M), info
