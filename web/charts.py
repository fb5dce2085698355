"""Small charts drawn on the server as inline SVG: no scripts, no external assets, printable.

Report and supervision pages need a picture of a handful of numbers; an SVG string built here prints
crisply on A4, works with scripts off, and needs nothing from a CDN. Values are scaled to the
largest one (a zero chart draws empty bars rather than dividing by zero); labels are escaped.

Every chart is an image with a name: `role="img"`, a `<title>` (the chart's title) and a `<desc>`
(what it shows, in words, with the figures a reader needs) that `aria-labelledby` points to, so a
screen reader reads the chart instead of skipping it. Values are also written next to the bars.
Series colours differ in lightness as well as hue, so a chart printed in grey still reads.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_FONT = 'font-family="Noto Sans CJK SC, Microsoft YaHei, sans-serif" font-size="12"'
BLUE, AMBER, RED, GREEN, GREY = "#0b4f8a", "#e3a21a", "#b3261e", "#1d6b35", "#9aa6b3"


@dataclass(frozen=True)
class Series:
    """One named row of values in a stacked bar or multi-line chart, with its colour."""

    name: str
    values: Sequence[float]
    colour: str = BLUE


def _scale(values: Sequence[float]) -> float:
    top = max([v for v in values if v is not None] or [0])
    return float(top) if top > 0 else 1.0


def text_width(text: str) -> float:
    """The width of `text` at the charts' 12 px font, estimated: a Chinese (full-width) character is
    one em, anything else a little over half. Good enough to lay labels out without a font."""
    return sum(12.0 if unicodedata.east_asian_width(c) in "WF" else 7.0 for c in text)


def fit(text: str, room: float) -> str:
    """`text` cut to fit `room` pixels, ending in "…" when cut: a long sub-centre name must not run
    off the left edge of the picture (the full name stays in the label's tooltip)."""
    if text_width(text) <= room:
        return text
    while text and text_width(text) + 12 > room:
        text = text[:-1]
    return text + "…"


def _label(label: str, x: float, y: float, room: float) -> str:
    """A right-aligned label cut to `room`, its full text as the tooltip."""
    shown = fit(label, room)
    tip = f"<title>{escape(label)}</title>" if shown != label else ""
    return f'<text x="{x}" y="{y:.1f}" text-anchor="end" {_FONT}>{escape(shown)}{tip}</text>'


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _open(kind: str, width: int, height: int, title: str, desc: str, key: str) -> list[str]:
    """The <svg> element with its accessible name (title) and description (desc)."""
    ident = "chart-" + hashlib.sha1(f"{kind}|{title}|{desc}|{key}".encode()).hexdigest()[:10]
    labelled = " ".join(i for i, text in ((f"{ident}-t", title), (f"{ident}-d", desc)) if text)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}"'
             + (f' aria-labelledby="{labelled}"' if labelled else "") + ">"]
    if title:
        parts.append(f'<title id="{ident}-t">{escape(title)}</title>')
    if desc:
        parts.append(f'<desc id="{ident}-d">{escape(desc)}</desc>')
    return parts


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts, at = [], x
    for s in series:
        parts.append(f'<rect class="legend" x="{at:.1f}" y="{y - 10}" width="12" height="12" fill="{s.colour}"/>')
        parts.append(f'<text x="{at + 16:.1f}" y="{y}" {_FONT}>{escape(s.name)}</text>')
        at += 16 + 13 * len(s.name) + 18
    return parts


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str = "", width: int = 640,
              bar_height: int = 22, unit: str = "", desc: str = "") -> Markup:
    """A horizontal bar chart, one bar per label, longest bar = largest value."""
    gap, top_pad = 6, (24 if title else 4)
    label_w = round(min(max([text_width(str(x)) for x in labels] or [0]) + 12, width * 0.4, 260))
    label_w = max(label_w, 60)
    height = top_pad + len(values) * (bar_height + gap) + 4
    room = width - label_w - 70
    top = _scale(values)
    parts = _open("bar-chart", width, height, title, desc, "|".join(map(str, labels)))
    if title:
        parts.append(f'<text x="0" y="16" {_FONT} font-weight="bold" aria-hidden="true">{escape(title)}</text>')
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top_pad + i * (bar_height + gap)
        w = round(room * (value or 0) / top, 1)
        parts.append(_label(str(label), label_w - 6, y + bar_height * 0.7, label_w - 8))
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_height}" fill="{BLUE}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}" {_FONT}>'
                     f'{escape(str(value))}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str = "", desc: str = "",
                      width: int = 640, bar_height: int = 18, label_width: int = 170, empty: str = "") -> Markup:
    """Horizontal bars made of one segment per series (e.g. overdue, due soon, on time), a legend on
    top and each bar's total at its end; the longest bar is the largest total. With no bars, the
    `empty` text says so where they would be."""
    gap, top_pad = 6, (44 if title else 24)
    totals = [sum((s.values[i] or 0) for s in series) for i in range(len(labels))]
    height = top_pad + max(len(labels), 1) * (bar_height + gap) + 4
    room = width - label_width - 60
    top = _scale(totals)
    parts = _open("stacked-bar-chart", width, height, title, desc, "|".join(map(str, labels)))
    if title:
        parts.append(f'<text x="0" y="16" {_FONT} font-weight="bold" aria-hidden="true">{escape(title)}</text>')
    parts += _legend(series, label_width, top_pad - 10)
    if not labels and empty:
        parts.append(f'<text x="{label_width}" y="{top_pad + bar_height * 0.72:.1f}" {_FONT} fill="#5a6470">'
                     f"{escape(empty)}</text>")
    for i, (label, total) in enumerate(zip(labels, totals, strict=True)):
        y = top_pad + i * (bar_height + gap)
        parts.append(_label(str(label), label_width - 6, y + bar_height * 0.72, label_width - 8))
        x = float(label_width)
        for s in series:
            value = s.values[i] or 0
            w = round(room * value / top, 1)
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w}" height="{bar_height}" fill="{s.colour}">'
                             f'<title>{escape(label)} {escape(s.name)}: {escape(_num(value))}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_height * 0.72:.1f}" {_FONT}>{escape(_num(total))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels: Sequence[str], values: Sequence[float], *, title: str = "", width: int = 640,
               height: int = 220, desc: str = "") -> Markup:
    """A line through `values` (one point per label, left to right), scaled to the largest value."""
    return multi_line_chart(labels, [Series("", values)], title=title, width=width, height=height, desc=desc)


