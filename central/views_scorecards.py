"""Scorecard versions at central: `/assessment/scorecards/...`.

The supervisor, who runs the assessment (docs/permissions.md), revises the sub-centre scorecard
here: edits the clauses of the version in force (or loads a TOML file, the format of the packaged
scorecard), checks what changes against the version it replaces, and signs it as the next version,
in force from a quarter not yet published. Inspectors and the administrator read the versions,
what changed between them and which quarters each was used for; any version downloads as TOML.

The form never loses what was typed: a refused form comes back with every row as typed and each
problem beside its field. Signing takes two steps: "Check" shows the differences and warnings,
"Sign" signs exactly what was checked (a digest of it travels with the form; a form changed after
its check is shown for checking again).
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from casework import assessment as rules
from casework import scorecards
from casework.assessment import AssessmentError, Scorecard, parse_scorecard
from casework.messages import RuleError
from central import assessment_store, scorecard_records, scorecard_store
from central.pages import central_of, staff_name
from central.quarters import Quarter
from sync.canonical import nfc
from web.auth import current_staff, roles_required
from web.settings import store_db

bp = Blueprint("scorecards", __name__, url_prefix="/assessment/scorecards")
READERS = ("supervisor", "inspector", "admin")
EDITORS = ("supervisor",)
BLANK_ROWS = 2  # empty rows offered under each part and the bonus clauses, for new clauses
QUARTERS_AHEAD = 4
MAX_TOML_BYTES = 256 * 1024

SYSTEM_CLAUSE_NAMES = {
    rules.CLAUSE_OVERDUE: _l("overdue cases"),
    rules.CLAUSE_FEE: _l("fee irregularities"),
    rules.CLAUSE_LATE_REPORT: _l("late monthly reports"),
    rules.CLAUSE_SATISFACTION: _l("satisfaction below the target"),
    rules.CLAUSE_BAD_REVIEW: _l("bad reviews not rectified in time"),
}
CHANGE_LABELS = {
    ("bonus_cap", ""): _l("Bonus cap"),
    ("part", ""): _l("Part"),
    ("part", "name"): _l("Part: name"),
    ("part", "max"): _l("Part: maximum points"),
    ("part", "judged"): _l("Part: what is judged"),
    ("deduction", ""): _l("Deduction clause"),
    ("deduction", "part"): _l("Deduction clause: part"),
    ("deduction", "text"): _l("Deduction clause: wording"),
    ("deduction", "points"): _l("Deduction clause: points per occurrence"),
    ("deduction", "cap"): _l("Deduction clause: cap a quarter"),
    ("bonus", ""): _l("Bonus clause"),
    ("bonus", "text"): _l("Bonus clause: wording"),
    ("bonus", "points"): _l("Bonus clause: points"),
    ("bonus", "group"): _l("Bonus clause: overlap group"),
}
KIND_LABELS = {"added": _l("added"), "removed": _l("removed"), "changed": _l("changed")}


def _version(text: str) -> scorecard_store.ScorecardVersion:
    if not text.isdigit():
        abort(404)
    found = scorecard_store.get(store_db(), int(text))
    if found is None:
        abort(404)
    return found


def _may_edit() -> bool:
    staff = current_staff()
    return bool(staff and staff.has_role(*EDITORS))


@dataclass(frozen=True)
class Listed:
    version: scorecard_store.ScorecardVersion
    span: scorecard_store.Span
    published: list[str]
    now: bool  # in force for the quarter running today
    upcoming: bool  # takes effect from a later quarter


def _listed() -> list[Listed]:
    db = store_db()
    versions = scorecard_store.versions(db)
    spans = scorecard_store.spans(versions)
    used = scorecard_store.quarters_published_with(db)
    now = Quarter.of(central_of().today()).text
    current = scorecard_store.in_force(db, now)
    return [Listed(v, spans[v.version], used.get(v.version, []), current is not None and current.version == v.version,
                   v.from_quarter > now and not spans[v.version].superseded) for v in reversed(versions)]


@bp.get("/")
@roles_required(*READERS)
def index() -> str:
    return render_template("assessment/scorecards.html", listed=_listed(), may_edit=_may_edit(),
                           change_labels=CHANGE_LABELS, this_quarter=Quarter.of(central_of().today()))


@bp.get("/<version>")
@roles_required(*READERS)
def show(version: str) -> str:
    found = _version(version)
    db = store_db()
    previous = scorecard_store.get(db, found.version - 1)
    listed = next(x for x in _listed() if x.version.version == found.version)
    return render_template("assessment/scorecard.html", v=found, listed=listed, previous=previous,
                           changes=scorecards.diff(previous.card, found.card) if previous else [],
                           change_labels=CHANGE_LABELS, kind_labels=KIND_LABELS, may_edit=_may_edit())


@bp.get("/<version>/scorecard.toml")
@roles_required(*READERS)
def download(version: str) -> Response:
    found = _version(version)
    heading = (f"scorecard version {found.version}, in force from {found.from_quarter}\n"
               f"signed by {found.staff} at {found.time} (record {found.record_id})\n{found.note}")
    text = scorecards.to_toml(found.card, heading=heading)
    response = Response(text, mimetype="application/toml")
    response.headers["Content-Disposition"] = f'attachment; filename="scorecard-v{found.version}.toml"'
    return response


# --- the form -----------------------------------------------------------------------------------------

@dataclass
class Row:
    """One clause row of the form, as typed (strings)."""

    key: str
    values: dict[str, str]
    remove: bool = False

    def blank(self) -> bool:
        return not any(v.strip() for k, v in self.values.items() if k != "group")


@dataclass
class PartRows:
    key: str
    values: dict[str, str]  # code, name, max, judged
    clauses: list[Row] = field(default_factory=list)


@dataclass
class CardForm:
    bonus_cap: str
    parts: list[PartRows]
    bonuses: list[Row]


CLAUSE_FIELDS = ("code", "text", "points", "cap")
BONUS_FIELDS = ("code", "text", "points", "group")
PART_FIELDS = ("code", "name", "max", "judged")


def form_of(card: Scorecard) -> CardForm:
    parts = []
    for i, p in enumerate(card.parts):
        rows = [Row(f"p{i}c{j}", {"code": c.code, "text": c.text, "points": str(c.points), "cap": str(c.cap)})
                for j, c in enumerate(p.deductions)]
        rows += [Row(f"p{i}c{len(rows) + n}", dict.fromkeys(CLAUSE_FIELDS, "")) for n in range(BLANK_ROWS)]
        parts.append(PartRows(f"p{i}", {"code": p.code, "name": p.name, "max": str(p.max), "judged": p.judged},
                              rows))
    bonuses = [Row(f"b{k}", {"code": b.code, "text": b.text, "points": str(b.points), "group": b.group})
               for k, b in enumerate(card.bonuses)]
    bonuses += [Row(f"b{len(bonuses) + n}", dict.fromkeys(BONUS_FIELDS, "")) for n in range(BLANK_ROWS)]
    return CardForm(str(card.bonus_cap), parts, bonuses)


_KEY = re.compile(r"^[pb]\d{1,3}(c\d{1,3})?$")


def form_from_request(form: MultiDict[str, str]) -> CardForm:
    def text(name: str) -> str:
        return nfc(form.get(name, "")).strip()

    parts = []
    for key in form.getlist("part"):
        if not _KEY.match(key) or not key.startswith("p") or "c" in key:
            continue
        rows = [Row(row, {f: text(f"{row}_{f}") for f in CLAUSE_FIELDS}, form.get(f"{row}_remove") == "1")
                for row in form.getlist(f"{key}_rows") if _KEY.match(row) and row.startswith(key + "c")]
        parts.append(PartRows(key, {f: text(f"{key}_{f}") for f in PART_FIELDS}, rows))
    bonuses = [Row(row, {f: text(f"{row}_{f}") for f in BONUS_FIELDS}, form.get(f"{row}_remove") == "1")
               for row in form.getlist("bonus_rows") if _KEY.match(row) and row.startswith("b")]
    for p in parts:  # rows filled in get fresh empty ones below them
        p.clauses += _blanks(p.key + "c", p.clauses, CLAUSE_FIELDS)
    bonuses += _blanks("b", bonuses, BONUS_FIELDS)
    return CardForm(text("bonus_cap"), parts, bonuses)


def _blanks(prefix: str, rows: list[Row], fields: tuple[str, ...]) -> list[Row]:
    """Empty rows to add so that at least BLANK_ROWS stand empty at the end."""
    empty = sum(1 for r in rows if r.blank() and not r.remove)
    taken = [int(r.key[len(prefix):]) for r in rows if r.key[len(prefix):].isdigit()]
    start = max(taken, default=-1) + 1
    return [Row(f"{prefix}{start + n}", dict.fromkeys(fields, "")) for n in range(max(0, BLANK_ROWS - empty))]


def _number(value: str) -> int | str | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return value  # parse_scorecard says it is not a whole number


def data_of(card_form: CardForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The scorecard data the form holds, and where each place in it came from (for errors)."""
    where: dict[str, str] = {"bonus_cap": "bonus_cap"}
    parts = []
    for i, p in enumerate(card_form.parts):
        where[f"part[{i}]"] = p.key
        clauses = []
        for row in p.clauses:
            if row.remove or row.blank():
                continue
            where[f"part[{i}].deduction[{len(clauses)}]"] = row.key
            clauses.append({"code": row.values["code"], "text": row.values["text"],
                            "points": _number(row.values["points"]), "cap": _number(row.values["cap"])})
        parts.append({"code": p.values["code"], "name": p.values["name"], "max": _number(p.values["max"]),
                      "judged": p.values["judged"], "deduction": clauses})
    bonuses = []
    for row in card_form.bonuses:
        if row.remove or row.blank():
            continue
        where[f"bonus[{len(bonuses)}]"] = row.key
        bonuses.append({"code": row.values["code"], "text": row.values["text"],
                        "points": _number(row.values["points"]), "group": row.values["group"] or row.values["code"]})
    return {"bonus_cap": _number(card_form.bonus_cap), "part": parts, "bonus": bonuses}, where


