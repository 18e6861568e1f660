"""Drawing the X-ray: Q/K/V step by step, q and k around RoPE, the logit lens, head ablation and its scan.

Pure functions from the engine's results to Plotly figure dicts (as :mod:`engine.attention.render`); chart
text is at least 14 px. Nothing here runs a model.
"""

from __future__ import annotations

import html

import numpy as np

from engine.attention.decoder_render import display_token
from engine.core.draw import CHART_FONT_PX

FONT = {"size": CHART_FONT_PX}
HEADER_FONT = {"size": CHART_FONT_PX + 2}
TITLE_FONT = {"size": 18}
BEFORE_COLOUR, AFTER_COLOUR = "#4c78a8", "#f58518"
MASK_GREY = "#c8c8c8"
# Negative blue, zero white, positive red (plotly.js's own RdBu has a grey middle).
DIVERGING = [[0.0, "#2166ac"], [0.25, "#92c5de"], [0.5, "#f7f7f7"], [0.75, "#f4a582"], [1.0, "#b2182b"]]
SEQUENTIAL = [[0.0, "#f7fbff"], [0.5, "#6baed6"], [1.0, "#08306b"]]
BAR_TEXT = {"textposition": "outside", "cliponaxis": False, "textfont": FONT, "constraintext": "none"}
STEPS = (
    "q and the keys k",
    "scores q·k/√d",
    "the mask",
    "softmax weights",
    "value vectors v",
    "weighted sum = output",
)


def _esc(text) -> str:
    return html.escape(str(text))


def _labels(tokens) -> list[str]:
    return [f"{i}: {display_token(t)}" for i, t in enumerate(tokens)]


def _vector_heatmap(z, x_axis: str, y_axis: str, y_labels, zmax: float, name: str, show_scale: bool = False) -> dict:
    z = np.asarray(z, dtype=np.float64)
    trace = {
        "type": "heatmap", "z": z.round(4).tolist(), "x": list(range(z.shape[1])), "y": list(range(z.shape[0])),
        "xaxis": x_axis, "yaxis": y_axis, "colorscale": DIVERGING, "zmid": 0, "zmin": -zmax,
        "zmax": zmax, "customdata": [[label] * z.shape[1] for label in y_labels], "showscale": show_scale,
        "hovertemplate": f"{name} %{{customdata}}<br>dimension %{{x}}: %{{z:.4f}}<extra></extra>",
    }
    if show_scale:
        trace["colorbar"] = {"thickness": 12, "len": 0.5, "tickfont": FONT, "x": 1.01}
    return trace


