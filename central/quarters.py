"""Quarters as the assessment names them: `2026-Q4` (text in URLs, records and bulletins).

The quarterly assessment (分中心季度考核) is kept, checked and published per calendar quarter, so
every record of it carries its quarter as this text and every page parses it the same way:
`Quarter.parse` refuses anything else, so a mistyped URL is a clear 404, never a wrong quarter.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    n: int  # 1..4

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """`2026-Q4` -> Quarter(2026, 4); ValueError for anything else (lower-case q included)."""
        found = _QUARTER.match(text.strip()) if isinstance(text, str) else None
        if not found or not 2000 <= int(found.group(1)) <= 2999:
            raise ValueError(f"not a quarter: {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def text(self) -> str:
        return f"{self.year}-Q{self.n}"

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, 3 * self.n - 2, 1)

    @property
    def last(self) -> dt.date:
        return self.next().first - dt.timedelta(days=1)

    @property
    def months(self) -> tuple[str, str, str]:
        return tuple(f"{self.year}-{3 * self.n - 2 + i:02d}" for i in range(3))  # type: ignore[return-value]

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.n == 4 else Quarter(self.year, self.n + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.n == 1 else Quarter(self.year, self.n - 1)

    def contains(self, day: dt.date) -> bool:
        return self.first <= day <= self.last

    def __str__(self) -> str:
        return self.text


def year_quarters(year: int) -> list[Quarter]:
    return [Quarter(year, n) for n in (1, 2, 3, 4)]


def day_of(iso_time: str) -> str:
    """The China-time date (ISO) of a record's ISO time with offset; '' if unreadable. (The same
    reading as central.runtime.china_day, here so that projections need not import the runtime.)"""
    try:
        parsed = dt.datetime.fromisoformat(iso_time)
    except (TypeError, ValueError):
        return ""
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone(dt.timedelta(hours=8)))
    return parsed.date().isoformat()
