"""Transfer › "Meet the pre-trained model": EfficientNet-Lite0's ImageNet top-5 for any photo, with Grad-CAM and
integrated gradients side by side (:mod:`engine.transfer.attribution`)."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import gradio as gr

from demos.common.cards import empty_card, figure_cards, result_card, show_card
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, STANDARD_S
from engine.core.imports import IMPORT_LOCK
from engine.transfer.fewshot import photo_path
from engine.transfer.options import (ATTRIBUTION_BASELINES, ATTRIBUTION_CAVEAT, ATTRIBUTION_MAX_STEPS,
                                     ATTRIBUTION_MIN_STEPS, ATTRIBUTION_STEPS, IMAGENET_LAYER_GRIDS, IMAGENET_LAYERS)

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

IG_NOTE = (
    "**Integrated gradients** (yellow = most credit): the class's logit is followed along a straight path from a "
    "baseline picture to yours, and each pixel is credited with its share of the change. The credits add up to "
    "logit(photo) − logit(baseline); the gap shown is the integral's numerical error. From black it can be several "
    "percent here: this model's score jumps within the first few percent of the path, while the picture is still "
    "almost black, and few steps land there (docs/attribution.md); more steps or another baseline shrink it. "
    "Grad-CAM beside it weighs one layer's feature maps instead."
)
BASELINE_CHOICES = [("black (all pixels 0)", "black"), ("blurred photo", "blurred"), ("uniform noise", "noise")]
assert [value for _, value in BASELINE_CHOICES] == list(ATTRIBUTION_BASELINES)


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


@user_errors
def imagenet_attribution(image, method: str = "integrated_gradients", steps: int = ATTRIBUTION_STEPS, target=None,
                         baseline: str = "black"):
    """Which pixels raise one ImageNet class's score: integrated gradients (or Grad-CAM) on EfficientNet-Lite0.

    target is a class index 0-999 or a label; empty means the top-1 class. Integrated gradients starts from
    baseline ("black", "blurred" or "noise"), preprocessed like the photo, in steps integration steps (2-256).
    Returns the heatmap over the 224x224 crop the model sees and {"method", "target_class", "target_label",
    "logit", "baseline_logit", "attribution_sum", "steps", "baseline", "completeness_gap"}; Grad-CAM gives
    no baseline_logit or attribution_sum.
    """
    if image is None or (isinstance(image, str) and not image.strip()):
        raise ValueError("No image was given: upload a photo (or pick an example) to explain.")
    with IMPORT_LOCK:
        from engine.transfer import attribution
    result = attribution.imagenet_attribution(image, method, ATTRIBUTION_STEPS if steps is None else steps, target,
                                              baseline or "black")
    if result.method == "gradcam":
        from engine.transfer.gradcam import overlay

        return overlay(result.display, result.heatmap), result.payload()
    return attribution.heatmap_overlay(result.display, result.heatmap), result.payload()


@functools.lru_cache(maxsize=len(EXAMPLE_PHOTOS))
def _attribution_once(digest: str, path: str):
    return imagenet_attribution(path)


def open_attribution(image):
    """The opening integrated gradients (default settings) of the photo in the input: once per photo and process."""
    if not image:
        return gr.skip(), gr.skip()
    return _attribution_once(hashlib.sha256(Path(image).read_bytes()).hexdigest(), str(image))


def attribution_new_image(image, steps=ATTRIBUTION_STEPS, target=None, baseline="black"):
    """A new photo: its integrated gradients replace the last photo's; a cleared image leaves them."""
    if not image:
        return gr.skip(), gr.skip()
    return imagenet_attribution(image, "integrated_gradients", steps, target, baseline)


def clear_attribution():
    """While a new photo is explained, the last photo's map is not shown as if it were this one's."""
    return None, None


