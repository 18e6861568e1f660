"""Attention › Image: what a Vision Transformer looks at in a digit, uploaded or drawn, beside its Grad-CAM
and integrated gradients.

Handlers call :mod:`engine.attention.image` (prediction and attention), :mod:`engine.attention.render`
(the overlays), :mod:`engine.transfer.gradcam` (the ViT's Grad-CAM, drawn like the overlays) and
:mod:`engine.transfer.attribution` (integrated gradients over the input pixels, with its completeness check).
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from demos.attention.shared import CAVEAT, HEAD_FUSIONS, check_fusion, clamp_layer_head, layer_head
from demos.common.cards import empty_card, figure_cards, result_card
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import STANDARD_S
from engine.core.imports import IMPORT_LOCK
from engine.core.registry import ASSETS_DIR, SOURCES
from engine.core.settings import LIMITS
from engine.core.validation import load_image
from engine.transfer.options import ATTRIBUTION_CAVEAT, ATTRIBUTION_MAX_STEPS, ATTRIBUTION_MIN_STEPS, ATTRIBUTION_STEPS

DEFAULT_MODEL = "digits-vit"
IMAGE_MODEL_CHOICES = [("NeuroDeck digits ViT (embedded, offline)", DEFAULT_MODEL)] + [
    (f"{hub_id} (Hub, online only)", hub_id) for hub_id in SOURCES["digits-vit"].hub_alternatives
]
# Held-out test digits: the view opens on digit_3; a link's ?example=digit_7 picks another.
DIGIT_EXAMPLES = {path.stem: str(path) for path in sorted((ASSETS_DIR / "examples").glob("digit_*.png"))}
OPENING_EXAMPLE = "digit_3"
DIGITS_VIT_LAYERS, DIGITS_VIT_HEADS = 4, 4  # the embedded model's; each result sets the sliders to its own model's
# The drawing canvas fills the editor, so the whole visible area counts (the digit is cropped to its ink, so
# where and how big it is drawn does not matter). The pen is about a tenth of a digit drawn across most of the
# canvas height: the engine then brings every stroke to the dataset's width.
CANVAS = (560, 336)
PEN_PX = 24
ATTENTION_VS_GRADCAM = (
    "**Attention vs gradient attribution:** attention shows where [CLS] *looks* (the same whichever class wins); "
    "Grad-CAM shows which patches *raise the predicted class's score*, so the two maps can disagree."
)
IG_BASELINES = [("blank (no ink: all pixels 0)", "black"), ("blurred digit", "blurred"), ("uniform noise", "noise")]
IG_WAIT = "Integrated gradients follow the prediction."
IG_NOTE = ("**Integrated gradients** (yellow = most credit) credits each input pixel with its share of "
           "logit(digit) − logit(baseline) for the predicted class; the cards check that the credits add up. With "
           "the blank baseline a pixel without ink gets exactly zero credit (it never changes along the path). "
           + ATTRIBUTION_CAVEAT)
ABOUT_INPUT = (
    "The embedded model sees digits the way scikit-learn's dataset stores them: cropped and averaged "
    "down to 8x8, then upscaled to 32x32 — one 4x4 patch per original pixel. The overlays are drawn on "
    "exactly that input. " + CAVEAT
)


def _image_views(result, layer: int, head: int, head_fusion: str):
    with IMPORT_LOCK:
        from engine.attention import render
    layer0, head0 = layer_head(result, layer, head)
    rollout = result.rollout_grid(head_fusion)
    cls_grid = result.cls_to_patches(layer0, head0)
    return (
        render.overlay_heatmap(result.model_input, rollout),
        render.overlay_heatmap(result.model_input, cls_grid),
        rollout,
        cls_grid,
    )


def _classify(picture_source, model_id, layer, head, head_fusion):
    """Check the picture (not an image, too many pixels), run the model once, draw every output."""
    check_fusion(head_fusion)
    picture = load_image(picture_source, max_pixels=LIMITS.digit_image_pixels)
    with IMPORT_LOCK:
        from engine.attention import image as engine_image
    result = engine_image.image_attention(picture, model_id or None)
    layer, head = clamp_layer_head(result, layer, head)
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


def _composite(sketch):
    """The drawing of a sketchpad value (its composite image); refuses an empty sketchpad."""
    composite = sketch.get("composite") if isinstance(sketch, dict) else sketch
    if composite is None:
        raise ValueError("The sketchpad is empty: pick the brush in its toolbar and draw a digit first.")
    return composite


@user_errors
def attention_image(image, model_id: str = DEFAULT_MODEL, layer: int = 4, head: int = 1, head_fusion: str = "mean",
                    progress=gr.Progress(track_tqdm=True)):  # a Hub id's first download shows its bar
    """Classify an uploaded image and show the attention rollout and one head's [CLS] attention.

    Returns the top-5 prediction, the rollout and head overlays, the layer and head, and the JSON {model,
    label, probabilities, rollout[row][column], grid_shape, layer, head, cls_attention, head_fusion}.
    The file reaches the validator unprocessed, so an unreadable one gets a clear message.
    """
    return _classify(image, model_id, layer, head, head_fusion)


@user_errors
def attention_sketch(sketch, model_id: str = DEFAULT_MODEL, layer: int = 4, head: int = 1, head_fusion: str = "mean"):
    """As attention_image, for a sketchpad drawing (an ImageEditor value)."""
    return _classify(_composite(sketch), model_id, layer, head, head_fusion)


@user_errors
def attention_image_view(result, layer, head, head_fusion):
    """Layer / head / fusion switches: redraw the overlays from the last prediction (no model call)."""
    if result is None:
        raise ValueError("Classify an image first.")
    check_fusion(head_fusion)
    rollout_image, head_image, _, _ = _image_views(result, layer, head, head_fusion)
    return rollout_image, head_image


@user_errors
def attention_gradcam(image, model_id: str = DEFAULT_MODEL,
                      progress=gr.Progress(track_tqdm=True)):  # a Hub id's first download shows its bar
    """The ViT's Grad-CAM for its predicted class on an uploaded image: (overlay image, caption)."""
    with IMPORT_LOCK:
        from engine.transfer import gradcam
    picture, caption = gradcam.vit_gradcam_view(image, model_id or None)
    return picture, f"{caption}. {ATTENTION_VS_GRADCAM}"


