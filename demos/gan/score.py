"""GAN > Discriminator score: D's realness for an uploaded digit, and live on a sketchpad as you scribble."""

from __future__ import annotations

import gradio as gr

from demos.common.cards import CARD_CSS, card_formatter, figure_cards, result_card, show_card
from demos.common.contract import LinkParam, ViewHandles
from demos.common.editors import editor_composite, live_editor, shown
from demos.common.errors import user_errors
from demos.common.limits import QUICK_S
from demos.gan.shared import CLASS_CHOICES, MAX_SEED, card, opening, payload_path
from engine.core import validation
from engine.core.imports import IMPORT_LOCK
from engine.core.registry import ASSETS_DIR
from engine.core.settings import LIMITS
from engine.gan import record, render

SCORE_CLASS_CHOICES = [("auto (the judge's reading)", "auto")] + [(str(d), str(d)) for d in range(10)]
EXAMPLES = {f"digit_{d}": str(ASSETS_DIR / "examples" / f"digit_{d}.png") for d in range(10)}
SKETCH_SIDE = 256  # the sketchpad canvas: a 32x32 digit enlarged 8x
SCORE_HINT = "Upload a digit and press Score upload."
SKETCH_HINT = "Load a generated digit, or draw one (white ink on the black canvas), to see its score."
EXPLAIN = (
    "The discriminator's **realness** (sigmoid of D's output) for an image as a given class. "
    "Load a generated digit onto the sketchpad, then scribble on it (white ink, black to erase) and watch the score move. "
    "At the end of training D sits near its equilibrium, so real and good fake digits both score about 0.5; "
    "noise, blots and scribbles push the score down. D is a training signal, not a digit detector. "
    "Below: the same image under discriminators saved earlier in training, and how well each one separated "
    "real digits from its own generator's digits and from scribbles."
)
SNAPSHOTS_HINT = "Score an image to see it under each saved discriminator."

gan_score_card = card("realness_summary", SCORE_HINT, reference=True)
gan_sketch_card = card("realness_summary", SKETCH_HINT, reference=True)


def _snapshot_scores_summary(info, figures):
    if not info.get("snapshots"):
        raise ValueError("This result carries no per-snapshot scores.")
    return render.snapshot_scores_summary(info, figures)


gan_score_snapshots_card = card_formatter(_snapshot_scores_summary, SNAPSHOTS_HINT, "gan_score_snapshots_card",
                                          record.committed_snapshot_figures)
gan_sketch_snapshots_card = card_formatter(_snapshot_scores_summary, SNAPSHOTS_HINT, "gan_sketch_snapshots_card",
                                           record.committed_snapshot_figures)


def snapshots_card_html() -> str:
    """The measured separation of every saved discriminator (AUROC per snapshot), as a card."""
    try:
        return figure_cards(render.snapshot_summary(record.committed_snapshot_figures()))
    except Exception as error:  # noqa: BLE001  (the view still works without the figures)
        return figure_cards(headline=f"Snapshot figures unavailable: {error}")


def _score(image, digit):
    with IMPORT_LOCK:
        from engine.gan import inference
    result = inference.score_image(image, digit)
    label = {f"as {d}": v for d, v in enumerate(result.per_class_realness)}
    return result, label


def _with_snapshots(info: dict, image, digit) -> dict:
    """``info`` plus the image's realness under every saved discriminator (same class as the main score)."""
    with IMPORT_LOCK:
        from engine.gan import snapshots
    scores = snapshots.score_image_snapshots(image, digit).info()
    return {**info, "snapshots": scores["snapshots"]}


@user_errors
def gan_score(image, digit="auto"):
    """The discriminator's realness (0 to 1) of an uploaded digit image, read as class digit (auto: the judge's
    reading); returns the realness under each class condition and a summary whose snapshots entry gives the
    realness under each discriminator saved during training (step and realness)."""
    pil = validation.load_image(payload_path(image), max_pixels=LIMITS.digit_image_pixels)
    result, label = _score(pil, digit)
    return label, _with_snapshots(result.info(), pil, digit)


