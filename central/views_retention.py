"""The retention policy page for administrators: `/admin/retention` (issue 8).

Shows each kind of personal data with how long it is kept, what happens then and how much is due
now, the versions published so far (who, when, why), and publishes a new version as a
`retention.policy` record that every node pulls (casework.retention, store.retention). A value
out of range (logs below six months, for instance) is refused with the form kept as typed.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from casework import retention
from central import retention_job
from central.pages import central_of, staff_name
from store import retention as store_retention
from sync.canonical import nfc
from web.auth import roles_required
from web.settings import store_db

bp = Blueprint("retention", __name__, url_prefix="/admin/retention")


def _due_names() -> dict[str, str]:
    return {
        "archive_cases": gettext("Ended cases whose scans the city archives now"),
        "expire_scans": gettext("Scan files at the city past their years"),
        "sms": gettext("Sent SMS still holding a number or text"),
        "login_failures": gettext("Old failed sign-ins"),
        "ops_logs": gettext("Old operators' log files"),
        "bundles": gettext("Old USB bundle files (replies to service points)"),
    }


@bp.route("", methods=["GET", "POST"])
@roles_required("admin")
def index() -> Any:
    central = central_of()
    db = store_db()
    errors: dict[str, str] = {}
    if request.method == "POST":
        note = nfc(request.form.get("note", "").strip())[:300]
        try:
            policy = retention.from_form(request.form, version=store_retention.next_version(db), note=note,
                                         staff=staff_name())
        except retention.PolicyError as err:
            errors = {key: problem.translated(gettext) for key, problem in err.problems.items()}
        else:
            if not note:
                errors["note"] = gettext("Say why the policy changes (it is kept with the version).")
            else:
                central.sign(retention.KIND, policy.to_body())
                flash(gettext("Retention policy version %(n)s published; every service point applies it after "
                              "its next sync.", n=policy.version), "success")
                return redirect(url_for("retention.index"))
    current = store_retention.current(db)
    values = request.form if request.method == "POST" else {s.key: current[s.key] for s in retention.SETTINGS}
    pending = retention_job.due(central, current_app.extensions["central_blobs"], central.data.root)
    return render_template("central/admin_retention.html", settings=retention.SETTINGS, current=current,
                           values=values, errors=errors, history=store_retention.history(db), due=pending,
                           due_names=_due_names(), access_label=retention.ACCESS_RECORDS_LABEL,
                           access_rule=retention.ACCESS_RECORDS_RULE), 400 if errors else 200