def qkv_figure(computation, query: int, step: int = len(STEPS)) -> dict:
    """One query's row of a head's computation, steps 1..``step`` drawn (the later columns stay empty).

    Columns, one row per key token: ① q (above) and the keys k, ② the scores q·k/√d, ③ the mask the model
    added, ④ the softmax weights, ⑤ the value vectors v, ⑥ below them the output Σ weight·v.
    """
    capture = computation.capture
    count, dim = computation.k.shape
    query = int(query) % count
    step = max(1, min(int(step), len(STEPS)))
    keys = _labels(capture.tokens)
    masked = computation.masked[query]
    scores, weights = computation.scores[query], computation.model_weights[query]
    qk_max = float(max(np.abs(computation.q[query]).max(), np.abs(computation.k).max(), 1e-9))
    v_max = float(max(np.abs(computation.v).max(), np.abs(computation.output[query]).max(), 1e-9))
    columns = {"a": (0.0, 0.3), "b": (0.36, 0.5), "c": (0.53, 0.58), "d": (0.62, 0.74), "e": (0.79, 0.95)}
    main, top, bottom = (0.2, 0.8), (0.85, 0.93), (0.0, 0.07)
    rows = list(range(count))
    data = [_vector_heatmap(computation.q[query][None, :], "x", "y6", [keys[query]], qk_max, "query q of")]
    layout = {
        "height": max(460, min(1500, 250 + 24 * count)), "font": FONT, "hoverlabel": {"font": FONT},
        "margin": {"l": 10, "r": 10, "t": 70, "b": 30}, "showlegend": False, "bargap": 0.25,
        "uniformtext": {"minsize": CHART_FONT_PX, "mode": "show"},  # bar labels never shrink below 14 px
        "title": {"text": (f"Layer {computation.layer + 1}, head {computation.head + 1}: query token "
                           f"<b>{_esc(keys[query])}</b> · step {step} of {len(STEPS)}: {STEPS[step - 1]}"),
                  "font": TITLE_FONT, "x": 0.01, "xanchor": "left"},
    }
    y_main = {"domain": main, "autorange": "reversed", "tickmode": "array", "tickvals": rows, "tickfont": FONT,
              "showticklabels": False, "ticks": ""}
    layout["yaxis"] = {**y_main, "showticklabels": True, "ticktext": keys, "automargin": True}
    for number in (2, 3, 4, 5):
        layout[f"yaxis{number}"] = {**y_main, "matches": "y", "anchor": f"x{number}"}
    layout["yaxis6"] = {"domain": top, "anchor": "x", "tickmode": "array", "tickvals": [0], "ticktext": ["q"],
                        "tickfont": FONT}
    layout["yaxis7"] = {"domain": bottom, "anchor": "x5", "tickmode": "array", "tickvals": [0], "ticktext": ["output"],
                        "tickfont": FONT, "side": "right"}
    dims = {"title": {"text": f"dimension (d = {dim})", "font": FONT}, "tickfont": FONT}
    layout["xaxis"] = {"domain": columns["a"], "anchor": "y", **dims}
    for name, key, title in (("xaxis2", "b", "score"), ("xaxis3", "c", ""), ("xaxis4", "d", "weight")):
        layout[name] = {"domain": columns[key], "anchor": "y" + name[-1], "tickfont": FONT, "zeroline": True,
                        "title": {"text": title, "font": FONT}}
    layout["xaxis3"].update(showticklabels=False, ticks="", showgrid=False, zeroline=False)
    layout["xaxis5"] = {"domain": columns["e"], "anchor": "y5", "tickfont": FONT}
    data.append(_vector_heatmap(computation.k, "x", "y", keys, qk_max, "key k of", show_scale=False))
    if step >= 2:
        colours = [MASK_GREY if m else BEFORE_COLOUR for m in masked]
        data.append({"type": "bar", "orientation": "h", "y": rows, "x": scores.round(4).tolist(), "xaxis": "x2",
                     "yaxis": "y2", "marker": {"color": colours}, "text": [f"{s:.2f}" for s in scores], **BAR_TEXT,
                     "customdata": keys, "hovertemplate": "key %{customdata}<br>q·k/√d = %{x:.4f}<extra></extra>"})
        low, high = min(0.0, float(scores.min())), max(0.0, float(scores.max()))
        pad = 0.35 * max(high - low, 1e-6)
        layout["xaxis2"]["range"] = [low - (pad if low < 0 else 0), high + pad]
    if step >= 3:
        data.append({"type": "heatmap", "z": [[1.0 if m else 0.0] for m in masked], "x": [0], "y": rows, "xaxis": "x3",
                     "yaxis": "y3", "colorscale": [[0, "#ffffff"], [1, MASK_GREY]], "zmin": 0, "zmax": 1,
                     "showscale": False, "text": [["−∞" if m else "0"] for m in masked], "texttemplate": "%{text}",
                     "textfont": FONT, "customdata": [[k] for k in keys],
                     "hovertemplate": "key %{customdata}: mask %{text}<extra></extra>", "xgap": 1, "ygap": 1})
    if step >= 4:
        data.append({"type": "bar", "orientation": "h", "y": rows, "x": weights.round(5).tolist(), "xaxis": "x4",
                     "yaxis": "y4", "marker": {"color": AFTER_COLOUR}, "text": [f"{w:.2f}" for w in weights], **BAR_TEXT,
                     "customdata": keys, "hovertemplate": "key %{customdata}<br>weight %{x:.5f}<extra></extra>"})
        layout["xaxis4"]["range"] = [0, 1.3]
    if step >= 5:
        data.append(_vector_heatmap(computation.v, "x5", "y5", keys, v_max, "value v of"))
    if step >= 6:
        data.append(_vector_heatmap(computation.output[query][None, :], "x5", "y7", [keys[query]], v_max,
                                    "output (Σ weight·v) of"))
    headers = [("a", "① q (above) · keys k (rows)"), ("b", "② q·k/√d"), ("c", "③ mask"), ("d", "④ softmax"),
               ("e", "⑤ values v (rows) · ⑥ output (below)")]
    layout["annotations"] = [
        {"text": f"<b>{text}</b>", "x": (columns[key][0] + columns[key][1]) / 2, "y": main[1] + 0.005,
         "xref": "paper", "yref": "paper", "xanchor": "center", "yanchor": "bottom", "showarrow": False,
         "font": HEADER_FONT if number <= step else {**HEADER_FONT, "color": "#a1a1aa"}}
        for number, (key, text) in zip((1, 2, 3, 4, 5), headers)
    ]
    return {"data": data, "layout": layout}