_WHERE = re.compile(r"^(?P<at>part\[\d+\](?:\.deduction\[\d+\])?|bonus\[\d+\]|bonus_cap|scorecard)(?:\.(?P<f>\w+))?$")


def _field_message(error: RuleError) -> str:
    code, p = error.code, error.params
    if code == "assessment.not_integer":
        return gettext("Write a whole number.")
    if code == "assessment.out_of_range":
        return gettext("Between %(low)s and %(high)s.", low=p.get("low"), high=p.get("high"))
    if code == "assessment.missing_text":
        return gettext("Required.")
    if code == "assessment.duplicate_code":
        return gettext("Code %(code)s is used twice.", code=p.get("clause"))
    if code == "assessment.cap_below_points":
        return gettext("The cap is below the points of one occurrence.")
    if code == "assessment.no_deductions":
        return gettext("A part needs at least one deduction clause.")
    if code == "assessment.over_hundred":
        return gettext("The parts (%(base)s points) and the bonus cap (%(cap)s) add up to more than 100.",
                       base=p.get("base"), cap=p.get("cap"))
    return error.translated(gettext)


def field_errors(err: AssessmentError, where: dict[str, str]) -> dict[str, Any]:
    """parse_scorecard's problems as messages beside the form's fields."""
    out: dict[str, Any] = {}
    for e in err.errors:
        found = _WHERE.match(str(e.params.get("where", "scorecard")))
        at = found.group("at") if found else "scorecard"
        key = where.get(at)
        name = (f"{key}_{found.group('f') or 'code'}" if key and key != "bonus_cap"
                else "bonus_cap" if key == "bonus_cap" else "card")
        if e.code == "assessment.no_deductions" and key:
            name = f"{key}_name"
        message = _field_message(e)
        if name in out:
            out[name] = [*([out[name]] if isinstance(out[name], str) else out[name]), message]
        else:
            out[name] = message
    return out


