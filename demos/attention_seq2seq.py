"""Attention tab › Encoder–decoder: a translation lab where attention learns to align.

Three models NeuroDeck trained to write English dates as ISO 8601 (a GRU encoder-decoder without
attention, a GRU with Bahdanau attention, a small transformer) on the same input; their
cross-attention, the transformer's self-attention, a what-if forced prefix, accuracy against
length, and a transformer trained live per session. Handlers are thin: each calls one function of
:mod:`engine.attention.seq2seq.lab` (or ``.live``); engine modules load lazily (no torch at build).
"""

from __future__ import annotations

import json
import time

import gradio as gr
from gradio.components.plot import PlotData

from demos.common.limits import LONG_S, QUICK_S, STANDARD_S
from demos.common.payloads import LargeJSON
from demos.common.legacy import engine_module
from demos.common.errors import user_errors
from engine.attention.seq2seq import data as seq2seq_data
from engine.attention.seq2seq.results import MODEL_KINDS

# From torch-free engine modules, so building the UI imports nothing heavy.
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


def _plot(figure):
    return None if figure is None else PlotData(type="plotly", plot=json.dumps(figure))


def _lab():
    return engine_module("attention.seq2seq.lab")


@user_errors
def seq2seq_translate(text: str, model: str = "transformer") -> dict:
    """Translate one date with one model (`transformer`, `rnn_attention` or `rnn`).

    Returns JSON: output, source_tokens, target_tokens, and cross_attention ([layer][head][target][source]
    for the transformer, [target][source] for the attention RNN, absent for the plain RNN; rows sum to 1),
    plus expected (the right answer when the input is a real date in a known form), best_guess and notes.
    """
    return _lab().translate_payload(text, model)


def _view_outputs(views, with_controls: bool):
    out = [
        _plot(views.cross),
        _plot(views.model_view),
        views.highlight,
        _plot(views.encoder_self),
        _plot(views.decoder_self),
        gr.update(choices=views.positions, value=views.position),
    ]
    if with_controls:
        if views.layers > 1:  # the transformer: its layers and heads
            out += [gr.update(maximum=views.layers, value=views.layer, interactive=True),
                    gr.update(maximum=views.heads, value=views.head, interactive=True)]
        else:  # the attention GRU has one alignment matrix: keep the sliders for when the transformer is back
            out += [gr.update(interactive=False), gr.update(interactive=False)]
    return out


@user_errors
def seq2seq_view(text: str, view_model: str = "transformer", layer: int = DEFAULT_LAYER, head: int = DEFAULT_HEAD,
                 position: int = 0):
    """All three models on ``text`` and every view: output cards, notes, cross-attention of ``view_model``,
    model view, source highlight for output ``position``, encoder / decoder self-attention, raw JSON."""
    results, views, payload = _lab().run_lab(text, view_model, layer, head, position)
    return (results, views.cards, views.notes, *_view_outputs(views, True), payload)


@user_errors
def seq2seq_redraw(results, view_model: str = "transformer", layer: int = DEFAULT_LAYER, head: int = DEFAULT_HEAD,
                   position: int = 0):
    """Re-draw from the last translation (no model call): another model, layer, head or output character."""
    if not results:
        raise ValueError("Press Translate first.")
    return tuple(_view_outputs(_lab().views(results, view_model, layer, head, position), True))


@user_errors
def seq2seq_what_if(text: str, prefix: str = "1", view_model: str = "transformer", layer: int = DEFAULT_LAYER,
                    head: int = DEFAULT_HEAD):
    """Force the first output characters (e.g. '1' = "what if the year started with 1?") for all three models."""
    cards, notes, figure, payload = _lab().what_if(text, prefix, view_model, layer, head)
    return cards, notes, _plot(figure), payload


