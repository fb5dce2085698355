"""Corrections and the year's awards: a quarter corrected after the director's meeting decided the year
makes the awards page say the decision may need review (with the standings then and as corrected); the
meeting's new decision is filed as a correction of the year, approved by a second supervisor, and the
result page shows the awards as corrected with the original decision kept."""

from __future__ import annotations

import re

from assessmentkit import photo, post_files
from correctionkit import decide, decide_year, file_correction, second_supervisor
from test_awards_pages import year  # noqa: F401  (the fixture: four published quarters of 2026)

from central import assessment_store, correction_records, correction_store


def test_a_corrected_quarter_calls_for_review_and_the_decision_is_corrected(app, year):  # noqa: F811
    li, central = year["li"], year["central"]
    decided = decide_year(app, li)
    admin = second_supervisor(app)
    page = li.get("/awards/2026").text
    assert 'id="review-needed"' not in page and 'id="new-year-correction"' in page
    # nothing to correct yet: the same awards are refused
    r = post_files(li, "/awards/2026/correction", {
        "collectives": ["S01", "S05", "S02"], "directors": ["S01主任", "S02主任", "S05主任"], "reason": "x",
        **{f"award-{i}": "model" if n < 5 else "individual" for n, i in enumerate(decided["ids"])}},
        [(photo(), "纪要.png")])
    assert r.status_code == 400

    # Q4: S03's finding was wrong; corrected, S03 ties first in Q4 and passes S02 in the year
    s03 = next(e for e in assessment_store.entries(central.log.db, "2026-Q4", "S03"))
    r = file_correction(li, "2026-Q4", unit="S03", op="withdraw", entry=s03.id, reason="复核：迟到系系统考勤故障")
    assert r.status_code == 302, r.text[:800]
    assert decide(admin, r.headers["Location"]).status_code == 302
    page = li.get("/awards/2026").text
    assert 'id="review-needed"' in page and "复核：迟到系系统考勤故障" in page
    compare = page.split('id="standings-compare"', 1)[1].split("</table>", 1)[0]
    assert re.search(r'<tr class="changed"><th scope="row">S03', compare)
    # the standings the page shows are as corrected: S03 is now ahead of S02
    places = re.findall(r'<tr id="standing-(S\d+)"', page)
    assert places.index("S03") < places.index("S02")

    # the meeting re-decides: S03 instead of S02; refused first without evidence, the choices kept
    form = {"collectives": ["S01", "S05", "S03"], "directors": ["S01主任", "S02主任", "S05主任"],
            "reason": "主任办公会复核：第四季度考核更正后，先进集体改授S03",
            **{f"award-{i}": "model" if n < 5 else "individual" for n, i in enumerate(decided["ids"])}}
    r = post_files(li, "/awards/2026/correction", form, [])
    assert r.status_code == 400 and 'value="S03" checked' in r.text and "先进集体改授S03" in r.text
    r = post_files(li, "/awards/2026/correction", {**form, "collectives": ["S01", "S05"]}, [(photo(), "纪要.png")])
    assert r.status_code == 400  # three advanced collectives, not two
    r = post_files(li, "/awards/2026/correction", form, [(photo(), "主任办公会纪要.png")])
    assert r.status_code == 302, r.text[:800]
    path = r.headers["Location"]
    assert "<ins>S03" in li.get(path).text and "<del>S02" in li.get(path).text
    assert decide(li, path).status_code == 302  # not the filer
    assert decide(admin, path).status_code == 302
    (c,) = correction_store.of_subject(central.log.db, "year", "2026")
    assert c.approved and c.result["collectives"] == ["S01", "S05", "S03"]
    (record, _at), = central.records_of_kind(correction_records.YEAR_DECIDED)
    assert record.body["decision"]["collectives"] == ["S01", "S05", "S03"]

    page = li.get("/awards/2026").text
    assert 'id="review-needed"' not in page and 'id="as-corrected"' in page
    result = li.get("/awards/2026/result").text
    collectives = result.split('id="result-collectives"', 1)[1].split("</ol>", 1)[0]
    assert year["units"]["S03"].name in collectives and year["units"]["S02"].name not in collectives
    note = result.split('id="corrections-note"', 1)[1]
    assert "先进集体改授S03" in note and f"<del>{year['units']['S02'].name}</del>" in note
    # the original decision stays as recorded
    assert central.records_of_kind("awards.decided")[0][0].body["collectives"]["awarded"] == ["S01", "S05", "S02"]
