"""The public bulletin of the quarterly assessment (no sign-in): `/bulletin/` and `/bulletin/2026-Q4`.

The seed: each quarter the scores are totalled, ranked and published (在《行政服务交流》上公布).
Only published quarters exist here, and only what the `assessment.published` record says: unit
names, part scores, bonus, total and rank. Never a finding's text, a deed, evidence or a name of a
person: a bulletin is posted on the wall and on the web. Printable on one A4 page.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from central import assessment_store
from central.quarters import Quarter
from web.settings import store_db

bp = Blueprint("bulletin", __name__, url_prefix="/bulletin")


@bp.get("/")
def index() -> str:
    return render_template("bulletin/index.html", quarters=assessment_store.published_quarters(store_db()))


@bp.get("/<quarter>")
def quarter(quarter: str) -> str:
    try:
        q = Quarter.parse(quarter)
    except ValueError:
        abort(404)
    found = assessment_store.published(store_db(), q.text)
    if found is None:
        abort(404)
    body = found.body
    rows = sorted(body["units"], key=lambda u: (u["rank"], u["unit"]))
    return render_template("bulletin/quarter.html", q=q, parts=body["scorecard"]["parts"],
                           bonus_cap=body["scorecard"].get("bonus_cap"), rows=rows, published=found)
