"""The translation workflow in one command: `python -m web.translate extract|update|compile|check`.

    update   extract every msgid from web/, node/, central/ and casework/ (babel.cfg) and merge
             them into web/translations/zh/LC_MESSAGES/messages.po (new ones empty, gone ones
             dropped); then translate the empty ones in the .po
    compile  write messages.mo from messages.po (both are committed: apps never compile at start)
    fill F   update, then take the Chinese of every msgid in the .po fragment F (msgid/msgstr
             pairs), then compile: one step, under a file lock, so that several people (or
             agents) working in one checkout never overwrite each other's translations
    check    list msgids without a Chinese translation, and whether the .mo is stale; exit 1 if so

The same code backs the tests (tests/web/test_web_translations.py).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

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


@contextlib.contextmanager
def locked() -> Any:
    """Hold an exclusive lock on the catalogue while it is read, merged and written."""
    try:
        import fcntl
    except ImportError:  # Windows: one person at a time is the rule there
        yield
        return
    with (TRANSLATIONS / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fill(fragment: Path) -> list[str]:
    """Update the catalogue, copy the translations of `fragment` into it, compile; the msgids of the
    fragment that no code marks (so were not merged) are returned."""
    with fragment.open("rb") as f:
        given = {m.id: m.string for m in read_po(f, locale="zh") if m.id and m.string}
    with locked():
        update()
        with PO.open("rb") as f:
            catalog = read_po(f, locale="zh")
        unused = [k if isinstance(k, str) else k[0] for k in given if k not in catalog]
        for message in catalog:
            if message.id in given:
                message.string = given[message.id]
                message.flags.discard("fuzzy")
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=0, omit_header=False)
        PO.write_bytes(buffer.getvalue())
        MO.write_bytes(compiled())
    return unused


def main(argv: list[str]) -> int:
    what = argv[0] if argv else ""
    if what == "fill" and len(argv) == 2:
        unused = fill(Path(argv[1]))
        for msgid in unused:
            print(f"not marked in any code (dropped): {msgid}")
        print(f"filled {PO.relative_to(ROOT)}; untranslated: {len(untranslated())}")
    elif what == "update":
        with locked():
            update()
        print(f"updated {PO.relative_to(ROOT)}; untranslated: {len(untranslated())}")
    elif what == "compile":
        with locked():
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
