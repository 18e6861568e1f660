"""Drawing the decoder: Plotly figure dicts, the model-view image and small HTML cards.

Pure functions of the arrays and dataclasses made by :mod:`engine.attention.decoder`; nothing here
runs a model. Figures are raw Plotly dicts (building ``plotly.graph_objects`` costs more than the
forward pass); every chart's text is at least 14 px so it reads from the back of a room.
"""

from __future__ import annotations

import html
import math
import unicodedata
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from engine.core.draw import CHART_FONT_PX, colourise, font

FONT = {"size": CHART_FONT_PX}
TITLE_FONT = {"size": 17}
MODEL_COLOUR = "#4c78a8"
SAMPLED_COLOUR = "#f58518"
CHOSEN_COLOUR = "#d62728"
MASK_GREY = "#d0d0d0"
MAX_TICKS = 36  # more token labels than this overlap at 14 px; the rest are thinned out


def _visible(ch: str) -> str:
    if ch in "\n\r\t" or unicodedata.category(ch) not in {"Cc", "Cf"}:
        return ch
    return f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"


def display_token(token: str) -> str:
    """A token as an axis label: a leading space as ▁, line breaks as ⏎, tabs as ⇥, invisible
    characters (zero-width space, control bytes) as escapes such as \\u200b."""
    shown = "".join(_visible(ch) for ch in token)
    shown = shown.replace("\n", "⏎").replace("\r", "↵").replace("\t", "⇥")
    if shown.startswith(" "):
        shown = "▁" + shown[1:]
    return shown if shown.strip() else (shown.replace(" ", "▁") or "∅")


def _labels(tokens) -> list[str]:
    return [display_token(t) for t in tokens]


def _ticks(count: int, labels: list[str]) -> dict:
    stride = max(1, math.ceil(count / MAX_TICKS))
    positions = list(range(0, count, stride))
    return {"tickmode": "array", "tickvals": positions, "ticktext": [labels[i] for i in positions]}


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%" if value >= 0.001 else f"{100 * value:.2g}%"


def _probability_ticks(top: float) -> list[float]:
    """Round probability ticks up to ``top`` (never past 100%)."""
    step = 0.05 if top <= 0.25 else 0.1 if top <= 0.5 else 0.2
    return [round(i * step, 2) for i in range(int(min(top, 1.0) / step + 1e-9) + 1)]


def candidates_figure(step, tokens_before: int | None = None, how: str = "") -> dict:
    """Horizontal bars: the model's top-10 next tokens before and after temperature/top-k/top-p.

    The chosen token is marked (▶, red outline); when sampling picked a token outside the model's
    top-10, it gets its own row at the bottom with its rank.
    """
    rows = list(step.top_k)
    ids = [c.token_id for c in rows]
    after = {c.token_id: c.probability for c in step.sampled_from}
    labels = [f"{i + 1}. {display_token(c.token)}" for i, c in enumerate(rows)]
    before_values = [c.probability for c in rows]
    if step.token_id not in ids:
        rows_extra = f"{step.chosen_rank}. {display_token(step.token)}"
        labels.append(rows_extra)
        ids.append(step.token_id)
        before_values.append(step.chosen_probability)
        after.setdefault(step.token_id, step.chosen_sampled_probability)
    after_values = [after.get(i, 0.0) for i in ids]
    chosen = ids.index(step.token_id)
    labels[chosen] = f"<b>▶ {labels[chosen]}</b>"
    positions = list(range(len(ids)))
    outline = [{"color": CHOSEN_COLOUR, "width": 3} if i == chosen else {"width": 0} for i in positions]

    def bars(name, values, colour):
        return {
            "type": "bar", "orientation": "h", "name": name, "y": positions, "x": [round(v, 6) for v in values],
            "text": [_percent(v) if v > 0 else "" for v in values], "textposition": "outside", "cliponaxis": False,
            "constraintext": "none",
            "textfont": FONT, "marker": {"color": colour, "line": {"color": CHOSEN_COLOUR, "width": [o["width"] for o in outline]}},
            "customdata": labels, "hovertemplate": "%{customdata}<br>" + name + ": %{x:.4f}<extra></extra>",
        }

    after_name = "drawn from" if not how.startswith("greedy") else "greedy choice"
    title = (
        f"Step {step.index + 1}: chose <b>{html.escape(display_token(step.token))}</b> "
        f"(model p = {_percent(step.chosen_probability)}, rank {step.chosen_rank})"
    )
    top = max(max(before_values), max(after_values), 1e-9)
    layout = {
        "title": {"text": title, "font": TITLE_FONT, "x": 0.01, "xanchor": "left"},
        "font": FONT,
        "barmode": "group",
        "bargap": 0.2,
        "height": 440,
        "uniformtext": {"minsize": 14, "mode": "show"},  # bar labels never shrink below 14 px
        "margin": {"l": 10, "r": 20, "t": 60, "b": 10},
        "legend": {"orientation": "h", "y": -0.08, "yanchor": "top", "x": 0, "font": FONT},
        "xaxis": {"range": [0, top * 1.22], "tickformat": ".0%", "tickmode": "array",
                  "tickvals": _probability_ticks(top), "tickfont": FONT, "automargin": True},
        "yaxis": {"tickmode": "array", "tickvals": positions, "ticktext": labels, "autorange": "reversed",
                  "tickfont": FONT, "automargin": True},
    }
    return {
        "data": [bars("model: softmax of the logits", before_values, MODEL_COLOUR),
                 bars(f"{after_name} (after temperature / top-k / top-p)", after_values, SAMPLED_COLOUR)],
        "layout": layout,
    }


