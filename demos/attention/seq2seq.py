"""Attention › Encoder–decoder: a translation lab where attention learns to align.

Three models NeuroDeck trained to write English dates as ISO 8601 (a GRU encoder-decoder without
attention, a GRU with Bahdanau attention, a small transformer) on the same input; their
cross-attention, the transformer's self-attention, a what-if forced prefix, accuracy against
length, and a transformer trained live per session. Each handler calls one function of
:mod:`engine.attention.seq2seq.lab` (or ``.live``).
"""

from __future__ import annotations

import time

import gradio as gr

from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, QUICK_S, STANDARD_S
from demos.common.payloads import LargeJSON, plot
from engine.attention.seq2seq import data as seq2seq_data
from engine.attention.seq2seq.results import MODEL_KINDS
from engine.core.imports import IMPORT_LOCK

EXAMPLES = list(seq2seq_data.EXAMPLES)
DEFAULT_TEXT = seq2seq_data.DEFAULT_TEXT
VIEW_MODELS = [("Transformer (layer × head)", "transformer"), ("GRU + Bahdanau attention", "rnn_attention")]
API_MODELS = MODEL_KINDS
LIVE_MAX_SECONDS = 90
LIVE_FRAME_SECONDS = 3.0
DEFAULT_LAYER, DEFAULT_HEAD = 2, 1
MAX_OUTPUT_STEPS = seq2seq_data.MAX_OUTPUT_STEPS
INITIAL_POSITIONS = [(f"{i}: {c}", i) for i, c in enumerate([*"2021-03-03", "</s>"])] + [
    (str(i), i) for i in range(11, MAX_OUTPUT_STEPS)]

INTRO = (
    "### Encoder–decoder: writing dates in ISO 8601\n"
    "Three models NeuroDeck trained on its own seeded data read an English date (7 forms, any letter case) "
    "character by character and write it as `YYYY-MM-DD`. The year moves from the end to the front and the month "
    "turns from a word into digits, so the **cross-attention** has to find the right place in the input. "
    "**GRU, no attention** squeezes the whole input into one vector; **GRU + attention** (Bahdanau) and the "
    "**transformer** (2 encoder + 2 decoder layers, 4 heads) look back at every input character."
)
LIVE_INTRO = (
    "#### Train live: a transformer learns this task from scratch, here, now\n"
    "Watch the cross-attention of **Wednesday, March 3, 2021** go from uniform to a clean alignment. "
    "The score is the share of attention each year/month/day digit puts on the right part of the input."
)


def _plot(figure):
    """The live loss chart (a Plotly dict) for gr.Plot; every other chart here is an SVG string for gr.HTML."""
    return None if figure is None else plot(figure)


@user_errors
def seq2seq_translate(text: str, model: str = "transformer") -> dict:
    """Translate one date with one model (transformer, rnn_attention or rnn).

    Returns JSON: output, source_tokens, target_tokens, and cross_attention ([layer][head][target][source]
    for the transformer, [target][source] for the attention RNN, absent for the plain RNN; rows sum to 1),
    plus expected (the right answer when the input is a real date in a known form), best_guess and notes.
    """
    with IMPORT_LOCK:
        from engine.attention.seq2seq import lab
    return lab.translate_payload(text, model)


def _view_outputs(views):
    out = [
        views.cross,
        views.model_view or "",
        views.highlight,
        views.encoder_self or "",
        views.decoder_self or "",
        gr.update(choices=views.positions, value=views.position),
    ]
    if views.layers > 1:  # the transformer: its layers and heads
        out += [gr.update(maximum=views.layers, value=views.layer, interactive=True),
                gr.update(maximum=views.heads, value=views.head, interactive=True)]
    else:  # the attention GRU has one alignment matrix: keep the sliders for when the transformer is back
        out += [gr.update(interactive=False), gr.update(interactive=False)]
    return out