@user_errors
def attention_sketch_gradcam(sketch, model_id: str = DEFAULT_MODEL):
    """As attention_gradcam, for a sketchpad drawing."""
    return attention_gradcam(_composite(sketch), model_id)


def _integrated_gradients(picture, model_id, steps, baseline):
    with IMPORT_LOCK:
        from engine.attention.render import overlay_heatmap
        from engine.transfer import attribution
    result = attribution.vit_integrated_gradients(picture, model_id or None, ATTRIBUTION_STEPS if steps is None else steps,
                                                  baseline or "black")
    ig = result.attribution
    cards = figure_cards(attribution.completeness_figures(ig),
                         headline=f"Integrated gradients for '{result.label}', {ig.steps} steps")
    return overlay_heatmap(result.model_input, result.heatmap), cards, picture


@user_errors
def attention_ig(image, model_id: str = DEFAULT_MODEL, steps: int = ATTRIBUTION_STEPS, baseline: str = "black"):
    """The ViT's integrated gradients for its predicted class on an upload: (overlay, completeness cards, picture)."""
    return _integrated_gradients(load_image(image, max_pixels=LIMITS.digit_image_pixels), model_id, steps, baseline)


@user_errors
def attention_sketch_ig(sketch, model_id: str = DEFAULT_MODEL, steps: int = ATTRIBUTION_STEPS, baseline: str = "black"):
    """As attention_ig, for a sketchpad drawing."""
    return attention_ig(_composite(sketch), model_id, steps, baseline)


@user_errors
def attention_ig_view(picture, model_id: str = DEFAULT_MODEL, steps: int = ATTRIBUTION_STEPS, baseline: str = "black"):
    """Steps / baseline switches: integrated gradients again for the last classified picture."""
    if picture is None:
        raise ValueError("Classify an image first.")
    return _integrated_gradients(picture, model_id, steps, baseline)


def clear_result():
    """Before each classification: no earlier prediction stays on screen as if it were this input's
    (an input that fails leaves the result empty, with the error beside it)."""
    return None, None, None, None, None, ATTENTION_VS_GRADCAM, None, empty_card(IG_WAIT)


def _blank_sketch() -> dict:
    """A white canvas to draw on. With a background the editor opens with its brush selected (an empty
    editor opens on its image tool, where dragging selects the hint text instead of drawing)."""
    from PIL import Image  # noqa: PLC0415  (PIL only; no torch)

    return {"background": Image.new("RGB", CANVAS, (255, 255, 255)), "layers": [], "composite": None}


