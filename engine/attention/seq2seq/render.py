"""Figures for the encoder-decoder lab: Plotly figure dicts (JSON-ready) and small HTML cards.

Nothing here runs a model. Every chart's text is at least 14 px so it reads from the back of a room.
"""

from __future__ import annotations

import html

import numpy as np

FONT = {"size": 15, "family": "Inter, Arial, sans-serif"}
TICK_FONT = {"size": 15}
TITLE_FONT = {"size": 17}
MODEL_COLOURS = {"transformer": "#1f77b4", "rnn_attention": "#2ca02c", "rnn": "#d62728"}
MODEL_LABELS = {"transformer": "Transformer", "rnn_attention": "GRU + attention", "rnn": "GRU, no attention"}
HIGHLIGHT = "#ff2d55"
MARKERS = {"transformer": (16, "circle"), "rnn_attention": (11, "square"), "rnn": (7, "diamond")}


def plotly_text(label) -> str:
    """A token as Plotly text: Plotly reads "<s>" / "</s>" as strike-through tags, so escape them."""
    return html.escape(str(label), quote=False)


def _axis(labels, title: str, reversed_: bool = False) -> dict:
    axis = {
        "tickmode": "array",
        "tickvals": list(range(len(labels))),
        "ticktext": [plotly_text(label) for label in labels],
        "tickangle": 0,
        "ticks": "",
        "tickfont": TICK_FONT,
        "title": {"text": title, "font": FONT},
        "automargin": True,
        "showgrid": False,
        "zeroline": False,
    }
    if reversed_:
        axis["autorange"] = "reversed"
    return axis


def attention_heatmap(matrix, row_labels, col_labels, title: str, row_title: str = "output (query)",
                      col_title: str = "input (key)", highlight_row: int | None = None, height: int | None = None) -> dict:
    """A (rows, cols) attention matrix as a heatmap; ``highlight_row`` is outlined."""
    matrix = np.asarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    custom = [[[f"{i}: {plotly_text(r)}", f"{j}: {plotly_text(c)}"] for j, c in enumerate(col_labels)]
              for i, r in enumerate(row_labels)]
    heatmap = {
        "type": "heatmap",
        "z": matrix.round(4).tolist(),
        "x": list(range(cols)),
        "y": list(range(rows)),
        "customdata": custom,
        "colorscale": "Viridis",
        "zmin": 0,
        "zmax": 1,
        "xgap": 1,
        "ygap": 1,
        "hovertemplate": "%{customdata[0]} → %{customdata[1]}<br>weight %{z:.3f}<extra></extra>",
        "colorbar": {"thickness": 14, "tickfont": TICK_FONT, "title": {"text": "weight", "font": FONT}},
    }
    shapes = []
    if highlight_row is not None and 0 <= highlight_row < rows:
        shapes.append({"type": "rect", "xref": "x", "yref": "y", "x0": -0.5, "x1": cols - 0.5,
                       "y0": highlight_row - 0.5, "y1": highlight_row + 0.5, "line": {"color": HIGHLIGHT, "width": 3}})
    layout = {
        "title": {"text": title, "font": TITLE_FONT, "x": 0.01, "xanchor": "left"},
        "font": FONT,
        "height": height or max(340, min(720, 120 + 24 * rows)),
        "margin": {"l": 10, "r": 10, "t": 44, "b": 6},
        "xaxis": {**_axis(col_labels, col_title), "side": "bottom"},
        "yaxis": _axis(row_labels, row_title, reversed_=True),
        "shapes": shapes,
        "plot_bgcolor": "white",
    }
    return {"data": [heatmap], "layout": layout}


