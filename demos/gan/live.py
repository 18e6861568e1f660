"""GAN > Train live: a small class-conditional digits GAN training on the CPU, its samples streamed."""

from __future__ import annotations

import time

import gradio as gr

from demos.common.cards import result_card, show_card
from demos.common.contract import LinkParam, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, QUICK_S
from demos.gan.shared import MAX_SEED, card, live_run, opening
from engine.core import streams
from engine.core.imports import IMPORT_LOCK
from engine.core.settings import LIMITS
from engine.gan import render

HINT = "Press Start to train."
FRAME_SECONDS = 1.0  # training time between two sample grids (one fair-share turn)
FIRST_FRAME_SECONDS = 0.3  # the first grid comes quickly, so a new run shows something within seconds
DEFAULT_SECONDS = 30  # a Start's default length: others are waiting for the CPU too
MAX_SECONDS = 110  # one Start runs at most this long (the event's time limit is 120 s)
EXPLAIN = (
    "A small class-conditional DCGAN (the same code as the embedded model, at the digits' native 8x8) trains "
    "on the CPU right now. Rows are digits 0-9; readable digits appear within a few hundred steps."
)

gan_live_card = card("live_summary", HINT)


@user_errors
def gan_live_train(seed=0, seconds=DEFAULT_SECONDS, state=None, request: gr.Request = None):
    """Start: train the small digits GAN for seconds (1 to 110), streaming (sample grid, loss chart, status) every
    second or so. Starting again with the same seed continues the run.

    One run per session (a new Start replaces a running one); up to LIMITS.live_runs sessions train at
    once, taking fair turns on one core; the next waits in the queue, which shows its position and wait.
    """
    yield from live_run(request, "live", lambda run: _live_frames(run, seed, seconds, state))


@user_errors
def gan_live_reset(seed=0):
    """A new, untrained run for seed at step 0: (sample grid, loss chart, status, run); Start trains it."""
    with IMPORT_LOCK:
        from engine.gan import inference, live
    seed = inference.check_seed(seed)
    session = live.LiveDigitsGan(seed)
    return (*_live_view(session, seed), session)


def _live_view(session, seed):
    """The run's current (sample grid, loss chart, status)."""
    with IMPORT_LOCK:
        from engine.gan import live
    frame = session.snapshot()
    grid = render.digits_grid(frame.samples, columns=live.SAMPLES_PER_CLASS, cell=32)
    chart = render.render_curves(
        [(frame.loss_steps, frame.d_losses, render.D_COLOUR, "D loss"),
         (frame.loss_steps, frame.g_losses, render.G_COLOUR, "G loss")], width=420, title="losses")
    status = {"step": frame.step, "seconds_trained": round(frame.seconds, 1),
              "steps_per_second": round(frame.steps_per_second, 1), "seed": seed}
    return grid, chart, status


def _live_frames(run, seed, seconds, state):
    with IMPORT_LOCK:
        from engine.gan import inference, live
    try:
        budget = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"seconds must be a number, got {seconds!r}.") from None
    if not 1 <= budget <= MAX_SECONDS:
        raise ValueError(f"seconds must be between 1 and {MAX_SECONDS}, got {seconds!r}.")
    seed = inference.check_seed(seed)
    # Start again with the same seed continues the run; a new seed starts a new one.
    session = state if state is not None and state.seed == seed else live.LiveDigitsGan(seed)
    started = time.perf_counter()
    while not run.stop.is_set():
        with streams.SHARE.turn(run.stop):  # train and draw one frame in this run's fair turn
            remaining = budget - (time.perf_counter() - started)
            turn = FIRST_FRAME_SECONDS if session.step == 0 else FRAME_SECONDS
            session.train_for(min(turn, max(remaining, 0.05)))
            grid, chart, status = _live_view(session, seed)
        yield grid, chart, status, session
        if time.perf_counter() - started >= budget:
            return


def _layout():
    with gr.Tab("Train live", id="gan-live", elem_id="tab-gan-live") as page:
        gr.Markdown(EXPLAIN, elem_classes=["nd-explain"])
        state = gr.State(None)
        with gr.Row():
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed", elem_id="gan-live-seed")
            seconds = gr.Slider(5, MAX_SECONDS, value=DEFAULT_SECONDS, step=5, precision=0, label="Train for (seconds)",
                                elem_id="gan-live-seconds")
            start = gr.Button("Start", variant="primary", elem_id="gan-live-start")
            stop = gr.Button("Stop", elem_id="gan-live-stop")
            reset = gr.Button("Reset", elem_id="gan-live-reset")
        with gr.Row():
            # 300 px high: the grid and its chart stay in view at 1280x720 in presenter mode.
            grid = gr.Image(label="Samples (rows: 0-9)", show_label=False, interactive=False, elem_id="gan-live-samples",
                            format="png", buttons=[], height=300)
            chart = gr.Image(label="Losses", show_label=False, interactive=False, elem_id="gan-live-losses", format="png",
                             buttons=[], height=300)
        live_card = result_card("gan-live-card", HINT)
        with gr.Accordion("Details (JSON)", open=False, elem_id="gan-live-details", elem_classes=["nd-dev"]):
            status = gr.JSON(label="Status", elem_id="gan-live-status")
    return page, seed, seconds, state, (start, stop, reset), (grid, chart, status, state), live_card


def _wire(page, seed, seconds, state, buttons, outputs, live_card) -> ViewHandles:
    start, stop, reset = buttons
    grid, _, status, _ = outputs
    show_card(status, live_card, gan_live_card)
    event = start.click(gan_live_train, inputs=[seed, seconds, state], outputs=list(outputs), api_name="gan_live_train",
                        time_limit=LONG_S, concurrency_limit=LIMITS.live_runs, concurrency_id="gan-live",
                        trigger_mode="once", show_progress="minimal", preprocess=False)
    stop.click(None, cancels=[event], api_visibility="private")
    # Reset (and opening the view) shows a fresh, untrained run at step 0: what training will improve.
    reset_event = dict(fn=gan_live_reset, inputs=[seed], outputs=list(outputs), time_limit=QUICK_S, preprocess=False)
    reset.click(**reset_event, api_name="gan_live_reset", api_visibility="private", cancels=[event])
    return ViewHandles(tab="gan", sub="live", page=page, result=grid, on_open=(opening(reset_event),),
                       link=(LinkParam("seed", seed), LinkParam("seconds", seconds)))


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(*_layout())
