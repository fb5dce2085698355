"""The shape of every catalogue record, checked field by field so that EVERY problem is reported.

People edit the catalogue by hand, so a typo ("materails", "form = 'copies'", a quoted number)
must be named with its file and field, and all of them at once: an administrator fixing one
problem per run of `bianmin catalogue check` would give up. This module knows only shapes (types,
allowed values, unknown keys, defaults); cross-references between records live in rules.py.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

TIERS = ("village", "town", "city")
KINDS = ("immediate", "promised", "joint", "reported")
FORMS = ("original", "copy", "original_and_copy")
APPLICANTS = ("person", "organisation", "any")
DEPARTMENT_KINDS = ("government", "utility")
WINDOW_KINDS = ("department", "combined", "card", "settlement")


@dataclass(frozen=True)
class Field:
    """One key of a record: its type, whether it is required, and what values it may take.

    `type` is one of "str", "int", "bool", "strs" (list of str), "table" and "tables" (a list of
    tables); `spec` gives the fields of a table.
    """

    name: str
    type: str
    required: bool = True
    default: Any = None
    choices: tuple[str, ...] = ()
    nonempty: bool = False
    minimum: int | None = None
    pattern: str = ""  # a regular expression the whole text must match (codes)
    spec: tuple[Field, ...] = field(default=())


class Problems:
    """Collects `file: field: message` lines; the catalogue is accepted only if none were found."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, file: str, where: str, message: str) -> None:
        self.lines.append(f"{file}: {where}: {message}")

    def __len__(self) -> int:
        return len(self.lines)


def nfc(text: str) -> str:
    """Text in the record must be NFC (the record's canonical form), so normalise on the way in."""
    return unicodedata.normalize("NFC", text)


def _type_name(value: Any) -> str:
    names = {str: "text", bool: "true/false", int: "integer", float: "decimal number",
             list: "list", dict: "table"}
    return names.get(type(value), type(value).__name__)


def check(record: Any, spec: tuple[Field, ...], file: str, where: str, problems: Problems) -> dict | None:
    """Check one table against `spec`; return it normalised (defaults filled, text NFC) or None.

    None means the record is too broken to use (not a table). A record with bad fields is still
    returned, with the bad fields left out, so that later checks can go on and find more problems.
    """
    if not isinstance(record, dict):
        problems.add(file, where, f"expected a table, found {_type_name(record)}")
        return None
    known = {f.name for f in spec}
    for key in record:
        if key not in known:
            guess = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else f"known keys: {', '.join(sorted(known))}"
            problems.add(file, f"{where}.{key}", f"unknown key ({hint})")
    out: dict[str, Any] = {}
    for f in spec:
        path = f"{where}.{f.name}"
        if f.name not in record:
            if f.required:
                problems.add(file, path, "missing")
            else:
                out[f.name] = _default(f)
            continue
        value = _check_value(record[f.name], f, file, path, problems)
        if value is not None:
            out[f.name] = value
    return out


def _default(f: Field) -> Any:
    if f.default is not None:
        return f.default
    return {"str": "", "int": 0, "bool": False, "strs": [], "tables": []}.get(f.type)


def _check_value(value: Any, f: Field, file: str, path: str, problems: Problems) -> Any:
    if f.type == "str":
        if not isinstance(value, str):
            problems.add(file, path, f"expected text, found {_type_name(value)}")
            return None
        value = nfc(value.strip())
        if f.nonempty and not value:
            problems.add(file, path, "must not be empty")
            return None
        if f.choices and value not in f.choices:
            problems.add(file, path, f"{value!r} is not one of {', '.join(f.choices)}")
            return None
        if f.pattern and not re.fullmatch(f.pattern, value):
            problems.add(file, path, f"{value!r} is not a valid code ({PATTERN_HELP[f.pattern]})")
            return None
        return value
    if f.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(file, path, f"expected a whole number, found {_type_name(value)}")
            return None
        if f.minimum is not None and value < f.minimum:
            problems.add(file, path, f"must be at least {f.minimum}, found {value}")
            return None
        return value
    if f.type == "bool":
        if not isinstance(value, bool):
            problems.add(file, path, f"expected true or false, found {_type_name(value)}")
            return None
        return value
    if f.type == "strs":
        return _check_strs(value, f, file, path, problems)
    if f.type == "table":
        return check(value, f.spec, file, path, problems)
    if f.type == "tables":
        if not isinstance(value, list):
            problems.add(file, path, f"expected a list of tables, found {_type_name(value)}")
            return None
        if f.nonempty and not value:
            problems.add(file, path, "must not be empty")
        rows = [check(row, f.spec, file, f"{path}[{i}]", problems) for i, row in enumerate(value, 1)]
        return [row for row in rows if row is not None]
    raise AssertionError(f"unknown field type {f.type}")  # a bug in a spec, not in the data


