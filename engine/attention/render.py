"""Drawing attention: pure functions from arrays to figures, images and SVG.

Nothing here runs a model. Inputs are the arrays computed by
:mod:`engine.attention.text` / :mod:`engine.attention.image` / :mod:`engine.attention.rollout`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from engine.core.draw import colourise
from engine.core.draw import font as draw_font

# Distinct colours for overlaid heads (bertviz uses a categorical palette the same way).
HEAD_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a",
    "#637939", "#8c6d31", "#843c39", "#7b4173",
)


def attention_heatmap(
    matrix: np.ndarray, query_labels: list[str], key_labels: list[str], title: str, zmax: float | None = None
) -> dict:
    """Interactive heatmap of a (Tq, Tk) attention matrix, as a Plotly figure dict (JSON-ready).

    Hover shows both tokens and the weight. Axes use integer positions with token tick
    labels, so repeated tokens ("the" twice) stay distinct. A plain dict rather than a
    ``plotly.graph_objects.Figure``: building and validating Figure objects cost more than
    the model's forward pass.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    queries = [f"{i}: {t}" for i, t in enumerate(query_labels)]
    keys = [f"{j}: {t}" for j, t in enumerate(key_labels)]
    custom = [[[query, key] for key in keys] for query in queries]
    tick_font = 11 if max(rows, cols) <= 32 else 8
    top = zmax if zmax is not None else (float(matrix.max()) or 1.0)
    heatmap = {
        "type": "heatmap",
        "z": matrix.round(5).tolist(),
        "x": list(range(cols)),
        "y": list(range(rows)),
        "customdata": custom,
        "colorscale": "Viridis",
        "zmin": 0,
        "zmax": top,
        "hovertemplate": "query %{customdata[0]}<br>key %{customdata[1]}<br>weight %{z:.4f}<extra></extra>",
        "colorbar": {"thickness": 12},
    }
    layout = {
        "title": {"text": f"{title}<br><sub>rows: query (attending) · columns: key (attended to)</sub>",
                  "font": {"size": 14}, "y": 0.98, "yanchor": "top"},
        "height": max(440, min(820, 160 + 16 * rows)),
        "margin": {"l": 10, "r": 10, "t": 90, "b": 10},
        # automargin: plotly.py's default template turns it on; a raw figure dict must ask for it,
        # or the token labels are clipped away.
        "xaxis": {"tickmode": "array", "tickvals": list(range(cols)), "ticktext": list(key_labels),
                  "side": "bottom", "tickangle": -60, "tickfont": {"size": tick_font}, "automargin": True},
        "yaxis": {"tickmode": "array", "tickvals": list(range(rows)), "ticktext": list(query_labels),
                  "autorange": "reversed", "tickfont": {"size": tick_font}, "automargin": True},
    }
    return {"data": [heatmap], "layout": layout}


def token_flow_bars(flow: np.ndarray, tokens: list[str], target_label: str) -> dict:
    """Bar chart (Plotly figure dict) of how much each input token flows, by rollout, into one position."""
    flow = np.asarray(flow, dtype=np.float64)
    bars = {
        "type": "bar",
        "x": list(range(len(flow))),
        "y": flow.round(5).tolist(),
        "customdata": [f"{i}: {t}" for i, t in enumerate(tokens)],
        "marker": {"color": "#4c78a8"},
        "hovertemplate": "%{customdata}<br>share %{y:.4f}<extra></extra>",
    }
    layout = {
        "title": {"text": f"Rollout: how much each input token flows into {target_label}", "font": {"size": 14},
                  "y": 0.95, "yanchor": "top"},
        "height": 340,
        "margin": {"l": 10, "r": 10, "t": 70, "b": 10},
        "xaxis": {"tickmode": "array", "tickvals": list(range(len(flow))), "ticktext": list(tokens), "tickangle": -60,
                  "automargin": True},
        "yaxis": {"title": {"text": "share of attention flow"}, "rangemode": "tozero", "automargin": True},
    }
    return {"data": [bars], "layout": layout}


