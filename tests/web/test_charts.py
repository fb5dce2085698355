"""The server-drawn SVG charts parse as XML, scale to the largest value, escape their labels and name
themselves (title, desc) for screen readers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from web.charts import (
    AMBER,
    BLUE,
    GREEN,
    RED,
    Series,
    bar_chart,
    line_chart,
    multi_line_chart,
    stacked_bar_chart,
)

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


def test_every_chart_names_itself_for_screen_readers():
    for svg_text in (bar_chart(["a"], [1], title="办件量", desc="共1件"),
                     line_chart(["1", "2"], [1, 2], title="趋势", desc="两天"),
                     stacked_bar_chart(["a"], [Series("超期", [1], RED)], title="超期", desc="一件")):
        svg = ET.fromstring(str(svg_text))
        assert svg.get("role") == "img"
        title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
        assert title is not None and desc is not None and title.text and desc.text
        assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert "script" not in str(svg_text).lower()


def test_stacked_bars_add_up_and_scale_to_the_largest_total():
    svg = ET.fromstring(str(stacked_bar_chart(
        ["市民政局", "市公安局 <x>"],
        [Series("超期", [2, 0], RED), Series("即将到期", [2, 1], AMBER), Series("其他", [4, 1], BLUE)],
        title="在办件", desc="")))
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("class") != "legend"]
    first = [float(r.get("width")) for r in bars if r.get("y") == bars[0].get("y")]
    second = [float(r.get("width")) for r in bars if r.get("y") != bars[0].get("y")]
    assert len(first) == 3 and len(second) == 2  # a zero segment draws nothing
    assert abs(sum(second) - sum(first) / 4) < 0.2  # total 2 against 8
    assert first[0] == first[1] and abs(first[2] - 2 * first[0]) < 0.2
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "市公安局 <x>" in texts and "8" in texts and "2" in texts  # labels escaped, totals written
    legend = [r.get("fill") for r in svg.iter(f"{SVG}rect") if r.get("class") == "legend"]
    assert legend == [RED, AMBER, BLUE] and {"超期", "即将到期", "其他"} <= set(texts)
    tips = [t.text for t in svg.iter(f"{SVG}title")]
    assert "市民政局 超期: 2" in tips


def test_multi_line_chart_shares_one_scale_and_thins_its_labels():
    days = [f"11-{d:02d}" for d in range(1, 31)]
    svg = ET.fromstring(str(multi_line_chart(
        days, [Series("便民服务点", [1] * 30, GREEN), Series("市中心窗口", [4] + [2] * 29, BLUE)],
        title="每日收件", label_every=5)))
    lines = list(svg.iter(f"{SVG}polyline"))
    assert [line.get("stroke") for line in lines] == [GREEN, BLUE]
    circles = list(svg.iter(f"{SVG}circle"))
    assert len(circles) == 60
    top = min(float(c.get("cy")) for c in circles)
    assert float(circles[30].get("cy")) == top  # the 4 is the highest point of either line
    under_axis = [t.text for t in svg.iter(f"{SVG}text") if t.text and t.text.startswith("11-")]
    assert under_axis == ["11-01", "11-06", "11-11", "11-16", "11-21", "11-26", "11-30"]


def test_long_labels_are_cut_to_fit_with_the_full_name_as_tooltip():
    from web.charts import fit, text_width

    long = "S02 如皋市公安局出入境与户政服务大厅"
    svg = ET.fromstring(str(bar_chart([long, "S03 如皋市不动产登记中心"], [97, 95], width=400)))
    label_room = min(text_width(long) + 12, 400 * 0.4, 260)
    texts = [t for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    shown = texts[0].text
    assert shown.endswith("…") and shown.startswith("S02 如皋市")  # cut at the end, never at the start
    assert text_width(shown) <= label_room
    assert texts[0].find(f"{SVG}title").text == long
    assert texts[1].text == "S03 如皋市不动产登记中心" and texts[1].find(f"{SVG}title") is None  # it fits
    assert fit("短", 100) == "短" and fit("一二三四五六七八九十", 60).endswith("…")