FIELD_LABELS = {
    "code": _l("Code"), "points": _l("Points"), "cap": _l("Cap a quarter"), "group": _l("Overlap group"),
    "name": _l("Name of the part"), "max": _l("Maximum points"), "judged": _l("What is judged"),
}


def summary(errors: dict[str, Any], card_form: CardForm) -> dict[str, str]:
    """The error summary above the form: each problem named by its row (the clause code, or the part),
    so that "write a whole number" says where; the messages beside the fields stay short."""
    rows: dict[str, str] = {}
    for p in card_form.parts:
        rows[p.key] = p.values["name"] or p.values["code"]
        for r in p.clauses:
            rows[r.key] = r.values["code"] or gettext("new row of %(part)s", part=rows[p.key])
    for r in card_form.bonuses:
        rows[r.key] = r.values["code"] or gettext("new bonus row")
    out = {}
    for name, message in errors.items():
        text = message if isinstance(message, str) else "；".join(message)
        key, _sep, field_name = name.partition("_")
        if key in rows and field_name in FIELD_LABELS | {"text": ""}:
            label = FIELD_LABELS.get(field_name) or gettext("Wording")
            out[name] = gettext("%(row)s · %(field)s: %(message)s", row=rows[key], field=label, message=text)
        else:
            out[name] = text
    return out


