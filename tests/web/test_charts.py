"""The server-drawn SVG charts parse as XML, scale to the largest value and escape their labels."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from web.charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_bar_chart_scales_bars_to_the_largest_value_and_escapes_labels():
    svg = ET.fromstring(str(bar_chart(["W05 <窗口>", "W06", "W07"], [10, 5, 0], title="办件 & 量")))
    widths = [float(r.get("width")) for r in svg.iter(f"{SVG}rect")]
    assert widths[0] > 0 and widths[1] == widths[0] / 2 and widths[2] == 0
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "W05 <窗口>" in texts and "办件 & 量" in texts


def test_all_zero_and_empty_charts_still_draw():
    assert ET.fromstring(str(bar_chart([], []))).tag == f"{SVG}svg"
    zero = ET.fromstring(str(bar_chart(["a"], [0])))
    assert [r.get("width") for r in zero.iter(f"{SVG}rect")] == ["0.0"]
    assert ET.fromstring(str(line_chart([], []))).tag == f"{SVG}svg"


def test_line_chart_highest_point_at_the_top():
    svg = ET.fromstring(str(line_chart(["1", "2", "3"], [1, 4, 2], title="趋势", height=220)))
    ys = [float(c.get("cy")) for c in svg.iter(f"{SVG}circle")]
    assert ys[1] == min(ys) and ys[0] == max(ys)
