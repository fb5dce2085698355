"""Administration: departments and windows, staff and roles, the catalogue, holidays, nodes.

Every change here is a record central signs (`staff.account`, `catalogue.published`,
`calendar.year`, `node.revoked`, `directory.placed`), so nodes receive it on their next pull and
work offline from it; only enrolment tokens are local (their hashes, in sync's token book).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response

from casework.calendar import CalendarDataError
from casework.catalogue import Catalogue, CatalogueError
from central.admin_records import AdminError, place_node, publish_catalogue, publish_year, sign_staff
from central.pages import central_of, staff_name
from store import accounts
from store import calendar as store_calendar
from store import catalogue as store_catalogue
from store.directory import list_nodes
from sync.canonical import Refusal
from sync.keys import tier_of
from sync.server import EnrolmentBook
from web.auth import roles_required
from web.roles import ROLE_NAMES
from web.settings import store_db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@roles_required("admin")
def index() -> str:
    catalogue = central_of().catalogue()
    counts: dict[str, int] = {}
    for item in catalogue.items:
        counts[item.window] = counts.get(item.window, 0) + 1
    return render_template("central/admin_index.html", catalogue=catalogue, counts=counts,
                           version=central_of().catalogue_version())


@bp.route("/staff", methods=["GET", "POST"])
@roles_required("admin")
def staff() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.form
        places = [p.strip().upper() if p.strip() != "*" else "*" for p in form.get("places", "").replace("，", ",").split(",")
                  if p.strip()]
        try:
            sign_staff(central_of(), form.get("username", ""), display_name=form.get("display_name") or None,
                       roles=form.getlist("roles"), places=places or None, password=form.get("password") or None,
                       active=form.get("active") == "1", staff=staff_name())
        except AdminError as err:
            errors["username"] = gettext(str(err))
        else:
            flash(gettext("Account %(name)s signed; nodes receive it on their next sync.",
                          name=form.get("username", "")), "success")
            return redirect(url_for("admin.staff"))
    return render_template("central/admin_staff.html", accounts=accounts.all_accounts(store_db()),
                           roles=[(code, str(ROLE_NAMES[code])) for code in accounts.ROLES], errors=errors,
                           values=request.form if request.method == "POST" else {"active": "1"})


@bp.route("/catalogue", methods=["GET", "POST"])
@roles_required("admin")
def catalogue() -> Any:
    central = central_of()
    current = central.catalogue()
    errors: dict[str, str] = {}
    if request.method == "POST":
        code = request.form.get("item", "")
        data = current.to_data()
        found = next((i for i in data["items"] if i["code"] == code), None)
        if found is None:
            errors["item"] = gettext("Choose an item.")
        else:
            try:
                promised = int(request.form.get("promised_limit_days", ""))
                legal = int(request.form.get("legal_limit_days", "") or found["legal_limit_days"])
            except ValueError:
                errors["promised_limit_days"] = gettext("Enter whole working days.")
            else:
                found["promised_limit_days"] = promised
                found["legal_limit_days"] = legal
                try:
                    version = publish_catalogue(central, Catalogue.from_data(data),
                                                note=request.form.get("note", "").strip(), staff=staff_name())
                except CatalogueError as err:
                    errors["promised_limit_days"] = "; ".join(str(p) for p in getattr(err, "problems", [err]))[:500]
                else:
                    flash(gettext("Catalogue version %(v)s published.", v=version), "success")
                    return redirect(url_for("admin.catalogue"))
    section = request.args.get("section", "items")
    code = request.args.get("code", "")
    entry_json = ""
    if section in SECTIONS and code:
        entry = next((e for e in current.to_data()[section] if e.get("code") == code), None)
        entry_json = json.dumps(entry, ensure_ascii=False, indent=2) if entry is not None else ""
    return render_template("central/admin_catalogue.html", catalogue=current, sections=SECTIONS, section=section,
                           code=code, entry_json=entry_json,
                           history=store_catalogue.catalogue_history(store_db()), errors=errors,
                           values=request.form if request.method == "POST" else {})


SECTIONS = ("items", "fees", "windows", "departments", "project_types")


@bp.post("/catalogue/entry")
@roles_required("admin")
def catalogue_entry() -> Any:
    """Any entry of the catalogue edited as JSON (an item, a fee standard, a window...), checked as
    hard as the files (Catalogue.from_data) and published as the next version."""
    central = central_of()
    section = request.form.get("section", "")
    code = request.form.get("code", "")
    if section not in SECTIONS:
        flash(gettext("Choose what to edit."), "error")
        return redirect(url_for("admin.catalogue"))
    try:
        entry = json.loads(request.form.get("entry_json", ""))
        if not isinstance(entry, dict) or not entry.get("code"):
            raise ValueError
    except ValueError:
        flash(gettext("The entry must be a JSON object with a code."), "error")
        return redirect(url_for("admin.catalogue", section=section, code=code))
    data = central.catalogue().to_data()
    entries = data[section]
    index = next((i for i, e in enumerate(entries) if e.get("code") == code), None)
    if index is None:
        entries.append(entry)
    else:
        entries[index] = entry
    try:
        version = publish_catalogue(central, Catalogue.from_data(data), note=request.form.get("note", "").strip(),
                                    staff=staff_name())
    except CatalogueError as err:
        problems = [str(p) for p in getattr(err, "problems", [err])]
        flash(gettext("Not published: %(problems)s", problems="; ".join(problems)[:800]), "error")
        return redirect(url_for("admin.catalogue", section=section, code=code))
    flash(gettext("Catalogue version %(v)s published.", v=version), "success")
    return redirect(url_for("admin.catalogue", section=section, code=entry["code"]))


@bp.route("/calendar", methods=["GET", "POST"])
@roles_required("admin")
def calendar() -> Any:
    central = central_of()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            year = json.loads(request.form.get("year_json", ""))
            publish_year(central, year)
        except json.JSONDecodeError:
            errors["year_json"] = gettext("Paste the year as JSON (year, holidays, workdays, names, source).")
        except CalendarDataError as err:
            errors["year_json"] = "; ".join(p.translated(gettext) for p in err.problems)
        else:
            flash(gettext("Calendar %(year)s published.", year=year.get("year")), "success")
            return redirect(url_for("admin.calendar"))
    cal = central.calendar()
    return render_template("central/admin_calendar.html", years=store_calendar.published_years(store_db()),
                           known=cal.known_years, errors=errors, values=request.form)


@bp.route("/nodes", methods=["GET", "POST"])
@roles_required("admin")
def nodes() -> Any:
    central = central_of()
    token = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        node = request.form.get("node", "").strip().upper()
        name = request.form.get("name", "").strip()
        try:
            tier_of(node)
            if not node[1:].isdigit() or len(node) not in (3, 5, 7):
                raise ValueError(node)
        except Exception:
            errors["node"] = gettext("A node id is T#### (town), V###### (village) or S## (sub-centre).")
        else:
            token = EnrolmentBook(central.log).issue(node, name or node)
            place_node(central, node, name=name or node, town=request.form.get("town", "").strip().upper() or None)
    return render_template("central/admin_nodes.html", nodes=[n for n in list_nodes(store_db()) if n.node != "C"],
                           token=token, errors=errors, values=request.form)


@bp.post("/nodes/rotate")
@roles_required("admin")
def rotate() -> Any:
    """A node's new key: the rotation statement the node made, signed by its old and new keys
    (sync.keys.rotation_proof), carried here on a USB stick or pasted; central signs it as
    `node.key_rotated`. The directory checks both signatures before anything is stored."""
    central = central_of()
    try:
        body = json.loads(request.form.get("proof_json", ""))
        if not isinstance(body, dict):
            raise ValueError
        central.sign("node.key_rotated", body)
    except (ValueError, KeyError, TypeError):
        flash(gettext("This is not a key rotation statement from a node."), "error")
    except Refusal as err:
        flash(gettext("The key rotation was refused: %(why)s", why=err.detail or err.code), "error")
    else:
        flash(gettext("The new key of %(node)s is in the directory.", node=body.get("node", "")), "success")
    return redirect(url_for("admin.nodes"))


@bp.post("/nodes/<node>/revoke")
@roles_required("admin")
def revoke(node: str) -> Response:
    central = central_of()
    reason = request.form.get("reason", "").strip()
    entry = central.log.directory.current(node) if central.log.directory else None
    if entry is None or not reason:
        flash(gettext("Give a reason; only a node with a live key can be revoked."), "error")
        return redirect(url_for("admin.nodes"))
    central.sign("node.revoked", {"node": node, "key": entry.key_id, "compromised_at": central.log.tree_size(),
                                  "reason": reason, "staff": staff_name()})
    flash(gettext("The key of %(node)s is revoked; the node must enrol again.", node=node), "success")
    return redirect(url_for("admin.nodes"))
