"""The Q, K, V panel (not a view): how the head chosen in the Text or Decoder view computes its pattern.

The view calls :func:`add` where the panel goes; the panel follows the view's text and layer/head sliders.
One model call per text records every layer (:mod:`engine.attention.qkv`); changing layer, head, query token
or step redraws from the session's state. The public ``/attention_qkv`` endpoint is registered by the Text view.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from demos.common.cards import figure_cards, result_card
from demos.common.contract import OnOpen
from demos.common.errors import user_errors
from demos.common.limits import QUICK_S, STANDARD_S
from demos.common.memo import memoised
from demos.common.payloads import plot
from engine.core.imports import IMPORT_LOCK

STEP_CHOICES = [("1 · q and k", 1), ("2 · scores q·k/√d", 2), ("3 · mask", 3), ("4 · softmax", 4),
                ("5 · values v", 5), ("6 · output", 6)]
EXPLAIN = (
    "**How one head computes its pattern.** Each token's vector is projected three ways: a **query** q (what am I "
    "looking for?), a **key** k (what do I offer?) and a **value** v (what do I pass on?). The query token's score "
    "for each key is q·k/√d; the **mask** adds −∞ where a key may not be seen (a decoder cannot look ahead); "
    "**softmax** turns scores into weights summing to 1; the head's **output** is the weighted sum of the values. "
    "Every number is read from the model's own projections with forward hooks, not recomputed from a copy; "
    "step through with the buttons. Blue: negative, red: positive."
)
MINILM_NOTE = " This panel reads the embedded pre-trained MiniLM on sentence A alone, whichever model is chosen above."
ROPE_NOTE = (
    "**RoPE and grouped-query attention.** SmolLM2 rotates q and k by the *rotary position embedding* before the "
    "scores (pairs of dimensions turn by an angle that grows with the position), so q·k depends on how far apart "
    "two tokens are. Its 9 query heads share 3 key/value heads: heads 1-3 read key/value head 1, 4-6 head 2, 7-9 head 3."
)


@dataclass(frozen=True)
class QKVPanel:
    """The panel's components and its opening result (chain :meth:`on_open` after the view's own)."""

    model: str  # "minilm" or "smollm2"
    inputs: tuple  # text, layer, head, query, step
    outputs: tuple  # state, query, figure, card, rope figure
    state: gr.State

    def on_open(self, then: tuple = ()) -> OnOpen:
        return OnOpen(_OPENERS[self.model], self.inputs, self.outputs, then=then, time_limit=STANDARD_S)

    def refresh_after(self, dependency):
        """Recompute when the view's own run (``dependency``) has finished; returns the new step."""
        return dependency.then(_OPENERS[self.model], list(self.inputs), list(self.outputs), api_visibility="private",
                               time_limit=STANDARD_S, show_progress="minimal")


def _query_choices(tokens) -> list[tuple[str, int]]:
    with IMPORT_LOCK:
        from engine.attention.decoder_render import display_token
    return [(f"{i}: {display_token(t)}", i) for i, t in enumerate(tokens)]


def _draw(capture, layer, head, query, step):
    """Figure, card and RoPE figure for one head and query (no model call)."""
    with IMPORT_LOCK:
        from engine.attention import xray_render
    # Kept inside the model: the view's sliders may have been set for another model.
    layer0 = min(max(int(layer or 1), 1), capture.num_layers) - 1
    head0 = min(max(int(head or 1), 1), capture.num_heads) - 1
    computation = capture.head(layer0, head0)
    count = len(capture.tokens)
    query = int(query) if query is not None and -count <= int(query) < count else count - 1
    query %= count
    weights = computation.model_weights[query]
    top = int(weights.argmax())
    items = [
        ("query token", f"{query}: {capture.tokens[query].strip() or '∅'}",
         f"{capture.model_name}, layer {layer0 + 1}, head {head0 + 1}"),
        ("looks most at", f"{top}: {capture.tokens[top].strip() or '∅'}", f"weight {weights[top]:.2f}"),
        ("max |softmax(q·k/√d + mask) − model's attention|", f"{computation.weight_difference:.1e}",
         "this head, every query: the weights are the model's own"),
        ("max |Σ weight·v − model's head output|", f"{computation.output_difference:.1e}", "read before the output projection"),
    ]
    rope = None
    if capture.rotary:
        items.insert(2, ("key/value head (grouped-query)", f"{computation.kv_head + 1} of {capture.num_kv_heads}",
                         f"shared by query heads {computation.kv_head * (capture.num_heads // capture.num_kv_heads) + 1}-"
                         f"{(computation.kv_head + 1) * (capture.num_heads // capture.num_kv_heads)}"))
        rope = plot(xray_render.rope_figure(computation, query))
    return plot(xray_render.qkv_figure(computation, query, step)), figure_cards(items), rope, query