@user_errors
def gan_sketch_load(seed=0, digit="3"):
    """Put a generated digit (enlarged 8x) on the sketchpad; returns (editor update: the value, shown; score info,
    chart, history)."""
    with IMPORT_LOCK:
        from engine.gan import inference
    digit = "0" if str(digit) == "random" else digit
    result = inference.generate(inference.load_generator(), seed, digit, 1, 1.0)
    big = render.digit_image(result.images[0], scale=SKETCH_SIDE // result.images.shape[-1]).convert("RGB")
    scored, _ = _score(big, digit)
    history = [scored.realness]
    editor = {"background": big, "layers": [_empty_layer()], "composite": big}
    return shown(editor), _with_snapshots(scored.info(), big, digit), _history_chart(history), history


def _history_chart(history):
    import numpy as np  # noqa: PLC0415  (only when a chart is drawn)

    xs = np.arange(len(history), dtype=float)
    return render.render_curves([(xs, np.asarray(history, float), render.REALNESS_COLOUR, "realness")],
                                width=560, height=230, title="D's realness after each edit (0 to 1)", y_range=(0.0, 1.0),
                                x_label="edit")


@user_errors
def gan_score_sketch(editor, digit="auto", history=None):
    """The realness of the sketchpad's drawing (white ink on black), read as class digit; returns a summary and the
    chart of realness after each edit. A blank canvas is not scored."""
    composite = editor_composite(editor, "gan-sketch")  # a file, or the drawing the browser streamed (by id)
    if composite is None:
        raise ValueError("The sketchpad is empty: load a generated digit or draw one (white ink on black).")
    # White ink on black: a transparent part of the composite is black canvas, not white paper.
    pil = validation.load_image(composite, max_pixels=LIMITS.digit_image_pixels, background=(0, 0, 0))
    if max(high for _, high in pil.getextrema()) == 0:  # a blank (all-black) canvas: nothing to score yet
        return None, None, []
    result, _ = _score(pil, digit)
    history = (list(history or []) + [result.realness])[-200:]
    return _with_snapshots(result.info(), pil, digit), _history_chart(history), history


def _black_canvas():
    from PIL import Image  # noqa: PLC0415

    return Image.new("RGB", (SKETCH_SIDE, SKETCH_SIDE), (0, 0, 0))


def _empty_layer():
    """A transparent layer to draw on. Loading a value with a layer fires the editor's change once, which
    Gradio 6.31's editor skips: without it, the user's first stroke would be the skipped change (not scored)."""
    from PIL import Image  # noqa: PLC0415

    return Image.new("RGBA", (SKETCH_SIDE, SKETCH_SIDE), (0, 0, 0, 0))


def gan_sketch_blank():
    """A black canvas (the editor's own Clear leaves a white one, on which white ink is invisible)."""
    return shown({"background": _black_canvas(), "layers": [_empty_layer()], "composite": _black_canvas()}), None, None, []


def _layout():
    with gr.Tab("Discriminator score", id="gan-score", elem_id="tab-gan-score") as page:
        gr.Markdown(EXPLAIN, elem_classes=["nd-explain"])
        with gr.Row(equal_height=False, elem_id="gan-score-columns"):
            with gr.Column(min_width=520):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=200):
                        # Starts with the README's example digit, scored when the view opens.
                        upload = gr.Image(value=EXAMPLES["digit_7"], type="filepath", label="Upload a digit image",
                                          elem_id="gan-score-image", height=200)
                        score_class = gr.Dropdown(SCORE_CLASS_CHOICES, value="auto", label="Score as class",
                                                  elem_id="gan-score-class")
                        score_button = gr.Button("Score upload", variant="primary", elem_id="gan-score-btn")
                    with gr.Column(scale=3, min_width=300):
                        score_card = result_card("gan-score-card", SCORE_HINT)
                        score_snapshots = result_card("gan-score-snapshots-card", SNAPSHOTS_HINT)
                        with gr.Accordion("Details (JSON)", open=False, elem_id="gan-score-details",
                                          elem_classes=["nd-dev"]):
                            # D's realness under each class condition, for the API. Not shown: a gr.Label would
                            # headline the largest one as if D had predicted that class, and D predicts no class.
                            label = gr.Label(num_top_classes=10, label="Realness if read as each class",
                                             elem_id="gan-score-label", visible=False)
                            score_info = gr.JSON(label="Score", elem_id="gan-score-info")
            with gr.Column(min_width=520):
                with gr.Row():
                    sketch_seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed",
                                            elem_id="gan-sketch-seed")
                    sketch_digit = gr.Dropdown(CLASS_CHOICES, value="3", label="Class", elem_id="gan-sketch-digit")
                    load = gr.Button("Load a generated digit", elem_id="gan-sketch-load")
                    blank = gr.Button("Blank canvas", elem_id="gan-sketch-blank")
                black = {"background": _black_canvas(), "layers": [_empty_layer()], "composite": None}
                sketch = gr.Sketchpad(value=black, type="numpy", image_mode="RGB", canvas_size=(SKETCH_SIDE, SKETCH_SIDE),
                                      brush=gr.Brush(colors=["#ffffff", "#000000"], default_color="#ffffff",
                                                     default_size=12),
                                      format="png", label="Scribble here", elem_id="gan-sketch",
                                      visible=False)  # shown by the opening's digit, after the score card (editors.shown)
                live_editor(sketch)  # its change event streams the drawing: gan_score_sketch resolves it by id
                sketch_card = result_card("gan-sketch-card", SKETCH_HINT)
                history_chart = gr.Image(label="Realness history", show_label=False, interactive=False,
                                         elem_id="gan-sketch-history", buttons=[])
                sketch_snapshots = result_card("gan-sketch-snapshots-card", SNAPSHOTS_HINT)
                with gr.Accordion("Details (JSON)", open=False, elem_id="gan-sketch-details", elem_classes=["nd-dev"]):
                    sketch_info = gr.JSON(label="Realness of the sketch", elem_id="gan-sketch-info")
        # What each saved D measured (AUROC per training step): below the results, so presenter mode keeps
        # the score card in view.
        gr.HTML(snapshots_card_html(), elem_id="gan-score-snapshots-auroc", elem_classes=["nd-figures"],
                css_template=CARD_CSS)
        history = gr.State([])
    score = dict(inputs=[upload, score_class], outputs=[label, score_info], button=score_button, card=score_card,
                 snapshots=score_snapshots)
    sketch_parts = dict(seed=sketch_seed, digit=sketch_digit, load=load, blank=blank, sketch=sketch, card=sketch_card,
                        chart=history_chart, info=sketch_info, history=history, snapshots=sketch_snapshots)
    return page, score, sketch_parts


