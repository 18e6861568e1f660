"""Drawing attention: pure functions from arrays to figures, images and SVG.

Nothing here runs a model. Inputs are the arrays computed by
:mod:`engine.attention.text` / :mod:`engine.attention.image` / :mod:`engine.attention.rollout`.
"""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from engine.core import svg
from engine.core.draw import CHART_FONT_PX, colour_lut, colourise
from engine.core.draw import font as draw_font

FONT = {"size": CHART_FONT_PX}  # every chart text: ticks, axis titles, colour bars
TITLE_FONT = {"size": CHART_FONT_PX + 2}
MODEL_VIEW_FONT_PX = 22  # the model view is shown at ~70% of its size
HEAD_VIEW_WIDTH = 470  # px: the head view's column at 1280 px, so it is never scrolled sideways

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
        "colorbar": {"thickness": 14, "tickfont": FONT},
    }
    x_ticks, y_ticks = svg.tick_positions(cols), svg.tick_positions(rows)
    layout = {
        "title": {"text": f"{title}<br><span style='font-size:{CHART_FONT_PX}px'>rows: query (attending) · "
                          "columns: key (attended to)</span>",
                  "font": TITLE_FONT, "y": 0.98, "yanchor": "top"},
        "height": max(460, min(860, 180 + 20 * min(rows, svg.MAX_TICK_LABELS))),
        "margin": {"l": 10, "r": 10, "t": 90, "b": 10},
        "font": FONT,
        "hoverlabel": {"font": FONT},
        # automargin: plotly.py's default template turns it on; a raw figure dict must ask for it,
        # or the token labels are clipped away.
        "xaxis": {"tickmode": "array", "tickvals": x_ticks, "ticktext": [key_labels[i] for i in x_ticks],
                  "side": "bottom", "tickangle": -60, "tickfont": FONT, "automargin": True},
        "yaxis": {"tickmode": "array", "tickvals": y_ticks, "ticktext": [query_labels[i] for i in y_ticks],
                  "autorange": "reversed", "tickfont": FONT, "automargin": True},
    }
    return {"data": [heatmap], "layout": layout}


def attention_heatmap_svg(
    matrix: np.ndarray, query_labels: list[str], key_labels: list[str], title: str, zmax: float | None = None
) -> str:
    """The (Tq, Tk) attention matrix as a self-contained ``<svg>`` (:func:`engine.core.svg.heatmap`): what
    :func:`attention_heatmap` shows, drawn by the browser without a charting library. Hovering a cell shows both
    tokens and the weight; viridis from 0 to ``zmax``. Rows are queries (attending), columns keys (attended to).

    Args:
        matrix: (Tq, Tk) weights.
    """
    return svg.heatmap(matrix, query_labels, key_labels, title, zmax=zmax)


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
    ticks = svg.tick_positions(len(flow))
    layout = {
        "title": {"text": f"Rollout: how much each input token flows into {target_label}", "font": TITLE_FONT,
                  "y": 0.95, "yanchor": "top"},
        "height": 380,
        "margin": {"l": 10, "r": 10, "t": 70, "b": 10},
        "font": FONT,
        "hoverlabel": {"font": FONT},
        "xaxis": {"tickmode": "array", "tickvals": ticks, "ticktext": [tokens[i] for i in ticks], "tickangle": -60,
                  "tickfont": FONT, "automargin": True},
        "yaxis": {"title": {"text": "share of attention flow", "font": FONT}, "rangemode": "tozero", "tickfont": FONT,
                  "automargin": True},
    }
    return {"data": [bars], "layout": layout}