def multi_line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str = "", desc: str = "",
                     width: int = 640, height: int = 220, label_every: int = 1) -> Markup:
    """One line per series over the same labels (e.g. days), all on one scale; a legend when the
    series are named; every `label_every`-th label is written under the axis (and the last one)."""
    named = [s for s in series if s.name]
    left, right, bottom = 40, 10, 24
    top_pad = (24 if title else 8) + (18 if named else 0)
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _scale([v for s in series for v in s.values])
    step = plot_w / max(len(labels) - 1, 1)
    parts = _open("line-chart", width, height, title, desc, "|".join(map(str, labels)))
    if title:
        parts.append(f'<text x="0" y="16" {_FONT} font-weight="bold" aria-hidden="true">{escape(title)}</text>')
    if named:
        parts += _legend(named, left, top_pad - 6)
    parts.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" y2="{top_pad + plot_h}" '
                 'stroke="#888"/>')
    parts.append(f'<line x1="{left}" y1="{top_pad}" x2="{width - right}" y2="{top_pad}" stroke="#ddd"/>')
    parts.append(f'<text x="{left - 4}" y="{top_pad + 10}" text-anchor="end" {_FONT}>{escape(_num(top))}</text>')
    parts.append(f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end" {_FONT}>0</text>')
    for s in series:
        points = [(left + i * step, top_pad + plot_h - plot_h * (v or 0) / top) for i, v in enumerate(s.values)]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{s.colour}" stroke-width="2"/>')
        for (x, y), label, value in zip(points, labels, s.values, strict=True):
            name = f"{s.name} " if s.name else ""
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{s.colour}">'
                         f'<title>{escape(label)} {escape(name)}{escape(_num(value or 0))}</title></circle>')
    for i, label in enumerate(labels):
        last = i == len(labels) - 1
        if i % max(label_every, 1) == 0 or last:
            x = left + i * step
            anchor = "end" if last and len(labels) > 1 else "middle"  # the last label stays inside the chart
            parts.append(f'<text x="{x + (4 if anchor == "end" else 0):.1f}" y="{height - 6}" text-anchor="{anchor}" '
                         f"{_FONT}>{escape(label)}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))
