"""GAN > GAN Lab (2-D, live): a small GAN learning a 2-D point cloud, streamed while it trains.

Each browser session keeps its run in a ``gr.State``; hyper-parameters changed during Play apply on its
next step (:func:`gan_lab_apply`), the other settings restart it.
"""

from __future__ import annotations

import inspect
import time

import gradio as gr

from demos.common.cards import result_card, show_card
from demos.common.contract import LinkParam, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, QUICK_S
from demos.gan.shared import MAX_SEED, card, live_run, opening, payload_path
from engine.core import streams
from engine.core.imports import IMPORT_LOCK
from engine.core.settings import LIMITS
from engine.gan import render
from engine.gan.lab_config import COLLAPSE_PRESET, DATASETS, LIVE_FIELDS, LOSSES, OPTIMIZERS, UI_FIELDS, LabConfig

HINT = "Press Play, Step or Reset."
FRAME_SECONDS = 0.3  # training time between two streamed frames (>= 2 frames/s with rendering)
MAX_STEPS = 100_000  # most steps one Play may run
DEFAULT_STEPS = 3000  # a Play's default length
EXPLAIN = (
    "A GAN learning a 2-D point cloud, live. **Green** = real points, **purple** = generated; the background is "
    "the discriminator's verdict, arrows show where the generator's gradient pushes its points. "
    "Press **Collapse me** then **Play** to see mode collapse: it sets G's learning rate 5x too high, so G piles its "
    "points on one or two modes and hops between them. Fix it by setting G's learning rate back to 0.001 (**Defaults**), "
    "switching the loss to WGAN-GP (with 5 D steps), or giving D 3 steps per G step."
)

gan_lab_card = card("lab_summary", HINT)


def _engine_lab():
    with IMPORT_LOCK:
        from engine.gan import lab
    return lab


def _lab_session(state, csv_file, values: dict):
    lab = _engine_lab()
    config = lab.config_from_values(**values)
    points = None
    path = payload_path(csv_file)
    if config.dataset == "custom":
        if not path:
            raise ValueError("The 'custom' dataset needs points: upload a CSV with two columns x,y.")
        points = lab.normalise_points(lab.parse_points_csv(path))
    if state is None:
        return lab.LabSession(config, points)
    state.apply(config, points)
    return state


def _check_max_steps(max_steps) -> int:
    try:
        total = int(max_steps)
    except (TypeError, ValueError):
        raise ValueError(f"max_steps must be a whole number, got {max_steps!r}.") from None
    if not 1 <= total <= MAX_STEPS:
        raise ValueError(f"max_steps must be from 1 to {MAX_STEPS:,}, got {total}.")
    return total


def _lab(action: str, values: dict, csv_file, arrows, max_steps, state, request=None):
    """Play ("run": stream frames until max_steps), Step (one G update) or Reset (fresh networks)."""
    if action != "run":
        session = _lab_session(None if action == "reset" else state, csv_file, values)
        if action == "step":
            session.train(1)
        yield *render.lab_view(session, arrows), session
        return
    total = _check_max_steps(max_steps)
    yield from live_run(request, "lab", lambda run: _lab_frames(run, values, csv_file, arrows, total, state))


def _lab_frames(run, values, csv_file, arrows, total, state):
    """Play's frames: each is trained and drawn in one fair-share turn (see engine.core.streams)."""
    session = _lab_session(state, csv_file, values)
    target, chunk = session.step + total, 10
    while session.step < target and not run.stop.is_set():
        with streams.SHARE.turn(run.stop):
            started = time.perf_counter()
            while session.step < target and time.perf_counter() - started < FRAME_SECONDS:
                session.train(min(chunk, target - session.step))
            frame = render.lab_view(session, arrows)
        yield *frame, session


