"""Transfer › "Meet the pre-trained model": EfficientNet-Lite0's ImageNet top-5 for any photo, with Grad-CAM."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import gradio as gr

from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import STANDARD_S
from engine.core.imports import IMPORT_LOCK
from engine.transfer.fewshot import photo_path
from engine.transfer.options import IMAGENET_LAYER_GRIDS, IMAGENET_LAYERS

DEFAULT_LAYER = "head"
DEFAULT_TOP_K = 5
DEFAULT_PHOTO = "coffee"
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


def layer_choices() -> list[tuple[str, str]]:
    return [(f"{name} ({IMAGENET_LAYER_GRIDS[name]}x{IMAGENET_LAYER_GRIDS[name]})" + (" - default" if name == DEFAULT_LAYER else ""), name)
            for name in reversed(IMAGENET_LAYERS)]


def example_photos() -> dict[str, str]:
    """Example name -> file path of the photos that ship with scikit-image / matplotlib."""
    return {name: str(photo_path(name)) for name in EXAMPLE_PHOTOS}


@user_errors
def imagenet_classify(image, top_k: int = DEFAULT_TOP_K, layer: str = DEFAULT_LAYER):
    """Top-k ImageNet classes of a photo and the Grad-CAM overlay of the top class.

    Returns the overlay image and {"top_k": [{"label", "probability"}, ...], "gradcam": {"label", "layer"}}.
    An unreadable upload reaches the engine's validator, which says what is wrong.
    """
    with IMPORT_LOCK:
        from engine.transfer import imagenet
    result = imagenet.classify(image, DEFAULT_TOP_K if top_k is None else top_k, layer or DEFAULT_LAYER)
    return result.overlay, result.payload()


@functools.lru_cache(maxsize=2 * len(EXAMPLE_PHOTOS))
def _classify_once(digest: str, path: str, layer: str):
    """The same photo (by content) and layer give the same result: computed once per process."""
    with IMPORT_LOCK:
        from engine.transfer import imagenet
    return imagenet.classify(path, DEFAULT_TOP_K, layer)


@user_errors
def open_imagenet(image, layer: str = DEFAULT_LAYER):
    """The view's opening result for the photo in the input (the coffee cup, or a link's example)."""
    if not image:
        return gr.skip(), gr.skip()
    digest = hashlib.sha256(Path(image).read_bytes()).hexdigest()
    result = _classify_once(digest, str(image), layer or DEFAULT_LAYER)
    return result.overlay, result.payload()


def classify_new_image(image, top_k: int = DEFAULT_TOP_K, layer: str = DEFAULT_LAYER):
    """Same as imagenet_classify when the image changes; a cleared image leaves the results."""
    if not image:
        return gr.skip(), gr.skip()
    return imagenet_classify(image, top_k, layer)


def label_from_payload(payload):
    """The API JSON -> {label: probability} for the top-5 list."""
    if not payload or "top_k" not in payload:
        return None
    return {entry["label"]: entry["probability"] for entry in payload["top_k"]}


def build(demo: gr.Blocks) -> ViewHandles:
    widgets = _layout()
    return _wire(demo, *widgets)


def _layout():
    with gr.Tab("Meet the pre-trained model", id="transfer-imagenet", elem_id="tab-transfer-imagenet") as page:
        gr.Markdown(INTRO, elem_id="imagenet-intro", elem_classes=["nd-explain"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=280):
                image = gr.Image(value=example_photos()[DEFAULT_PHOTO], type="filepath",
                                 sources=["upload", "webcam", "clipboard"], label="Your photo", height=300,
                                 elem_id="imagenet-input")
                layer = gr.Dropdown(layer_choices(), value=DEFAULT_LAYER, label="Grad-CAM layer", elem_id="imagenet-layer")
                run = gr.Button("What does it see?", variant="primary", elem_id="imagenet-run")
                gr.Examples([[path] for path in example_photos().values()], inputs=[image],
                            label="Photos that ship with scikit-image / matplotlib", examples_per_page=6,
                            api_name="imagenet_example", api_visibility="private")
            with gr.Column(scale=2, min_width=260):
                label = gr.Label(num_top_classes=DEFAULT_TOP_K, label="Top-5 ImageNet classes", elem_id="imagenet-label")
                gr.Markdown(GRADCAM_NOTE, elem_classes=["nd-explain"])
            with gr.Column(scale=3, min_width=320):
                gr.Markdown("#### Grad-CAM of the top class")
                overlay = gr.Image(show_label=False, interactive=False, height=448, format="jpeg", buttons=["download"],
                                   elem_id="imagenet-gradcam")
        with gr.Accordion("Details (JSON, as /imagenet_classify returns it)", open=False, elem_classes=["nd-dev"]):
            payload = gr.JSON(elem_id="imagenet-json", elem_classes=["nd-dev"])
        top_k = gr.Number(value=DEFAULT_TOP_K, precision=0, minimum=1, maximum=20, visible=False, label="top_k")
    return page, image, layer, run, label, overlay, payload, top_k


def _wire(demo, page, image, layer, run, label, overlay, payload, top_k) -> ViewHandles:
    inputs, outputs = [image, top_k, layer], [overlay, payload]
    gr.on([run.click, layer.input], imagenet_classify, inputs=inputs, outputs=outputs, api_name="imagenet_classify",
          preprocess=False, time_limit=STANDARD_S, concurrency_id="imagenet")
    # A new upload, webcam shot, pasted image or example runs at once; clearing the image changes nothing.
    image.change(classify_new_image, inputs=inputs, outputs=outputs, api_name="imagenet_classify_on_change",
                 api_visibility="private", preprocess=False, time_limit=STANDARD_S, concurrency_id="imagenet")
    payload.change(label_from_payload, payload, label, api_visibility="private", queue=False, show_progress="hidden")
    return ViewHandles(
        tab="transfer", sub="imagenet", page=page, result=label,
        on_open=(OnOpen(open_imagenet, inputs=(image, layer), outputs=(overlay, payload), time_limit=STANDARD_S),),
        link=(LinkParam("example", image, choices=example_photos()), LinkParam("layer", layer)),
    )
