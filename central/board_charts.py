"""The supervision board's charts: pictures of figures the board has already counted.

The department and lateness charts draw the board's own tallies (board_store.tallies_all: two
index scans of the open cases), and the daily intake chart reads one month of the index
board_received; nothing here scans the case table, so the board stays fast at a million cases
(bench/central_board.py). Each chart names its figures in its description (web.charts), and the
tables under the charts keep every number for those who read rather than look.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from flask_babel import gettext
from markupsafe import Markup

from central.board_store import Tally
from web.charts import AMBER, BLUE, GREEN, RED, Series, multi_line_chart, stacked_bar_chart

DAYS = 30


def _short(text: str, limit: int = 12) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def open_by_department(tallies: Sequence[Tally], names: Mapping[str, str], *, limit: int = 12) -> Markup:
    """Open cases per department, most first, split into overdue / due soon / the rest; the
    departments past `limit` are summed in one bar."""
    rows = sorted((t for t in tallies if t.open), key=lambda t: (-t.open, t.key))
    shown, rest = rows[:limit], rows[limit:]
    labels = [_short(names.get(t.key, t.key)) for t in shown]
    overdue = [t.overdue for t in shown]
    soon = [t.due_soon for t in shown]
    other = [t.open - t.overdue - t.due_soon for t in shown]
    if rest:
        labels.append(gettext("%(n)s other departments", n=len(rest)))
        overdue.append(sum(t.overdue for t in rest))
        soon.append(sum(t.due_soon for t in rest))
        other.append(sum(t.open - t.overdue - t.due_soon for t in rest))
    total = sum(t.open for t in rows)
    desc = gettext(
        "%(total)s open cases in %(n)s departments; most at %(first)s (%(most)s).",
        total=total,
        n=len(rows),
        first=names.get(rows[0].key, rows[0].key) if rows else "—",
        most=rows[0].open if rows else 0,
    )
    return stacked_bar_chart(
        labels,
        [
            Series(gettext("Overdue"), overdue, RED),
            Series(gettext("Due soon"), soon, AMBER),
            Series(gettext("Other open"), other, BLUE),
        ],
        title=gettext("Open cases by department"),
        desc=desc,
        empty=gettext("No open cases."),
    )


def late_by(tallies: Sequence[Tally], names: Mapping[str, str], *, title: str, limit: int = 10) -> Markup:
    """The windows (or service points) with the most overdue and due-soon cases, worst first."""
    rows = sorted(
        (t for t in tallies if t.overdue or t.due_soon), key=lambda t: (-t.overdue, -t.due_soon, t.key)
    )[:limit]
    labels = [
        _short(f"{t.key} {names.get(t.key, '')}".strip() if t.key else gettext("city windows"), 14)
        for t in rows
    ]
    nothing = gettext("Nothing is overdue or due soon.")
    desc = (
        gettext(
            "Overdue and due-soon cases of the %(n)s worst; the worst is %(first)s with %(overdue)s overdue.",
            n=len(rows),
            first=labels[0],
            overdue=rows[0].overdue,
        )
        if rows
        else nothing
    )
    return stacked_bar_chart(
        labels,
        [
            Series(gettext("Overdue"), [t.overdue for t in rows], RED),
            Series(gettext("Due soon"), [t.due_soon for t in rows], AMBER),
        ],
        title=title,
        desc=desc,
        empty=nothing,
    )


def received_per_day(counts: Mapping[str, tuple[int, int]], last: dt.date, *, days: int = DAYS) -> Markup:
    """Cases received on each of the last `days` days, at service points and at city windows."""
    span = [last - dt.timedelta(days=days - 1 - i) for i in range(days)]
    nodes = [counts.get(d.isoformat(), (0, 0))[0] for d in span]
    windows = [counts.get(d.isoformat(), (0, 0))[1] for d in span]
    total = sum(nodes) + sum(windows)
    desc = gettext(
        "%(total)s cases received from %(first)s to %(last)s: %(nodes)s at service points, "
        "%(windows)s at city windows.",
        total=total,
        first=span[0].isoformat(),
        last=span[-1].isoformat(),
        nodes=sum(nodes),
        windows=sum(windows),
    )
    return multi_line_chart(
        [d.strftime("%m-%d") for d in span],
        [
            Series(gettext("At service points"), nodes, GREEN),
            Series(gettext("At city windows"), windows, BLUE),
        ],
        title=gettext("Cases received per day, last %(n)s days", n=days),
        desc=desc,
        label_every=5,
    )
