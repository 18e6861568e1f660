"""GAN > Quality: the embedded generator's figures as committed with it, and re-measured on demand."""

from __future__ import annotations

import gradio as gr

from demos.common.cards import result_card, show_card
from demos.common.contract import LinkParam, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S
from demos.gan.shared import card, opening
from engine.core import validation
from engine.core.imports import IMPORT_LOCK
from engine.core.settings import LIMITS
from engine.gan import record, render

HINT = "Press Re-measure now to score the generator again (a few seconds)."

gan_quality_card = card("quality_summary", HINT)


@user_errors
def gan_quality(samples=200, progress=gr.Progress()):
    """Re-measure the embedded generator with the judge on samples new digits (takes a few seconds); returns the
    figures: agreement with the requested class, classes produced, variety per class, Fréchet distance and KID,
    each with its sample count."""
    samples = validation.check_number(samples, "number of samples", 1, LIMITS.gan_quality_samples, whole=True)
    with IMPORT_LOCK:
        from engine.gan import inference
    return inference.measure_quality(
        samples, on_progress=lambda done, total: progress(done / max(total, 1), desc="Re-measuring the generator")
    ).as_dict()


@user_errors
def gan_quality_committed():
    """The figures measured when the embedded generator was built (the view's opening result, no model run)."""
    figures = record.committed_quality()["quality"]
    if not figures:
        raise ValueError("Quality figures were not recorded for this model; press Re-measure now.")
    return figures


def committed_figures_markdown() -> str:
    """The committed figures as a table, with the sample size n beside every FID and KID."""
    try:
        return render.quality_table_markdown(record.committed_quality())
    except Exception as error:  # noqa: BLE001  (the view still works without the figures)
        return f"Quality figures unavailable: {error}"


def _layout():
    with gr.Tab("Quality", id="gan-quality", elem_id="tab-gan-quality") as page:
        with gr.Row():
            samples = gr.Slider(20, 1000, value=200, step=10, precision=0, label="Samples to re-measure",
                                elem_id="gan-quality-samples")
            button = gr.Button("Re-measure now", elem_id="gan-quality-btn", scale=0, min_width=180)
        result = result_card("gan-quality-card", HINT)
        gr.Markdown(committed_figures_markdown(), elem_id="gan-quality-table")
        with gr.Accordion("Details (JSON)", open=False, elem_id="gan-quality-details", elem_classes=["nd-dev"]):
            figures = gr.JSON(label="Figures", elem_id="gan-quality-json")
    return page, samples, button, result, figures


def _wire(page, samples, button, result, figures) -> ViewHandles:
    show_card(figures, result, gan_quality_card)
    button.click(gan_quality, inputs=[samples], outputs=[figures], api_name="gan_quality", time_limit=LONG_S,
                 concurrency_limit=1, preprocess=False)  # also at most LIMITS.expensive_queued waiting (admission)
    # Opens with the committed figures in the card: a real result, without re-measuring for every visitor.
    return ViewHandles(tab="gan", sub="quality", page=page, result=result,
                       on_open=(opening(dict(fn=gan_quality_committed, outputs=[figures])),),
                       link=(LinkParam("samples", samples),))


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(*_layout())
