"""Printable A4 notices (receipt, supplement, promise, delivery, payment notices).

casework decides what a notice says; this module only lays it out. It accepts the notice content
as a dataclass or a dict of this shape (keys it does not know are ignored):

    title        "补办件通知单" or an English msgid (translated when shown)
    number       the notice's own number
    case         the case number (printed, and put in the QR code)
    date         issue date (date, or ISO text)
    place        the issuing place's name
    applicant    the applicant's name (optional)
    fields       [(label, value), ...] or [{"label": ..., "value": ...}, ...]
    lines        ["paragraph", ...]  free text, e.g. the one-time list of missing materials
    table        {"columns": [...], "rows": [[...], ...]}  e.g. fees, materials
    total_fen    a money total printed under the table (optional, integer fen)
    legal        the legal text or basis printed in small type
    status_path  "/status?case=..." (default: built from `case`)
    kind         "receipt", "supplement", ... (a CSS class on the sheet)
    provisional  True if a date on it rests on a holiday calendar not yet published

casework.notices.Notice (with its Field(key, label, value)) has exactly this shape.

The QR code holds `<public base url>/status?case=<case>`, so an applicant can look the case up
from a phone; it is drawn as inline SVG (segno), so printing needs nothing from the network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import segno
from flask import current_app, render_template
from flask_babel import gettext
from markupsafe import Markup


@dataclass(frozen=True)
class NoticeView:
    """The notice as the template needs it: everything already text, in the user's language."""

    title: str
    kind: str = ""
    provisional: bool = False
    number: str = ""
    case: str = ""
    date: Any = None
    place: str = ""
    applicant: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    total_fen: int | None = None
    legal: str = ""
    status_url: str = ""
    qr: Markup = field(default_factory=Markup)


def _get(content: Any, name: str, default: Any = None) -> Any:
    if isinstance(content, Mapping):
        return content.get(name, default)
    return getattr(content, name, default)


def _text(value: Any) -> str:
    """Text for the page: msgids are translated; text already in Chinese passes through."""
    if value is None:
        return ""
    if isinstance(value, str):
        return gettext(value) if value else ""
    return str(value)


def _pairs(value: Iterable[Any] | None) -> list[tuple[str, str]]:
    pairs = []
    for item in value or []:
        if isinstance(item, Mapping):
            label, val = item.get("label"), item.get("value")
        elif dataclasses.is_dataclass(item):
            label, val = getattr(item, "label", ""), getattr(item, "value", "")
        else:
            label, val = item
        pairs.append((_text(label), "" if val is None else str(val)))
    return pairs


def qr_svg(data: str, *, scale: int = 3) -> Markup:
    """`data` as a QR code in inline SVG (medium error correction: survives a smudged print)."""
    return Markup(segno.make(data, error="m").svg_inline(scale=scale, border=2))


def status_url(case: str, *, public_base_url: str | None = None, status_path: str | None = None) -> str:
    """The public status-query address of `case`, as printed and encoded in the QR code."""
    base = public_base_url if public_base_url is not None else current_app.config.get("WEB_PUBLIC_URL", "")
    path = status_path or "/status?" + urlencode({"case": case})
    return base.rstrip("/") + path


def notice_view(content: Any, *, public_base_url: str | None = None) -> NoticeView:
    """Read notice content (dataclass or dict, see the module docstring) into a NoticeView."""
    case = str(_get(content, "case", "") or _get(content, "case_number", "") or "")
    table = _get(content, "table") or {}
    columns = [_text(c) for c in _get(table, "columns", []) or []]
    rows = [["" if v is None else str(v) for v in row] for row in _get(table, "rows", []) or []]
    url = status_url(case, public_base_url=public_base_url,
                     status_path=_get(content, "status_path")) if case else ""
    return NoticeView(
        title=_text(_get(content, "title", "")),
        kind=str(_get(content, "kind", "") or ""),
        provisional=bool(_get(content, "provisional", False)),
        number=str(_get(content, "number", "") or ""),
        case=case,
        date=_get(content, "date"),
        place=str(_get(content, "place", "") or _get(content, "issuing_place", "") or ""),
        applicant=str(_get(content, "applicant", "") or ""),
        fields=_pairs(_get(content, "fields")),
        lines=[_text(line) for line in _get(content, "lines", []) or []],
        columns=columns,
        rows=rows,
        total_fen=_get(content, "total_fen"),
        legal=_text(_get(content, "legal", "") or _get(content, "legal_text", "")),
        status_url=url,
        qr=qr_svg(url) if url else Markup(""),
    )


def render_notice(content: Any, *, public_base_url: str | None = None, back_url: str | None = None,
                  back_label: str | None = None, layout: str = "base.html") -> str:
    """The notice as a full HTML page laid out for A4, with a print button (needs a request).

    `public_base_url` defaults to the app's `WEB_PUBLIC_URL`; `back_url` adds a link back (not
    printed), labelled `back_label` (default "Back to the case"); `layout` is the template the page
    sits in (the kiosk passes its own, so a printed checklist keeps the kiosk's frame and idle reset).
    """
    view = notice_view(content, public_base_url=public_base_url)
    return render_template("notice.html", notice=view, back_url=back_url, back_label=back_label, layout=layout)
