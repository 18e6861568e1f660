"""Attention › Text: where each token of a sentence (or a pair) looks, in a real pre-trained encoder.

One model call per input (:mod:`engine.attention.text`); every view is drawn from its result with
:mod:`engine.attention.render` and :mod:`engine.attention.rollout`, so switching layer, head or token
redraws without running the model again.
"""

from __future__ import annotations

import dataclasses

import gradio as gr
import numpy as np

from demos.attention import qkv_panel
from demos.attention.shared import CAVEAT, HEAD_FUSIONS, check_fusion, clamp_layer_head, layer_head
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import STANDARD_S
from demos.common.memo import memoised
from demos.common.payloads import InlineImage, LargeJSON
from demos.common.sessions import session_id
from engine.core.arrays import pack_array
from engine.core.imports import IMPORT_LOCK
from engine.core.registry import SOURCES
from engine.transfer.options import FINETUNED, LINEAR_STRATEGIES, STRATEGIES, STRATEGY_LABELS

TEXT_EXAMPLES = [
    ["The animal didn't cross the street because it was too tired.", ""],
    ["The cat sat on the mat.", "The dog lay on the rug."],
    ["Paris is the capital of France.", "What is the capital of France?"],
    ["I deposited cash at the bank, then sat on the river bank.", ""],
]
DEFAULT_TEXT = TEXT_EXAMPLES[0][0]
DEFAULT_MODEL = "minilm"
TEXT_MODEL_CHOICES = [
    ("all-MiniLM-L6-v2 (embedded, offline) - before fine-tuning", DEFAULT_MODEL),
    ("MiniLM fine-tuned in the Transfer tab (this session, best strategy) - after", FINETUNED),
] + [(f"MiniLM fine-tuned in the Transfer tab: {STRATEGY_LABELS[s]} - after", f"{FINETUNED}:{s}") for s in STRATEGIES] + [
    (f"{hub_id} (Hub, online only)", hub_id) for hub_id in SOURCES["minilm"].hub_alternatives
]
MINILM_LAYERS, MINILM_HEADS = 6, 12  # the embedded model's; each result sets the sliders to its own model's
ALL_TOKENS = -1  # head-view choice meaning "draw every token's lines"


def _index(value, count: int, what: str) -> int:
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a token position (an integer), got {value!r}.") from None
    if not -1 <= index < count:
        raise ValueError(f"{what} {index} is out of range: this input has tokens 0..{count - 1}.")
    return index


def _text_views(result, layer, head, head_fusion, rollout_target, head_view_token):
    """All figures for one TextAttention (pure rendering; no model call)."""
    with IMPORT_LOCK:
        from engine.attention import render, rollout as rollout_engine
    tokens = list(result.tokens)
    layer0, head0 = layer_head(result, layer, head)
    target = _index(rollout_target, len(tokens), "Rollout target")
    target = 0 if target == ALL_TOKENS else target
    selected = _index(head_view_token, len(tokens), "Head-view token")
    rollout = rollout_engine.attention_rollout(result.attentions, head_fusion)
    # SVG, not Plotly: the view's main result shows as soon as it arrives (docs/stage.md, first result).
    matrix = render.attention_heatmap_svg(
        result.attentions[layer0, head0], tokens, tokens, f"Layer {layer0 + 1}, head {head0 + 1}", zmax=1.0
    )
    grid, _ = render.model_view_image(result.attentions, selected=(layer0, head0))
    head_view = render.head_view_svg(
        result.attentions[layer0],
        tokens,
        heads=list(range(result.num_heads)),
        selected_token=None if selected == ALL_TOKENS else selected,
        segment_ids=list(result.segment_ids),
    )
    rollout_figure = render.attention_heatmap_svg(rollout, tokens, tokens, f"Attention rollout (heads fused by {head_fusion})")
    flow_figure = render.token_flow_bars_svg(rollout[target], tokens, f"{target}: {tokens[target]}")
    head_view = f'<div style="overflow:auto;max-height:720px">{head_view}</div>'
    return matrix, grid, head_view, rollout_figure, flow_figure, rollout


