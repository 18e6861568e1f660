"""The translation lab's screens, each from one call: translations + every figure the tab shows.

The tab's handlers call exactly one function here. Figures are SVG and HTML strings (the live loss a Plotly
dict; :mod:`.render`); results are frozen dataclasses the tab keeps in ``gr.State`` for re-drawing
without running a model.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from engine.attention.seq2seq import render
from engine.attention.seq2seq.inference import MODEL_KINDS, MODEL_NAMES, Translation, payload, translate, translate_all

ATTENTION_MODELS = ("transformer", "rnn_attention")


@dataclass(frozen=True)
class LabViews:
    cards: str  # HTML: the three outputs
    notes: str  # Markdown
    cross: str  # SVG: the chosen model's cross-attention (one layer/head for the transformer)
    model_view: str | None  # SVG: every layer x head (transformer only)
    highlight: str  # HTML: the chosen output character and the source characters it attended to
    encoder_self: str | None  # SVG (transformer)
    decoder_self: str | None  # SVG (transformer)
    positions: list[tuple[str, int]]  # choices for "which output character"
    position: int
    layer: int  # 1-based, clamped
    head: int
    layers: int
    heads: int


def _verdict(result: Translation) -> tuple[str, str]:
    if result.best_guess:
        return "⚠️ best guess: not a date these models know", "#b26a00"
    if result.correct:
        return "✓ correct", "#1a7f37"
    return f"✗ wrong (should be {result.expected})", "#c62828"


def cards(results: dict[str, Translation]) -> str:
    rows = []
    for kind in MODEL_KINDS:
        if kind not in results:
            continue
        result = results[kind]
        verdict, colour = _verdict(result)
        if result.forced_prefix:
            verdict = f"prefix {result.forced_prefix!r} forced · " + verdict
        rows.append({"label": MODEL_NAMES[kind], "output": result.output, "verdict": verdict, "colour": colour})
    return render.outputs_card(rows)


def _plain(text: str) -> str:
    """Typed text shown as itself in Markdown: HTML escaped, Markdown's markup characters backslash-escaped."""
    return "".join("\\" + c if c in "\\`*_[]()#!|~" else c for c in html.escape(str(text), quote=False))


def notes(results: dict[str, Translation]) -> str:
    first = next(iter(results.values()))
    lines = [f"Input read as **{_plain(first.source)}**"
             + (f" → correct answer **{first.expected}**." if first.expected else ".")]
    seen = set()
    for result in results.values():
        for note in result.notes:
            if note not in seen:
                seen.add(note)
                lines.append(f"⚠️ {_plain(note)}")  # notes quote the typed text and name <unk>
    return "  \n".join(lines)


def _clamp(value, low: int, high: int, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high)


def views(results: dict[str, Translation], view_model: str = "transformer", layer=2, head=1, position=0) -> LabViews:
    """Every figure for ``results`` (no model call): cross-attention of ``view_model`` at (layer, head),
    the model view, the source highlight of output ``position``, and the transformer's self-attention."""
    if view_model not in ATTENTION_MODELS:
        raise ValueError(f"Cross-attention exists for {' and '.join(ATTENTION_MODELS)}; got {view_model!r}.")
    chosen = results[view_model]
    transformer = results.get("transformer")
    rows = list(chosen.target_tokens)
    position = _clamp(position, 0, len(rows) - 1, 0)
    layers = heads = 1
    model_view = encoder_self = decoder_self = None
    if chosen.cross_attention.ndim == 4:
        layers, heads = chosen.cross_attention.shape[:2]
    layer, head = _clamp(layer, 1, layers, layers), _clamp(head, 1, heads, 1)
    if chosen.cross_attention.ndim == 4:
        matrix = chosen.cross_attention[layer - 1, head - 1]
        title = f"Cross-attention · transformer layer {layer}, head {head}"
        model_view = render.model_view(chosen.cross_attention, "Model view: cross-attention, every layer × head",
                                       (layer - 1, head - 1))
    else:
        matrix = chosen.cross_attention
        title = "Alignment · GRU + Bahdanau attention"
    cross = render.attention_heatmap(matrix, rows, chosen.source_tokens, title, highlight_row=position)
    caption = (f"Output character {position} ({rows[position]!s}) of the {MODEL_NAMES[view_model]}"
               + (f", layer {layer}, head {head}" if chosen.cross_attention.ndim == 4 else "") + ":")
    highlight = render.source_highlight_html(chosen.source_tokens, matrix[position], rows, position, caption)
    if transformer is not None and transformer.encoder_self_attention is not None:
        tl, th = min(layer, transformer.encoder_self_attention.shape[0]), min(head, transformer.encoder_self_attention.shape[1])
        encoder_self = render.attention_heatmap(
            transformer.encoder_self_attention[tl - 1, th - 1], transformer.source_tokens, transformer.source_tokens,
            f"Encoder self-attention · layer {tl}, head {th}", row_title="input", col_title="input",
            width=render.HALF_WIDTH)
        decoder_self = render.attention_heatmap(
            transformer.decoder_self_attention[tl - 1, th - 1], transformer.decoder_input_tokens,
            transformer.decoder_input_tokens,
            f"Decoder self-attention · layer {tl}, head {th} (causal)", row_title="decoder input",
            col_title="earlier decoder input", width=render.HALF_WIDTH)
    positions = [(f"{i}: {t}", i) for i, t in enumerate(rows)]
    return LabViews(cards(results), notes(results), cross, model_view, highlight, encoder_self, decoder_self,
                    positions, position, layer, head, layers, heads)