def token_flow_bars_svg(flow: np.ndarray, tokens: list[str], target_label: str) -> str:
    """:func:`token_flow_bars` as a self-contained ``<svg>`` (:func:`engine.core.svg.bars`): one bar per input
    token, its share of the rollout flow into ``target_label``; hovering a bar shows the token and the share."""
    return svg.bars(flow, tokens, f"Rollout: how much each input token flows into {target_label}",
                    "share of attention flow")


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
    attentions: np.ndarray, cell: int = 48, gap: int = 4, selected: tuple[int, int] | None = None
) -> tuple[Image.Image, GridLayout]:
    """Thumbnails of every layer x head attention matrix, as one RGB image.

    Args:
        attentions: (L, H, T, T) float array.
        selected: (layer, head), 0-based, outlined in red.

    Returns:
        The image (rows = layers, columns = heads, each cell scaled to its own max) and its layout,
        whose :meth:`GridLayout.cell_at` maps a click back to (layer, head).
    """
    attentions = np.asarray(attentions)
    layers, heads, tokens, _ = attentions.shape
    layout = _grid_layout(layers, heads, cell, gap)
    pitch = cell + gap
    # Each cell scaled to its own max, as colour-map codes (256 = white gap); nearest-neighbour upscaling by
    # index keeps every token's square crisp. One pass over all cells: 72 colourise calls cost 2-3x more.
    index = (np.arange(cell) * tokens // cell).clip(0, tokens - 1)
    cells = attentions[:, :, index][:, :, :, index]
    tops = cells.max(axis=(2, 3), keepdims=True)
    grid = np.full((layers, pitch, heads, pitch), 256, dtype=np.uint16)
    grid[:, :cell, :, :cell] = (np.clip(cells / np.where(tops > 0, tops, 1), 0, 1) * 255).astype(np.uint8).transpose(0, 2, 1, 3)
    canvas = _labelled_canvas(layout).copy()
    canvas[layout.top :, layout.left :] = np.take(_palette_with_white(), grid.reshape(layers * pitch, heads * pitch), axis=0)
    image = Image.fromarray(canvas)
    if selected is not None:
        layer, head = selected
        x = layout.left + head * pitch
        y = layout.top + layer * pitch
        ImageDraw.Draw(image).rectangle([x - 2, y - 2, x + cell + 1, y + cell + 1], outline=(220, 30, 30), width=3)
    return image, layout


@functools.lru_cache(maxsize=1)
def _palette_with_white() -> np.ndarray:
    """Viridis' 256 colours, then white (code 256) for the gaps between cells."""
    return np.vstack([colour_lut("viridis"), [[255, 255, 255]]]).astype(np.uint8)


def _grid_layout(layers: int, heads: int, cell: int, gap: int) -> GridLayout:
    # Labels at 22 px: the tab shows this 668 px image (12 heads) about 480 px wide, so they read at >= 14 px.
    return GridLayout(layers=layers, heads=heads, cell=cell, gap=gap, left=MODEL_VIEW_FONT_PX * 2,
                      top=MODEL_VIEW_FONT_PX + 8)


@functools.lru_cache(maxsize=16)
def _labelled_canvas(layout: GridLayout) -> np.ndarray:
    """The model view's white page with its H1.. and L1.. labels (drawn once per grid size; read-only)."""
    pitch = layout.cell + layout.gap
    width, height = layout.left + layout.heads * pitch, layout.top + layout.layers * pitch
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = draw_font(MODEL_VIEW_FONT_PX)
    for head in range(layout.heads):
        label = f"H{head + 1}"
        x = layout.left + head * pitch + (layout.cell - draw.textlength(label, font=font)) / 2
        draw.text((x, 2), label, fill=(60, 60, 60), font=font)
    for layer in range(layout.layers):
        draw.text((2, layout.top + layer * pitch + (layout.cell - MODEL_VIEW_FONT_PX) // 2 - 2), f"L{layer + 1}",
                  fill=(60, 60, 60), font=font)
    canvas = np.asarray(image).copy()
    canvas.setflags(write=False)
    return canvas


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
    row = 22
    width, left_x, right_x = HEAD_VIEW_WIDTH, 140, 330
    per_row = max(1, (width - 20) // 48)  # legend entries per line
    top = 30 + 20 * ((len(heads) - 1) // per_row)  # y of the first token, below the legend
    height = top + 10 + row * count
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="background:#fff;font-family:monospace;font-size:15px">'
    ]
    queries = range(count) if selected_token is None else [selected_token]
    escaped = [html.escape(token) for token in tokens]  # once, not once per line
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
                y1 = top + row * query
                y2 = top + row * key
                tooltip = (
                    f"<title>head {head + 1}: {escaped[query]} → {escaped[key]} = {weight:.3f}</title>"
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
        y = top + row * index + 4
        style = ' font-style="italic"' if segments[index] == 1 else ""
        weight = ' font-weight="bold"' if index == selected_token else ""
        label = escaped[index]
        parts.append(f'<text x="{left_x}" y="{y}" text-anchor="end"{style}{weight}>{label}</text>')
        parts.append(f'<text x="{right_x}" y="{y}"{style}>{label}</text>')
    if 1 in segments:
        boundary = segments.index(1)
        y = top + row * boundary - row // 2 - 2
        parts.append(f'<line x1="10" y1="{y}" x2="{width - 10}" y2="{y}" stroke="#999" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{width - 12}" y="{y - 3}" text-anchor="end" fill="#555" font-size="14">A ▲ / ▼ B</text>')
    for position, head in enumerate(heads):
        colour = HEAD_COLOURS[head % len(HEAD_COLOURS)]
        legend_x, legend_y = 10 + 48 * (position % per_row), 20 * (position // per_row)
        parts.append(f'<rect x="{legend_x}" y="{legend_y + 3}" width="13" height="13" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="{legend_y + 15}" font-size="14">H{head + 1}</text>')
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
