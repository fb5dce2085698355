"""What both apps show of a service point's monthly case report (办件月报表): the figures in words,
the A4 sheet (template `monthly_report/sheet.html`) and the XLSX workbook.

A node shows its own report before and after submitting it; central shows the submitted record to
supervisors. They must read the same, line for line, so the sheet is built here once from a report
body (casework.monthly_report) and the apps only add their own panels around it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext, lazy_gettext

from casework.monthly_report import REMARKS
from web.filters import datetime_cn, yuan

REMARK_LABELS = {
    "matters": lazy_gettext("Notable matters this month"),
    "problems": lazy_gettext("Problems met"),
    "measures": lazy_gettext("Measures for next month"),
}
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def percent(part: int, whole: int) -> float | None:
    """A share to one decimal, as central's monthly report rounds it (None when nothing to share)."""
    return round(100 * part / whole, 1) if whole else None


def figure_lines(figures: Mapping[str, int]) -> list[tuple[str, str, Any]]:
    """(key, label, value) for every line of the sheet; rates derived from the whole numbers, money
    as yuan text, an absent figure as None."""
    f = {k: figures.get(k) for k in ("received", "accepted", "finished", "on_time", "overdue", "returned",
                                     "refused", "fees_fen", "evaluated", "satisfied")}
    on_time = percent(f["on_time"] or 0, f["finished"] or 0) if f["finished"] is not None else None
    satisfied = percent(f["satisfied"] or 0, f["evaluated"] or 0) if f["evaluated"] is not None else None
    return [
        ("received", gettext("Cases received"), f["received"]),
        ("accepted", gettext("Cases accepted"), f["accepted"]),
        ("finished", gettext("Cases finished"), f["finished"]),
        ("on_time", gettext("of which finished on time"), f["on_time"]),
        ("on_time_pct", gettext("On-time rate %"), on_time),
        ("overdue", gettext("Overdue"), f["overdue"]),
        ("returned", gettext("Returned"), f["returned"]),
        ("refused", gettext("Refused"), f["refused"]),
        ("fees_fen", gettext("Fees collected (yuan)"), yuan(f["fees_fen"]) if f["fees_fen"] is not None else None),
        ("evaluated", gettext("Cases rated by applicants"), f["evaluated"]),
        ("satisfied", gettext("of which satisfied (4 or 5)"), f["satisfied"]),
        ("satisfaction_pct", gettext("Satisfaction rate %"), satisfied),
    ]


def figure_label(key: str) -> str:
    """The label of one figure (a FIGURES name or a derived rate), as the sheet shows it."""
    return next((label for k, label, _value in figure_lines({}) if k == key), key)


@dataclass(frozen=True)
class Sheet:
    """One monthly report as the A4 sheet shows it. `draft`: figures as they stand, not submitted."""

    node: str
    node_name: str
    month: str
    figures: Mapping[str, int]
    remarks: Mapping[str, str] = field(default_factory=dict)
    submitted_by: Mapping[str, str] = field(default_factory=dict)
    version: int = 0
    reason: str = ""
    signed_at: str = ""            # ISO time of the node's clock when it signed (information only)
    received_at: str = ""          # ISO time of central's receipt (the legal one), when known
    record_id: str = ""
    draft: bool = False
    centre: str = ""               # the centre it is addressed to

    @property
    def title(self) -> str:
        return gettext("Monthly case report")

    @property
    def period(self) -> str:
        year, month = self.month.split("-")
        return gettext("%(month)s/%(year)s", year=year, month=int(month))  # 9/2026, 2026年9月

    def lines(self) -> list[tuple[str, str, Any]]:
        return figure_lines(self.figures)

    def line_pairs(self) -> list[tuple[tuple[str, str, Any], tuple[str, str, Any]]]:
        """The lines in two columns (cases handled | closures, fees, ratings), so the sheet keeps
        room for the remarks and signatures on one A4 page."""
        lines = self.lines()
        half = len(lines) // 2
        return list(zip(lines[:half], lines[half:], strict=True))

    def remark_sections(self) -> list[tuple[str, str]]:
        return [(str(REMARK_LABELS[k]), self.remarks.get(k, "")) for k in REMARKS]


def sheet_from_body(body: Mapping[str, Any], *, node_name: str, signed_at: str = "", received_at: str = "",
                    record_id: str = "", centre: str = "") -> Sheet:
    """The sheet of a submitted report body (casework.monthly_report form)."""
    return Sheet(node=str(body.get("node", "")), node_name=node_name, month=str(body.get("month", "")),
                 figures=dict(body.get("figures") or {}), remarks=dict(body.get("remarks") or {}),
                 submitted_by=dict(body.get("submitted_by") or {}), version=int(body.get("version") or 0),
                 reason=str(body.get("reason", "")), signed_at=signed_at, received_at=received_at,
                 record_id=record_id, centre=centre)


def _plain(value: Any) -> Any:
    return "" if value is None else value


def workbook(sheet: Sheet, details: Sequence[tuple[str, str, Sequence[tuple[str, Mapping[str, int]]]]] = ()) -> bytes:
    """The report as an XLSX file: the sheet first, then any detail tables (title, first column's
    heading, [(label, figures)]), e.g. the month by service item."""
    from openpyxl import Workbook  # loaded on the first export: a node's memory is small
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    main = book.active
    main.title = gettext("Monthly report")[:31]
    main.append([sheet.title])
    main["A1"].font = Font(bold=True, size=14)
    main.append([gettext("Service point"), f"{sheet.node} {sheet.node_name}".strip()])
    main.append([gettext("Month"), sheet.month])
    if sheet.draft:
        main.append([gettext("Status"), gettext("Draft: not submitted")])
    else:
        main.append([gettext("Version"), sheet.version])
        by = sheet.submitted_by
        main.append([gettext("Submitted by"), f"{by.get('name', '')} ({by.get('username', '')})"])
        if sheet.reason:
            main.append([gettext("Reason for the correction"), sheet.reason])
        if sheet.received_at:
            main.append([gettext("Received by the centre"), datetime_cn(sheet.received_at)])
    main.append([])
    main.append([gettext("Figure"), gettext("Value")])
    for key, label, value in sheet.lines():
        main.append([label, sheet.figures.get("fees_fen", 0) / 100 if key == "fees_fen" else _plain(value)])
    main.append([])
    for label, text in sheet.remark_sections():
        main.append([label, text])
        main.cell(row=main.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    main.column_dimensions["A"].width = 30
    main.column_dimensions["B"].width = 70
    for title, heading, rows in details:
        table = book.create_sheet(title[:31])
        labels = [label for _key, label, _value in figure_lines({})]
        table.append([heading, *labels])
        for name, figures in rows:
            values = [figures.get("fees_fen", 0) / 100 if key == "fees_fen" else _plain(value)
                      for key, _label, value in figure_lines(figures)]
            table.append([name, *values])
        table.column_dimensions["A"].width = 36
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_name(node: str, month: str) -> str:
    """A download name people can file: `S01-2026-09-monthly-report.xlsx`."""
    return f"{node}-{month}-monthly-report.xlsx"
