"""Autoencoder > Anomalies: an autoencoder trained only on normal brick, grass and gravel cannot rebuild a
defect, so its reconstruction error points at it. Score a texture, draw your own defect, and see precision /
recall on a labelled evaluation set move with the threshold."""

from __future__ import annotations

import gradio as gr

from demos.autoencoder.shared import card, choice, display_images, load, number, output_image
from demos.common.cards import result_card, show_card
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.editors import editor_composite, shown
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, QUICK_S, STANDARD_S
from engine.autoencoder.assets import default_threshold, normal_texture_examples, texture_examples
from engine.autoencoder.render import NORMALISATIONS
from engine.core.imports import IMPORT_LOCK

ANOMALY_HINT = "Pick a texture, then press Find anomalies."
DRAW_HINT = "Draw a scratch or a blob on the texture, then press Score my drawing."
EVAL_HINT = "Computing the evaluation set..."
BRUSH = gr.Brush(default_size=2, colors=["#000000", "#ffffff", "#7a4a1e", "#d02020"], default_color="#000000")
EXPLAIN = (
    "The autoencoder only ever saw *normal* patches of scikit-image's brick, grass and gravel (their left half); "
    "the examples are crops of the held-out right quarter, some with synthetic defects. It cannot rebuild what "
    "it never saw, so the smoothed reconstruction error lights up a defect. The score is the mean of the 50 "
    "hottest pixels, in units of the error normal images reach; normal crops score up to about 3. "
    "**Heatmap normalisation**: per-image scaling stretches every heatmap so its hottest pixel is bright, so even "
    "a flawless image looks defective; dataset-wide scaling divides by the error level of normal images, so only "
    "real outliers light up."
)

ae_anomaly_card = card("anomaly_summary", ANOMALY_HINT)
ae_draw_card = card("anomaly_summary", DRAW_HINT)
ae_eval_card = card("evaluation_summary", EVAL_HINT)


def _threshold(value):
    return None if value in (None, "") else number(value, "threshold", default_threshold())


@user_errors
def ae_anomaly(image, threshold=None, normalisation="dataset-wide"):
    """Find defects in a texture image from the texture autoencoder's reconstruction error.

    threshold is the score above which the image (and a pixel) counts as defective; empty means the calibrated
    default. normalisation (dataset-wide or per-image) sets the heatmap's colour scale. Returns the error heatmap,
    the predicted defect mask (red) and the score, threshold, verdict and share of flagged pixels.
    """
    texture = load(image)
    threshold = _threshold(threshold)
    normalisation = choice(normalisation, "normalisation", NORMALISATIONS, "dataset-wide")
    with IMPORT_LOCK:
        from engine.autoencoder import anomaly
    heatmap, mask, info = anomaly.anomaly_view(texture, threshold, normalisation)
    return (*display_images((heatmap, mask)), info)


@user_errors
def ae_anomaly_drawn(editor, threshold=None, normalisation="dataset-wide"):
    """Same as ae_anomaly, for an image editor value (background, layers, composite): the composite is scored."""
    composite = editor_composite(editor, "ae-editor")
    if composite is None:
        raise ValueError("Nothing to score: pick a normal texture, draw a defect on it, then press the button.")
    return ae_anomaly.__wrapped__(composite, threshold, normalisation)


@user_errors
def ae_anomaly_threshold(threshold=None):
    """The labelled evaluation set (held-out crops, half with synthetic defects) at one threshold.

    Returns a gallery of predicted masks (red) against the true defects' outlines (cyan), image- and pixel-level
    precision, recall and F1 with both AUROCs, and the ROC curves with the threshold's operating point.
    """
    threshold = number(threshold, "threshold", default_threshold())
    with IMPORT_LOCK:
        from engine.autoencoder import anomaly
    return anomaly.threshold_view(threshold)


@user_errors
def load_for_drawing(name):
    """A normal texture (by example name) as the editor's background, ready to draw on (an update that also shows
    the editor, built hidden: :func:`demos.common.editors.shown`)."""
    normals = normal_texture_examples()
    if name not in normals:
        raise ValueError(f"Pick one of the normal textures: {', '.join(normals)}.")
    return shown({"background": load(normals[name]), "layers": [], "composite": None})


