"""Attention tab: what a transformer attends to, in text and in images.

Handlers are thin: they call :mod:`engine.attention.text`, :mod:`engine.attention.image`,
:mod:`engine.attention.rollout` and :mod:`engine.attention.render`. Engine modules are imported
inside handlers so the app starts without paying for torch (the import is cached after
the first request, and app.py warms it up in the background).
"""

from __future__ import annotations

import dataclasses
import json

import gradio as gr
import numpy as np
from gradio.components.plot import PlotData

from demos import attention_decoder
from demos import attention_seq2seq
from demos.common.limits import STANDARD_S
from demos.common.payloads import LargeJSON
from demos.common.legacy import engine_module
from demos.common.sessions import session_id
from demos.common.errors import user_errors
from engine.core.registry import SOURCES
from engine.core.settings import LIMITS

TEXT_EXAMPLES = [
    ["The animal didn't cross the street because it was too tired.", ""],
    ["The cat sat on the mat.", "The dog lay on the rug."],
    ["Paris is the capital of France.", "What is the capital of France?"],
    ["I deposited cash at the bank, then sat on the river bank.", ""],
]
DEFAULT_TEXT = TEXT_EXAMPLES[0][0]
# Model-id value for "the MiniLM this browser session fine-tuned in the Transfer tab";
# "fine-tuned:<strategy>" picks one strategy, plain "fine-tuned" the session's best.
FINETUNED = "fine-tuned"
TEXT_MODEL_CHOICES = [
    ("all-MiniLM-L6-v2 (embedded, offline) - before fine-tuning", "minilm"),
    ("MiniLM fine-tuned in the Transfer tab (this session) - after", FINETUNED),
] + [(f"{hub_id} (Hub, online only)", hub_id) for hub_id in SOURCES["minilm"].hub_alternatives]
IMAGE_MODEL_CHOICES = [("NeuroDeck digits ViT (embedded, offline)", "digits-vit")] + [
    (f"{hub_id} (Hub, online only)", hub_id) for hub_id in SOURCES["digits-vit"].hub_alternatives
]
HEAD_FUSIONS = ["mean", "max", "min"]
ALL_TOKENS = -1  # head-view choice meaning "draw every token's lines"

CAVEAT = (
    "**Attention is not explanation.** These weights show where each token *looks*, not *why* the model "
    "predicts what it does: different attention patterns can give the same output, and value vectors and "
    "MLPs also shape the result (Jain & Wallace 2019; Wiegreffe & Pinter 2019). Rollout is a rough "
    "estimate of information flow, not a causal attribution."
)


def _plot(figure: dict) -> PlotData:
    """Hand a Plotly figure dict to gr.Plot as ready JSON (skips plotly's slow Figure validation)."""
    return PlotData(type="plotly", plot=json.dumps(figure))


def _index(value, count: int, what: str) -> int:
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a token position (an integer), got {value!r}.") from None
    if not -1 <= index < count:
        raise ValueError(f"{what} {index} is out of range: this input has tokens 0..{count - 1}.")
    return index


def _layer_head(result, layer, head) -> tuple[int, int]:
    layer, head = int(layer), int(head)
    if not 1 <= layer <= result.num_layers:
        raise ValueError(f"Layer {layer} does not exist: {result.model_name} has layers 1..{result.num_layers}.")
    if not 1 <= head <= result.num_heads:
        raise ValueError(f"Head {head} does not exist: {result.model_name} has heads 1..{result.num_heads}.")
    return layer - 1, head - 1


def _check_fusion(head_fusion: str) -> None:
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"Head fusion must be one of {', '.join(HEAD_FUSIONS)}; got {head_fusion!r}.")


def _clamp_layer_head(result, layer, head) -> tuple[int, int]:
    """1-based layer/head kept inside the model: a newly chosen model may have fewer than the sliders show."""
    return min(max(int(layer), 1), result.num_layers), min(max(int(head), 1), result.num_heads)


