import numpy as np

from engine.attention.render import attention_heatmap, head_view_svg, model_view_image, overlay_heatmap


def _random_attentions(layers=3, heads=4, tokens=5, seed=0):
    raw = np.random.default_rng(seed).random((layers, heads, tokens, tokens))
    return raw / raw.sum(-1, keepdims=True)


def test_model_view_click_maps_back_to_every_layer_and_head():
    attentions = _random_attentions()
    image, layout = model_view_image(attentions, cell=20, gap=3)
    assert image.size == (layout.left + 4 * 23, layout.top + 3 * 23)
    for layer in range(3):
        for head in range(4):
            x = layout.left + head * 23 + 10
            y = layout.top + layer * 23 + 10
            assert layout.cell_at(x, y) == (layer, head)
    assert layout.cell_at(1, 1) is None  # label margin
    assert layout.cell_at(layout.left + 21, layout.top + 5) is None  # gap between thumbnails


def test_heatmap_keeps_repeated_tokens_distinct_and_hover_values():
    matrix = _random_attentions(1, 1, 3)[0, 0]
    figure = attention_heatmap(matrix, ["the", "cat", "the"], ["the", "cat", "the"], "t")
    trace = figure["data"][0]
    assert figure["layout"]["xaxis"]["ticktext"] == ["the", "cat", "the"]
    assert trace["customdata"][2][0][0] == "2: the" and trace["customdata"][0][1][1] == "1: cat"
    np.testing.assert_allclose(np.asarray(trace["z"]), matrix, atol=1e-5)
    # The dict is a valid Plotly figure (what the browser's plotly.js receives).
    import plotly.graph_objects as go

    assert go.Figure(figure).data[0].type == "heatmap"


def test_head_view_draws_one_line_per_head_and_key_for_selected_token():
    attentions = np.full((2, 3, 3), 1 / 3)
    svg = head_view_svg(attentions, ["[CLS]", "a", "[SEP]"], heads=[0, 1], selected_token=1, segment_ids=[-1, 0, -1])
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count("<line") == 2 * 3
    assert "#1f77b4" in svg and "#ff7f0e" in svg  # two heads, two colours


def test_overlay_is_rgb_at_requested_size():
    from PIL import Image

    out = overlay_heatmap(Image.new("RGB", (10, 20)), np.eye(4), size=64)
    assert out.size == (64, 64) and out.mode == "RGB"


def _svg_cells(svg: str):
    import re

    return re.findall(r'<rect x="([\d.]+)" y="([\d.]+)" width="[\d.]+" height="[\d.]+" fill="(#[0-9a-f]{6})">'
                      r"<title>(.*?)</title></rect>", svg, re.S)


def test_svg_heatmap_has_a_cell_per_weight_with_its_colour_and_hover():
    from engine.attention.render import attention_heatmap_svg
    from engine.core.draw import colour_lut

    matrix = np.array([[1.0, 0.0, 0.0], [0.5, 0.25, 0.25], [0.0, 0.0, 1.0]])
    svg = attention_heatmap_svg(matrix, ["the", "<b>", "the"], ["the", "<b>", "the"], "Layer 1, head 2", zmax=1.0)
    cells = _svg_cells(svg)
    assert len(cells) == 9
    lut = colour_lut("viridis")
    hexes = ["#%02x%02x%02x" % tuple(lut[i]) for i in (255, 0, 127)]
    assert [cells[0][2], cells[1][2], cells[3][2]] == hexes  # 1.0 yellow, 0.0 purple, 0.5 the middle
    # rows are queries, columns keys; repeated tokens keep their positions; markup in a token is text
    assert cells[5][3] == "query 1: &lt;b&gt;\nkey 2: the\nweight 0.2500"
    assert float(cells[1][0]) > float(cells[0][0]) and cells[1][1] == cells[0][1]  # same row, next column
    assert "<b>" not in svg and "Layer 1, head 2" in svg and 'class="nd-chart"' in svg


def test_svg_heatmap_thins_tick_labels_like_the_plotly_one_and_cuts_long_tokens():
    from engine.attention.render import attention_heatmap_svg
    from engine.core.svg import MAX_TICK_LABELS

    tokens = [f"t{i}" for i in range(64)]
    svg = attention_heatmap_svg(np.full((64, 64), 1 / 64), tokens, tokens, "x")
    assert len(_svg_cells(svg)) == 64 * 64
    import re

    labels = re.findall(r"<text[^>]*>(t\d+)</text>", svg)
    assert labels == [f"t{i}" for i in range(0, 64, 2)] * 2 and 64 > MAX_TICK_LABELS  # rows, then columns
    long = attention_heatmap_svg(np.ones((1, 1)), ["a" * 40], ["b"], "x")
    assert "a" * 13 + "…" in long and "a" * 40 in long  # cut on the axis, whole in the hover


def test_svg_flow_bars_are_as_tall_as_their_share():
    import re

    from engine.attention.render import token_flow_bars_svg

    svg = token_flow_bars_svg(np.array([0.5, 0.25, 0.25]), ["[CLS]", "a", "[SEP]"], "0: [CLS]")
    heights = [float(h) for h in re.findall(r'fill="#4c78a8"', svg) and re.findall(r'height="([\d.]+)" fill="#4c78a8"', svg)]
    assert len(heights) == 3 and heights[0] == 2 * heights[1] == 2 * heights[2]
    assert "1: a\nshare 0.2500" in svg and "flows into 0: [CLS]" in svg