def rope_figure(computation, query: int) -> dict:
    """q (first row) and the keys, before and after the rotary position embedding, and the scores both ways."""
    capture = computation.capture
    count = computation.k.shape[0]
    query = int(query) % count
    keys = _labels(capture.tokens)
    labels = [f"q · {keys[query]}"] + [f"k · {key}" for key in keys]
    before = np.vstack([computation.q_raw[query], computation.k_raw])
    after = np.vstack([computation.q[query], computation.k])
    top = float(max(np.abs(before).max(), np.abs(after).max(), 1e-9))
    raw_scores = computation.q_raw[query] @ computation.k_raw.T * capture.scale
    visible = ~computation.masked[query]
    rows = list(range(count + 1))
    data = [_vector_heatmap(before, "x", "y", labels, top, ""), _vector_heatmap(after, "x2", "y2", labels, top, "")]
    key_rows = [i for i in range(count) if visible[i]]
    for name, values, colour in (("before RoPE", raw_scores, "#9ca3af"), ("after RoPE (what the model uses)",
                                                                         computation.scores[query], BEFORE_COLOUR)):
        data.append({"type": "bar", "orientation": "h", "name": name, "y": key_rows,
                     "x": [round(float(values[i]), 4) for i in key_rows], "xaxis": "x3", "yaxis": "y3",
                     "marker": {"color": colour}, "hovertemplate": name + ": %{x:.4f}<extra></extra>"})
    axis = {"tickmode": "array", "tickfont": FONT, "autorange": "reversed"}
    return {"data": data, "layout": {
        "height": max(380, min(1300, 200 + 22 * (count + 1))), "font": FONT, "hoverlabel": {"font": FONT},
        "margin": {"l": 10, "r": 10, "t": 70, "b": 60}, "barmode": "group",
        "legend": {"orientation": "h", "x": 0.72, "y": -0.06, "yanchor": "top", "font": FONT},
        "title": {"text": "Rotary position embedding: each pair of dimensions (i, i + d/2) is rotated by an angle "
                          "that grows with the position", "font": {"size": 16}, "x": 0.01, "xanchor": "left"},
        "xaxis": {"domain": [0, 0.33], "title": {"text": "before RoPE: dimension", "font": FONT}, "tickfont": FONT},
        "xaxis2": {"domain": [0.37, 0.66], "title": {"text": "after RoPE: dimension", "font": FONT}, "tickfont": FONT},
        "xaxis3": {"domain": [0.72, 1.0], "title": {"text": f"q·k/√d for query {query}", "font": FONT}, "tickfont": FONT},
        "yaxis": {**axis, "tickvals": rows, "ticktext": labels, "automargin": True},
        "yaxis2": {**axis, "tickvals": rows, "showticklabels": False, "matches": "y"},
        "yaxis3": {**axis, "tickvals": list(range(count)), "ticktext": keys, "anchor": "x3", "automargin": True,
                   "range": [count - 0.5, -0.5]},
    }}