def run_lab(text, view_model: str = "transformer", layer=2, head=1, position=0) -> tuple[dict, LabViews, dict]:
    """Translate ``text`` with all three models; returns (results, views, API payload of the viewed model)."""
    results = translate_all(text)
    return results, views(results, view_model, layer, head, position), payload(results[view_model])


def what_if(text, prefix: str = "1", view_model: str = "transformer", layer=2, head=1) -> tuple[str, str, str, dict]:
    """Force the first output characters of all three models; returns (cards, notes, cross-attention figure,
    payload of the viewed model's forced run)."""
    if view_model not in ATTENTION_MODELS:
        raise ValueError(f"Cross-attention exists for {' and '.join(ATTENTION_MODELS)}; got {view_model!r}.")
    if not (prefix or "").strip():
        raise ValueError("Type a forced prefix, e.g. '1' (make the year start with 1) or '2021-1'.")
    results = translate_all(text, prefix)
    chosen = results[view_model]
    if chosen.cross_attention.ndim == 4:
        layers, heads = chosen.cross_attention.shape[:2]
        layer, head = _clamp(layer, 1, layers, layers), _clamp(head, 1, heads, 1)
        matrix, title = chosen.cross_attention[layer - 1, head - 1], f"What-if cross-attention · layer {layer}, head {head}"
    else:
        matrix, title = chosen.cross_attention, "What-if alignment · GRU + Bahdanau attention"
    figure = render.attention_heatmap(matrix, chosen.target_tokens, chosen.source_tokens,
                                      f"{title} · forced {chosen.forced_prefix!r}")
    return cards(results), notes(results), figure, payload(chosen)


def translate_payload(text, model: str = "transformer") -> dict:
    """The ``/seq2seq_translate`` API: one model's output, tokens and cross-attention as JSON."""
    return payload(translate(text, model))


def live_views(frame, layer_head: tuple[int, int] | None = None) -> tuple[dict, str, str]:
    """Live training: (loss + alignment chart, the fixed example's cross-attention, status Markdown)."""
    from engine.attention.seq2seq.evaluate import ALIGNED_THRESHOLD

    loss = render.loss_figure(frame.loss_steps, frame.losses, frame.scores, ALIGNED_THRESHOLD)
    if np.asarray(frame.cross).ndim == 4:
        layer, head = frame.best_head if layer_head is None else layer_head
        matrix = frame.cross[layer, head]
        title = f"Best-aligned head: layer {layer + 1}, head {head + 1}"
    else:
        matrix, title = frame.cross, "Alignment of the attention GRU"
    cross = render.attention_heatmap(matrix, frame.target_tokens, frame.source_tokens, f"{title} · step {frame.step}",
                                     width=render.HALF_WIDTH)
    aligned = (f"reached {ALIGNED_THRESHOLD:.2f} at step **{frame.aligned_step}** after **{frame.aligned_seconds:.0f} s**"
               if frame.aligned_step is not None else f"not yet at {ALIGNED_THRESHOLD:.2f}")
    status = (
        f"### step {frame.step} · {frame.seconds:.0f} s · {frame.steps_per_second:.1f} steps/s\n"
        f"Fixed example: **Wednesday, March 3, 2021** → the model now writes **{frame.output or '(nothing)'}**  \n"
        f"Alignment score **{frame.score:.2f}** (share of attention on the right field; uniform ≈ 0.15): {aligned}"
    )
    return loss, cross, status