def unchanged_attention_note(strategy: str) -> str:
    """Why a Transfer strategy's "after" attention is not a before/after of fine-tuning ("" when it is one)."""
    if strategy in LINEAR_STRATEGIES:
        return ("This strategy did not fine-tune MiniLM: it trains only a classification head on MiniLM's frozen "
                "features, so the attention shown is exactly the pre-trained model's, unchanged. Compare a "
                "fine_tune_last_n or full_fine_tune model for a real before/after.")
    if strategy == "from_scratch":
        return ("This strategy did not fine-tune the pre-trained weights: from scratch starts from random ones, so the "
                "attention shown was learnt from your data alone. Compare a fine_tune_last_n or full_fine_tune model "
                "for a real before/after.")
    return ""


def _finetuned_attention(model_id: str, text: str, text_pair: str, request):
    """Attention of this session's fine-tuned MiniLM (Transfer tab), with a note on how to see 'before'."""
    key = session_id(request)
    with IMPORT_LOCK:
        from engine.attention import text as engine_text
        from engine.transfer import attention as transfer_attention, session as transfer_session
    strategy = model_id.partition(":")[2].strip() or None
    session = transfer_session.find_session(key)
    if session is None or not session.results:
        raise ValueError(
            "No fine-tuned model in this session yet: in the Transfer tab, load a text dataset, train a "
            "fine-tuning strategy, then come back (or use its 'Open in the Attention tab' button)."
        )
    trained = session.result(strategy)
    label = f"MiniLM fine-tuned in the Transfer tab ({trained.strategy})"
    text_model = transfer_attention.finetuned_text_model(trained.model, session.backbone().tokenizer, label)
    result = engine_text.attention_from_model(text_model, text, text_pair or None)
    notes = ["After fine-tuning. To see the same input before fine-tuning, pick all-MiniLM-L6-v2 in Model and press Show attention."]
    note = unchanged_attention_note(trained.strategy)
    if note:
        notes.append(note)
    return dataclasses.replace(result, notes=tuple(result.notes) + tuple(notes))


def _notes(result) -> str:
    kind = "decoder (causal: each token sees only earlier ones)" if result.is_causal else "encoder"
    lines = [
        f"**{result.model_name}** ({kind}), {result.num_layers} layers x {result.num_heads} heads, "
        f"{len(result.tokens)} tokens."
    ]
    lines += [f"⚠️ {note}" for note in result.notes]
    return "  \n".join(lines)


def _token_choices(tokens, with_all: bool):
    choices = [(f"{i}: {t}", i) for i, t in enumerate(tokens)]
    return ([("all tokens", ALL_TOKENS)] if with_all else []) + choices


@user_errors
def attention_text(
    text: str,
    text_pair: str = "",
    model_id: str = DEFAULT_MODEL,
    layer: int = 1,
    head: int = 1,
    head_fusion: str = "mean",
    rollout_target: int = 0,
    head_view_token: int = 1,
    request: gr.Request = None,
    progress=gr.Progress(track_tqdm=True),  # a Hub id's first download shows its bar
):
    """Run the text model once and render every view.

    model_id is "minilm" (embedded), a Hub id, or "fine-tuned[:strategy]": the MiniLM this client
    session fine-tuned in the Transfer tab (same session, so same browser tab or gradio_client).

    Returns the notes, matrix, model view (a data: URL), head view, rollout heatmap, token-flow bars,
    the layer, head and token choices, and the JSON {tokens, segment_ids, attentions, rollout[query][key],
    ...}, where attentions packs the (layer, head, query, key) float32 weights as base64
    (engine.core.arrays.unpack_array reads it back).
    """
    check_fusion(head_fusion)
    if model_id == FINETUNED or str(model_id or "").startswith(FINETUNED + ":"):
        result = _finetuned_attention(str(model_id), text, text_pair, request)
        return _shown(result, layer, head, head_fusion, rollout_target, head_view_token)
    if model_id in (None, "", DEFAULT_MODEL):
        return _embedded_shown(text, text_pair, layer, head, head_fusion, rollout_target, head_view_token)
    with IMPORT_LOCK:
        from engine.attention import text as engine_text
    result = engine_text.text_attention(text, text_pair or None, model_id=model_id)
    return _shown(result, layer, head, head_fusion, rollout_target, head_view_token)