def _lab_handler(action: str, doc: str):
    """One handler for Play / Step / Reset. Its parameters (the API's) come from the engine's field
    order (``lab_config.UI_FIELDS``) with LabConfig's defaults: dataset, csv_file, the other settings,
    arrows, [max_steps,] state. Play streams; Step and Reset return one frame."""
    defaults = LabConfig()
    names = [UI_FIELDS[0], "csv_file", *UI_FIELDS[1:], "arrows"] + (["max_steps"] if action == "run" else []) + ["state"]
    names += ["request"] if action == "run" else []  # Play: one live run per session (gradio fills it in)
    extra = {"csv_file": None, "arrows": True, "max_steps": DEFAULT_STEPS, "state": None, "request": None}
    signature = inspect.Signature([
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=extra.get(name, getattr(defaults, name, None)))
        for name in names
    ])

    def frames(args, kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        values = {name: given[name] for name in UI_FIELDS}
        return _lab(action, values, given["csv_file"], given["arrows"], given.get("max_steps"), given["state"],
                    given.get("request"))

    if action == "run":
        def handler(*args, **kwargs):
            yield from frames(args, kwargs)
    else:
        def handler(*args, **kwargs):
            return next(frames(args, kwargs))

    handler.__signature__ = signature
    handler.__annotations__ = {"request": gr.Request} if action == "run" else {}
    handler.__name__ = handler.__qualname__ = f"gan_lab_{action}"
    handler.__doc__ = doc
    return user_errors(handler)


gan_lab_run = _lab_handler("run", "Play: train the 2-D GAN with these settings and stream (data-space image, loss "
                                  "and coverage charts, status) about 3 times a second, up to max_steps generator steps. "
                                  "A custom dataset takes a CSV of x,y points as csv_file.")
gan_lab_step = _lab_handler("step", "Step: one generator update (after d_steps discriminator updates) of this session's "
                                    "run; returns (data-space image, charts, status).")
gan_lab_reset = _lab_handler("reset", "Reset: fresh networks with the current settings (step 0).")


@user_errors
def gan_lab_apply(g_lr=0.001, d_lr=0.001, optimizer="adam", loss="non-saturating", d_steps=1, state=None):
    """A hyper-parameter changed: a running Play (or the next Step) uses it on its next step."""
    if state is not None:  # nothing runs yet: Play / Step / Reset read the widgets themselves
        lab = _engine_lab()
        state.request(lab.config_from_values(**dict(zip(LIVE_FIELDS, [g_lr, d_lr, optimizer, loss, d_steps]))))


@user_errors
def gan_lab_csv(csv_file):
    """Check an uploaded CSV of x,y points; returns (preview field image, summary). Bad files raise clear errors."""
    lab = _engine_lab()
    points = lab.parse_points_csv(payload_path(csv_file))
    session = lab.LabSession(lab.LabConfig(dataset="custom"), lab.normalise_points(points))
    field, _, _ = render.lab_view(session, False)
    summary = {"points": int(len(points)), "x_range": [float(points[:, 0].min()), float(points[:, 0].max())],
               "y_range": [float(points[:, 1].min()), float(points[:, 1].max())], "modes": int(len(session.modes.centres))}
    return field, summary


def _preset(config):
    return [getattr(config, name) for name in UI_FIELDS]


def lab_collapse_preset():
    return _preset(COLLAPSE_PRESET)


def lab_default_preset():
    return _preset(LabConfig())


def _int_slider(low, high, value, step, label, elem_id):
    return gr.Slider(low, high, value=value, step=step, precision=0, label=label, elem_id=elem_id)


def _layout():
    with gr.Tab("GAN Lab (2-D, live)", id="gan-lab", elem_id="tab-gan-lab") as page:
        gr.Markdown(EXPLAIN, elem_classes=["nd-explain"])
        state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1, min_width=300):
                dataset = gr.Dropdown(list(DATASETS), value="ring", label="Data", elem_id="gan-lab-dataset")
                csv_file = gr.File(label="Your points (CSV of x,y; choose 'custom')", file_types=[".csv", ".txt"],
                                   elem_id="gan-lab-csv")
                with gr.Row():
                    g_width = _int_slider(4, 256, 64, 4, "G width", "gan-lab-g-width")
                    g_depth = _int_slider(1, 6, 2, 1, "G depth", "gan-lab-g-depth")
                with gr.Row():
                    d_width = _int_slider(4, 256, 64, 4, "D width", "gan-lab-d-width")
                    d_depth = _int_slider(1, 6, 2, 1, "D depth", "gan-lab-d-depth")
                with gr.Row():
                    g_lr = gr.Number(value=0.001, minimum=0, maximum=1, label="G learning rate", elem_id="gan-lab-g-lr")
                    d_lr = gr.Number(value=0.001, minimum=0, maximum=1, label="D learning rate", elem_id="gan-lab-d-lr")
                with gr.Row():
                    optimizer = gr.Dropdown(list(OPTIMIZERS), value="adam", label="Optimizer", elem_id="gan-lab-optimizer")
                    loss = gr.Dropdown(list(LOSSES), value="non-saturating", label="Loss", elem_id="gan-lab-loss")
                with gr.Row():
                    d_steps = _int_slider(1, 10, 1, 1, "D steps per G step", "gan-lab-d-steps")
                    noise_dim = _int_slider(1, 16, 2, 1, "Noise dimension", "gan-lab-noise-dim")
                with gr.Row():
                    seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed", elem_id="gan-lab-seed")
                    max_steps = gr.Number(value=DEFAULT_STEPS, precision=0, minimum=1, maximum=MAX_STEPS,
                                          label="Play runs up to (steps)", elem_id="gan-lab-max-steps")
                arrows = gr.Checkbox(value=True, label="Show generator gradient arrows", elem_id="gan-lab-arrows")
                with gr.Row():
                    collapse = gr.Button("Collapse me", elem_id="gan-lab-collapse")
                    defaults = gr.Button("Defaults", elem_id="gan-lab-defaults")
            with gr.Column(scale=2):
                with gr.Row():
                    play = gr.Button("Play", variant="primary", elem_id="gan-lab-play")
                    pause = gr.Button("Pause", elem_id="gan-lab-pause")
                    step = gr.Button("Step", elem_id="gan-lab-step")
                    reset = gr.Button("Reset", elem_id="gan-lab-reset")
                with gr.Row():
                    field = gr.Image(label="Data space", show_label=False, interactive=False, elem_id="gan-lab-field",
                                     format="png", buttons=["fullscreen"])
                    charts = gr.Image(label="Losses and mode coverage", show_label=False, interactive=False,
                                      elem_id="gan-lab-charts", format="png", buttons=[])
                lab_card = result_card("gan-lab-card", HINT)
                with gr.Accordion("Details (JSON)", open=False, elem_id="gan-lab-details", elem_classes=["nd-dev"]):
                    stats = gr.JSON(label="Status", elem_id="gan-lab-stats")
    widgets = {"dataset": dataset, "noise_dim": noise_dim, "g_width": g_width, "g_depth": g_depth, "d_width": d_width,
               "d_depth": d_depth, "g_lr": g_lr, "d_lr": d_lr, "optimizer": optimizer, "loss": loss, "d_steps": d_steps,
               "seed": seed}
    buttons = {"play": play, "pause": pause, "step": step, "reset": reset, "collapse": collapse, "defaults": defaults}
    return page, widgets, csv_file, arrows, max_steps, state, buttons, (field, charts, stats, state), lab_card


