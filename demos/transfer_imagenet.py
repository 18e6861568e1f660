"""Transfer tab, "Meet the pre-trained model": EfficientNet-Lite0's ImageNet top-5 for any photo, with Grad-CAM.

Also :func:`attention_gradcam`, which the Attention tab's Image view calls to put the ViT's Grad-CAM
beside its attention maps. Handlers are thin: one engine call each (``engine.transfer.imagenet`` /
``engine.transfer.gradcam``), imported lazily so building the UI does not import torch.
"""

from __future__ import annotations

import functools

import gradio as gr

from demos.common.limits import STANDARD_S
from demos.common.legacy import engine_module
from demos.common.errors import user_errors
from engine.transfer.fewshot import photo_path
from engine.transfer.options import IMAGENET_LAYER_GRIDS, IMAGENET_LAYERS

imagenet = engine_module("transfer.imagenet")
gradcam = engine_module("transfer.gradcam")

DEFAULT_LAYER = "head"
DEFAULT_TOP_K = 5
EXAMPLE_PHOTOS = ("coffee", "chelsea", "astronaut", "rocket", "motorcycle_left", "grace_hopper")  # ship in packages

INTRO = (
    "**ImageNet** is 1.28 million photos hand-labelled with 1,000 everyday categories (120 dog breeds, cups, cars, "
    "cats, ...). EfficientNet-Lite0 learned them before you arrived: these 1,000 classes are what it already knows, "
    "and the features behind them are what transfer learning reuses for your own classes."
)
GRADCAM_NOTE = (
    "**Grad-CAM** (red = most): the chosen layer's feature maps, each weighted by how much it raises the top "
    "class's score (its averaged gradient). *head* and *stage 6-7* (7x7 grid) point at object parts; early stages "
    "(up to 112x112) react to edges and textures. The heatmap covers the centre square the model sees."
)
ATTENTION_VS_GRADCAM = (
    "**Attention vs gradient attribution:** attention shows where [CLS] *looks* (the same whichever class wins); "
    "Grad-CAM shows which patches *raise the predicted class's score*, so the two maps can disagree."
)


def layer_choices() -> list[tuple[str, str]]:
    return [(f"{name} ({IMAGENET_LAYER_GRIDS[name]}x{IMAGENET_LAYER_GRIDS[name]})" + (" - default" if name == DEFAULT_LAYER else ""), name)
            for name in reversed(IMAGENET_LAYERS)]


@user_errors
def imagenet_classify(image, top_k: int = DEFAULT_TOP_K, layer: str = DEFAULT_LAYER):
    """Top-k ImageNet classes of a photo and the Grad-CAM overlay of the top class.

    Returns (overlay image, ``{"top_k": [{"label", "probability"}, ...], "gradcam": {"label", "layer"}}``).
    Runs with ``preprocess=False`` so an unreadable upload reaches the engine's validator.
    """
    result = imagenet.classify(image, DEFAULT_TOP_K if top_k is None else top_k, layer or DEFAULT_LAYER)
    return result.overlay, result.payload()


@functools.lru_cache(maxsize=1)
def _opening_result():
    return imagenet.classify(str(photo_path("coffee")), DEFAULT_TOP_K, DEFAULT_LAYER)


@user_errors
def opening_result():
    """What the sub-tab opens with: the shipped coffee photo, computed once per process."""
    result = _opening_result()
    return result.overlay, result.payload()


def classify_new_image(image, top_k: int = DEFAULT_TOP_K, layer: str = DEFAULT_LAYER):
    """Same as :func:`imagenet_classify` when the image changes; a cleared image leaves the results."""
    if not image:
        return gr.skip(), gr.skip()
    return imagenet_classify(image, top_k, layer)


def label_from_payload(payload):
    """The API JSON -> ``{label: probability}`` for the gr.Label (a private, unqueued event)."""
    if not payload or "top_k" not in payload:
        return None
    return {entry["label"]: entry["probability"] for entry in payload["top_k"]}


