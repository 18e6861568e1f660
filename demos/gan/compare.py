"""GAN & co. > GAN vs VAE vs diffusion: the three generators on the same digits, scored by the same judge.

Opens with the last recorded table (benchmarks/results/compare_generators.json, made by the same engine
function) and live sample grids; "Measure now" recomputes every figure here, with progress.
"""

from __future__ import annotations

import gradio as gr

from demos.common.contract import LinkParam, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, STANDARD_S
from demos.gan.shared import opening
from engine.core import validation
from engine.core.imports import IMPORT_LOCK

EXPLAIN = (
    "Three ways to generate digits, trained on the same 1,437 digits and judged by the same small CNN (trained on "
    "real digits only). **FID** compares the judge's features of generated and held-out real digits (lower is "
    "better; it depends on n, so the real digits' own FID at the same n is the floor). **Agreement**: how often the "
    "judge reads the class that was asked for. **Diversity**: spread within a class, generated / real (1 = as "
    "varied as real digits)."
)
DEFAULT_SAMPLES = 200
MAX_SAMPLES = 500  # diffusion: about 55 ms a sample on a quiet core, 90 ms on the busy box: within LONG_S


def _engine():
    with IMPORT_LOCK:
        from engine.gan import compare
    return compare


def _status(comparison, live: bool) -> str:
    when = "just now" if live else f"on {comparison.measured_at} (recorded; press Measure now to recompute here)"
    return (f"Measured {when}: n = {comparison.n_per_model:,} samples per model, load average "
            f"{comparison.load_average:g}, {comparison.torch_threads} torch thread(s).")


def _grids(seed: int = 0):
    compare = _engine()
    with IMPORT_LOCK:
        from engine.gan import render
    entries, missing = compare.default_generators()
    gallery = []
    for entry in entries.values():
        images = compare.sample_grid(entry, seed)
        gallery.append((render.digits_grid(images, columns=10, cell=48), f"{entry.name}: {entry.settings}"))
    return gallery


@user_errors
def generators_recorded():
    """The last recorded comparison table, its words and status, and live sample grids of every generator."""
    compare = _engine()
    comparison = compare.committed_comparison()
    if comparison is None:
        return ("No comparison has been recorded yet: press Measure now.", "", "", _opening_grids(), None)
    return (compare.table_markdown(comparison), compare.tradeoff_words(comparison), _status(comparison, False),
            _opening_grids(), comparison.as_dict())


def _opening_grids():
    """Seed 0's sample grids, drawn once per process (every generator samples: ~1 s of CPU per new visitor)."""
    from engine.core.registry import load_once

    return load_once("gan-compare-grids", _grids)


@user_errors
def generators_measure(samples=DEFAULT_SAMPLES, progress=gr.Progress()):
    """Measure every generator now on samples new digits each (same judge, same held-out digits)."""
    samples = validation.check_number(samples, "samples per model", 20, MAX_SAMPLES, whole=True)
    compare = _engine()
    comparison = compare.compare_generators(
        samples, seed=0, on_progress=lambda done, total: progress(done / max(total, 1), desc="Measuring generators"))
    return (compare.table_markdown(comparison), compare.tradeoff_words(comparison), _status(comparison, True),
            comparison.as_dict())


def _layout():
    ui = {}
    with gr.Tab("GAN vs VAE vs diffusion", id="gan-compare", elem_id="tab-gan-compare") as page:
        with gr.Row():
            ui["samples"] = gr.Slider(20, MAX_SAMPLES, value=DEFAULT_SAMPLES, step=10, precision=0,
                                      label="Samples per model", elem_id="compare-samples")
            ui["measure"] = gr.Button("Measure now", variant="primary", elem_id="compare-measure-btn", scale=0,
                                      min_width=180)
        ui["status"] = gr.Markdown(elem_id="compare-status")
        # the table takes the full width (eight columns of figures read at presenter size); words and grids below
        ui["table"] = gr.Markdown(elem_id="compare-table")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=360):
                ui["words"] = gr.Markdown(elem_id="compare-words")
            with gr.Column(scale=2, min_width=360):
                ui["grids"] = gr.Gallery(label="20 samples of each (classes 0-9 in order where asked for)",
                                         columns=1, height="auto", object_fit="contain", elem_id="compare-grids",
                                         format="png")
        gr.Markdown(EXPLAIN, elem_classes=["nd-explain"])
        with gr.Accordion("Details (JSON)", open=False, elem_id="compare-details", elem_classes=["nd-dev"]):
            ui["json"] = gr.JSON(label="Comparison", elem_id="compare-json")
    return page, ui


def _wire(page, ui) -> ViewHandles:
    ui["measure"].click(generators_measure, inputs=[ui["samples"]],
                        outputs=[ui["table"], ui["words"], ui["status"], ui["json"]], api_name="generators_measure",
                        api_visibility="private", time_limit=LONG_S, concurrency_limit=1, preprocess=False)
    recorded = dict(fn=generators_recorded, outputs=[ui["table"], ui["words"], ui["status"], ui["grids"], ui["json"]],
                    time_limit=STANDARD_S)
    return ViewHandles(tab="gan", sub="compare", page=page, result=ui["table"], on_open=(opening(recorded),),
                       link=(LinkParam("samples", ui["samples"]),))


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(*_layout())