def _layout():
    examples = texture_examples()
    normals = normal_texture_examples()
    opening = next((path for name, path in examples.items() if "scratch" in name), next(iter(examples.values()), None))
    with gr.Tab("Anomalies", id="ae-anomalies", elem_id="ae-anomaly-tab") as page:
        with gr.Row(elem_classes=["nd-inputs"]):
            with gr.Column(scale=1, min_width=180):
                image = gr.Image(value=opening, type="filepath", label="Texture image", height=220,
                                 elem_id="ae-anomaly-input", sources=["upload", "clipboard"])
                gr.Examples(list(examples.values()), inputs=[image], examples_per_page=12, elem_id="ae-anomaly-examples",
                            label="Held-out crops of brick, grass and gravel: normal and with synthetic defects",
                            api_visibility="private")
            with gr.Column(scale=5):
                with gr.Row(equal_height=True):
                    threshold = gr.Slider(0.5, 12.0, value=round(default_threshold(), 2), step=0.05, scale=3, min_width=200,
                                          label="Threshold on the score", elem_id="ae-threshold")
                    normalisation = gr.Dropdown(list(NORMALISATIONS), value="dataset-wide", label="Heatmap scale",
                                                elem_id="ae-normalisation", scale=2, min_width=180)
                    button = gr.Button("Find anomalies", variant="primary", elem_id="ae-anomaly-btn", scale=2, min_width=140)
                with gr.Row():
                    with gr.Column(scale=5, min_width=260):
                        heatmap = output_image("Reconstruction-error heatmap", "ae-heatmap")
                    with gr.Column(scale=5, min_width=260):
                        mask = output_image("Predicted defect mask (red)", "ae-mask")
                    with gr.Column(scale=2, min_width=180):
                        anomaly_card = result_card("ae-anomaly-card", ANOMALY_HINT)
                with gr.Accordion("Details (JSON)", open=False, elem_id="ae-anomaly-details", elem_classes=["nd-dev"]):
                    info = gr.JSON(label="Score, threshold, decision", elem_id="ae-anomaly-info")
                gr.Markdown(EXPLAIN, elem_id="ae-normalisation-note", elem_classes=["nd-explain"])
        gr.Markdown("#### Draw your own defect on a normal texture")
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                with gr.Row(equal_height=True):
                    pick = gr.Dropdown([(name.removesuffix("_normal"), name) for name in normals], value=next(iter(normals), None),
                                       label="Normal texture", elem_id="ae-draw-pick", scale=2, min_width=140)
                    restart = gr.Button("Start again", elem_id="ae-draw-load", scale=1, min_width=120)
                editor = gr.ImageEditor(type="pil", label="Draw a thin scratch or a blob", elem_id="ae-editor",
                                        sources=(), transforms=(), layers=False, brush=BRUSH, eraser=gr.Eraser(default_size=6),
                                        canvas_size=(128, 128), height=380, format="png", buttons=[],
                                        visible=False)  # shown by the opening's texture, after the heatmap
                draw_button = gr.Button("Score my drawing", variant="primary", elem_id="ae-draw-btn")
            with gr.Column(scale=1, min_width=300):
                with gr.Row():
                    with gr.Column(min_width=150):
                        draw_heatmap = output_image("Error heatmap", "ae-draw-heatmap")
                    with gr.Column(min_width=150):
                        draw_mask = output_image("Predicted defect mask (red)", "ae-draw-mask")
                draw_card = result_card("ae-draw-card", DRAW_HINT)
                with gr.Accordion("Details (JSON)", open=False, elem_id="ae-draw-details", elem_classes=["nd-dev"]):
                    draw_info = gr.JSON(label="Score, threshold, decision", elem_id="ae-draw-info")
        gr.Markdown("#### Labelled evaluation set: synthetic defects on the held-out right quarter "
                    "(moving the threshold updates everything live)")
        eval_card = result_card("ae-eval-card", EVAL_HINT)
        with gr.Row():
            with gr.Column(scale=3):
                gr.Markdown("**Predicted mask (red) vs the true defect's outline (cyan)**", elem_classes=["nd-caption"])
                gallery = gr.Gallery(label="Predicted mask (red) vs ground truth outline (cyan)", show_label=False, columns=4,
                                     height=440, elem_id="ae-eval-gallery")
            with gr.Column(scale=2):
                roc = gr.Image(label="ROC", show_label=False, elem_id="ae-roc", format="png", buttons=[], interactive=False)
        with gr.Accordion("Details (JSON)", open=False, elem_id="ae-eval-details", elem_classes=["nd-dev"]):
            eval_metrics = gr.JSON(label="Precision / recall / F1 at this threshold", elem_id="ae-eval-metrics")
    return dict(page=page, image=image, threshold=threshold, normalisation=normalisation, button=button,
                anomaly_card=anomaly_card, heatmap=heatmap, mask=mask, info=info, pick=pick, restart=restart,
                editor=editor, draw_button=draw_button, draw_card=draw_card, draw_heatmap=draw_heatmap,
                draw_mask=draw_mask, draw_info=draw_info, eval_card=eval_card, gallery=gallery, roc=roc,
                eval_metrics=eval_metrics), examples