# Every visitor opens the view on its default sentence with the embedded model: kept per process (see
# demos.common.memo), 4 inputs (a result, its figures and JSON: ~1 MB for the default sentence, ~4 MB at 64
# tokens). The result (read-only, the page's state for redrawing) is shared by the pages that asked.
@memoised(capacity=4)
def _embedded_shown(text, text_pair, layer, head, head_fusion, rollout_target, head_view_token):
    with IMPORT_LOCK:
        from engine.attention import text as engine_text
    result = engine_text.text_attention(text, text_pair or None, model_id=None)
    return _shown(result, layer, head, head_fusion, rollout_target, head_view_token)


def _shown(result, layer, head, head_fusion, rollout_target, head_view_token):
    count = len(result.tokens)
    layer, head = clamp_layer_head(result, layer, head)
    rollout_target = int(rollout_target) if -1 <= int(rollout_target) < count else 0
    head_view_token = int(head_view_token) if -1 <= int(head_view_token) < count else min(1, count - 1)
    matrix, grid, head_view, rollout_figure, flow_figure, rollout = _text_views(
        result, layer, head, head_fusion, rollout_target, head_view_token
    )
    payload = {
        "model": result.model_name,
        "tokens": list(result.tokens),
        "segment_ids": list(result.segment_ids),
        "attentions": pack_array(result.attentions),
        "rollout": rollout.astype(np.float64).round(6).tolist(),
        "head_fusion": head_fusion,
        "layer": layer,
        "head": head,
        "notes": list(result.notes),
        "original_token_count": result.original_token_count,
    }
    return (
        result,
        _notes(result),
        matrix,
        grid,
        head_view,
        rollout_figure,
        flow_figure,
        gr.update(maximum=result.num_layers, value=layer),
        gr.update(maximum=result.num_heads, value=head),
        gr.update(choices=_token_choices(result.tokens, with_all=False), value=rollout_target),
        gr.update(choices=_token_choices(result.tokens, with_all=True), value=head_view_token),
        payload,
    )


@user_errors
def attention_text_view(result, layer, head, head_fusion, rollout_target, head_view_token):
    """Re-render the views from the session's last result (no model call)."""
    if result is None:
        raise ValueError("Press 'Show attention' first.")
    matrix, grid, head_view, rollout_figure, flow_figure, _ = _text_views(
        result, layer, head, head_fusion, rollout_target, head_view_token
    )
    return matrix, grid, head_view, rollout_figure, flow_figure


@user_errors
def pick_from_model_view(result, head_fusion, rollout_target, head_view_token, event: gr.SelectData):
    """A click on the model-view grid opens that layer/head in the matrix."""
    if result is None:
        raise ValueError("Press 'Show attention' first.")
    with IMPORT_LOCK:
        from engine.attention import render
    _, layout = render.model_view_image(result.attentions[:, :, :1, :1])
    picked = layout.cell_at(*event.index)
    if picked is None:
        return (gr.skip(),) * 7
    layer, head = picked[0] + 1, picked[1] + 1
    views = attention_text_view(result, layer, head, head_fusion, rollout_target, head_view_token)
    return (layer, head, *views)