def _text_views(result, layer, head, head_fusion, rollout_target, head_view_token):
    """All figures for one TextAttention (pure rendering; no model call)."""
    render = engine_module("attention.render")
    rollout_module = engine_module("attention.rollout")
    tokens = list(result.tokens)
    layer0, head0 = _layer_head(result, layer, head)
    target = _index(rollout_target, len(tokens), "Rollout target")
    target = 0 if target == ALL_TOKENS else target
    selected = _index(head_view_token, len(tokens), "Head-view token")
    rollout = rollout_module.attention_rollout(result.attentions, head_fusion)
    matrix = render.attention_heatmap(
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
    rollout_figure = render.attention_heatmap(rollout, tokens, tokens, f"Attention rollout (heads fused by {head_fusion})")
    flow_figure = render.token_flow_bars(rollout[target], tokens, f"{target}: {tokens[target]}")
    head_view = f'<div style="overflow:auto;max-height:720px">{head_view}</div>'
    return _plot(matrix), grid, head_view, _plot(rollout_figure), _plot(flow_figure), rollout


def _finetuned_attention(model_id: str, text: str, text_pair: str, request):
    """Attention of this session's fine-tuned MiniLM (Transfer tab), with a note on how to see 'before'."""
    strategy = model_id.partition(":")[2].strip() or None
    session = engine_module("transfer.session").find_session(session_id(request))
    if session is None or not session.results:
        raise ValueError(
            "No fine-tuned model in this session yet: in the Transfer tab, load a text dataset, train a "
            "fine-tuning strategy, then come back (or use its 'Open in the Attention tab' button)."
        )
    trained = session.result(strategy)
    label = f"MiniLM fine-tuned in the Transfer tab ({trained.strategy})"
    text_model = engine_module("transfer.attention").finetuned_text_model(trained.model, session.backbone().tokenizer, label)
    result = engine_module("attention.text").attention_from_model(text_model, text, text_pair or None)
    notes = ["After fine-tuning. To see the same input before fine-tuning, pick all-MiniLM-L6-v2 in Model and press Show attention."]
    if trained.strategy in ("feature_extraction", "from_scratch"):
        notes.append(
            "This strategy did not fine-tune the pre-trained weights (feature extraction freezes them; from scratch starts "
            "from random ones), so compare a fine_tune_last_n or full_fine_tune model for a real before/after."
        )
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
    model_id: str = "minilm",
    layer: int = 1,
    head: int = 1,
    head_fusion: str = "mean",
    rollout_target: int = 0,
    head_view_token: int = 1,
    request: gr.Request = None,
):
    """Run the text model once and render every view.

    ``model_id`` is "minilm" (embedded), a Hub id, or "fine-tuned[:strategy]": the MiniLM this
    client session fine-tuned in the Transfer tab (same session, so same browser tab or gradio_client).

    Returns the session state, notes, matrix, model view, head view, rollout heatmap,
    token-flow bars, slider/dropdown updates, and the JSON dict
    {tokens, segment_ids, attentions[layer][head][query][key], rollout[query][key], ...}.
    """
    _check_fusion(head_fusion)
    if model_id == FINETUNED or str(model_id or "").startswith(FINETUNED + ":"):
        result = _finetuned_attention(str(model_id), text, text_pair, request)
    else:
        result = engine_module("attention.text").text_attention(text, text_pair or None, model_id=model_id or None)
    count = len(result.tokens)
    layer, head = _clamp_layer_head(result, layer, head)
    rollout_target = int(rollout_target) if -1 <= int(rollout_target) < count else 0
    head_view_token = int(head_view_token) if -1 <= int(head_view_token) < count else min(1, count - 1)
    matrix, grid, head_view, rollout_figure, flow_figure, rollout = _text_views(
        result, layer, head, head_fusion, rollout_target, head_view_token
    )
    payload = {
        "model": result.model_name,
        "tokens": list(result.tokens),
        "segment_ids": list(result.segment_ids),
        "attentions": result.attentions.astype(np.float64).round(6).tolist(),
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


def pick_from_model_view(result, head_fusion, rollout_target, head_view_token, event: gr.SelectData):
    """A click on the model-view grid opens that layer/head in the matrix."""
    if result is None:
        raise gr.Error("Press 'Show attention' first.")
    render = engine_module("attention.render")
    _, layout = render.model_view_image(result.attentions[:, :, :1, :1])
    picked = layout.cell_at(*event.index)
    if picked is None:
        return (gr.skip(),) * 7
    layer, head = picked[0] + 1, picked[1] + 1
    views = attention_text_view(result, layer, head, head_fusion, rollout_target, head_view_token)
    return (layer, head, *views)


def _image_views(result, layer: int, head: int, head_fusion: str):
    render = engine_module("attention.render")
    layer0, head0 = _layer_head(result, layer, head)
    rollout = result.rollout_grid(head_fusion)
    cls_grid = result.cls_to_patches(layer0, head0)
    return (
        render.overlay_heatmap(result.model_input, rollout),
        render.overlay_heatmap(result.model_input, cls_grid),
        rollout,
        cls_grid,
    )


def _image_outputs(result, layer, head, head_fusion):
    _check_fusion(head_fusion)
    layer, head = _clamp_layer_head(result, layer, head)
    rollout_image, head_image, rollout, cls_grid = _image_views(result, layer, head, head_fusion)
    payload = {
        "model": result.model_name,
        "label": result.label,
        "probabilities": result.probabilities,
        "rollout": rollout.astype(np.float64).round(6).tolist(),
        "grid_shape": list(result.grid_shape),
        "layer": layer,
        "head": head,
        "cls_attention": cls_grid.astype(np.float64).round(6).tolist(),
        "head_fusion": head_fusion,
    }
    top = dict(list(result.probabilities.items())[:5])
    return (
        result,
        top,
        rollout_image,
        head_image,
        gr.update(maximum=result.num_layers, value=layer),
        gr.update(maximum=result.num_heads, value=head),
        payload,
    )


@user_errors
def attention_image(image, model_id: str = "digits-vit", layer: int = 4, head: int = 1, head_fusion: str = "mean"):
    """Classify an uploaded image and show rollout + one head's [CLS] attention.

    Runs with ``preprocess=False`` so unreadable files reach our validator, which
    gives a clear message instead of a decoder stack trace.
    """
    validation = engine_module("core.validation")
    picture = validation.load_image(image, max_pixels=LIMITS.digit_image_pixels)
    result = engine_module("attention.image").image_attention(picture, model_id or None)
    return _image_outputs(result, layer, head, head_fusion)


@user_errors
def attention_sketch(sketch, model_id: str = "digits-vit", layer: int = 4, head: int = 1, head_fusion: str = "mean"):
    """Same as :func:`attention_image`, for a sketchpad drawing (an ImageEditor value)."""
    composite = sketch.get("composite") if isinstance(sketch, dict) else sketch
    if composite is None:
        raise ValueError("The sketchpad is empty: draw a digit first.")
    picture = engine_module("core.validation").load_image(composite, max_pixels=LIMITS.digit_image_pixels)
    result = engine_module("attention.image").image_attention(picture, model_id or None)
    return _image_outputs(result, layer, head, head_fusion)


@user_errors
def attention_image_view(result, layer, head, head_fusion):
    if result is None:
        raise ValueError("Classify an image first.")
    rollout_image, head_image, _, _ = _image_views(result, layer, head, head_fusion)
    return rollout_image, head_image


@dataclasses.dataclass(frozen=True)
class TextAttentionLink:
    """What another tab needs to open an input in the text Attention view and run it."""

    tabs: gr.Tabs  # the Attention tab's Text / Image sub-tabs
    text: gr.Textbox
    text_pair: gr.Textbox
    model_id: gr.Dropdown
    run: object  # the handler behind /attention_text
    run_inputs: list
    run_outputs: list


def _build_text(demo: gr.Blocks) -> tuple:
    state = gr.State(None)
    with gr.Row():
        text = gr.Textbox(label="Sentence A", value=DEFAULT_TEXT, lines=2, max_lines=6, elem_id="attn-text-a")
        text_pair = gr.Textbox(
            label="Sentence B (optional: makes a pair, boundary marked)", value="", lines=2, max_lines=6, elem_id="attn-text-b"
        )
    with gr.Row():
        model_id = gr.Dropdown(
            TEXT_MODEL_CHOICES, value="minilm", allow_custom_value=True, label="Model (or type any Hub id when online)",
            elem_id="attn-text-model", scale=2,
        )
        run = gr.Button("Show attention", variant="primary", elem_id="attn-text-run", scale=1)
    gr.Examples(TEXT_EXAMPLES, inputs=[text, text_pair], label="Examples", api_name="attention_text_example",
                api_visibility="private", elem_id="attn-text-examples")
    notes = gr.Markdown(elem_id="attn-text-notes")
    with gr.Row():
        layer = gr.Slider(1, 6, value=1, step=1, label="Layer", elem_id="attn-layer")
        head = gr.Slider(1, 12, value=1, step=1, label="Head", elem_id="attn-head")
        head_fusion = gr.Radio(HEAD_FUSIONS, value="mean", label="Rollout: fuse heads by")
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("**Matrix**: one layer/head; hover for the values")
            matrix = gr.Plot(show_label=False, elem_id="attn-matrix")
        with gr.Column(scale=2):
            gr.Markdown("**Model view**: every layer x head; click one to open it in the matrix")
            model_view = gr.Image(
                show_label=False, interactive=False,
                elem_id="attn-model-view", buttons=[], format="jpeg",  # JPEG: ~1 ms to encode vs ~27 ms for WebP or PNG
            )
    with gr.Row():
        with gr.Column(scale=2):
            head_view_token = gr.Dropdown(
                [("all tokens", ALL_TOKENS)], value=1, allow_custom_value=True,
                label="Head view: lines from token (heads of the chosen layer overlaid in colour)",
            )
            head_view = gr.HTML(elem_id="attn-head-view")
        with gr.Column(scale=3):
            rollout_target = gr.Dropdown(
                [("0: [CLS]", 0)], value=0, allow_custom_value=True, label="Rollout: flow into token"
            )
            flow_plot = gr.Plot(show_label=False, elem_id="attn-flow")
            rollout_plot = gr.Plot(show_label=False, elem_id="attn-rollout")
    raw = LargeJSON(label="Raw attention (API output)", visible=False)
    gr.Markdown(CAVEAT)

    views = [matrix, model_view, head_view, rollout_plot, flow_plot]
    run_inputs = [text, text_pair, model_id, layer, head, head_fusion, rollout_target, head_view_token]
    run_outputs = [state, notes, *views, layer, head, rollout_target, head_view_token, raw]
    gr.on(
        [run.click, text.submit, text_pair.submit],
        attention_text,
        inputs=run_inputs,
        outputs=run_outputs,
        api_name="attention_text",
        time_limit=STANDARD_S,
    )
    view_inputs = [state, layer, head, head_fusion, rollout_target, head_view_token]
    gr.on(
        [layer.release, head.release, head_fusion.input, rollout_target.input, head_view_token.input],
        attention_text_view,
        inputs=view_inputs,
        outputs=views,
        api_name="attention_text_view",
        api_visibility="private",
    )
    model_view.select(
        pick_from_model_view,
        inputs=[state, head_fusion, rollout_target, head_view_token],
        outputs=[layer, head, *views],
        api_visibility="private",
    )
    return text, text_pair, model_id, run_inputs, run_outputs


def _build_image(demo: gr.Blocks) -> None:
    state = gr.State(None)
    with gr.Row():
        with gr.Column():
            with gr.Tabs():
                with gr.Tab("Upload"):
                    # Starts with a held-out digit, so the view's opening result never depends on a page-load update.
                    image = gr.Image(
                        value=str(_examples_dir() / "digit_3.png"), type="filepath",
                        label="Image (a digit for the embedded model)", elem_id="attn-image-in", height=280
                    )
                    classify_upload = gr.Button("Classify upload", variant="primary", elem_id="attn-image-run")
                    gr.Examples(
                        [[str(path)] for path in sorted((_examples_dir()).glob("digit_*.png"))],
                        inputs=[image],
                        label="Held-out test digits",
                        api_name="attention_image_example",
                        api_visibility="private",
                    )
                with gr.Tab("Draw"):
                    # A wide canvas that fills the editor: the whole visible area counts
                    # (the digit is cropped to its ink, so where and how big it is drawn does not matter).
                    sketch = gr.Sketchpad(label="Draw a digit", type="numpy", canvas_size=(560, 336), elem_id="attn-sketch",
                                          brush=gr.Brush(colors=["#000000"], default_color="#000000", default_size=18))
                    classify_sketch = gr.Button("Classify drawing", variant="primary", elem_id="attn-sketch-run")
            model_id = gr.Dropdown(
                IMAGE_MODEL_CHOICES, value="digits-vit", allow_custom_value=True,
                label="Model (or type any Hub ViT id when online)", elem_id="attn-image-model",
            )
            with gr.Row():
                layer = gr.Slider(1, 4, value=4, step=1, label="Layer")
                head = gr.Slider(1, 4, value=1, step=1, label="Head")
            head_fusion = gr.Radio(HEAD_FUSIONS, value="mean", label="Rollout: fuse heads by")
        with gr.Column():
            label = gr.Label(num_top_classes=5, label="Prediction (top-5 probabilities)", elem_id="attn-image-label")
            with gr.Row():
                with gr.Column(min_width=220):
                    gr.Markdown("**Rollout into [CLS]**: all layers combined")
                    rollout_image = gr.Image(label="Rollout into [CLS]", show_label=False, interactive=False,
                                             elem_id="attn-image-rollout", buttons=[])
                with gr.Column(min_width=220):
                    gr.Markdown("**[CLS] attention** of the chosen layer and head")
                    head_image = gr.Image(label="[CLS] attention of the chosen layer/head", show_label=False, interactive=False,
                                          elem_id="attn-image-head", buttons=[])
                attach_attention_gradcam(classify_upload, image, classify_sketch, sketch, model_id)
    raw = gr.JSON(visible=False)
    gr.Markdown(
        "The embedded model sees digits the way scikit-learn's dataset stores them: cropped and averaged "
        "down to 8x8, then upscaled to 32x32 — one 4x4 patch per original pixel. The overlays are drawn on "
        "exactly that input. " + CAVEAT
    )
    outputs = [state, label, rollout_image, head_image, layer, head, raw]
    extra = [model_id, layer, head, head_fusion]
    classify_upload.click(
        attention_image, inputs=[image, *extra], outputs=outputs, api_name="attention_image",
        preprocess=False, time_limit=STANDARD_S,
    )
    classify_sketch.click(attention_sketch, inputs=[sketch, *extra], outputs=outputs, api_name="attention_sketch", time_limit=STANDARD_S,
                          preprocess=False)  # the editor's raw files: load_image checks them (not an image, too many pixels)
    gr.on(
        [layer.release, head.release, head_fusion.input],
        attention_image_view,
        inputs=[state, layer, head, head_fusion],
        outputs=[rollout_image, head_image],
        api_name="attention_image_view",
        api_visibility="private",
    )


def _examples_dir():
    from engine.core.registry import ASSETS_DIR

    return ASSETS_DIR / "examples"


def build_tab(demo: gr.Blocks) -> TextAttentionLink:
    """Build the tab; returns the handles the Transfer tab uses to open a sentence here."""
    with gr.Tab("Attention", id="attention", elem_id="tab-attention"):
        gr.Markdown(
            "**Attention lets every token look at every other token** and take a weighted mix of what it sees; the "
            "weights are what these views draw. **Text:** the real pre-trained all-MiniLM-L6-v2 (6 layers x 12 heads). "
            "**Images:** a Vision Transformer NeuroDeck trained on handwritten digits, where the tokens are 8x8 patches.",
            elem_id="attention-intro",
        )
        with gr.Tabs(elem_id="attention-subtabs") as tabs:
            with gr.Tab("Text", id="attention-text", elem_id="tab-attention-text"):
                text, text_pair, model_id, run_inputs, run_outputs = _build_text(demo)
            with gr.Tab("Decoder", id="attention-decoder", elem_id="tab-attention-decoder"):
                attention_decoder.build(demo)
            with gr.Tab("Image", id="attention-image", elem_id="tab-attention-image"):
                _build_image(demo)
            with gr.Tab("Encoder–decoder", id="attention-seq2seq", elem_id="tab-attention-seq2seq"):
                attention_seq2seq.build(demo)
    return TextAttentionLink(tabs, text, text_pair, model_id, attention_text, run_inputs, run_outputs)


# ------------------------------------------------------------------------------ Image view: the ViT's Grad-CAM
ATTENTION_VS_GRADCAM = (
    "**Attention vs gradient attribution:** attention shows where [CLS] *looks* (the same whichever class wins); "
    "Grad-CAM shows which patches *raise the predicted class's score*, so the two maps can disagree."
)


@user_errors
def attention_gradcam(image, model_id: str = "digits-vit"):
    """The ViT's Grad-CAM for its predicted class on an upload or a sketch: (overlay image, caption)."""
    from engine.core.imports import IMPORT_LOCK

    with IMPORT_LOCK:
        from engine.transfer import gradcam
    picture, caption = gradcam.vit_gradcam_view(image, model_id or None)
    return picture, f"{caption}. {ATTENTION_VS_GRADCAM}"


def attach_attention_gradcam(upload_button, upload_image, sketch_button, sketch, model_id) -> None:
    """Called inside the Image view's output row: adds the Grad-CAM panel beside the attention maps and runs
    it on the same upload or drawing whenever one is classified."""
    with gr.Column(min_width=160):
        gr.Markdown("**Grad-CAM** of the predicted class")
        picture = gr.Image(label="Grad-CAM of the predicted class", show_label=False, interactive=False,
                           elem_id="attn-image-gradcam", buttons=[])
        caption = gr.Markdown(ATTENTION_VS_GRADCAM, elem_id="attn-image-gradcam-note")
    upload_button.click(attention_gradcam, [upload_image, model_id], [picture, caption], api_name="attention_gradcam",
                        preprocess=False, time_limit=STANDARD_S)
    sketch_button.click(attention_gradcam, [sketch, model_id], [picture, caption], api_name="attention_gradcam_sketch",
                        api_visibility="private", time_limit=STANDARD_S)