def _wire(w: dict, examples: dict[str, str]) -> ViewHandles:
    inputs = (w["image"], w["threshold"], w["normalisation"])
    outputs = (w["heatmap"], w["mask"], w["info"])
    evaluation = (w["gallery"], w["eval_metrics"], w["roc"])
    w["button"].click(ae_anomaly, inputs, outputs, api_name="ae_anomaly", preprocess=False, time_limit=STANDARD_S)
    w["draw_button"].click(ae_anomaly_drawn, [w["editor"], w["threshold"], w["normalisation"]],
                           [w["draw_heatmap"], w["draw_mask"], w["draw_info"]], api_name="ae_anomaly_drawn",
                           preprocess=False, time_limit=STANDARD_S)  # the editor's raw files: load_image checks them
    w["threshold"].change(ae_anomaly_threshold, [w["threshold"]], evaluation, api_name="ae_anomaly_threshold",
                          trigger_mode="always_last", preprocess=False, time_limit=LONG_S)
    w["threshold"].release(ae_anomaly, inputs, outputs, api_visibility="private", preprocess=False,
                           trigger_mode="always_last", time_limit=STANDARD_S)
    w["normalisation"].change(ae_anomaly, inputs, outputs, api_visibility="private", preprocess=False, time_limit=STANDARD_S)
    # Loading a texture into the editor also selects its brush (Gradio's editor does so when its background changes).
    gr.on([w["pick"].change, w["restart"].click], load_for_drawing, [w["pick"]], [w["editor"]],
          api_visibility="private", time_limit=QUICK_S)
    show_card(w["info"], w["anomaly_card"], ae_anomaly_card)
    show_card(w["draw_info"], w["draw_card"], ae_draw_card)
    show_card(w["eval_metrics"], w["eval_card"], ae_eval_card)
    on_open = OnOpen(
        ae_anomaly, inputs, outputs, preprocess=False, time_limit=STANDARD_S,
        then=(OnOpen(load_for_drawing, (w["pick"],), (w["editor"],), time_limit=QUICK_S),
              OnOpen(ae_anomaly_threshold, (w["threshold"],), evaluation, preprocess=False, time_limit=LONG_S)),
    )
    return ViewHandles(
        tab="autoencoder", sub="anomalies", page=w["page"], result=w["heatmap"], on_open=(on_open,),
        link=(LinkParam("example", w["image"], choices=examples), LinkParam("threshold", w["threshold"]),
              LinkParam("normalisation", w["normalisation"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Anomalies view (inside the Autoencoder tab's ``gr.Tabs``)."""
    widgets, examples = _layout()
    return _wire(widgets, examples)