def _scale_top(values: np.ndarray, skip_first: bool) -> float:
    """Top of the colour scale: the largest value, or, with ``skip_first``, the largest outside column 0
    (the first token soaks up attention in decoders and would leave every other cell dark)."""
    values = np.asarray(values, dtype=np.float64)
    if skip_first and values.shape[-1] > 1:
        values = values[..., 1:]
    top = float(np.nanmax(values)) if values.size and not np.all(np.isnan(values)) else 0.0
    return top if top > 0 else 1.0


def causal_heatmap(
    matrix: np.ndarray, tokens, title: str, subtitle: str | None = None, skip_first: bool = False
) -> dict:
    """A (T, T) causal attention matrix; the future (above the diagonal) drawn grey as masked.

    The colour scale runs from 0 to the largest weight (outside column 0 with ``skip_first``; larger
    values there saturate, the hover still shows them)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    count = matrix.shape[0]
    labels = _labels(tokens)
    future = np.triu(np.ones((count, count), dtype=bool), k=1)
    visible = np.where(future, np.nan, matrix).round(5)
    z = [[None if math.isnan(v) else v for v in row] for row in visible.tolist()]
    mask = [[1 if f else None for f in row] for row in future.tolist()]
    names = [f"{i}: {label}" for i, label in enumerate(labels)]
    custom = [[[q, k] for k in names] for q in names]
    top = _scale_top(visible, skip_first)
    heatmap = {
        "type": "heatmap", "z": z, "x": list(range(count)), "y": list(range(count)), "customdata": custom,
        "colorscale": "Viridis", "zmin": 0, "zmax": top, "hoverongaps": False,
        "hovertemplate": "query %{customdata[0]}<br>key %{customdata[1]}<br>weight %{z:.4f}<extra></extra>",
        "colorbar": {"thickness": 14, "tickfont": FONT},
    }
    masked = {
        "type": "heatmap", "z": mask, "x": list(range(count)), "y": list(range(count)), "customdata": custom,
        "colorscale": [[0, MASK_GREY], [1, MASK_GREY]], "showscale": False, "hoverongaps": False,
        "hovertemplate": "masked: query %{customdata[0]}<br>cannot see the future key %{customdata[1]}<extra></extra>",
    }
    ticks = _ticks(count, labels)
    subtitle = subtitle or "rows: query (the token attending) · columns: key · grey: the masked future"
    if skip_first:
        subtitle += " · colours scaled without token 0"
    layout = {
        "title": {"text": f"{title}<br><span style='font-size:14px'>{subtitle}</span>", "font": TITLE_FONT,
                  "x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top"},
        "font": FONT,
        "height": max(480, min(760, 200 + 14 * count)),
        "margin": {"l": 10, "r": 10, "t": 80, "b": 10},
        "plot_bgcolor": "#ffffff",
        "xaxis": {**ticks, "tickangle": -60, "tickfont": FONT, "automargin": True, "constrain": "domain"},
        "yaxis": {**ticks, "autorange": "reversed", "tickfont": FONT, "automargin": True},
    }
    return {"data": [masked, heatmap], "layout": layout}


def newest_token_figure(rows: np.ndarray, tokens, query: int, skip_first: bool = False) -> dict:
    """(L, query + 1) heatmap: what one token (the newest by default) attends to in every layer."""
    rows = np.asarray(rows, dtype=np.float64)
    layers, keys = rows.shape
    labels = _labels(tokens[:keys])
    names = [f"{j}: {label}" for j, label in enumerate(labels)]
    heatmap = {
        "type": "heatmap", "z": rows.round(5).tolist(), "x": list(range(keys)), "y": list(range(1, layers + 1)),
        "customdata": [names for _ in range(layers)], "colorscale": "Viridis", "zmin": 0,
        "zmax": _scale_top(rows, skip_first),
        "hovertemplate": "layer %{y}<br>key %{customdata}<br>weight %{z:.4f}<extra></extra>",
        "colorbar": {"thickness": 14, "tickfont": FONT},
    }
    title = f"What token {query} <b>{html.escape(display_token(tokens[query]))}</b> attends to, layer by layer"
    layout = {
        "title": {"text": f"{title}<br><span style='font-size:14px'>mean of the layer's heads; "
                          "click a token above to pick another" + (" · colours scaled without token 0" if skip_first else "")
                          + "</span>",
                  "font": TITLE_FONT, "x": 0.01, "xanchor": "left", "y": 0.97, "yanchor": "top"},
        "font": FONT,
        "height": max(480, min(760, 200 + 14 * keys)),
        "margin": {"l": 10, "r": 10, "t": 80, "b": 10},
        "xaxis": {**_ticks(keys, labels), "tickangle": -60, "tickfont": FONT, "automargin": True},
        "yaxis": {"title": {"text": "layer", "font": FONT}, "autorange": "reversed", "tickfont": FONT,
                  "dtick": 5 if layers > 12 else 1, "automargin": True},
    }
    return {"data": [heatmap], "layout": layout}


def rollout_bars(flow: np.ndarray, tokens, target: int, hide_first: bool = False) -> dict:
    """How much each earlier token flows, by causal rollout, into position ``target``."""
    flow = np.asarray(flow, dtype=np.float64)[: target + 1]
    labels = _labels(tokens[: target + 1])
    note = "share of attention flow"
    if hide_first and len(flow) > 1 and flow[1:].sum() > 0:
        flow = flow.copy()
        flow[0] = 0.0
        flow = flow / flow.sum()
        note = "share without token 0 (renormalised)"
    bars = {
        "type": "bar", "x": list(range(len(flow))), "y": flow.round(5).tolist(), "marker": {"color": MODEL_COLOUR},
        "customdata": [f"{i}: {t}" for i, t in enumerate(labels)],
        "hovertemplate": "%{customdata}<br>share %{y:.4f}<extra></extra>",
    }
    layout = {
        "title": {"text": f"Rollout into token {target} <b>{html.escape(labels[target])}</b>: where its information comes from",
                  "font": TITLE_FONT, "x": 0.01, "xanchor": "left"},
        "font": FONT,
        "height": 400,
        "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "xaxis": {**_ticks(len(flow), labels), "tickangle": -60, "tickfont": FONT, "automargin": True},
        "yaxis": {"title": {"text": note, "font": FONT}, "rangemode": "tozero", "tickfont": FONT, "automargin": True},
    }
    return {"data": [bars], "layout": layout}


@dataclass(frozen=True)
class HeadGrid:
    """Where each layer x head thumbnail sits in the model-view image: layers across, heads down."""

    layers: int
    heads: int
    cell: int
    gap: int
    left: int
    top: int
    group_gap: int  # extra space between key/value groups of heads
    group: int  # query heads per key/value head

    def x(self, layer: int) -> int:
        return self.left + layer * (self.cell + self.gap)

    def y(self, head: int) -> int:
        return self.top + head * (self.cell + self.gap) + (head // self.group) * self.group_gap

    def cell_at(self, px: float, py: float) -> tuple[int, int] | None:
        """(layer, head), 0-based, under pixel (px, py); None for margins and gaps."""
        for layer in range(self.layers):
            if self.x(layer) <= px < self.x(layer) + self.cell:
                for head in range(self.heads):
                    if self.y(head) <= py < self.y(head) + self.cell:
                        return layer, head
        return None


def head_grid(layers: int, heads: int, kv_heads: int, cell: int = 34) -> HeadGrid:
    group = max(1, heads // max(1, kv_heads))
    return HeadGrid(layers=layers, heads=heads, cell=cell, gap=3, left=44, top=26, group_gap=8 if group > 1 else 0, group=group)


def model_view_image(
    attentions: np.ndarray, kv_heads: int, selected: tuple[int, int] | None = None, skip_first: bool = False
) -> tuple[Image.Image, HeadGrid]:
    """Small multiples of every layer (columns) x head (rows); masked future cells grey.

    Heads sharing a key/value head (grouped-query attention) are grouped, with a gap and a "KV n" label.
    Each thumbnail is scaled to its own maximum (outside column 0 with ``skip_first``: the first token's
    column then saturates instead of leaving the rest dark).
    """
    layers, heads, tokens, _ = attentions.shape
    grid = head_grid(layers, heads, kv_heads)
    width = grid.x(layers) + 52
    height = grid.y(heads - 1) + grid.cell + 6
    canvas = np.full((height, width, 3), 255, dtype=np.uint8)
    index = (np.arange(grid.cell) * tokens // grid.cell).clip(0, tokens - 1)
    future = (index[None, :] > index[:, None])
    grey = np.array([208, 208, 208], dtype=np.uint8)
    for layer in range(layers):
        for head in range(heads):
            matrix = attentions[layer, head][np.ix_(index, index)]
            picture = colourise(matrix, vmax=_scale_top(attentions[layer, head], skip_first))
            picture[future] = grey
            y, x = grid.y(head), grid.x(layer)
            canvas[y : y + grid.cell, x : x + grid.cell] = picture
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    label_font = font(CHART_FONT_PX)
    for layer in range(layers):
        if layer == 0 or (layer + 1) % 5 == 0:
            draw.text((grid.x(layer) + 2, 4), f"L{layer + 1}", fill=(40, 40, 40), font=label_font)
    for head in range(heads):
        draw.text((4, grid.y(head) + grid.cell // 2 - 8), f"H{head + 1}", fill=(40, 40, 40), font=label_font)
    if grid.group > 1:
        for kv in range(heads // grid.group):
            first, last = grid.y(kv * grid.group), grid.y((kv + 1) * grid.group - 1) + grid.cell
            x = grid.x(layers) + 4
            draw.line([(x, first), (x, last)], fill=(90, 90, 90), width=2)
            draw.text((x + 6, (first + last) // 2 - 8), f"KV{kv + 1}", fill=(40, 40, 40), font=label_font)
    if selected is not None:
        layer, head = selected
        x, y = grid.x(layer), grid.y(head)
        draw.rectangle([x - 2, y - 2, x + grid.cell + 1, y + grid.cell + 1], outline=(220, 30, 30), width=3)
    return image, grid


def kv_cache_figure(timing) -> dict:
    """Time per generated token against its position, with and without the KV cache."""
    positions = list(timing.positions)

    def line(name, seconds, colour):
        return {
            "type": "scatter", "mode": "lines+markers", "name": name, "x": positions,
            "y": [round(1000 * s, 2) for s in seconds], "line": {"color": colour, "width": 3}, "marker": {"size": 6},
            "hovertemplate": "position %{x}<br>%{y:.1f} ms<extra>" + name + "</extra>",
        }

    ratio = timing.total_without_cache / timing.total_with_cache if timing.total_with_cache > 0 else float("nan")
    layout = {
        "title": {"text": f"Time per token: {len(positions)} tokens took {timing.total_with_cache:.2f} s with the cache, "
                          f"{timing.total_without_cache:.2f} s without ({ratio:.1f}x)",
                  "font": TITLE_FONT, "x": 0.01, "xanchor": "left"},
        "font": FONT,
        "height": 420,
        "margin": {"l": 10, "r": 10, "t": 60, "b": 10},
        "legend": {"orientation": "h", "y": 1.0, "x": 0.01, "yanchor": "bottom", "font": FONT},
        "xaxis": {"title": {"text": "position of the new token (tokens already in the sequence)", "font": FONT},
                  "tickfont": FONT, "automargin": True},
        "yaxis": {"title": {"text": "ms per token", "font": FONT}, "rangemode": "tozero", "tickfont": FONT, "automargin": True},
    }
    return {
        "data": [line("without cache: re-run the whole sequence", timing.seconds_without_cache, CHOSEN_COLOUR),
                 line("with KV cache: run only the new token", timing.seconds_with_cache, MODEL_COLOUR)],
        "layout": {**layout, "legend": {**layout["legend"], "y": 1.0}},
    }


def _card(items: list[tuple[str, str]], foot: str = "") -> str:
    cells = "".join(
        f'<div style="flex:1;min-width:150px;padding:8px 14px;border-radius:10px;background:var(--block-background-fill, #f5f5f7);'
        f'border:1px solid var(--border-color-primary, #ddd)">'
        f'<div style="font-size:28px;font-weight:700;line-height:1.15;white-space:nowrap">{html.escape(value)}</div>'
        f'<div style="font-size:15px;opacity:0.8">{html.escape(label)}</div></div>'
        for value, label in items
    )
    foot_html = f'<div style="font-size:15px;margin-top:6px">{foot}</div>' if foot else ""
    return f'<div style="display:flex;gap:10px;flex-wrap:wrap">{cells}</div>{foot_html}'


def loading_card(progress) -> str:
    """Progress while the model loads (the first start converts the GGUF)."""
    percent = int(round(100 * max(0.0, min(1.0, progress.fraction))))
    return (
        f'<div style="padding:10px 14px;border-radius:10px;border:1px solid var(--border-color-primary, #ddd)">'
        f'<div style="font-size:22px;font-weight:700">Loading SmolLM2… {progress.seconds:.0f} s</div>'
        f'<div style="font-size:16px;margin:4px 0">{html.escape(progress.stage)}</div>'
        f'<progress value="{percent}" max="100" style="width:100%;height:14px"></progress></div>'
    )


ENGINE_RATE_LABEL = "tokens per second, engine only (model time, without streaming)"
ENGINE_FIRST_LABEL = "first token, engine only (model time, without streaming)"


def generation_card(steps_done: int, max_new_tokens: int, elapsed: float, first_token: float | None,
                    how: str, done: bool, stop_reason: str = "", kept: bool = False) -> str:
    """Big figures while tokens stream in and after: tokens, and the engine's own tokens/s and first-token
    latency (model time only; what the viewer's page received is timed in the browser, beside this card).

    ``kept``: the continuation the view opens with, computed once per process, not on a click.
    """
    rate = steps_done / elapsed if elapsed > 0 and steps_done else 0.0
    items = [
        (f"{steps_done} / {max_new_tokens}", "tokens generated"),
        (f"{rate:.1f}", ENGINE_RATE_LABEL),
        ("–" if first_token is None else f"{1000 * first_token:.0f} ms", ENGINE_FIRST_LABEL),
    ]
    state = f"Done: stopped at the {stop_reason}." if done else "Generating…"
    foot = f"{state} Decoding: {html.escape(how)}."
    if kept:
        foot += (" This is the kept opening continuation, computed once when the server started: no click timed it."
                 " Press Generate to see how fast tokens reach this page.")
    return _card(items, foot)


def kv_card(timing) -> str:
    with_ms = 1000 * np.mean(timing.seconds_with_cache[1:] or timing.seconds_with_cache)
    without_last = 1000 * timing.seconds_without_cache[-1]
    without_first = 1000 * timing.seconds_without_cache[0]
    ratio = timing.total_without_cache / timing.total_with_cache if timing.total_with_cache > 0 else float("nan")
    same = "the same tokens both ways" if timing.same_tokens else "slightly different tokens (float rounding)"
    return _card(
        [(f"{with_ms:.0f} ms", "per token with the cache"),
         (f"{without_first:.0f} → {without_last:.0f} ms", "per token without it (first → last)"),
         (f"{ratio:.1f}x", "total time saved by the cache")],
        f"{len(timing.positions)} tokens, {same}.",
    )


def highlight_tokens(tokens, prompt_length: int, selected_step: int | None = None) -> list[tuple[str, str | None]]:
    """HighlightedText value: prompt tokens plain, generated ones marked, the selected step marked apart."""
    value = []
    for position, token in enumerate(tokens):
        shown = "".join(_visible(ch) for ch in token) or "∅"  # an RTL override or zero-width space stays visible
        if position < prompt_length:
            value.append((shown, None))
        elif selected_step is not None and position - prompt_length == selected_step:
            value.append((shown, "selected step"))
        else:
            value.append((shown, "generated"))
    return value