def _wire(page, widgets, csv_file, arrows, max_steps, state, buttons, outputs, lab_card) -> ViewHandles:
    field, _, stats, _ = outputs
    show_card(stats, lab_card, gan_lab_card)
    # The engine's field order (lab_config.UI_FIELDS) decides the inputs' order, as it does the handlers' parameters.
    settings = [widgets[UI_FIELDS[0]], csv_file, *[widgets[name] for name in UI_FIELDS[1:]], arrows]
    outputs = list(outputs)
    run_event = buttons["play"].click(gan_lab_run, inputs=[*settings, max_steps, state], outputs=outputs,
                                      api_name="gan_lab_run", time_limit=LONG_S, concurrency_limit=LIMITS.lab_runs,
                                      concurrency_id="gan-lab-play", trigger_mode="once", show_progress="minimal")
    buttons["pause"].click(None, cancels=[run_event], api_visibility="private")
    buttons["step"].click(gan_lab_step, inputs=[*settings, state], outputs=outputs, api_name="gan_lab_step",
                          cancels=[run_event], time_limit=QUICK_S)
    reset_event = dict(fn=gan_lab_reset, inputs=[*settings, state], outputs=outputs, time_limit=QUICK_S)
    buttons["reset"].click(**reset_event, api_name="gan_lab_reset", api_visibility="private", cancels=[run_event])
    csv_file.upload(gan_lab_csv, inputs=[csv_file], outputs=[field, stats], api_name="gan_lab_csv",
                    api_visibility="private", time_limit=QUICK_S).then(
        lambda: "custom", outputs=[widgets["dataset"]], api_visibility="private")
    # Hyper-parameters apply while Play runs: the session takes them on its next step (no restart). The first
    # one's event stays callable by API clients (undocumented) so a script can change them mid-run too.
    for name in LIVE_FIELDS:
        widgets[name].change(gan_lab_apply, inputs=[*[widgets[n] for n in LIVE_FIELDS], state], outputs=None,
                             api_name="gan_lab_apply" if name == LIVE_FIELDS[0] else None,
                             api_visibility="undocumented" if name == LIVE_FIELDS[0] else "private",
                             concurrency_limit=None, time_limit=QUICK_S, show_progress="hidden")
    preset_outputs = [widgets[name] for name in UI_FIELDS]
    for button, preset in ((buttons["collapse"], lab_collapse_preset), (buttons["defaults"], lab_default_preset)):
        button.click(preset, outputs=preset_outputs, cancels=[run_event], api_visibility="private").then(
            **reset_event, api_visibility="private")
    link_names = ("dataset", "loss", "optimizer", "g_lr", "d_lr", "d_steps", "seed", "noise_dim", "g_width", "g_depth",
                  "d_width", "d_depth")
    return ViewHandles(
        tab="gan", sub="lab", page=page, result=field, on_open=(opening(reset_event),),
        link=(*[LinkParam(name, widgets[name]) for name in link_names], LinkParam("max_steps", max_steps)),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(*_layout())