@dataclass(frozen=True)
class GridLayout:
    """Where each layer x head thumbnail sits in the model-view image (pixels)."""

    layers: int
    heads: int
    cell: int  # thumbnail side
    gap: int  # space between thumbnails
    left: int  # margin for layer labels
    top: int  # margin for head labels

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(layer, head), 0-based, of the thumbnail under pixel (x, y); None for gaps and margins."""
        col, col_offset = divmod(int(x) - self.left, self.cell + self.gap)
        row, row_offset = divmod(int(y) - self.top, self.cell + self.gap)
        if not (0 <= row < self.layers and 0 <= col < self.heads):
            return None
        if col_offset >= self.cell or row_offset >= self.cell:
            return None
        return row, col




def model_view_image(
    attentions: np.ndarray, cell: int = 56, gap: int = 4, selected: tuple[int, int] | None = None
) -> tuple[Image.Image, GridLayout]:
    """Thumbnails of every layer x head attention matrix, as one RGB image.

    Args:
        attentions: (L, H, T, T) float array.
        selected: (layer, head), 0-based, outlined in red.

    Returns:
        The image (rows = layers, columns = heads, each cell scaled to its own max) and its layout,
        whose :meth:`GridLayout.cell_at` maps a click back to (layer, head).
    """
    layers, heads, tokens, _ = attentions.shape
    layout = GridLayout(layers=layers, heads=heads, cell=cell, gap=gap, left=34, top=18)
    width = layout.left + heads * (cell + gap)
    height = layout.top + layers * (cell + gap)
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    # Nearest-neighbour upscaling by index keeps every token's square crisp.
    index = (np.arange(cell) * tokens // cell).clip(0, tokens - 1)
    for layer in range(layers):
        for head in range(heads):
            matrix = attentions[layer, head][np.ix_(index, index)]
            y = layout.top + layer * (cell + gap)
            x = layout.left + head * (cell + gap)
            canvas[y : y + cell, x : x + cell] = colourise(matrix)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    font = draw_font(12)
    for head in range(heads):
        draw.text((layout.left + head * (cell + gap) + cell // 2 - 8, 2), f"H{head + 1}", fill=(60, 60, 60), font=font)
    for layer in range(layers):
        draw.text((2, layout.top + layer * (cell + gap) + cell // 2 - 7), f"L{layer + 1}", fill=(60, 60, 60), font=font)
    if selected is not None:
        layer, head = selected
        x = layout.left + head * (cell + gap)
        y = layout.top + layer * (cell + gap)
        draw.rectangle([x - 2, y - 2, x + cell + 1, y + cell + 1], outline=(220, 30, 30), width=3)
    return image, layout


def head_view_svg(
    layer_attention: np.ndarray,
    tokens: list[str],
    heads: list[int],
    selected_token: int | None = None,
    segment_ids: list[int] | None = None,
) -> str:
    """bertviz-style head view: tokens in two columns, lines from queries (left) to keys (right).

    Args:
        layer_attention: (H, T, T) attention of one layer.
        heads: 0-based heads to overlay, each in its own colour.
        selected_token: draw only this query's lines (all queries, fainter, when None).
        segment_ids: per-token 0/1/-1; sentence B tokens are set in italics and the A/B boundary is marked.

    Returns:
        A self-contained ``<svg>`` string. Line width and opacity are proportional to attention.
    """
    count = len(tokens)
    row = 20
    width, left_x, right_x = 560, 160, 400
    height = 40 + row * count
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="background:#fff;font-family:monospace;font-size:13px">'
    ]
    queries = range(count) if selected_token is None else [selected_token]
    # With every query drawn, faint lines would swamp the picture (and the page): keep the strong ones.
    min_weight = 0.01 if selected_token is not None else 0.1
    base_opacity = 1.0 if selected_token is not None else 0.35
    for head in heads:
        colour = HEAD_COLOURS[head % len(HEAD_COLOURS)]
        for query in queries:
            for key in range(count):
                weight = float(layer_attention[head, query, key])
                if weight < min_weight:
                    continue
                y1 = 30 + row * query
                y2 = 30 + row * key
                tooltip = (
                    f"<title>head {head + 1}: {html.escape(tokens[query])} → {html.escape(tokens[key])} = {weight:.3f}</title>"
                    if selected_token is not None
                    else ""
                )
                parts.append(
                    f'<line x1="{left_x + 6}" y1="{y1}" x2="{right_x - 6}" y2="{y2}" stroke="{colour}" '
                    f'stroke-width="{0.5 + 5 * weight:.2f}" stroke-opacity="{base_opacity * min(1.0, 0.15 + weight):.2f}">'
                    f"{tooltip}</line>"
                )
    segments = segment_ids or [0] * count
    for index, token in enumerate(tokens):
        y = 30 + row * index + 4
        style = ' font-style="italic"' if segments[index] == 1 else ""
        weight = ' font-weight="bold"' if index == selected_token else ""
        label = html.escape(token)
        parts.append(f'<text x="{left_x}" y="{y}" text-anchor="end"{style}{weight}>{label}</text>')
        parts.append(f'<text x="{right_x}" y="{y}"{style}>{label}</text>')
    if 1 in segments:
        boundary = segments.index(1)
        y = 30 + row * boundary - row // 2 - 2
        parts.append(f'<line x1="10" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#999" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{width - 12}" y="{y - 3}" text-anchor="end" fill="#777" font-size="10">A ▲ / ▼ B</text>')
    legend_x = 10
    for head in heads:
        colour = HEAD_COLOURS[head % len(HEAD_COLOURS)]
        parts.append(f'<rect x="{legend_x}" y="4" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 15}" y="14" font-size="11">H{head + 1}</text>')
        legend_x += 42
    parts.append("</svg>")
    return "".join(parts)


def overlay_heatmap(image: Image.Image, heat: np.ndarray, size: int = 256, alpha: float = 0.75) -> Image.Image:
    """Colour ``image`` by a (gh, gw) heat grid (>= 0); returns an RGB ``size`` x ``size`` image.

    Each patch keeps its square shape (nearest upscaling: the model saw patches, not a smooth field),
    and the colour's opacity grows with the heat, so low-attention regions still show the image.
    """
    base = np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR), dtype=np.float32)
    heat = np.asarray(heat, dtype=np.float64)
    scaled = heat / heat.max() if heat.max() > 0 else heat
    rows = (np.arange(size) * heat.shape[0] // size).clip(0, heat.shape[0] - 1)
    cols = (np.arange(size) * heat.shape[1] // size).clip(0, heat.shape[1] - 1)
    per_pixel = scaled[np.ix_(rows, cols)]
    colour = colourise(per_pixel, vmax=1.0, cmap="inferno").astype(np.float32)
    weight = (alpha * per_pixel ** 0.8)[..., None]
    return Image.fromarray((base * (1 - weight) + colour * weight).round().astype(np.uint8))