def _layout() -> dict:
    """Widgets only, inside the view's tab: inputs on the left (upload or draw, model, layer/head), the
    prediction and the three maps on the right."""
    ui = {"state": gr.State(None), "ig_source": gr.State(None)}  # ig_source: the last classified picture
    with gr.Row():
        with gr.Column():
            with gr.Tabs(elem_id="attn-image-inputs"):
                with gr.Tab("Upload", elem_id="attn-image-upload-tab"):
                    ui["image"] = gr.Image(value=DIGIT_EXAMPLES[OPENING_EXAMPLE], type="filepath",
                                           label="Image (a digit for the embedded model)", elem_id="attn-image-in",
                                           height=280)
                    ui["classify_upload"] = gr.Button("Classify upload", variant="primary", elem_id="attn-image-run")
                    gr.Examples([[path] for path in DIGIT_EXAMPLES.values()], inputs=[ui["image"]],
                                label="Held-out test digits", api_name="attention_image_example",
                                api_visibility="private")
                with gr.Tab("Draw", elem_id="attn-image-draw-tab"):
                    ui["sketch"] = gr.Sketchpad(
                        value=_blank_sketch(), label="Draw a digit", type="numpy", canvas_size=CANVAS, format="png",
                        brush=gr.Brush(colors=["#000000"], default_color="#000000", default_size=PEN_PX,
                                       color_mode="fixed"),
                        elem_id="attn-sketch",
                    )
                    ui["classify_sketch"] = gr.Button("Classify drawing", variant="primary", elem_id="attn-sketch-run")
            ui["model"] = gr.Dropdown(IMAGE_MODEL_CHOICES, value=DEFAULT_MODEL, allow_custom_value=True,
                                      label="Model (or type any Hub ViT id when online)", elem_id="attn-image-model",
                                      elem_classes=["nd-dev"])
            with gr.Row():
                ui["layer"] = gr.Slider(1, DIGITS_VIT_LAYERS, value=4, step=1, label="Layer", elem_id="attn-image-layer-slider")
                ui["head"] = gr.Slider(1, DIGITS_VIT_HEADS, value=1, step=1, label="Head", elem_id="attn-image-head-slider")
            ui["head_fusion"] = gr.Radio(HEAD_FUSIONS, value="mean", label="Rollout: fuse heads by")
        with gr.Column():
            ui["label"] = gr.Label(num_top_classes=5, label="Prediction (top-5 probabilities)", elem_id="attn-image-label")
            with gr.Row():
                with gr.Column(min_width=220):
                    gr.Markdown("**Rollout into [CLS]**: all layers combined")
                    ui["rollout_image"] = gr.Image(label="Rollout into [CLS]", show_label=False, interactive=False,
                                                   elem_id="attn-image-rollout", buttons=[])
                with gr.Column(min_width=220):
                    gr.Markdown("**[CLS] attention** of the chosen layer and head")
                    ui["head_image"] = gr.Image(label="[CLS] attention of the chosen layer/head", show_label=False,
                                                interactive=False, elem_id="attn-image-head", buttons=[])
                with gr.Column(min_width=160):
                    gr.Markdown("**Grad-CAM** of the predicted class")
                    ui["gradcam"] = gr.Image(label="Grad-CAM of the predicted class", show_label=False,
                                             interactive=False, elem_id="attn-image-gradcam", buttons=[])
                    ui["gradcam_note"] = gr.Markdown(ATTENTION_VS_GRADCAM, elem_id="attn-image-gradcam-note")
                with gr.Column(min_width=160):
                    gr.Markdown("**Integrated gradients** of the predicted class")
                    ui["ig"] = gr.Image(label="Integrated gradients of the predicted class", show_label=False,
                                        interactive=False, elem_id="attn-image-ig", buttons=[])
            with gr.Row(equal_height=False):
                ui["ig_cards"] = result_card("attn-image-ig-cards", IG_WAIT)
                with gr.Column(min_width=220):
                    ui["ig_baseline"] = gr.Radio(IG_BASELINES, value="black", label="IG baseline: the map depends on it",
                                                 elem_id="attn-image-ig-baseline")
                    ui["ig_steps"] = gr.Slider(ATTRIBUTION_MIN_STEPS, ATTRIBUTION_MAX_STEPS, value=ATTRIBUTION_STEPS,
                                               step=1, label="IG steps", elem_id="attn-image-ig-steps")
            gr.Markdown(IG_NOTE, elem_id="attn-image-ig-note")
    ui["raw"] = gr.JSON(visible=False)
    gr.Markdown(ABOUT_INPUT, elem_classes=["nd-explain"])
    return ui


