"""The public bulletin of the quarterly assessment (no sign-in): `/bulletin/` and `/bulletin/2026-Q4`.

The seed: each quarter the scores are totalled, ranked and published (在《行政服务交流》上公布).
Only published quarters exist here, and only what the `assessment.published` record says: unit
names, part scores, bonus, total and rank. Never a finding's text, a deed, evidence or a name of a
person: a bulletin is posted on the wall and on the web. Printable on one A4 page.

A quarter corrected after publishing (central.views_corrections) is shown AS CORRECTED, openly:
the corrected figures with the published ones struck through beside them, and a correction note
(更正) for each approved correction with its date, what changed and its reason. Nothing is
silently rewritten.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from central import assessment_corrections, assessment_store, correction_store
from central.quarters import Quarter
from web.settings import store_db

bp = Blueprint("bulletin", __name__, url_prefix="/bulletin")


@bp.get("/")
def index() -> str:
    db = store_db()
    return render_template("bulletin/index.html", quarters=assessment_store.published_quarters(db),
                           corrected=correction_store.corrected_subjects(db, "quarter"))


@bp.get("/<quarter>")
def quarter(quarter: str) -> str:
    try:
        q = Quarter.parse(quarter)
    except ValueError:
        abort(404)
    db = store_db()
    found = assessment_store.published(db, q.text)
    if found is None:
        abort(404)
    body = found.body
    done = correction_store.approved(db, "quarter", q.text)
    notes = []
    before = list(body["units"])
    for c in done:
        notes.append((c, assessment_corrections.differences(before, list(c.result))))
        before = list(c.result)
    rows = sorted(before, key=lambda u: (u["rank"], u["unit"]))
    return render_template("bulletin/quarter.html", q=q, parts=body["scorecard"]["parts"],
                           bonus_cap=body["scorecard"].get("bonus_cap"), rows=rows, published=found,
                           originals={u["unit"]: u for u in body["units"]} if done else {}, notes=notes)
