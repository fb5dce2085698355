"""Reading the catalogue's TOML files from a folder (by default the data packaged with casework).

Layout of the folder (every file is meant to be edited by hand, comments welcome):
    departments.toml      [[department]]  code, name, kind (government | utility), summary
    windows.toml          [centre] name, address, hours;  [[window]] code, name, kind, departments,
                          place, hours
    fees.toml             [[fee]]  fee standards, format in docs/contracts.md
    project_types.toml    [[project_type]] with [[project_type.steps]]: service-card guide sheets
    items/<dept>.toml     [[item]] the service items of one department (the file name is its code)
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from casework.catalogue import schema
from casework.catalogue.build import Entry, Sections, build, label
from casework.catalogue.model import Catalogue
from casework.catalogue.schema import Problems

DATA = Path(__file__).resolve().parent.parent / "data" / "catalogue"

# file -> {top-level key: (record kind, spec, Sections attribute)}
_FILES: dict[str, dict[str, tuple[str, tuple[schema.Field, ...], str]]] = {
    "departments.toml": {"department": ("department", schema.DEPARTMENT, "departments")},
    "windows.toml": {"window": ("window", schema.WINDOW, "windows")},
    "fees.toml": {"fee": ("fee", (), "fees")},
    "project_types.toml": {"project_type": ("project_type", schema.PROJECT_TYPE, "project_types")},
}


def load(path: Path | str | None = None) -> Catalogue:
    """Load and check the catalogue in `path` (default: the packaged data).

    Raises CatalogueError listing every problem in every file, each as `file: field: message`.
    """
    root = Path(path) if path is not None else DATA
    problems = Problems()
    sections = Sections()
    if not root.is_dir():
        problems.add(str(root), "(folder)", "is not a folder")
    for name, tables in _FILES.items():
        doc = _read(root / name, name, problems)
        if doc is None:
            sections.broken.update(attr for _kind, _spec, attr in tables.values())
            continue
        allowed = set(tables) | ({"centre"} if name == "windows.toml" else set())
        _unknown_top(doc, allowed, name, problems)
        if name == "windows.toml":
            sections.centre = _centre(doc, name, problems)
        for key, (kind, spec, attr) in tables.items():
            rows = _rows(doc, key, name, problems)
            if rows is None:
                sections.broken.add(attr)
                continue
            for i, row in enumerate(rows, 1):
                where = label(kind, i, row)
                record = row if not spec else schema.check(row, spec, name, where, problems)
                if record is not None:
                    getattr(sections, attr).append(Entry(name, where, record, i))
    _read_items(root / "items", sections, problems)
    return build(sections, problems)


@cache
def packaged() -> Catalogue:
    """The packaged catalogue, loaded once per process (it is frozen, so sharing it is safe).

    For a node before its first sync, for tests and for the CLI; a running app uses the catalogue
    central published instead.
    """
    return load(DATA)


def _read(file: Path, name: str, problems: Problems) -> dict[str, Any] | None:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add(name, "(file)", "missing")
        return None
    except (OSError, UnicodeDecodeError) as err:
        problems.add(name, "(file)", f"cannot be read: {err}")
        return None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        problems.add(name, "(syntax)", f"not valid TOML: {err}")  # the message carries line and column
        return None


def _unknown_top(doc: dict[str, Any], allowed: set[str], name: str, problems: Problems) -> None:
    for key in doc:
        if key not in allowed:
            problems.add(name, key, f"unknown top-level key (known: {', '.join(sorted(allowed))})")


def _rows(doc: dict[str, Any], key: str, name: str, problems: Problems) -> list[Any] | None:
    """The [[key]] tables of a file; None (reported) when there are none or they are not a list."""
    rows = doc.get(key)
    if rows is None:
        problems.add(name, key, f"no [[{key}]] tables")
        return None
    if not isinstance(rows, list):
        problems.add(name, key, f"write it as [[{key}]] tables (an array of tables)")
        return None
    return rows


def _centre(doc: dict[str, Any], name: str, problems: Problems) -> Entry | None:
    if "centre" not in doc:
        problems.add(name, "centre", "missing the [centre] table (name, address, hours)")
        return None
    checked = schema.check(doc["centre"], schema.CENTRE, name, "centre", problems)
    return Entry(name, "centre", checked) if checked is not None else None


def _read_items(folder: Path, sections: Sections, problems: Problems) -> None:
    """One file per department; the item's department is the file's name, so it cannot disagree."""
    if not folder.is_dir():
        problems.add("items/", "(folder)", "missing: one items/<department>.toml per department")
        sections.broken.add("items")
        return
    known = {e.data.get("code") for e in sections.departments}
    for file in sorted(folder.glob("*.toml")):
        name = f"items/{file.name}"
        department = file.stem
        sections.item_files[department] = name
        if department not in known and "departments" not in sections.broken:
            problems.add(name, "(file)", f"no department with code {department!r} (the file name must be one)")
        doc = _read(file, name, problems)
        if doc is not None:
            _unknown_top(doc, {"item"}, name, problems)
        rows = None if doc is None else _rows(doc, "item", name, problems)
        if rows is None:
            sections.broken.add(f"items:{department}")
            continue
        for i, row in enumerate(rows, 1):
            where = label("item", i, row)
            if isinstance(row, dict) and "department" in row:
                problems.add(name, f"{where}.department", "comes from the file name: remove it")
            record = schema.check(row, schema.ITEM, name, where, problems)
            if record is not None:
                sections.items.append(Entry(name, where, {"department": department, **record}, i))
    order = {e.data.get("code"): n for n, e in enumerate(sections.departments)}
    sections.items.sort(key=lambda e: order.get(e.data["department"], len(order)))  # guide order
