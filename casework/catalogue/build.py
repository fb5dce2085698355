"""From checked records to a Catalogue: every cross-reference and business rule, all problems at once.

Both ways in pass through here: the TOML files an administrator edits (loader.py) and the dict
central signs and nodes receive (`Catalogue.from_data`). So a node can never hold a catalogue
that the city's own check would have refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from casework.catalogue import schema
from casework.catalogue.model import (
    COMBINED_WINDOW_DEPARTMENTS,
    TIER_ORDER,
    Catalogue,
    Centre,
    Department,
    Material,
    ProjectStep,
    ProjectType,
    ServiceItem,
    Window,
)
from casework.catalogue.schema import Problems
from casework.fees import FeeStandard, FeeStandardError, parse_standard
from casework.messages import N_, RuleError


class CatalogueError(RuleError):
    """The catalogue data is wrong. `problems` lists EVERY problem as `file: field: message`.

    `counts` says how many departments, windows and items could be read at all, so that
    `bianmin catalogue check` can report the size of even a broken catalogue.
    """

    def __init__(self, problems: list[str], counts: dict[str, int] | None = None) -> None:
        self.problems = problems
        self.counts = counts or {}
        super().__init__(
            "catalogue.invalid",
            N_("The catalogue has %(count)s problem(s); the first: %(first)s"),
            count=len(problems),
            first=problems[0] if problems else "",
        )


@dataclass
class Entry:
    """One record as read, with where it came from: `file` and the field path of the record."""

    file: str
    where: str
    data: dict[str, Any]
    position: int = 0  # 1-based place among the records of its kind in its file


@dataclass
class Sections:
    """Everything read, before cross-checking. `item_files` maps a department to its items file."""

    centre: Entry | None = None
    departments: list[Entry] = field(default_factory=list)
    windows: list[Entry] = field(default_factory=list)
    fees: list[Entry] = field(default_factory=list)
    project_types: list[Entry] = field(default_factory=list)
    items: list[Entry] = field(default_factory=list)
    item_files: dict[str, str] = field(default_factory=dict)
    # Sections that could not be read at all (a missing file, a TOML syntax error, not a list):
    # references INTO them are not checked, so one broken file gives one problem, not hundreds.
    # Items files are named "items:<department>".
    broken: set[str] = field(default_factory=set)
    windows_file: str = "windows.toml"

    def unreadable_item(self, code: str) -> bool:
        """Could item `code` be in an items file that could not be read? (Codes carry their
        department, so only that department's file matters.)"""
        return "items" in self.broken or any(
            name.startswith("items:") and code.startswith(name[6:].upper()) for name in self.broken)

    def counts(self) -> dict[str, int]:
        return {"departments": len(self.departments), "windows": len(self.windows), "items": len(self.items)}


def label(kind: str, index: int, record: Any) -> str:
    """The field path of a record: `item[SCJG001]` when its code is readable, else `item[#3]`."""
    code = record.get("code") if isinstance(record, dict) else None
    return f"{kind}[{code.strip()}]" if isinstance(code, str) and code.strip() else f"{kind}[#{index}]"


def _unique(entries: Iterable[Entry], what: str, problems: Problems) -> dict[str, Entry]:
    seen: dict[str, Entry] = {}
    for entry in entries:
        code = entry.data.get("code")
        if not isinstance(code, str):  # missing or mistyped: reported by the shape checks
            continue
        if code in seen:
            first = seen[code]
            problems.add(entry.file, f"{entry.where}.code",
                         f"duplicate {what} code {code!r} (record #{entry.position}; "
                         f"first used by record #{first.position} in {first.file})")
        else:
            seen[code] = entry
    return seen


def build(sections: Sections, problems: Problems) -> Catalogue:
    """Cross-check and build; raise CatalogueError with all problems (those found earlier too)."""
    departments = _unique(sections.departments, "department", problems)
    windows = _unique(sections.windows, "window", problems)
    fee_entries = _unique(sections.fees, "fee", problems)
    items = _unique(sections.items, "item", problems)
    _unique(sections.project_types, "project type", problems)

    fees = _fees(fee_entries, problems)
    _check_windows(sections, departments, windows, problems)
    _check_items(sections, departments, windows, fee_entries, problems)
    _check_project_types(sections, items, problems)

    if problems.lines:
        raise CatalogueError(problems.lines, sections.counts())
    centre_data = sections.centre.data if sections.centre else {}
    centre = Centre(**centre_data)
    window_objs = tuple(
        Window(code=e.data["code"], name=e.data["name"], kind=e.data["kind"],
               departments=tuple(e.data["departments"]), place=e.data["place"],
               hours=e.data["hours"] or centre.hours)
        for e in sections.windows
    )
    by_window = {w.code: w for w in window_objs}
    return Catalogue(
        centre=centre,
        departments=tuple(Department(**e.data) for e in sections.departments),
        windows=window_objs,
        fees=tuple(fees[e.data["code"]] for e in sections.fees),
        project_types=tuple(_project_type(e.data) for e in sections.project_types),
        items=tuple(_item(e.data, by_window[e.data["window"]], centre) for e in sections.items),
    )


def _fees(entries: dict[str, Entry], problems: Problems) -> dict[str, FeeStandard]:
    out: dict[str, FeeStandard] = {}
    for code, entry in entries.items():
        try:
            out[code] = parse_standard(entry.data)
        except FeeStandardError as err:
            for problem in err.problems:
                name, _, message = problem.partition(": ")
                if message:
                    problems.add(entry.file, f"{entry.where}.{name}", message)
                else:
                    problems.add(entry.file, entry.where, problem)
    return out


def _check_windows(sections: Sections, departments: dict[str, Entry], windows: dict[str, Entry],
                   problems: Problems) -> None:
    if "windows" in sections.broken:
        return
    served: dict[str, list[str]] = {code: [] for code in departments}
    combined: list[Entry] = []
    for entry in sections.windows:
        data, path = entry.data, f"{entry.where}.departments"
        kind, listed = data.get("kind"), data.get("departments", [])
        for code in listed:
            if code not in departments:
                if "departments" not in sections.broken:
                    problems.add(entry.file, path, f"unknown department {code!r}")
            else:
                served[code].append(data.get("code", "?"))
        if kind == "department" and len(listed) != 1:
            problems.add(entry.file, path, f"a department window serves exactly one department, found {len(listed)}")
        elif kind == "combined":
            combined.append(entry)
            if len(listed) != COMBINED_WINDOW_DEPARTMENTS:
                problems.add(entry.file, path, f"the combined window (综合窗口) must serve exactly "
                             f"{COMBINED_WINDOW_DEPARTMENTS} departments, found {len(listed)}")
        elif kind in ("card", "settlement") and listed:
            problems.add(entry.file, path, f"a {kind} window is the centre's own and serves no department")
    file = sections.windows_file
    if len(combined) != 1:
        problems.add(file, "window", f"there must be exactly one combined window (综合窗口), found {len(combined)}")
    for kind, name in (("card", "一卡通服务窗口"), ("settlement", "结算中心")):
        if not any(e.data.get("kind") == kind for e in sections.windows):
            problems.add(file, "window", f"there must be at least one {kind} window ({name})")
    combined_depts = set(combined[0].data.get("departments", [])) if len(combined) == 1 else set()
    combined_code = combined[0].data.get("code") if len(combined) == 1 else None
    for code, window_codes in served.items():
        dept = departments[code]
        if not window_codes:
            problems.add(dept.file, f"{dept.where}", "has no window (give it one or add it to the combined window)")
        elif code in combined_depts and len(window_codes) > 1:
            own = ", ".join(w for w in window_codes if w != combined_code)
            problems.add(dept.file, f"{dept.where}",
                         f"is served by the combined window and also has its own window(s) {own}")


def _check_items(sections: Sections, departments: dict[str, Entry], windows: dict[str, Entry],
                 fees: dict[str, Entry], problems: Problems) -> None:
    with_items: set[str] = set()
    for entry in sections.items:
        data, file, where = entry.data, entry.file, entry.where
        dept = data.get("department")
        if dept is not None and dept not in departments and "departments" not in sections.broken:
            problems.add(file, f"{where}.department", f"unknown department {dept!r}")
        code = data.get("code")
        if code is not None and dept is not None and not code.startswith(dept.upper()):
            problems.add(file, f"{where}.code",
                         f"{code!r} should start with its department's code in capitals ({dept.upper()}...)")
        with_items.add(dept)
        window_code = data.get("window")
        window = windows.get(window_code) if window_code is not None else None
        if window_code is not None and window is None and "windows" not in sections.broken:
            problems.add(file, f"{where}.window", f"unknown window {window_code!r}")
        elif window is not None and dept in departments and dept not in window.data.get("departments", []):
            problems.add(file, f"{where}.window",
                         f"window {window_code} does not serve department {dept} (it serves "
                         f"{', '.join(window.data.get('departments', [])) or 'no department'})")
        for i, code in enumerate(data.get("fees", []), 1):
            if code not in fees and "fees" not in sections.broken:
                problems.add(file, f"{where}.fees[{i}]", f"unknown fee standard {code!r}")
        _check_limits(entry, problems)
        _check_tiers(entry, problems)
        _check_materials(entry, problems)
    for code, dept in departments.items():
        if code not in with_items and f"items:{code}" not in sections.broken:
            expected = sections.item_files.get(code, f"items/{code}.toml")
            problems.add(dept.file, dept.where, f"has no service items (expected them in {expected})")


def _check_limits(entry: Entry, problems: Problems) -> None:
    data, file, where = entry.data, entry.file, entry.where
    kind, legal, promised = data.get("kind"), data.get("legal_limit_days"), data.get("promised_limit_days")
    if legal is None or promised is None or kind is None:
        return
    if kind == "immediate" and promised != 0:
        problems.add(file, f"{where}.promised_limit_days",
                     f"an immediate item (即办件) is finished on the spot: must be 0, found {promised}")
    if kind != "immediate" and promised == 0:
        problems.add(file, f"{where}.promised_limit_days",
                     f"a {kind} item needs a promised limit of at least 1 working day (or kind = \"immediate\")")
    if kind != "immediate" and legal == 0:
        problems.add(file, f"{where}.legal_limit_days", f"a {kind} item needs its legal limit (working days)")
    if promised > legal and kind != "immediate":
        problems.add(file, f"{where}.promised_limit_days",
                     f"promised limit {promised} is longer than the legal limit {legal}")


def _check_tiers(entry: Entry, problems: Problems) -> None:
    data, file, where = entry.data, entry.file, entry.where
    receive, handle = data.get("receive_tiers"), data.get("handle_tier")
    if receive is None or handle is None:
        return
    if handle not in receive:
        problems.add(file, f"{where}.receive_tiers",
                     f"must include the handle tier {handle!r}: the deciding office takes applications itself")
    if data.get("kind") == "reported" and handle != "city":
        problems.add(file, f"{where}.handle_tier", "a reported item (上报件) goes up through the city: must be 'city'")


def _check_materials(entry: Entry, problems: Problems) -> None:
    data, file, where = entry.data, entry.file, entry.where
    names: set[str] = set()
    for i, material in enumerate(data.get("materials", []), 1):
        path = f"{where}.materials[{i}]"
        name = material.get("name")
        if name in names:
            problems.add(file, f"{path}.name", f"material {name!r} is listed twice")
        names.add(name)
        if material.get("gap_allowed") and not material.get("required", True):
            problems.add(file, f"{path}.gap_allowed", "an optional material needs no tolerated gap (容缺)")
        if material.get("gap_allowed") and data.get("kind") == "immediate":
            problems.add(file, f"{path}.gap_allowed",
                         "an immediate item has no promised date to supply a tolerated gap by")


def _check_project_types(sections: Sections, items: dict[str, Entry], problems: Problems) -> None:
    for entry in sections.project_types:
        seen: set[str] = set()
        for n, step in enumerate(entry.data.get("steps", []), 1):
            for i, code in enumerate(step.get("items", []), 1):
                path = f"{entry.where}.steps[{n}].items[{i}]"
                if code not in items and not sections.unreadable_item(code):
                    problems.add(entry.file, path, f"unknown item {code!r}")
                elif code in seen:
                    problems.add(entry.file, path, f"item {code} is already in an earlier step")
                seen.add(code)
            if step.get("joint") and len(step.get("items", [])) < 2:
                problems.add(entry.file, f"{entry.where}.steps[{n}].joint", "a joint step needs at least two items")


def _project_type(data: dict[str, Any]) -> ProjectType:
    return ProjectType(
        code=data["code"], name=data["name"], description=data["description"],
        min_investment_fen=data["min_investment_fen"],
        steps=tuple(ProjectStep(items=tuple(s["items"]), joint=s["joint"], note=s["note"]) for s in data["steps"]),
    )


def _item(data: dict[str, Any], window: Window, centre: Centre) -> ServiceItem:
    return ServiceItem(
        code=data["code"], name=data["name"], department=data["department"], window=data["window"],
        kind=data["kind"], receive_tiers=tuple(sorted(data["receive_tiers"], key=TIER_ORDER.__getitem__)),
        handle_tier=data["handle_tier"], legal_basis=tuple(data["legal_basis"]),
        conditions=tuple(data["conditions"]), procedure=tuple(data["procedure"]),
        materials=tuple(Material(**m) for m in data["materials"]),
        legal_limit_days=data["legal_limit_days"], promised_limit_days=data["promised_limit_days"],
        fees=tuple(data["fees"]),
        place=data["place"] or f"{centre.name}{window.place}",
        hours=data["hours"] or window.hours or centre.hours,
        result=data["result"], form=data["form"], keywords=tuple(data["keywords"]),
        applicant=data["applicant"],
    )


# --- the published dict -----------------------------------------------------------------------

_TOP_KEYS = ("centre", "departments", "windows", "fees", "project_types", "items")


def from_data(data: Any) -> Catalogue:
    """Check and build a catalogue from `Catalogue.to_data()`'s dict; problems name `data: ...`."""
    problems = Problems()
    file = "data"
    if not isinstance(data, dict):
        raise CatalogueError([f"{file}: (top): expected a table, found {type(data).__name__}"])
    for key in data:
        if key not in _TOP_KEYS:
            problems.add(file, key, f"unknown key (known keys: {', '.join(_TOP_KEYS)})")
    sections = Sections(windows_file=file)
    for key in _TOP_KEYS:
        if key not in data:
            problems.add(file, key, "missing")
            sections.broken.add(key)
    checked = schema.check(data.get("centre", {}), schema.CENTRE, file, "centre", problems)
    if checked is not None:
        sections.centre = Entry(file, "centre", checked)
    specs = {
        "departments": ("department", schema.DEPARTMENT),
        "windows": ("window", schema.WINDOW),
        "project_types": ("project_type", schema.PROJECT_TYPE),
        "items": ("item", schema.ITEM_DATA),
    }
    for key, (kind, spec) in specs.items():
        rows = data.get(key, [])
        if not isinstance(rows, list):
            problems.add(file, key, "expected a list of tables")
            sections.broken.add(key)
            continue
        for i, row in enumerate(rows, 1):
            where = label(kind, i, row)
            record = schema.check(row, spec, file, where, problems)
            if record is not None:
                getattr(sections, key).append(Entry(file, where, record, i))
    fees = data.get("fees", [])
    if not isinstance(fees, list):
        problems.add(file, "fees", "expected a list of tables")
        sections.broken.add("fees")
        fees = []
    for i, row in enumerate(fees, 1):
        if isinstance(row, dict):
            sections.fees.append(Entry(file, label("fee", i, row), row, i))
        else:
            problems.add(file, f"fee[#{i}]", f"expected a table, found {type(row).__name__}")
    return build(sections, problems)