@user_errors
def seq2seq_view(text: str, view_model: str = "transformer", layer: int = DEFAULT_LAYER, head: int = DEFAULT_HEAD,
                 position: int = 0):
    """All three models on the text and every view: output cards, notes, cross-attention of view_model,
    model view, source highlight for output position, encoder / decoder self-attention, raw JSON."""
    with IMPORT_LOCK:
        from engine.attention.seq2seq import lab
    results, views, payload = lab.run_lab(text, view_model, layer, head, position)
    return (results, views.cards, views.notes, *_view_outputs(views), payload)


@user_errors
def seq2seq_redraw(results, view_model: str = "transformer", layer: int = DEFAULT_LAYER, head: int = DEFAULT_HEAD,
                   position: int = 0):
    """Re-draw from the last translation (no model call): another model, layer, head or output character."""
    if not results:
        raise ValueError("Press Translate first.")
    with IMPORT_LOCK:
        from engine.attention.seq2seq import lab
    return tuple(_view_outputs(lab.views(results, view_model, layer, head, position)))


@user_errors
def seq2seq_what_if(text: str, prefix: str = "1", view_model: str = "transformer", layer: int = DEFAULT_LAYER,
                    head: int = DEFAULT_HEAD):
    """Force the first output characters (e.g. '1' = "what if the year started with 1?") for all three models.

    Returns the three models' cards, notes, the chosen model's cross-attention and the JSON of the forced run.
    """
    with IMPORT_LOCK:
        from engine.attention.seq2seq import lab
    return lab.what_if(text, prefix, view_model, layer, head)


@user_errors
def seq2seq_train_live(seed: int = 0, model: str = "transformer", seconds: float = 60, state=None):
    """Train a small model from scratch for a number of seconds, streaming (loss chart, cross-attention,
    status, state).

    Pressing again with the same seed and model continues the session's run. At most two sessions train at
    once on the shared machine; the next ones wait in line, shown their place, and start when a slot frees.
    """
    with IMPORT_LOCK:
        from engine.attention.seq2seq import lab, live
        from engine.core.validation import check_number, check_seed
    seed = check_seed(seed, "seed")  # one range everywhere: a whole number from 0 to 2**32 - 1 (1e30 overflowed)
    budget = check_number(seconds, "training time in seconds", 1, LIVE_MAX_SECONDS)
    for place in live.wait_for_slot():
        yield (gr.skip(), gr.skip(), f"**Waiting for a free training slot:** {live.MAX_CONCURRENT_RUNS} live trainings are "
               f"running on this shared machine. You are **number {place}** in line; yours starts as soon as one ends.",
               state)
    try:
        same_run = state is not None and (state.seed, state.model_kind) == (seed, model)
        session = state if same_run else live.LiveSeq2Seq(seed, model)
        started = time.perf_counter()
        while True:
            remaining = budget - (time.perf_counter() - started)
            session.train_for(min(LIVE_FRAME_SECONDS, max(remaining, 0.05)))
            loss, cross, status = lab.live_views(session.snapshot())
            yield _plot(loss), cross, status, session
            if time.perf_counter() - started >= budget or session.step >= live.MAX_LIVE_STEPS:
                return
    finally:
        live.release_slot()


def _why_attention():
    """The committed accuracy-against-length figures (read from the models' training.json; no torch)."""
    from engine.attention.seq2seq import results

    try:
        dates, copies, table = results.why_attention()
    except Exception as error:  # noqa: BLE001  (the view still works without the figures)
        return "", "", f"Precomputed figures unavailable: {error}"
    return dates or "", copies or "", table