def build(demo: gr.Blocks) -> None:
    """Build the sub-tab's content (the caller owns the ``gr.Tab``)."""
    gr.Markdown(INTRO, elem_id="imagenet-intro")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=280):
            image = gr.Image(value=str(photo_path("coffee")), type="filepath", sources=["upload", "webcam", "clipboard"],
                             label="Your photo", height=300, elem_id="imagenet-input")
            layer = gr.Dropdown(layer_choices(), value=DEFAULT_LAYER, label="Grad-CAM layer", elem_id="imagenet-layer")
            run = gr.Button("What does it see?", variant="primary", elem_id="imagenet-run")
            gr.Examples([[str(photo_path(name))] for name in EXAMPLE_PHOTOS], inputs=[image],
                        label="Photos that ship with scikit-image / matplotlib", examples_per_page=6,
                        api_name="imagenet_example", api_visibility="private")
        with gr.Column(scale=2, min_width=260):
            label = gr.Label(num_top_classes=DEFAULT_TOP_K, label="Top-5 ImageNet classes", elem_id="imagenet-label")
            gr.Markdown(GRADCAM_NOTE)
        with gr.Column(scale=3, min_width=320):
            gr.Markdown("#### Grad-CAM of the top class")
            overlay = gr.Image(show_label=False, interactive=False, height=448, format="jpeg", buttons=["download"],
                               elem_id="imagenet-gradcam")
    with gr.Accordion("Details (JSON, as /imagenet_classify returns it)", open=False):
        payload = gr.JSON(elem_id="imagenet-json")
    top_k = gr.Number(value=DEFAULT_TOP_K, precision=0, visible=False, label="top_k")

    inputs, outputs = [image, top_k, layer], [overlay, payload]
    gr.on([run.click, layer.input], imagenet_classify, inputs=inputs, outputs=outputs, api_name="imagenet_classify",
          preprocess=False, time_limit=STANDARD_S, concurrency_id="imagenet")
    # A new upload, webcam shot, pasted image or example runs at once; clearing the image changes nothing.
    image.change(classify_new_image, inputs=inputs, outputs=outputs, api_name="imagenet_classify_on_change",
                 api_visibility="private", preprocess=False, time_limit=STANDARD_S, concurrency_id="imagenet")
    payload.change(label_from_payload, payload, label, api_visibility="private", queue=False, show_progress="hidden")
    # Opens with a real result for the photo already in the input (computed once per process, then reused).
    demo.load(opening_result, inputs=None, outputs=outputs, api_name="imagenet_classify_on_load",
              api_visibility="private", concurrency_id="imagenet")


# ------------------------------------------------------------------------------ Attention tab, Image view

@user_errors
def attention_gradcam(image, model_id: str = "digits-vit"):
    """The ViT's Grad-CAM for its predicted class on an upload or a sketch: (overlay image, caption)."""
    picture, caption = gradcam.vit_gradcam_view(image, model_id or None)
    return picture, f"{caption}. {ATTENTION_VS_GRADCAM}"


def attach_attention_gradcam(upload_button, upload_image, sketch_button, sketch, model_id) -> None:
    """Called inside the Attention Image view's output row: adds the Grad-CAM panel beside the attention
    maps and runs it on the same upload or drawing whenever one is classified."""
    with gr.Column(min_width=160):
        gr.Markdown("**Grad-CAM** of the predicted class")
        picture = gr.Image(label="Grad-CAM of the predicted class", show_label=False, interactive=False,
                           elem_id="attn-image-gradcam", buttons=[])
        caption = gr.Markdown(ATTENTION_VS_GRADCAM, elem_id="attn-image-gradcam-note")
    upload_button.click(attention_gradcam, [upload_image, model_id], [picture, caption], api_name="attention_gradcam",
                        preprocess=False, time_limit=STANDARD_S)
    sketch_button.click(attention_gradcam, [sketch, model_id], [picture, caption], api_name="attention_gradcam_sketch",
                        api_visibility="private", time_limit=STANDARD_S)
