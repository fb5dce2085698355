"""Small charts drawn on the server as inline SVG: no scripts, no external assets, printable.

Report and supervision pages need a picture of a handful of numbers; an SVG string built here prints
crisply on A4, works with scripts off, and needs nothing from a CDN. Values are scaled to the
largest one (a zero chart draws empty bars rather than dividing by zero); labels are escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

_FONT = 'font-family="Noto Sans CJK SC, sans-serif" font-size="12"'


def _scale(values: Sequence[float]) -> float:
    top = max([v for v in values if v is not None] or [0])
    return float(top) if top > 0 else 1.0


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str = "", width: int = 640,
              bar_height: int = 22, unit: str = "") -> Markup:
    """A horizontal bar chart, one bar per label, longest bar = largest value."""
    label_w, gap, top_pad = 160, 6, (24 if title else 4)
    height = top_pad + len(values) * (bar_height + gap) + 4
    room = width - label_w - 70
    top = _scale(values)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    if title:
        parts.append(f'<text x="0" y="16" {_FONT} font-weight="bold">{escape(title)}</text>')
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top_pad + i * (bar_height + gap)
        w = round(room * (value or 0) / top, 1)
        parts.append(f'<text x="{label_w - 6}" y="{y + bar_height * 0.7:.1f}" text-anchor="end" {_FONT}>'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_height}" fill="#0b4f8a"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_height * 0.7:.1f}" {_FONT}>'
                     f'{escape(str(value))}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels: Sequence[str], values: Sequence[float], *, title: str = "", width: int = 640,
               height: int = 220) -> Markup:
    """A line through `values` (one point per label, left to right), scaled to the largest value."""
    left, right, top_pad, bottom = 40, 10, (24 if title else 8), 24
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _scale(values)
    step = plot_w / max(len(values) - 1, 1)
    points = [(left + i * step, top_pad + plot_h - plot_h * (v or 0) / top) for i, v in enumerate(values)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart line-chart" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">']
    if title:
        parts.append(f'<text x="0" y="16" {_FONT} font-weight="bold">{escape(title)}</text>')
    parts.append(f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - right}" y2="{top_pad + plot_h}" '
                 'stroke="#888"/>')
    parts.append(f'<text x="{left - 4}" y="{top_pad + 10}" text-anchor="end" {_FONT}>{escape(_num(top))}</text>')
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#0b4f8a" stroke-width="2"/>')
    for (x, y), label in zip(points, labels, strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#0b4f8a"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle" {_FONT}>{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"