@user_errors
def seq2seq_train_live(seed: int = 0, model: str = "transformer", seconds: float = 60, state=None):
    """Train a small model from scratch for ``seconds``, streaming (loss chart, cross-attention, status, state).

    Pressing again with the same seed and model continues the session's run. At most two sessions train at
    once on the shared machine; a third is told to wait.
    """
    live = engine_module("attention.seq2seq.live")
    try:
        budget = float(seconds)
        seed = int(seed)
    except (TypeError, ValueError):
        raise ValueError(f"seconds and seed must be numbers, got {seconds!r} and {seed!r}.") from None
    if not 1 <= budget <= LIVE_MAX_SECONDS:
        raise ValueError(f"Train for 1 to {LIVE_MAX_SECONDS} seconds, not {seconds!r}.")
    if seed < 0:
        raise ValueError(f"The seed must be 0 or more, got {seed}.")
    with live.live_slot():
        session = state if state is not None and (state.seed, state.model_kind) == (seed, model) else \
            live.LiveSeq2Seq(seed, model)
        started = time.perf_counter()
        while True:
            remaining = budget - (time.perf_counter() - started)
            session.train_for(min(LIVE_FRAME_SECONDS, max(remaining, 0.05)))
            loss, cross, status = _lab().live_views(session.snapshot())
            yield _plot(loss), _plot(cross), status, session
            if time.perf_counter() - started >= budget or session.step >= live.MAX_LIVE_STEPS:
                return


def _why_attention():
    """The committed accuracy-against-length figures (read from the models' training.json)."""
    try:
        dates, copies, table = engine_module("attention.seq2seq.results").why_attention()
    except Exception as error:  # noqa: BLE001  (the tab still works without the figures)
        return None, None, f"Precomputed figures unavailable: {error}"
    return _plot(dates), _plot(copies), table