def _layout() -> dict:
    """Widgets only, inside the view's tab: the date and Translate in one row, the three models' outputs
    under it; the attention views, the what-if, the committed figures and the live training below."""
    ui = {"results": gr.State(None), "live_state": gr.State(None)}
    gr.Markdown(INTRO, elem_classes=["nd-explain"])
    with gr.Row(equal_height=True):
        ui["text"] = gr.Textbox(label="A date in English", value=DEFAULT_TEXT, max_lines=1, scale=3, elem_id="s2s-text")
        ui["example"] = gr.Dropdown(EXAMPLES, value=None, label="…or pick an example", scale=2, elem_id="s2s-example")
        ui["run"] = gr.Button("Translate", variant="primary", scale=1, elem_id="s2s-run")
    ui["cards"] = gr.HTML(elem_id="s2s-cards")
    ui["notes"] = gr.Markdown(elem_id="s2s-notes")

    gr.Markdown("#### Cross-attention: where each output character looked in the input")
    with gr.Row():
        ui["view_model"] = gr.Radio(VIEW_MODELS, value="transformer", label="Model", elem_id="s2s-view-model", scale=2)
        ui["layer"] = gr.Slider(1, 2, value=DEFAULT_LAYER, step=1, label="Layer (transformer)", elem_id="s2s-layer",
                                scale=1)
        ui["head"] = gr.Slider(1, 4, value=DEFAULT_HEAD, step=1, label="Head (transformer)", elem_id="s2s-head", scale=1)
    # Replaced by each translation's own characters; these initial values (every possible position) are what
    # the API accepts for `position`.
    ui["position"] = gr.Radio(INITIAL_POSITIONS, value=0, elem_id="s2s-position",
                              label="Click an output character to see which input characters it attended to")
    ui["highlight"] = gr.HTML(elem_id="s2s-highlight")
    with gr.Row():
        with gr.Column(scale=3):
            ui["cross"] = gr.HTML(elem_id="s2s-cross")
        with gr.Column(scale=2):
            ui["model_view"] = gr.HTML(elem_id="s2s-model-view")
    gr.Markdown("#### The transformer's self-attention for the same input (same layer and head)")
    with gr.Row():  # columns, so that a phone stacks the two charts instead of squeezing them side by side
        with gr.Column():
            ui["encoder_self"] = gr.HTML(elem_id="s2s-encoder-self")
        with gr.Column():
            ui["decoder_self"] = gr.HTML(elem_id="s2s-decoder-self")

    gr.Markdown("#### What if? Force the first output characters and watch the rest — and the attention — change")
    with gr.Row(equal_height=True):
        ui["prefix"] = gr.Textbox(label="Forced output prefix (digits and -)", value="1", max_lines=1, scale=2,
                                  elem_id="s2s-prefix")
        ui["what_if_run"] = gr.Button("Run with this prefix", scale=1, elem_id="s2s-what-if-run")
    ui["what_if_cards"] = gr.HTML(elem_id="s2s-what-if-cards")
    ui["what_if_notes"] = gr.Markdown()
    ui["what_if_plot"] = gr.HTML(elem_id="s2s-what-if-cross")

    gr.Markdown("#### Why attention? Exact match against input length (precomputed, held-out data)")
    dates_figure, copy_figure, table = _why_attention()
    with gr.Row():
        with gr.Column():
            gr.HTML(dates_figure, elem_id="s2s-why-dates")
        with gr.Column():
            gr.HTML(copy_figure, elem_id="s2s-why-copy")
    gr.Markdown(table, elem_id="s2s-why-table")

    gr.Markdown(LIVE_INTRO)
    with gr.Row(equal_height=True):
        ui["live_seed"] = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="s2s-live-seed", scale=1)
        ui["live_model"] = gr.Radio([("Transformer", "transformer"), ("GRU + attention", "rnn_attention")],
                                    value="transformer", label="Model", elem_id="s2s-live-model", scale=2)
        ui["live_seconds"] = gr.Slider(10, LIVE_MAX_SECONDS, value=60, step=5, label="Train for (seconds)",
                                       elem_id="s2s-live-seconds", scale=2)
        ui["live_start"] = gr.Button("Train live", variant="primary", elem_id="s2s-live-start", scale=1)
        ui["live_stop"] = gr.Button("Stop", elem_id="s2s-live-stop", scale=1)
    ui["live_status"] = gr.Markdown("Press **Train live**.", elem_id="s2s-live-status")
    with gr.Row():
        with gr.Column():
            ui["live_loss"] = gr.Plot(show_label=False, elem_id="s2s-live-loss")
        with gr.Column():
            ui["live_cross"] = gr.HTML(elem_id="s2s-live-cross")

    with gr.Accordion("Raw output (API JSON)", open=False, elem_classes=["nd-dev"]):
        ui["raw"] = LargeJSON(label="/seq2seq_view payload of the chosen model")
        ui["what_if_raw"] = LargeJSON(label="/seq2seq_what_if payload")
    return ui