def _layout() -> dict:
    """Widgets only, inside the view's tab: inputs and the button in one row, the matrix right under them."""
    ui = {"state": gr.State(None)}
    with gr.Row(equal_height=True):
        ui["text"] = gr.Textbox(label="Sentence A", value=DEFAULT_TEXT, lines=2, max_lines=6,
                                elem_id="attn-text-a", scale=4)
        ui["text_pair"] = gr.Textbox(label="Sentence B (optional: makes a pair, boundary marked)", value="", lines=2,
                                     max_lines=6, elem_id="attn-text-b", scale=3)
        with gr.Column(scale=2, min_width=220):
            ui["model"] = gr.Dropdown(TEXT_MODEL_CHOICES, value=DEFAULT_MODEL, allow_custom_value=True,
                                      label="Model (or type any Hub id when online)", elem_id="attn-text-model",
                                      elem_classes=["nd-dev"])
            ui["run"] = gr.Button("Show attention", variant="primary", elem_id="attn-text-run")
    gr.Examples(TEXT_EXAMPLES, inputs=[ui["text"], ui["text_pair"]], label="Examples", api_name="attention_text_example",
                api_visibility="private", elem_id="attn-text-examples")
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("**Matrix**: one layer/head; hover a cell for its value", elem_classes=["nd-explain"])
            ui["matrix"] = gr.HTML(elem_id="attn-matrix")
        with gr.Column(scale=2):
            ui["notes"] = gr.Markdown(elem_id="attn-text-notes")
            with gr.Row():
                ui["layer"] = gr.Slider(1, MINILM_LAYERS, value=1, step=1, label="Layer", elem_id="attn-layer")
                ui["head"] = gr.Slider(1, MINILM_HEADS, value=1, step=1, label="Head", elem_id="attn-head")
            gr.Markdown("**Model view**: every layer x head; click one to open it in the matrix",
                        elem_classes=["nd-explain"])
            # JPEG: ~1 ms to encode vs ~27 ms for WebP or PNG; inline: no cache file, no second request.
            ui["model_view"] = InlineImage(show_label=False, interactive=False, elem_id="attn-model-view", buttons=[],
                                           format="jpeg")
    with gr.Row():
        with gr.Column(scale=2):
            ui["head_view_token"] = gr.Dropdown(
                [("all tokens", ALL_TOKENS)], value=1, allow_custom_value=True,
                label="Head view: lines from token (heads of the chosen layer overlaid in colour)",
            )
            ui["head_view"] = gr.HTML(elem_id="attn-head-view")
        with gr.Column(scale=3):
            with gr.Row():
                ui["rollout_target"] = gr.Dropdown([("0: [CLS]", 0)], value=0, allow_custom_value=True,
                                                   label="Rollout: flow into token")
                ui["head_fusion"] = gr.Radio(HEAD_FUSIONS, value="mean", label="Rollout: fuse heads by")
            ui["flow"] = gr.HTML(elem_id="attn-flow")
            ui["rollout"] = gr.HTML(elem_id="attn-rollout")
    ui["qkv"] = qkv_panel.add("minilm", ui["text"], ui["layer"], ui["head"], public=True)
    ui["raw"] = LargeJSON(label="Raw attention (API output)", visible=False)
    gr.Markdown(CAVEAT, elem_classes=["nd-explain"])
    return ui


def _wire(ui: dict, page: gr.Tab) -> ViewHandles:
    """Events only: Show attention (the API's /attention_text), redraws, and the model-view click."""
    views = [ui["matrix"], ui["model_view"], ui["head_view"], ui["rollout"], ui["flow"]]
    run_inputs = [ui["text"], ui["text_pair"], ui["model"], ui["layer"], ui["head"], ui["head_fusion"],
                  ui["rollout_target"], ui["head_view_token"]]
    run_outputs = [ui["state"], ui["notes"], *views, ui["layer"], ui["head"], ui["rollout_target"],
                   ui["head_view_token"], ui["raw"]]
    run = gr.on([ui["run"].click, ui["text"].submit, ui["text_pair"].submit], attention_text, inputs=run_inputs,
                outputs=run_outputs, api_name="attention_text", time_limit=STANDARD_S)
    ui["qkv"].refresh_after(run)
    view_inputs = [ui["state"], ui["layer"], ui["head"], ui["head_fusion"], ui["rollout_target"], ui["head_view_token"]]
    gr.on([ui["layer"].release, ui["head"].release, ui["head_fusion"].input, ui["rollout_target"].input,
           ui["head_view_token"].input], attention_text_view, inputs=view_inputs, outputs=views,
          api_name="attention_text_view", api_visibility="private")
    ui["model_view"].select(pick_from_model_view,
                            inputs=[ui["state"], ui["head_fusion"], ui["rollout_target"], ui["head_view_token"]],
                            outputs=[ui["layer"], ui["head"], *views], api_visibility="private")
    return ViewHandles(
        tab="attention", sub="text", page=page, result=ui["matrix"],
        # Runs with whatever the inputs hold when the view opens: the defaults, a deep link's, or the
        # sentence and model the Transfer tab's "Open in Attention" sets.
        on_open=(OnOpen(attention_text, tuple(run_inputs), tuple(run_outputs), time_limit=STANDARD_S,
                        then=(ui["qkv"].on_open(),)),),
        link=(LinkParam("text", ui["text"]), LinkParam("pair", ui["text_pair"]), LinkParam("model", ui["model"]),
              LinkParam("layer", ui["layer"]), LinkParam("head", ui["head"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Text view (inside the Attention tab's sub-tabs)."""
    with gr.Tab("Text", id="attention-text", elem_id="tab-attention-text") as page:
        handles = _wire(_layout(), page)
    return handles