def lens_figure(lens) -> dict:
    """Layers (rows, 1 at the top) x rank (columns): each layer's top tokens, coloured by probability, and
    beside it the probability of the model's final answer at each layer."""
    layers = lens.num_layers
    probabilities = np.array([[p.probability for p in top] for top in lens.top])
    text = [[display_token(p.token) for p in top] for top in lens.top]
    rows = list(range(layers))
    labels = [f"layer {i + 1}" for i in rows]
    labels[-1] = f"layer {layers} = output"
    answer = display_token(lens.final.token)
    data = [
        {"type": "heatmap", "z": probabilities.round(5).tolist(), "x": list(range(probabilities.shape[1])), "y": rows,
         "text": text, "texttemplate": "%{text}", "textfont": FONT, "colorscale": SEQUENTIAL, "zmin": 0, "zmax": 1,
         "customdata": [[label] * probabilities.shape[1] for label in labels], "xgap": 2, "ygap": 2,
         "colorbar": {"thickness": 12, "tickfont": FONT, "tickformat": ".0%", "x": 0.6},
         "hovertemplate": "%{customdata}, rank %{x}: %{text}<br>p = %{z:.4f}<extra></extra>"},
        {"type": "bar", "orientation": "h", "y": rows, "x": [round(p, 6) for p in lens.final_by_layer], "xaxis": "x2",
         "yaxis": "y2", "marker": {"color": AFTER_COLOUR}, "customdata": labels,
         "text": [f"{100 * p:.0f}%" if p >= 0.005 else "" for p in lens.final_by_layer], "textposition": "outside",
         "textfont": FONT, "cliponaxis": False,
         "hovertemplate": "%{customdata}: p(" + _esc(answer) + ") = %{x:.4f}<extra></extra>"},
    ]
    token = display_token(lens.tokens[lens.position])
    return {"data": data, "layout": {
        "height": max(420, 130 + 24 * layers), "font": FONT, "hoverlabel": {"font": FONT}, "showlegend": False,
        "uniformtext": {"minsize": CHART_FONT_PX, "mode": "show"},
        "margin": {"l": 10, "r": 30, "t": 70, "b": 50},
        "title": {"text": f"After token {lens.position} <b>{_esc(token)}</b>: what each layer would predict next "
                          f"(final answer <b>{_esc(answer)}</b>, p = {lens.final.probability:.0%})",
                  "font": {"size": 17}, "x": 0.01, "xanchor": "left"},
        "xaxis": {"domain": [0, 0.58], "tickmode": "array", "tickvals": list(range(probabilities.shape[1])),
                  "ticktext": [f"#{i + 1}" for i in range(probabilities.shape[1])], "tickfont": FONT,
                  "title": {"text": "rank of the token at that layer", "font": FONT}},
        "yaxis": {"tickmode": "array", "tickvals": rows, "ticktext": labels, "autorange": "reversed",
                  "tickfont": FONT, "automargin": True},
        "xaxis2": {"domain": [0.7, 1.0], "range": [0, 1.15], "tickformat": ".0%", "tickfont": FONT,
                   "title": {"text": f"p({_esc(answer)}) at each layer", "font": FONT}},
        "yaxis2": {"anchor": "x2", "tickvals": rows, "showticklabels": False, "autorange": "reversed", "matches": "y"},
    }}