def model_view(stack, row_labels, col_labels, title: str, selected: tuple[int, int] | None = None) -> dict:
    """Every layer x head of an (L, H, rows, cols) stack as small heatmaps (rows: layers, columns: heads)."""
    stack = np.asarray(stack, dtype=np.float64)
    layers, heads = stack.shape[:2]
    gap, label_band = 0.03, 0.1  # label_band: room above each row for its "L1 H1" labels (paper units)
    width, height = (1 - gap * (heads - 1)) / heads, (1 - label_band * layers) / layers
    data, annotations, shapes, layout = [], [], [], {}
    for layer in range(layers):
        for head in range(heads):
            n = layer * heads + head + 1
            suffix = "" if n == 1 else str(n)
            x0 = head * (width + gap)
            y1 = 1 - label_band - layer * (height + label_band)
            layout[f"xaxis{suffix}"] = {"domain": [x0, x0 + width], "showticklabels": False, "showgrid": False,
                                        "zeroline": False, "ticks": "", "anchor": f"y{suffix}"}
            layout[f"yaxis{suffix}"] = {"domain": [y1 - height, y1], "showticklabels": False, "showgrid": False,
                                        "zeroline": False, "ticks": "", "autorange": "reversed", "anchor": f"x{suffix}"}
            data.append({
                "type": "heatmap", "z": stack[layer, head].round(3).tolist(), "colorscale": "Viridis", "zmin": 0,
                "zmax": 1, "showscale": False, "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                "hovertemplate": f"layer {layer + 1}, head {head + 1}<br>%{{y}} → %{{x}}: %{{z:.3f}}<extra></extra>",
            })
            annotations.append({"text": f"L{layer + 1} H{head + 1}", "x": x0 + width / 2, "y": y1, "xref": "paper",
                                "yref": "paper", "yanchor": "bottom", "showarrow": False, "font": FONT})
            if selected == (layer, head):
                shapes.append({"type": "rect", "xref": "paper", "yref": "paper", "x0": x0 - 0.005, "x1": x0 + width + 0.005,
                               "y0": y1 - height - 0.01, "y1": y1 + 0.01, "line": {"color": HIGHLIGHT, "width": 3}})
    layout.update({
        "title": {"text": title, "font": TITLE_FONT, "x": 0.01, "xanchor": "left"},
        "font": FONT,
        "height": 100 + 170 * layers,
        "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "annotations": annotations,
        "shapes": shapes,
        "plot_bgcolor": "white",
    })
    return {"data": data, "layout": layout}


def accuracy_vs_length(series: dict[str, list[dict]], title: str, x_title: str, key: str = "exact_match",
                       note: str = "") -> dict:
    """Lines of accuracy (%) against length bucket, one per model: {model: [{"lengths", key, "count"}]}."""
    data = []
    for model, rows in series.items():
        data.append({
            "type": "scatter", "mode": "lines+markers", "name": MODEL_LABELS.get(model, model),
            "x": [row["lengths"] for row in rows], "y": [round(100 * row[key], 2) for row in rows],
            "line": {"color": MODEL_COLOURS.get(model), "width": 3},
            # Different sizes and symbols, so lines that coincide (every model at 100%) stay visible.
            "marker": {"size": MARKERS.get(model, (9, "circle"))[0], "symbol": MARKERS.get(model, (9, "circle"))[1]},
            "hovertemplate": "%{x} symbols: %{y:.1f}%<extra>" + MODEL_LABELS.get(model, model) + "</extra>",
        })
    return {
        "data": data,
        "layout": {
            "title": {"text": title + (f"<br><sub>{note}</sub>" if note else ""), "font": TITLE_FONT, "x": 0.01,
                      "xanchor": "left"},
            "font": FONT,
            "height": 420,
            "margin": {"l": 10, "r": 10, "t": 80, "b": 10},
            "xaxis": {"title": {"text": x_title, "font": FONT}, "tickfont": TICK_FONT, "type": "category",
                      "automargin": True},
            "yaxis": {"title": {"text": "exact match (%)", "font": FONT}, "tickfont": TICK_FONT, "range": [-3, 103],
                      "automargin": True},
            "legend": {"font": FONT, "orientation": "h", "y": -0.25},
        },
    }


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
