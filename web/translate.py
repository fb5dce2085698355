"""The translation workflow in one command: `python -m web.translate extract|update|compile|check`.

    update   extract every msgid from web/, node/, central/ and casework/ (babel.cfg) and merge
             them into web/translations/zh/LC_MESSAGES/messages.po (new ones empty, gone ones
             dropped); then translate the empty ones in the .po
    compile  write messages.mo from messages.po (both are committed: apps never compile at start)
    check    list msgids without a Chinese translation, and whether the .mo is stale; exit 1 if so

The same code backs the tests (tests/web/test_web_translations.py).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TRANSLATIONS = HERE / "translations"
PO = TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
PACKAGES = ("web", "node", "central", "casework")
KEYWORDS = ("lazy_gettext", "_l", "N_")


def extract(packages: tuple[str, ...] = PACKAGES, out: Path | None = None) -> Catalog:
    """Every msgid marked in `packages` (folders or files, relative to the repository; those that
    exist), as a catalogue template."""
    dirs = [p for p in packages if (ROOT / p).exists()]
    with tempfile.TemporaryDirectory() as tmp:
        pot = out or Path(tmp) / "messages.pot"
        args = ["pybabel", "-q", "extract", "-F", str(HERE / "babel.cfg"), "--no-location",
                "--sort-output", "--omit-header", "-o", str(pot)]
        for keyword in KEYWORDS:
            args += ["-k", keyword]
        here = Path.cwd()
        try:
            os.chdir(ROOT)  # babel.cfg's patterns are relative to the paths given
            CommandLineInterface().run([*args, *dirs])
        finally:
            os.chdir(here)
        with pot.open("rb") as f:
            return read_po(f)


def compiled(po: Path = PO) -> bytes:
    """The .mo bytes `compile` writes for `po` (translated, non-fuzzy messages only)."""
    with po.open("rb") as f:
        catalog = read_po(f, locale="zh")
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def untranslated(po: Path = PO) -> list[str]:
    """msgids with no Chinese text (or only a fuzzy guess) in the catalogue."""
    with po.open("rb") as f:
        catalog = read_po(f, locale="zh")
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy or not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def update() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        extract(out=pot)
        CommandLineInterface().run(
            ["pybabel", "-q", "update", "-i", str(pot), "-o", str(PO), "-l", "zh", "--no-fuzzy-matching",
             "--ignore-obsolete", "--no-wrap"]
        )


def main(argv: list[str]) -> int:
    what = argv[0] if argv else ""
    if what == "update":
        update()
        print(f"updated {PO.relative_to(ROOT)}; untranslated: {len(untranslated())}")
    elif what == "compile":
        MO.write_bytes(compiled())
        print(f"wrote {MO.relative_to(ROOT)}")
    elif what == "check":
        missing = untranslated()
        for msgid in missing:
            print(f"untranslated: {msgid}")
        stale = not MO.exists() or MO.read_bytes() != compiled()
        if stale:
            print("messages.mo is stale: run `python -m web.translate compile`")
        return 1 if missing or stale else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
