"""Intake over plain HTTP: an organisation applicant, English screens, and refusals that keep input."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from nodekit import PASSWORD

from store import cases as store_cases
from store.db import open_db

CREDIT_CODE = "91320682MA1ABCDE0Y"


def _session(base: str) -> requests.Session:
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"', s.get(base + "/login").text).group(1)
    s.post(base + "/login", data={"csrf_token": token, "username": "clerk", "password": PASSWORD})
    return s


def _form(s: requests.Session, base: str, item: str, lang: str = "zh") -> str:
    page = s.get(base + f"/intake/new?item={item}&lang={lang}")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_an_organisation_applies_through_its_contact(town, town_dir) -> None:  # type: ignore[no-untyped-def]
    base, _ = town
    s = _session(base)
    data = {"item": "SCJG005", "applicant_type": "organisation", "name": "如皋市丁堰镇好味道小吃店",
            "id_number": CREDIT_CODE.lower(), "contact": "陈店主", "phone": "13912345678",
            **{f"have_{i}": "1" for i in range(4)}}
    # no contact phone: refused, everything typed comes back
    refused = s.post(base + "/intake/new", data={**data, "phone": "", "csrf_token": _form(s, base, "SCJG005")})
    assert refused.status_code == 400
    assert "如皋市丁堰镇好味道小吃店" in refused.text and CREDIT_CODE.lower() in refused.text
    assert "请填写联系电话" in refused.text
    done = s.post(base + "/intake/new", data={**data, "csrf_token": _form(s, base, "SCJG005")})
    assert "outcome=immediate" in done.url               # an immediate town item, decided here
    number = re.search(r'id="case-number">([^<]+)<', done.text).group(1)
    db = open_db(Path(town_dir[0]) / "bianmin.sqlite")
    try:
        state = store_cases.get_case_state(db, number)
        row = store_cases.get_case_row(db, number)
    finally:
        db.close()
    assert state.applicant["id_type"] == "credit_code" and state.applicant["id_number"] == CREDIT_CODE
    assert state.status.value == "delivered"
    assert CREDIT_CODE not in (row.id_masked or "")      # lists never show it whole
    listing = s.get(base + "/cases/?q=" + CREDIT_CODE).text   # found by the exact code, shown masked
    table = listing.split('<table class="data case-list">')[1].split("</table>")[0]
    assert number in table and CREDIT_CODE not in table and "91320682********0Y" in table


def test_english_screens_and_english_errors(village) -> None:  # type: ignore[no-untyped-def]
    base, _ = village
    s = _session(base)
    token = _form(s, base, "SFJ002", lang="en")
    resp = s.post(base + "/intake/new", data={"csrf_token": token, "item": "SFJ002", "applicant_type": "person",
                                              "name": "", "id_number": "123"})
    assert resp.status_code == 400
    assert "Enter the applicant&#39;s name." in resp.text
    assert "Take in the application" in resp.text


def test_an_item_not_taken_in_here_is_not_offered(village) -> None:  # type: ignore[no-untyped-def]
    base, _ = village
    s = _session(base)
    assert s.get(base + "/intake/new?item=SCJG001").status_code == 404   # a company: city only
    assert "SCJG001" not in s.get(base + "/intake/").text
