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