def _check_strs(value: Any, f: Field, file: str, path: str, problems: Problems) -> list[str] | None:
    if not isinstance(value, list):
        problems.add(file, path, f"expected a list of text, found {_type_name(value)}")
        return None
    if f.nonempty and not value:
        problems.add(file, path, "must not be empty")
    out: list[str] = []
    for i, entry in enumerate(value, 1):
        if not isinstance(entry, str):
            problems.add(file, f"{path}[{i}]", f"expected text, found {_type_name(entry)}")
            continue
        entry = nfc(entry.strip())
        if not entry:
            problems.add(file, f"{path}[{i}]", "must not be empty")
            continue
        if f.choices and entry not in f.choices:
            problems.add(file, f"{path}[{i}]", f"{entry!r} is not one of {', '.join(f.choices)}")
            continue
        out.append(entry)
    if len(set(out)) != len(out):
        problems.add(file, path, "lists the same entry twice")
    return out


DEPARTMENT_CODE = r"[a-z][a-z0-9]{1,11}"
CODE = r"[A-Z][A-Z0-9]{1,15}"
PATTERN_HELP = {
    DEPARTMENT_CODE: "2-12 lower-case letters or digits, e.g. scjg; it is also the items file's name",
    CODE: "2-16 capital letters or digits, e.g. SCJG001",
}

CENTRE = (
    Field("name", "str", nonempty=True),
    Field("address", "str", nonempty=True),
    Field("hours", "str", nonempty=True),
)

DEPARTMENT = (
    Field("code", "str", nonempty=True, pattern=DEPARTMENT_CODE),
    Field("name", "str", nonempty=True),
    Field("kind", "str", choices=DEPARTMENT_KINDS),
    Field("summary", "str", required=False),
)

WINDOW = (
    Field("code", "str", nonempty=True, pattern=CODE),
    Field("name", "str", nonempty=True),
    Field("kind", "str", choices=WINDOW_KINDS),
    Field("departments", "strs", required=False),
    Field("place", "str", nonempty=True),
    Field("hours", "str", required=False),
)

MATERIAL = (
    Field("name", "str", nonempty=True),
    Field("form", "str", choices=FORMS),
    Field("count", "int", required=False, default=1, minimum=1),
    Field("required", "bool", required=False, default=True),
    Field("gap_allowed", "bool", required=False),
    Field("notes", "str", required=False),
)

ITEM = (
    Field("code", "str", nonempty=True, pattern=CODE),
    Field("name", "str", nonempty=True),
    Field("window", "str", nonempty=True),
    Field("kind", "str", choices=KINDS),
    Field("receive_tiers", "strs", choices=TIERS, nonempty=True),
    Field("handle_tier", "str", choices=TIERS),
    Field("legal_basis", "strs", nonempty=True),
    Field("conditions", "strs", required=False),
    Field("procedure", "strs", nonempty=True),
    Field("materials", "tables", spec=MATERIAL, nonempty=True),
    Field("legal_limit_days", "int", minimum=0),
    Field("promised_limit_days", "int", minimum=0),
    Field("fees", "strs", required=False),
    Field("place", "str", required=False),
    Field("hours", "str", required=False),
    Field("result", "str", required=False),
    Field("form", "str", required=False),
    Field("keywords", "strs", required=False),
    Field("applicant", "str", required=False, default="any", choices=APPLICANTS),
)

# In the published dict every item names its department (in the files, the file name does).
ITEM_DATA = (Field("department", "str", nonempty=True), *ITEM)

STEP = (
    Field("items", "strs", nonempty=True),
    Field("joint", "bool", required=False),
    Field("note", "str", required=False),
)

PROJECT_TYPE = (
    Field("code", "str", nonempty=True, pattern=CODE),
    Field("name", "str", nonempty=True),
    Field("description", "str", required=False),
    Field("min_investment_fen", "int", required=False, minimum=0),
    Field("steps", "tables", spec=STEP, nonempty=True),
)