def _quarter_options(central_today: Any) -> list[Quarter]:
    first = scorecard_records.earliest_from(central_of())
    last = Quarter.of(central_today)
    for _ in range(QUARTERS_AHEAD):
        last = last.next()
    out = []
    q = first
    while q <= last:
        out.append(q)
        q = q.next()
    return out


def _digest(data: dict[str, Any], from_quarter: str, note: str) -> str:
    return hashlib.sha256(json.dumps([data, from_quarter, note], ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@dataclass
class Check:
    """What the page shows after "Check": the version replaced, the differences, the warnings."""

    replaced: scorecard_store.ScorecardVersion | None
    changes: list[scorecards.Change]
    warnings: list[str]
    digest: str


def _warnings(card: Scorecard, from_quarter: Quarter) -> list[str]:
    out = []
    missing = scorecards.missing_codes(card, rules.SYSTEM_CLAUSES)
    if missing:
        out.append(gettext("The system proposes deductions from its records under %(codes)s; this version has no "
                           "such clause, so those proposals will not appear for the quarters it scores.",
                           codes=", ".join(f"{c} ({SYSTEM_CLAUSE_NAMES[c]})" for c in missing)))
    db = store_db()
    today = Quarter.of(central_of().today())
    q = from_quarter
    while q <= today:
        if not assessment_store.is_published(db, q.text):
            lost = sorted({e.clause for e in assessment_store.entries(db, q.text) if e.active and e.kind != "dismissed"
                           and (card.bonus(e.clause) if e.kind == "bonus" else card.deduction(e.clause)) is None})
            if lost:
                out.append(gettext("%(quarter)s already has entries under %(codes)s, which this version does not "
                                   "have: they would stop counting.", quarter=q.text, codes=", ".join(lost)))
        q = q.next()
    return out


def _render(card_form: CardForm, *, values: dict[str, str], errors: dict[str, Any] | None = None,
            check: Check | None = None, status: int = 200, base: scorecard_store.ScorecardVersion | None = None
            ) -> tuple[str, int]:
    db = store_db()
    central = central_of()
    return render_template(
        "assessment/scorecard_form.html", f=card_form, values=values, errors=errors or {},
        summary=summary(errors or {}, card_form), check=check,
        quarters=_quarter_options(central.today()), next_version=scorecard_store.current_version(db) + 1,
        base=base, change_labels=CHANGE_LABELS, kind_labels=KIND_LABELS,
        max_kb=MAX_TOML_BYTES // 1024), status


def _default_from() -> str:
    options = _quarter_options(central_of().today())
    following = Quarter.of(central_of().today()).next()
    return (following if following in options else options[0]).text


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new() -> Any:
    db = store_db()
    if request.method == "GET":
        base = scorecard_store.get(db, int(request.args["base"])) if request.args.get("base", "").isdigit() else None
        base = base or scorecard_store.in_force(db, Quarter.of(central_of().today()).next().text)
        if base is None:
            abort(404)
        return _render(form_of(base.card), base=base,
                       values={"from": _default_from(), "note": "", "expected": str(scorecard_store.current_version(db) + 1)})
    values = {"from": request.form.get("from", ""), "note": nfc(request.form.get("note", "")).strip(),
              "expected": request.form.get("expected", "")}
    action = request.form.get("action", "check")
    errors: dict[str, Any] = {}
    if action == "load":
        card_form = _load_file(errors)
        if card_form is None:
            return _render(form_from_request(request.form), values=values, errors=errors, status=400)
    else:
        card_form = form_from_request(request.form)
    data, where = data_of(card_form)
    try:
        card: Scorecard | None = parse_scorecard(data)
    except AssessmentError as err:
        card = None
        errors.update(field_errors(err, where))
    try:
        from_quarter: Quarter | None = Quarter.parse(values["from"])
        if from_quarter not in _quarter_options(central_of().today()):
            raise ValueError
    except ValueError:
        from_quarter = None
        errors["from"] = gettext("Choose the quarter the version takes effect from.")
    if action != "load" and not values["note"]:
        errors["note"] = gettext("Say why the scorecard changes (e.g. the centre's document that revised it).")
    elif len(values["note"]) > 500:
        errors["note"] = gettext("At most %(n)s characters.", n=500)
    if card is None or from_quarter is None or (errors and action != "load"):
        return _render(card_form, values=values, errors=errors, status=400)
    replaced = scorecard_store.in_force(db, from_quarter.text)
    check = Check(replaced, scorecards.diff(replaced.card, card) if replaced else [], _warnings(card, from_quarter),
                  _digest(card.to_data(), from_quarter.text, values["note"]))
    if action != "sign" or errors:
        return _render(card_form, values=values, errors=errors, check=check)
    if request.form.get("checked") != check.digest:
        flash(gettext("The form changed after it was checked: look at the changes again, then sign."), "warning")
        return _render(card_form, values=values, check=check)
    expected = int(values["expected"]) if values["expected"].isdigit() else None
    try:
        version = scorecard_records.publish(central_of(), card, from_quarter=from_quarter, note=values["note"],
                                            staff=staff_name(), expected_version=expected)
    except scorecard_records.ScorecardRefusedError as refused:
        message = {
            "published": gettext("%(quarter)s is already published: a new version can take effect only after it.",
                                 quarter=refused.params.get("quarter")),
            "changed_meanwhile": gettext("Someone signed version %(v)s meanwhile: check your changes against it.",
                                         v=refused.params.get("version")),
            "unchanged": gettext("Nothing changes: this is the same as version %(v)s, in force for that quarter.",
                                 v=refused.params.get("version")),
        }[refused.code]
        values["expected"] = str(scorecard_store.current_version(db) + 1)
        return _render(card_form, values=values, errors={"card": message}, status=409)
    flash(gettext("Scorecard version %(v)s signed: in force from %(quarter)s.", v=version, quarter=from_quarter.text),
          "success")
    return redirect(url_for("scorecards.show", version=str(version)))


def _load_file(errors: dict[str, Any]) -> CardForm | None:
    """A TOML file loaded into the form (checked like the packaged scorecard); None with errors."""
    upload = request.files.get("toml_file")
    raw = upload.read(MAX_TOML_BYTES + 1) if upload else b""
    if not raw:
        errors["toml_file"] = gettext("Choose a TOML file to load.")
        return None
    if len(raw) > MAX_TOML_BYTES:
        errors["toml_file"] = gettext("The file is larger than %(n)s KB.", n=MAX_TOML_BYTES // 1024)
        return None
    try:
        card = parse_scorecard(tomllib.loads(raw.decode("utf-8-sig")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        errors["toml_file"] = gettext("The file is not TOML in UTF-8: %(reason)s", reason=str(exc)[:200])
        return None
    except AssessmentError as err:
        errors["toml_file"] = [e.translated(gettext) for e in err.errors][:20]
        return None
    return form_of(card)
