"""engine.core.svg: charts as SVG strings. Values, positions and escaping, read back from the markup."""

from __future__ import annotations

import re

import numpy as np
import pytest

from engine.core import svg
from engine.core.draw import colour_lut


def test_colour_bar_runs_from_dark_to_bright_and_needs_no_gradient_id():
    parts = "".join(svg.colour_bar(100, 10, 320, 0.8))
    fills = re.findall(r'y="([\d.]+)" width="14" height="[\d.]+" fill="(#[0-9a-f]{6})"', parts)
    assert len(fills) == 32 and "url(#" not in parts and "<linearGradient" not in parts
    lut = colour_lut("viridis")
    by_height = sorted(fills, key=lambda item: -float(item[0]))  # bottom first
    assert by_height[0][1] == "#%02x%02x%02x" % tuple(lut[4]) and by_height[-1][1] == "#%02x%02x%02x" % tuple(lut[251])
    assert ">0.8</text>" in parts and ">0.4</text>" in parts and ">0</text>" in parts


def test_heatmap_outlines_the_highlighted_row_and_names_its_axes():
    out = svg.heatmap(np.eye(3), ["a", "b", "<s>"], ["x", "y", "z"], "T", zmax=1.0, names=("output", "input"),
                      highlight_row=2, caption="rows: output")
    cells = re.findall(r'<rect x="[\d.]+" y="([\d.]+)"[^>]*><title>(output \d: [^\n]*)\n(input \d: \w)\nweight ([\d.]+)',
                       out)
    assert len(cells) == 9 and cells[8][1:] == ("output 2: &lt;s&gt;", "input 2: z", "1.0000")
    outline = float(re.search(r'y="([\d.]+)" width="[\d.]+" height="[\d.]+" fill="none" stroke="#ff2d55"', out).group(1))
    assert outline == pytest.approx(float(cells[6][0]) - 1.5)  # around the third row
    assert "<s>" not in out and "rows: output" in out
    assert 'stroke="#ff2d55"' not in svg.heatmap(np.eye(3), list("abc"), list("xyz"), "T", highlight_row=7)


def test_heatmap_grid_draws_one_sharp_thumbnail_per_layer_and_head():
    stack = np.random.default_rng(0).random((2, 3, 4, 5))
    out = svg.heatmap_grid(stack, "grid", selected=(1, 2), width=440)
    images = re.findall(r'<image x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"[^>]*href="data:image/png;base64,', out)
    assert len(images) == 6 and out.count('stroke="#ff2d55"') == 1 and "image-rendering:pixelated" in out
    assert [f"L{layer} H{head}" for layer in (1, 2) for head in (1, 2, 3)] == re.findall(r">(L\d H\d)</text>", out)
    assert max(float(x) + float(w) for x, _, w in images) <= 440 and 'viewBox="0 0 440 ' in out
    assert 'min-width:440px' in out  # 14 px text is never shrunk


def test_lines_place_points_by_value_and_leave_gaps_for_missing_ones():
    series = [{"name": "A", "values": [0, 50, 100], "colour": "#111111"},
              {"name": "B & co", "values": [100, None, 100], "colour": "#222222", "shape": "square"}]
    out = svg.lines(["1-5", "6-10", "11-15"], series, "Exact match", "length", "exact match (%)", note="held out")
    circles = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)" r="[\d.]+" fill="#111111"><title>A:', out)]
    assert len(circles) == 3 and circles[0] > circles[1] > circles[2]  # 0 lowest, 100 highest (SVG y grows down)
    assert circles[0] - circles[1] == pytest.approx(circles[1] - circles[2])
    assert out.count("<polyline ") == 2 and "A: 6-10 → 50.0%" in out and "B &amp; co" in out
    assert len(re.findall(r'fill="#222222"><title>B &amp; co: ', out)) == 2  # the None point is not drawn
    assert "held out" in out and ">length</text>" in out