def _wire(ui: dict, page: gr.Tab) -> ViewHandles:
    """Events only: Translate (and an example), the redraws, the what-if, the translate API and Train live."""
    view_controls = [ui["view_model"], ui["layer"], ui["head"], ui["position"]]
    view_figures = [ui["cross"], ui["model_view"], ui["highlight"], ui["encoder_self"], ui["decoder_self"], ui["position"],
                    ui["layer"], ui["head"]]
    lab_inputs = [ui["text"], *view_controls]
    lab_outputs = [ui["results"], ui["cards"], ui["notes"], *view_figures, ui["raw"]]
    gr.on([ui["run"].click, ui["text"].submit], seq2seq_view, inputs=lab_inputs, outputs=lab_outputs,
          api_name="seq2seq_view", time_limit=STANDARD_S)
    ui["example"].input(lambda choice: choice or gr.skip(), inputs=[ui["example"]], outputs=[ui["text"]],
                        api_visibility="private", queue=False).then(
        seq2seq_view, inputs=lab_inputs, outputs=lab_outputs, api_name="seq2seq_view_example", api_visibility="private",
        time_limit=STANDARD_S)
    gr.on([ui["view_model"].input, ui["layer"].release, ui["head"].release, ui["position"].input], seq2seq_redraw,
          inputs=[ui["results"], *view_controls], outputs=view_figures, api_name="seq2seq_redraw",
          api_visibility="private", trigger_mode="always_last", show_progress="hidden", time_limit=QUICK_S)
    what_if_inputs = [ui["text"], ui["prefix"], ui["view_model"], ui["layer"], ui["head"]]
    what_if_outputs = [ui["what_if_cards"], ui["what_if_notes"], ui["what_if_plot"], ui["what_if_raw"]]
    gr.on([ui["what_if_run"].click, ui["prefix"].submit], seq2seq_what_if, inputs=what_if_inputs, outputs=what_if_outputs,
          api_name="seq2seq_what_if", time_limit=STANDARD_S)
    gr.api(seq2seq_translate, api_name="seq2seq_translate", time_limit=STANDARD_S)
    live_event = ui["live_start"].click(
        seq2seq_train_live, inputs=[ui["live_seed"], ui["live_model"], ui["live_seconds"], ui["live_state"]],
        outputs=[ui["live_loss"], ui["live_cross"], ui["live_status"], ui["live_state"]], api_name="seq2seq_train_live",
        # the limit covers a wait in line for a slot (up to two runs ahead) and the run itself
        api_visibility="private", time_limit=3 * LONG_S, concurrency_limit=4, concurrency_id="seq2seq-live",
        trigger_mode="once", show_progress="hidden")
    ui["live_stop"].click(None, cancels=[live_event], api_visibility="private")
    on_open = OnOpen(seq2seq_view, tuple(lab_inputs), tuple(lab_outputs), time_limit=STANDARD_S,
                     then=(OnOpen(seq2seq_what_if, tuple(what_if_inputs), tuple(what_if_outputs), time_limit=STANDARD_S),))
    return ViewHandles(
        tab="attention", sub="seq2seq", page=page, result=ui["cards"], on_open=(on_open,),
        link=(LinkParam("text", ui["text"]), LinkParam("model", ui["view_model"]), LinkParam("layer", ui["layer"]),
              LinkParam("head", ui["head"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Encoder–decoder view (inside the Attention tab's sub-tabs)."""
    with gr.Tab("Encoder–decoder", id="attention-seq2seq", elem_id="tab-attention-seq2seq") as page:
        handles = _wire(_layout(), page)
    return handles