def attribution_cards(payload) -> str:
    """The /imagenet_attribution JSON -> large labelled numbers: the completeness check."""
    if not payload or "logit" not in payload:
        return empty_card("Press Explain to compute the integrated gradients.")
    label = f"'{payload['target_label']}' (class {payload['target_class']})"
    if payload.get("attribution_sum") is None:
        return figure_cards([("Logit", f"{payload['logit']:.3f}", "Grad-CAM has no completeness check", "")],
                            headline=f"Grad-CAM for {label}")
    difference = payload["logit"] - payload["baseline_logit"]
    gap = payload["completeness_gap"]
    return figure_cards([
        ("Sum of attributions", f"{payload['attribution_sum']:+.3f}", f"over all pixels, {payload['steps']} steps", ""),
        ("logit(photo) − logit(baseline)", f"{difference:+.3f}",
         f"{payload['logit']:.3f} − " + (f"{payload['baseline_logit']:.3f}" if payload["baseline_logit"] >= 0
                                          else f"(−{abs(payload['baseline_logit']):.3f})"), ""),
        ("Completeness gap", f"{gap:.2%}", "|sum − difference| / |difference|: the integral's numerical error",
         "good" if gap < 0.01 else "bad" if gap > 0.05 else ""),
    ], headline=f"Integrated gradients for {label}, {payload['baseline']} baseline")


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
        # Grad-CAM and integrated gradients side by side, on the same crop of the same photo.
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                gr.Markdown("#### Grad-CAM of the top class")
                overlay = gr.Image(show_label=False, interactive=False, height=420, format="jpeg", buttons=["download"],
                                   elem_id="imagenet-gradcam")
            with gr.Column(scale=3, min_width=300):
                gr.Markdown("#### Integrated gradients")
                ig_image = gr.Image(show_label=False, interactive=False, height=420, format="jpeg", buttons=["download"],
                                    elem_id="imagenet-ig")
            with gr.Column(scale=2, min_width=260):
                ig_cards = result_card("imagenet-ig-cards", "The completeness check appears here.")
                gr.Markdown(f"*{ATTRIBUTION_CAVEAT}*", elem_id="imagenet-ig-caveat")
        with gr.Row(equal_height=True):
            baseline = gr.Radio(BASELINE_CHOICES, value="black", label="IG baseline: the map depends on it, try another",
                                scale=3, min_width=300, elem_id="imagenet-ig-baseline")
            steps = gr.Slider(ATTRIBUTION_MIN_STEPS, ATTRIBUTION_MAX_STEPS, value=ATTRIBUTION_STEPS, step=1,
                              label="Integration steps", scale=2, min_width=180, elem_id="imagenet-ig-steps")
            target = gr.Textbox(value="", label="Class (empty = top-1)", placeholder="index 0-999 or label", scale=2,
                                min_width=150, elem_id="imagenet-ig-target")
            explain = gr.Button("Explain with integrated gradients", variant="primary", scale=2, min_width=180,
                                elem_id="imagenet-ig-run")
        gr.Markdown(IG_NOTE, elem_id="imagenet-ig-note", elem_classes=["nd-explain"])
        with gr.Accordion("Details (JSON, as /imagenet_classify and /imagenet_attribution return it)", open=False,
                          elem_classes=["nd-dev"]):
            payload = gr.JSON(elem_id="imagenet-json", elem_classes=["nd-dev"])
            ig_payload = gr.JSON(elem_id="imagenet-ig-json", elem_classes=["nd-dev"])
        top_k = gr.Number(value=DEFAULT_TOP_K, precision=0, minimum=1, maximum=20, visible=False, label="top_k")
        method = gr.Textbox(value="integrated_gradients", visible=False, label="method")
    ig = dict(image=ig_image, cards=ig_cards, steps=steps, target=target, baseline=baseline, explain=explain,
              payload=ig_payload, method=method)
    return page, image, layer, run, label, overlay, payload, top_k, ig


def _wire(demo, page, image, layer, run, label, overlay, payload, top_k, ig) -> ViewHandles:
    inputs, outputs = [image, top_k, layer], [overlay, payload]
    gr.on([run.click, layer.input], imagenet_classify, inputs=inputs, outputs=outputs, api_name="imagenet_classify",
          preprocess=False, time_limit=STANDARD_S, concurrency_id="imagenet")
    # A new upload, webcam shot, pasted image or example runs at once; clearing the image changes nothing.
    image.change(classify_new_image, inputs=inputs, outputs=outputs, api_name="imagenet_classify_on_change",
                 api_visibility="private", preprocess=False, time_limit=STANDARD_S, concurrency_id="imagenet")
    payload.change(label_from_payload, payload, label, api_visibility="private", queue=False, show_progress="hidden")
    # Integrated gradients: its own queue (seconds per photo), so it never holds up a classification.
    ig_outputs = [ig["image"], ig["payload"]]
    gr.on([ig["explain"].click, ig["baseline"].input], imagenet_attribution,
          inputs=[image, ig["method"], ig["steps"], ig["target"], ig["baseline"]], outputs=ig_outputs,
          api_name="imagenet_attribution", preprocess=False, time_limit=LONG_S, concurrency_id="imagenet-ig")
    image.change(clear_attribution, None, ig_outputs, api_visibility="private", queue=False, show_progress="hidden").then(
        attribution_new_image, inputs=[image, ig["steps"], ig["target"], ig["baseline"]], outputs=ig_outputs,
        api_visibility="private", preprocess=False, time_limit=LONG_S, concurrency_id="imagenet-ig")
    show_card(ig["payload"], ig["cards"], attribution_cards)
    opening_ig = OnOpen(open_attribution, inputs=(image,), outputs=tuple(ig_outputs), time_limit=LONG_S)
    return ViewHandles(
        tab="transfer", sub="imagenet", page=page, result=label,
        on_open=(OnOpen(open_imagenet, inputs=(image, layer), outputs=(overlay, payload), time_limit=STANDARD_S,
                        then=(opening_ig,)),),
        link=(LinkParam("example", image, choices=example_photos()), LinkParam("layer", layer)),
    )
