"""Figures for the encoder-decoder lab: SVG charts (:mod:`engine.core.svg`), the live loss as a Plotly figure dict,
and small HTML cards.

Nothing here runs a model. Every chart's text is at least 14 px so it reads from the back of a room.
"""

from __future__ import annotations

import html

import numpy as np

from engine.core import svg

FONT = {"size": 15, "family": "Inter, Arial, sans-serif"}
TICK_FONT = {"size": 15}
TITLE_FONT = {"size": 17}
MODEL_COLOURS = {"transformer": "#1f77b4", "rnn_attention": "#2ca02c", "rnn": "#d62728"}
MODEL_LABELS = {"transformer": "Transformer", "rnn_attention": "GRU + attention", "rnn": "GRU, no attention"}
HIGHLIGHT = svg.HIGHLIGHT  # the outline the charts draw around the chosen row and head
MODEL_VIEW_WIDTH = 440  # px: beside the cross-attention at 1280 px without scrolling sideways
HALF_WIDTH = 560  # px: two charts side by side at 1280 px
MARKERS = {"transformer": (16, "circle"), "rnn_attention": (11, "square"), "rnn": (7, "diamond")}


def attention_heatmap(matrix, row_labels, col_labels, title: str, row_title: str = "output",
                      col_title: str = "input", highlight_row: int | None = None, width: int = svg.SVG_WIDTH) -> str:
    """A (rows, cols) attention matrix as an SVG heatmap (weights 0 to 1); ``highlight_row`` is outlined."""
    caption = f"rows: {row_title} · columns: {col_title} · hover a cell"
    return svg.heatmap(matrix, [str(label) for label in row_labels], [str(label) for label in col_labels], title,
                       zmax=1.0, caption=caption, names=(row_title, col_title), highlight_row=highlight_row, width=width)


def model_view(stack, title: str, selected: tuple[int, int] | None = None) -> str:
    """Every layer x head of an (L, H, rows, cols) stack as small SVG heatmaps (rows: layers, columns: heads)."""
    return svg.heatmap_grid(stack, title, selected, width=MODEL_VIEW_WIDTH)


def accuracy_vs_length(series: dict[str, list[dict]], title: str, x_title: str, key: str = "exact_match",
                       note: str = "") -> str:
    """Lines of accuracy (%) against length bucket, one per model ({model: [{"lengths", key, "count"}]}), as SVG."""
    buckets = list(dict.fromkeys(str(row["lengths"]) for rows in series.values() for row in rows))
    lines = []
    for model, rows in series.items():
        by_bucket = {str(row["lengths"]): round(100 * row[key], 2) for row in rows}
        size, shape = MARKERS.get(model, (9, "circle"))
        lines.append({"name": MODEL_LABELS.get(model, model), "values": [by_bucket.get(b) for b in buckets],
                      "colour": MODEL_COLOURS.get(model, "#555"), "size": size, "shape": shape})
    return svg.lines(buckets, lines, title, x_title, "exact match (%)", note=note, width=HALF_WIDTH)


def loss_figure(steps, losses, scores=None, threshold: float | None = None) -> dict:
    """Live training: loss (log scale) and, on a second axis, the alignment score."""
    data = [{"type": "scatter", "mode": "lines", "name": "loss", "x": list(map(int, steps)),
             "y": [round(float(v), 5) for v in losses], "line": {"color": "#1f77b4", "width": 3}}]
    layout = {
        "title": {"text": "Training loss and alignment", "font": TITLE_FONT, "x": 0.01, "xanchor": "left"},
        "font": FONT,
        "height": 380,
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "xaxis": {"title": {"text": "step", "font": FONT}, "tickfont": TICK_FONT, "automargin": True},
        "yaxis": {"title": {"text": "loss (log)", "font": FONT}, "type": "log", "tickfont": TICK_FONT, "automargin": True},
        "legend": {"font": FONT, "orientation": "h", "y": -0.3},
    }
    if scores is not None:
        data.append({"type": "scatter", "mode": "lines+markers", "name": "alignment score", "yaxis": "y2",
                     "x": list(map(int, steps)), "y": [round(float(v), 4) for v in scores],
                     "line": {"color": "#2ca02c", "width": 3}})
        layout["yaxis2"] = {"title": {"text": "alignment", "font": FONT}, "overlaying": "y", "side": "right",
                            "range": [0, 1], "tickfont": TICK_FONT, "automargin": True}
        if threshold is not None:
            layout["shapes"] = [{"type": "line", "xref": "paper", "yref": "y2", "x0": 0, "x1": 1, "y0": threshold,
                                 "y1": threshold, "line": {"color": "#2ca02c", "dash": "dot", "width": 2}}]
    return {"data": data, "layout": layout}


# ------------------------------------------------------------------------------------------- HTML
def _chip(char: str, weight: float, selected: bool = False) -> str:
    alpha = max(0.0, min(1.0, float(weight)))
    text_colour = "#fff" if alpha > 0.55 else "#111"
    border = f"3px solid {HIGHLIGHT}" if selected else "1px solid #ccc"
    shown = "&nbsp;" if char in (" ", "␣") else html.escape(char)
    return (f'<span title="{weight:.3f}" style="display:inline-block;min-width:1.1em;text-align:center;'
            f'padding:4px 3px;margin:1px;border-radius:4px;border:{border};'
            f'background:rgba(68,1,84,{alpha:.3f});color:{text_colour}">{shown}</span>')


def source_highlight_html(source_tokens, weights, target_tokens, position: int, caption: str) -> str:
    """The output with the chosen character outlined, and the source shaded by its attention row."""
    weights = np.asarray(weights, dtype=np.float64)
    scaled = weights / weights.max() if weights.size and weights.max() > 0 else weights
    outputs = "".join(_chip(t, 0.0, i == position) for i, t in enumerate(target_tokens))
    sources = "".join(_chip(t, w) for t, w in zip(source_tokens, scaled))
    top = int(weights.argmax()) if weights.size else 0
    return (
        '<div style="font-family:ui-monospace,monospace;font-size:22px;line-height:1.45">'
        f'<div style="font-size:15px;color:#555">{html.escape(caption)}</div>'
        f'<div><span style="font-size:15px;color:#555;display:inline-block;width:5.5em">output</span>{outputs}</div>'
        f'<div><span style="font-size:15px;color:#555;display:inline-block;width:5.5em">input</span>{sources}</div>'
        f'<div style="font-size:15px;color:#555">darker = more attention (scaled to the row\'s largest weight, '
        f'{weights.max() if weights.size else 0:.2f} on character {top}: {html.escape(str(source_tokens[top]) if len(source_tokens) else "")})</div>'
        "</div>"
    )


def outputs_card(rows: list[dict]) -> str:
    """Big output cards: [{"label", "output", "verdict", "colour"}], one per model."""
    cells = []
    for row in rows:
        cells.append(
            '<div style="flex:1;min-width:220px;border:2px solid #ddd;border-radius:10px;padding:10px 14px">'
            f'<div style="font-size:16px;color:#444">{html.escape(row["label"])}</div>'
            f'<div style="font-family:ui-monospace,monospace;font-size:34px;font-weight:700;color:{row.get("colour", "#111")}">'
            f'{html.escape(row["output"]) or "&nbsp;"}</div>'
            f'<div style="font-size:16px">{html.escape(row["verdict"])}</div>'
            "</div>"
        )
    return f'<div style="display:flex;gap:12px;flex-wrap:wrap">{"".join(cells)}</div>'