def build(demo: gr.Blocks) -> None:
    """The Encoder–decoder sub-tab (called inside the Attention tab's sub-tabs)."""
    gr.Markdown(INTRO)
    results = gr.State(None)
    with gr.Row(equal_height=True):
        text = gr.Textbox(label="A date in English", value=DEFAULT_TEXT, max_lines=1, scale=3,
                          elem_id="s2s-text")
        example = gr.Dropdown(EXAMPLES, value=None, label="…or pick an example", scale=2, elem_id="s2s-example")
        run = gr.Button("Translate", variant="primary", scale=1, elem_id="s2s-run")
    cards = gr.HTML(elem_id="s2s-cards")
    notes = gr.Markdown(elem_id="s2s-notes")

    gr.Markdown("#### Cross-attention: where each output character looked in the input")
    with gr.Row():
        view_model = gr.Radio(VIEW_MODELS, value="transformer", label="Model", elem_id="s2s-view-model", scale=2)
        layer = gr.Slider(1, 2, value=DEFAULT_LAYER, step=1, label="Layer (transformer)", elem_id="s2s-layer", scale=1)
        head = gr.Slider(1, 4, value=DEFAULT_HEAD, step=1, label="Head (transformer)", elem_id="s2s-head", scale=1)
    # Replaced by each translation's own characters; these initial values (every possible position) are what
    # the API accepts for `position`.
    position = gr.Radio(INITIAL_POSITIONS, value=0, elem_id="s2s-position",
                        label="Click an output character to see which input characters it attended to")
    highlight = gr.HTML(elem_id="s2s-highlight")
    with gr.Row():
        with gr.Column(scale=3):
            cross = gr.Plot(show_label=False, elem_id="s2s-cross")
        with gr.Column(scale=2):
            model_view = gr.Plot(show_label=False, elem_id="s2s-model-view")
    gr.Markdown("#### The transformer's self-attention for the same input (same layer and head)")
    with gr.Row():
        encoder_self = gr.Plot(show_label=False, elem_id="s2s-encoder-self")
        decoder_self = gr.Plot(show_label=False, elem_id="s2s-decoder-self")

    gr.Markdown("#### What if? Force the first output characters and watch the rest — and the attention — change")
    with gr.Row(equal_height=True):
        prefix = gr.Textbox(label="Forced output prefix (digits and -)", value="1", max_lines=1, scale=2,
                            elem_id="s2s-prefix")
        what_if_run = gr.Button("Run with this prefix", scale=1, elem_id="s2s-what-if-run")
    what_if_cards = gr.HTML(elem_id="s2s-what-if-cards")
    what_if_notes = gr.Markdown()
    what_if_plot = gr.Plot(show_label=False, elem_id="s2s-what-if-cross")

    gr.Markdown("#### Why attention? Exact match against input length (precomputed, held-out data)")
    dates_figure, copy_figure, table = _why_attention()
    with gr.Row():
        gr.Plot(value=dates_figure, show_label=False, elem_id="s2s-why-dates")
        gr.Plot(value=copy_figure, show_label=False, elem_id="s2s-why-copy")
    gr.Markdown(table, elem_id="s2s-why-table")

    gr.Markdown(
        "#### Train live: a transformer learns this task from scratch, here, now\n"
        "Watch the cross-attention of **Wednesday, March 3, 2021** go from uniform to a clean alignment. "
        "The score is the share of attention each year/month/day digit puts on the right part of the input."
    )
    live_state = gr.State(None)
    with gr.Row(equal_height=True):
        live_seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="s2s-live-seed", scale=1)
        live_model = gr.Radio([("Transformer", "transformer"), ("GRU + attention", "rnn_attention")],
                              value="transformer", label="Model", elem_id="s2s-live-model", scale=2)
        live_seconds = gr.Slider(10, LIVE_MAX_SECONDS, value=60, step=5, label="Train for (seconds)",
                                 elem_id="s2s-live-seconds", scale=2)
        live_start = gr.Button("Train live", variant="primary", elem_id="s2s-live-start", scale=1)
        live_stop = gr.Button("Stop", elem_id="s2s-live-stop", scale=1)
    live_status = gr.Markdown("Press **Train live**.", elem_id="s2s-live-status")
    with gr.Row():
        live_loss = gr.Plot(show_label=False, elem_id="s2s-live-loss")
        live_cross = gr.Plot(show_label=False, elem_id="s2s-live-cross")

    with gr.Accordion("Raw output (API JSON)", open=False):
        raw = LargeJSON(label="/seq2seq_view payload of the chosen model")
        what_if_raw = LargeJSON(label="/seq2seq_what_if payload")

    view_controls = [view_model, layer, head, position]
    view_figures = [cross, model_view, highlight, encoder_self, decoder_self, position, layer, head]
    lab_outputs = [results, cards, notes, *view_figures, raw]
    gr.on([run.click, text.submit], seq2seq_view, inputs=[text, *view_controls], outputs=lab_outputs,
          api_name="seq2seq_view", time_limit=STANDARD_S)
    example.input(lambda choice: choice or gr.skip(), inputs=[example], outputs=[text], api_visibility="private",
                  queue=False).then(
        seq2seq_view, inputs=[text, *view_controls], outputs=lab_outputs, api_name="seq2seq_view_example",
        api_visibility="private", time_limit=STANDARD_S)
    what_if_inputs = [text, prefix, view_model, layer, head]
    what_if_outputs = [what_if_cards, what_if_notes, what_if_plot, what_if_raw]
    demo.load(seq2seq_view, inputs=[text, *view_controls], outputs=lab_outputs, api_name="seq2seq_view_on_load",
              api_visibility="private", time_limit=STANDARD_S).then(
        seq2seq_what_if, inputs=what_if_inputs, outputs=what_if_outputs, api_name="seq2seq_what_if_on_load",
        api_visibility="private", time_limit=STANDARD_S)
    gr.on([view_model.input, layer.release, head.release, position.input], seq2seq_redraw,
          inputs=[results, *view_controls], outputs=view_figures, api_name="seq2seq_redraw",
          api_visibility="private", trigger_mode="always_last", show_progress="hidden", time_limit=QUICK_S)
    gr.on([what_if_run.click, prefix.submit], seq2seq_what_if, inputs=what_if_inputs, outputs=what_if_outputs,
          api_name="seq2seq_what_if", time_limit=STANDARD_S)
    gr.api(seq2seq_translate, api_name="seq2seq_translate", time_limit=STANDARD_S)
    live_event = live_start.click(
        seq2seq_train_live, inputs=[live_seed, live_model, live_seconds, live_state],
        outputs=[live_loss, live_cross, live_status, live_state], api_name="seq2seq_train_live",
        time_limit=LONG_S, concurrency_limit=4, concurrency_id="seq2seq-live", trigger_mode="once",
        show_progress="hidden")
    live_stop.click(None, cancels=[live_event], api_visibility="private")
