"""Export the initial holiday calendar from the `chinese-calendar` package (dev-only).

The package is a TEST dependency: casework never imports it at run time, because it raises for
every year it has no data for and a node cannot upgrade packages offline. Instead its data is
exported once into casework/data/calendar/YYYY.json, the same dict form central signs and
publishes (docs/contracts.md "Calendar data"); later years arrive as calendar records.

    .venv/bin/python tools/export_calendar.py          # rewrite the packaged files
    .venv/bin/python tools/export_calendar.py --check  # exit 1 if they differ from the package

tests/casework/test_calendar.py re-exports and compares, so the packaged data cannot drift.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent.parent / "casework" / "data" / "calendar"


def _chinese_name(english: str) -> str:
    """The Chinese name chinese_calendar keeps for a holiday's English name."""
    from chinese_calendar.constants import Holiday

    return Holiday(english).chinese


def export_years() -> list[dict[str, Any]]:
    """One calendar dict per year the installed chinese_calendar knows, oldest first."""
    import chinese_calendar
    from chinese_calendar.constants import holidays, workdays

    source = (
        f"chinese-calendar {chinese_calendar.__version__} "
        "(国务院办公厅关于部分节假日安排的通知 / State Council holiday notices)"
    )
    years = sorted({d.year for d in holidays} | {d.year for d in workdays})
    result = []
    for year in years:
        days = sorted(d for d in holidays if d.year == year)
        extra = sorted(d for d in workdays if d.year == year)
        names = {d.isoformat(): _chinese_name(holidays[d]) for d in days}
        names.update({d.isoformat(): _chinese_name(workdays[d]) for d in extra})
        result.append({
            "year": year,
            "holidays": [d.isoformat() for d in days],
            "workdays": [d.isoformat() for d in extra],
            "names": dict(sorted(names.items())),
            "source": source,
        })
    return result


def dumps(year: dict[str, Any]) -> str:
    """The file text: stable (sorted keys, one date a line) so diffs show exactly what changed."""
    return json.dumps(year, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    differ = []
    for year in export_years():
        path = OUT / f"{year['year']}.json"
        text = dumps(year)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                differ.append(path.name)
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if differ:
        print("differ from chinese_calendar:", ", ".join(differ), file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'wrote'} {len(export_years())} years in {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