def _wire(ui: dict, page: gr.Tab) -> ViewHandles:
    """Events only: each Classify button clears the result, classifies, then adds the Grad-CAM; redraws."""
    outputs = [ui["state"], ui["label"], ui["rollout_image"], ui["head_image"], ui["layer"], ui["head"], ui["raw"]]
    extra = [ui["model"], ui["layer"], ui["head"], ui["head_fusion"]]
    cleared = [ui["state"], ui["label"], ui["rollout_image"], ui["head_image"], ui["gradcam"], ui["gradcam_note"],
               ui["ig"], ui["ig_cards"]]
    gradcam_outputs = [ui["gradcam"], ui["gradcam_note"]]
    ig_settings = [ui["model"], ui["ig_steps"], ui["ig_baseline"]]
    ig_outputs = [ui["ig"], ui["ig_cards"], ui["ig_source"]]
    # preprocess=False: the raw files reach load_image, which says what is wrong (not an image, too many pixels).
    ui["classify_upload"].click(clear_result, None, cleared, queue=False, api_visibility="private").then(
        attention_image, inputs=[ui["image"], *extra], outputs=outputs, api_name="attention_image", preprocess=False,
        time_limit=STANDARD_S,
    ).success(attention_gradcam, inputs=[ui["image"], ui["model"]], outputs=gradcam_outputs, api_name="attention_gradcam",
              preprocess=False, time_limit=STANDARD_S
    ).success(attention_ig, inputs=[ui["image"], *ig_settings], outputs=ig_outputs, api_name="attention_ig",
              api_visibility="private", preprocess=False, time_limit=STANDARD_S)
    ui["classify_sketch"].click(clear_result, None, cleared, queue=False, api_visibility="private").then(
        attention_sketch, inputs=[ui["sketch"], *extra], outputs=outputs, api_name="attention_sketch",
        api_visibility="private", preprocess=False, time_limit=STANDARD_S,
    ).success(attention_sketch_gradcam, inputs=[ui["sketch"], ui["model"]], outputs=gradcam_outputs,
              api_name="attention_sketch_gradcam", api_visibility="private", preprocess=False, time_limit=STANDARD_S
    ).success(attention_sketch_ig, inputs=[ui["sketch"], *ig_settings], outputs=ig_outputs,
              api_name="attention_sketch_ig", api_visibility="private", preprocess=False, time_limit=STANDARD_S)
    gr.on([ui["ig_baseline"].input, ui["ig_steps"].release], attention_ig_view,
          inputs=[ui["ig_source"], *ig_settings], outputs=ig_outputs, api_name="attention_ig_view",
          api_visibility="private", time_limit=STANDARD_S)
    gr.on([ui["layer"].release, ui["head"].release, ui["head_fusion"].input], attention_image_view,
          inputs=[ui["state"], ui["layer"], ui["head"], ui["head_fusion"]], outputs=[ui["rollout_image"], ui["head_image"]],
          api_name="attention_image_view", api_visibility="private")
    on_open = OnOpen(attention_image, (ui["image"], *extra), tuple(outputs), preprocess=False, time_limit=STANDARD_S,
                     then=(OnOpen(attention_gradcam, (ui["image"], ui["model"]), tuple(gradcam_outputs), preprocess=False,
                                  time_limit=STANDARD_S,
                                  then=(OnOpen(attention_ig, (ui["image"], *ig_settings), tuple(ig_outputs),
                                               preprocess=False, time_limit=STANDARD_S),)),))
    return ViewHandles(
        tab="attention", sub="image", page=page, result=ui["label"], on_open=(on_open,),
        link=(LinkParam("example", ui["image"], choices=DIGIT_EXAMPLES), LinkParam("model", ui["model"]),
              LinkParam("layer", ui["layer"]), LinkParam("head", ui["head"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Image view (inside the Attention tab's sub-tabs)."""
    with gr.Tab("Image", id="attention-image", elem_id="tab-attention-image") as page:
        handles = _wire(_layout(), page)
    return handles