def ablation_figure(result) -> dict:
    """The top next tokens before (blue) and with the head off (orange)."""
    labels = [display_token(p.token) for p in result.top_before]
    rows = list(range(len(labels)))
    what = f"layer {result.layer}, every head" if result.head == 0 else f"layer {result.layer}, head {result.head}"

    def bars(name, values, colour):
        return {"type": "bar", "orientation": "h", "name": name, "y": rows, "x": [round(v, 6) for v in values],
                "marker": {"color": colour}, "text": [f"{100 * v:.1f}%" for v in values], "textposition": "outside",
                "textfont": FONT, "cliponaxis": False, "customdata": labels,
                "hovertemplate": "%{customdata}<br>" + name + ": %{x:.4f}<extra></extra>"}

    top = max(max(p.probability for p in result.top_before), max(result.after_of_before), 1e-9)
    return {"data": [bars("every head on", [p.probability for p in result.top_before], BEFORE_COLOUR),
                     bars(f"{what} off", result.after_of_before, AFTER_COLOUR)],
            "layout": {"height": 470, "font": FONT, "hoverlabel": {"font": FONT}, "barmode": "group", "bargap": 0.2,
                       "uniformtext": {"minsize": CHART_FONT_PX, "mode": "show"},
                       "margin": {"l": 10, "r": 20, "t": 60, "b": 10},
                       "title": {"text": f"Next token with {what} switched off", "font": {"size": 17}, "x": 0.01,
                                 "xanchor": "left"},
                       "legend": {"orientation": "h", "y": -0.08, "yanchor": "top", "x": 0, "font": FONT},
                       "xaxis": {"range": [0, min(1.0, top) * 1.25], "tickformat": ".0%", "tickfont": FONT},
                       "yaxis": {"tickmode": "array", "tickvals": rows, "ticktext": labels, "autorange": "reversed",
                                 "tickfont": FONT, "automargin": True}}}


def scan_figure(scan, kv_heads: int | None = None) -> dict:
    """Layers (rows) x heads (columns): the change in the top token's probability when that head is off,
    in percentage points (blue: the head was helping the answer, red: it was holding it back)."""
    change = scan.change * 100
    layers, heads = change.shape
    limit = float(max(np.abs(change).max(), 1.0))
    answer = display_token(scan.token.token)
    group = heads // kv_heads if kv_heads else None
    custom = [[[f"layer {l + 1}, head {h + 1}" + (f" (KV {h // group + 1})" if group else ""),
                display_token(scan.new_top_tokens[l][h]), f"{scan.after[l, h]:.3f}"] for h in range(heads)]
              for l in range(layers)]
    text = [[f"{v:+.0f}" if abs(v) >= 1 else "" for v in row] for row in change]
    return {"data": [{
        "type": "heatmap", "z": change.round(3).tolist(), "x": list(range(1, heads + 1)), "y": list(range(1, layers + 1)),
        "text": text, "texttemplate": "%{text}", "textfont": FONT, "colorscale": DIVERGING, "zmid": 0, "zmin": -limit,
        "zmax": limit, "customdata": custom, "xgap": 1, "ygap": 1,
        "colorbar": {"thickness": 12, "tickfont": FONT, "title": {"text": "pp", "font": FONT}},
        "hovertemplate": ("%{customdata[0]} off<br>p(" + _esc(answer) + f") {scan.token.probability:.3f} → "
                          "%{customdata[2]} (%{z:+.1f} pp)<br>top token then: %{customdata[1]}<extra></extra>"),
    }], "layout": {
        "height": max(460, 140 + 22 * layers), "font": FONT, "hoverlabel": {"font": FONT},
        "margin": {"l": 10, "r": 10, "t": 90, "b": 50},
        "title": {"text": f"Change in p(<b>{_esc(answer)}</b>) when one head is switched off (percentage points)"
                          f"<br><span style='font-size:14px'>{layers * heads} heads, {scan.rows} prompts in "
                          f"{scan.batches} forward passes, {scan.seconds:.1f} s on this machine</span>",
                  "font": {"size": 17}, "x": 0.01, "xanchor": "left"},
        "xaxis": {"title": {"text": "head", "font": FONT}, "tickmode": "array", "tickvals": list(range(1, heads + 1)),
                  "tickfont": FONT},
        "yaxis": {"title": {"text": "layer", "font": FONT}, "autorange": "reversed", "tickfont": FONT, "dtick": 1,
                  "automargin": True},
    }}