def _open(model: str, text, layer, head, query, step):
    with IMPORT_LOCK:
        from engine.attention import qkv
    capture = qkv.capture(text, model)
    # A new text keeps the chosen query when it still exists; otherwise the decoder's last token (the one
    # predicting the next) or the encoder's first word.
    count = len(capture.tokens)
    default = count - 1 if capture.rotary else min(1, count - 1)
    query = int(query) if isinstance(query, (int, float)) and 0 <= int(query) < count else default
    figure, card, rope, query = _draw(capture, layer, head, query, step or 6)
    return capture, gr.update(choices=_query_choices(capture.tokens), value=query), figure, card, rope


# Every visitor opens the panel on the view's default text: kept per process (see demos.common.memo), 2 texts per
# model. The capture (read-only, frozen; 1.4 MB for the default prompt, ~22 MB at SmolLM2's 64 tokens) is shared by
# the pages that asked, as their state.
@user_errors
@memoised(capacity=2)
def minilm_qkv_open(text: str, layer: int = 1, head: int = 1, query: int = 1, step: int = 6):
    """The Text view's Q/K/V panel for its sentence A (one MiniLM forward pass with hooks)."""
    return _open("minilm", text, layer, head, query, step)


@user_errors
@memoised(capacity=2)
def smollm2_qkv_open(text: str, layer: int = 6, head: int = 1, query: int = -1, step: int = 6):
    """The Decoder view's Q/K/V panel for its prompt (one SmolLM2 forward pass with hooks)."""
    return _open("smollm2", text, layer, head, query, step)


_OPENERS = {"minilm": minilm_qkv_open, "smollm2": smollm2_qkv_open}


@user_errors
def qkv_redraw(capture, layer: int = 1, head: int = 1, query: int = 0, step: int = 6):
    """Layer, head, query token or step changed: redraw from the session's capture (no model call)."""
    if capture is None:
        return gr.skip(), gr.skip(), gr.skip()
    figure, card, rope, _ = _draw(capture, layer, head, query, step)
    return figure, card, rope if rope is not None else gr.skip()


@user_errors
def attention_qkv(text: str, layer: int = 1, head: int = 1, model: str = "minilm") -> dict:
    """One attention head step by step: q, k and v (the head's slices of the model's own query, key and value
    projections, read with hooks; after the rotary embedding for smollm2), scores = q·kᵀ/√d, weights (the model's
    output_attentions, equal to softmax(scores + mask)) and output (the head's own output, equal to weights · v).

    model is "minilm" (6 layers x 12 heads) or "smollm2" (30 layers x 9 heads, 3 key/value heads); layer and head
    are 1-based. Returns {tokens, q, k, v, scores, weights, output, masked, layer, head, kv_head, check, notes},
    plus q_before_rope and k_before_rope for smollm2.
    """
    with IMPORT_LOCK:
        from engine.attention import qkv
    return qkv.head_computation(text, layer, head, model).as_json()


def add(model: str, text: gr.Textbox, layer: gr.Slider, head: gr.Slider, public: bool = False) -> QKVPanel:
    """Lay out the panel in an accordion where it is called, wire its redraws, and return its handles.

    ``public``: also register the public ``/attention_qkv`` endpoint (once, by the Text view)."""
    with gr.Accordion("Inside one head: Q, K and V step by step", open=True, elem_id=f"{model}-qkv"):
        gr.Markdown(EXPLAIN + ("  \n" + ROPE_NOTE if model == "smollm2" else MINILM_NOTE), elem_classes=["nd-explain"])
        state = gr.State(None, time_to_live=3600)
        with gr.Row():
            query = gr.Radio([], value=None, label="Query token (the token that is looking)", scale=3,
                             elem_id=f"{model}-qkv-query")
            step = gr.Radio(STEP_CHOICES, value=6, label="Step", scale=2, elem_id=f"{model}-qkv-step")
        card = result_card(f"{model}-qkv-card")
        figure = gr.Plot(show_label=False, elem_id=f"{model}-qkv-figure")
        rope = gr.Plot(show_label=False, elem_id=f"{model}-qkv-rope", visible=model == "smollm2")
    inputs = (text, layer, head, query, step)
    # change, not release: a click on the view's model-view grid sets the sliders too.
    gr.on([layer.change, head.change, query.input, step.input], qkv_redraw, inputs=[state, layer, head, query, step],
          outputs=[figure, card, rope], api_visibility="private", time_limit=QUICK_S, show_progress="minimal")
    if public:
        gr.api(attention_qkv, api_name="attention_qkv", time_limit=STANDARD_S)
    return QKVPanel(model, inputs, (state, query, figure, card, rope), state)