def _wire(page, score, parts) -> ViewHandles:
    upload, score_class = score["inputs"]
    label, score_info = score["outputs"]
    sketch, sketch_info, chart, history = parts["sketch"], parts["info"], parts["chart"], parts["history"]
    show_card(score_info, score["card"], gan_score_card)
    show_card(sketch_info, parts["card"], gan_sketch_card)
    show_card(score_info, score["snapshots"], gan_score_snapshots_card)
    show_card(sketch_info, parts["snapshots"], gan_sketch_snapshots_card)
    score_event = dict(fn=gan_score, inputs=[upload, score_class], outputs=[label, score_info], preprocess=False,
                       time_limit=QUICK_S)
    score["button"].click(**score_event, api_name="gan_score")
    load_event = dict(fn=gan_sketch_load, inputs=[parts["seed"], parts["digit"]],
                      outputs=[sketch, sketch_info, chart, history], time_limit=QUICK_S, preprocess=False)
    parts["load"].click(**load_event, api_name="gan_sketch_load", api_visibility="private")
    parts["blank"].click(gan_sketch_blank, outputs=[sketch, sketch_info, chart, history], api_visibility="private",
                         queue=False)
    # Every stroke is scored with the drawing as it is after the stroke. (Gradio's editor skips its first
    # change event; the empty layer in its value uses that up when the value loads, so the user's first
    # stroke is scored too, not only from the second on.)
    sketch.change(gan_score_sketch, inputs=[sketch, score_class, history], outputs=[sketch_info, chart, history],
                  api_name="gan_score_sketch", time_limit=QUICK_S, trigger_mode="always_last", show_progress="hidden",
                  preprocess=False)  # the editor's raw files: load_image checks them (not an image, too many pixels)
    return ViewHandles(
        tab="gan", sub="score", page=page, result=score["card"],
        on_open=(opening(score_event, then=(opening(load_event),)),),
        link=(LinkParam("image", upload, choices=EXAMPLES), LinkParam("digit", score_class),
              LinkParam("sketch_seed", parts["seed"]), LinkParam("sketch_digit", parts["digit"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(*_layout())
