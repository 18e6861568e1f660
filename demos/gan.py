"""GAN tab: explore a trained conditional DCGAN, and watch GANs learn live.

Sub-tabs: Generate, Latent space, Discriminator score, GAN Lab (2-D, live), Train live
(a small digits GAN), Quality. Handlers are thin wrappers over :mod:`engine.gan.inference`,
:mod:`engine.gan.lab`, :mod:`engine.gan.live` and :mod:`engine.gan.render`; engine modules are
imported inside handlers so the app starts without paying for torch. Per-user runs live in
``gr.State`` (one per browser session).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import gradio as gr
from gradio import utils as gradio_utils

from engine.gan.lab_config import COLLAPSE_PRESET, DATASETS, LIVE_FIELDS, LOSSES, OPTIMIZERS, UI_FIELDS, LabConfig
from demos.common.limits import LONG_S, QUICK_S, STANDARD_S
from demos.common.cards import card_formatter, result_card, show_card
from demos.common.editors import editor_composite, live_editor
from demos.common.legacy import engine_module
from demos.common.errors import user_errors
from demos import gan_faces
from demos.common.sessions import session_id
from engine.core.registry import ASSETS_DIR
from engine.core.settings import LIMITS

INTRO = (
    "**A generative adversarial network is two networks in a contest.** The *generator* turns random noise into "
    "an image; the *discriminator* tries to tell its images from real ones. Each learns by beating the other, until "
    "the fakes are hard to tell apart. *Truncation ψ* trades variety for quality: ψ < 1 pulls samples towards the "
    "average, ψ = 0 gives the average itself."
)
DIGIT_CHOICES = ["random"] + [str(d) for d in range(10)]
SCORE_CLASS_CHOICES = ["auto"] + [str(d) for d in range(10)]
LAB_FRAME_SECONDS = 0.3  # training time between two streamed frames (>= 2 frames/s with rendering)
LAB_MAX_STEPS = 100_000  # most steps one Play may run
LIVE_FRAME_SECONDS = 1.0  # training time between two sample grids in the live digits GAN (one fair-share turn)
LIVE_FIRST_FRAME_SECONDS = 0.3  # the first grid comes quickly, so a new run shows something within seconds
LIVE_DEFAULT_SECONDS = 30  # a Start's default length (was 60): others are waiting for the CPU too
LAB_DEFAULT_STEPS = 3000  # a Play's default length (was 20,000 in the page)
LIVE_MAX_SECONDS = 110  # one Start runs at most this long (the event's time limit is 120 s)
SKETCH_SIDE = 256  # the sketchpad canvas: a 32x32 digit enlarged 8x
SKETCH_HINT = "Load a generated digit, or draw one (white ink on the black canvas), to see its score."

HUB_FORMAT = """
Any Hugging Face Hub repo in NeuroDeck's format loads here (the app must be online):
`generator/config.json` + `generator/diffusion_pytorch_model.safetensors`, written by
`ConditionalGenerator.save_pretrained("<repo>/generator")` from `engine/gan/models.py`
(a diffusers `ModelMixin`; optional `discriminator/` likewise). Server folders are refused unless the
server was started with `NEURODECK_ALLOW_LOCAL_MODELS=1`.
"""


GIF_DIR = Path(tempfile.gettempdir()) / "neurodeck_gan_gifs"  # gradio copies each GIF into its cache
GIF_MAX_AGE_S = 600  # so ours are deleted after 10 minutes (checked at most once a minute)
_last_gif_sweep = [0.0]


def _gif_path(data: bytes) -> str:
    GIF_DIR.mkdir(parents=True, exist_ok=True)
    now = time.time()
    if now - _last_gif_sweep[0] > 60:
        _last_gif_sweep[0] = now
        for old in GIF_DIR.glob("*.gif"):
            try:
                if old.stat().st_mtime < now - GIF_MAX_AGE_S:
                    old.unlink()
            except OSError:
                pass  # another request removed it first
    handle = tempfile.NamedTemporaryFile(dir=GIF_DIR, prefix="neurodeck_gan_", suffix=".gif", delete=False)
    with handle:
        handle.write(data)
    return handle.name


def _payload_path(payload) -> str | None:
    if payload is None:
        return None
    if isinstance(payload, dict):
        return payload.get("path") or payload.get("name")
    return str(payload)


# ----------------------------------------------------------------------------------------- generate
@user_errors
def gan_generate(seed, digit="random", count=16, psi=1.0, model_id=""):
    """Generate ``count`` digits; returns (gallery images, info dict with class, seed, psi)."""
    inference, render = engine_module("gan.inference"), engine_module("gan.render")
    model_id = "" if model_id is None else str(model_id)  # raw API value (preprocess=False)
    generator = inference.load_generator(model_id)
    result = inference.generate(generator, seed, digit, count, psi)
    info = result.info()
    info["model"] = (model_id or "").strip() or "embedded (gan-digits)"
    key = json.dumps([info["model"], info["seed"], info["class"], info["psi"], info["count"]])
    files = _gallery_files([render.digit_image(image) for image in result.images], key)
    return [(path, f"{label}") for path, label in zip(files, result.classes)], info


def _gallery_files(images, key: str) -> list[str]:
    """Write PNGs straight into gradio's cache folder, named by request, and return their paths.

    Handing PIL images to gr.Gallery makes it encode and hash every image on a thread pool and
    copy it into the cache; files already inside the cache are served as they are. For 64 digits
    that halves the round-trip. Outputs are deterministic per request, so an existing file is reused.
    """
    folder = Path(gradio_utils.get_upload_folder()) / "neurodeck_gan" / hashlib.sha1(key.encode()).hexdigest()[:20]
    with _GALLERY_LOCKS_GUARD:
        lock = _GALLERY_LOCKS.setdefault(key, threading.Lock())
        while len(_GALLERY_LOCKS) > 1024:  # forget old keys' locks (never the one just added)
            _GALLERY_LOCKS.pop(next(iter(_GALLERY_LOCKS)))
    # One writer per request key: identical requests at once wait for the first one's files, and a file
    # that exists (and may be being served) is never written again. Each file is staged under a unique
    # name and renamed into place, so no reader ever sees a partly written PNG.
    with lock:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, image in enumerate(images):
            path = folder / f"digit_{index:02d}.png"
            if not path.exists():
                handle = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.stem}.", suffix=".tmp", delete=False)
                with handle:
                    image.save(handle, format="PNG", compress_level=1)
                os.replace(handle.name, path)
            paths.append(str(path))
    return paths


_GALLERY_LOCKS: dict[str, threading.Lock] = {}
_GALLERY_LOCKS_GUARD = threading.Lock()


@user_errors
def gan_interpolate(seed_a=0, seed_b=1, digit_a="3", digit_b="8", frames=12, psi=1.0):
    """Interpolate between two seeds/classes; returns (animated GIF path, frame strip image, info)."""
    inference, render = engine_module("gan.inference"), engine_module("gan.render")
    images = inference.interpolate(inference.load_generator(), seed_a, seed_b, digit_a, digit_b, frames, psi)
    tiles = [render.digit_image(image, scale=8) for image in images]
    strip = render.digits_grid(images, columns=min(len(images), 12), cell=48)  # wrapped: 48 frames = 4 rows of 12
    info = {"seed_a": int(seed_a), "seed_b": int(seed_b), "class_a": int(digit_a), "class_b": int(digit_b),
            "frames": len(images), "psi": float(psi)}
    return _gif_path(render.frames_to_gif(tiles)), strip, info


@user_errors
def gan_walk(seed=0, digit="5", direction_seed=1, amount=0.0, psi=1.0):
    """Move one digit along a random latent direction; returns (image at ``amount``, strip from -3 to 3)."""
    inference, render = engine_module("gan.inference"), engine_module("gan.render")
    amount = engine_module("core.validation").check_number(amount, "walk amount", -3, 3, default=0.0)
    generator = inference.load_generator()
    amounts = [-3, -2, -1, 0, 1, 2, 3]
    strip_images = inference.latent_walk(generator, seed, digit, direction_seed, amounts, psi)
    current = inference.latent_walk(generator, seed, digit, direction_seed, [amount], psi)[0]
    return render.digit_image(current, scale=8), render.digits_grid(strip_images, columns=len(amounts), cell=72)


# ----------------------------------------------------------------------------------------- score
def _score(image, digit):
    result = engine_module("gan.inference").score_image(image, digit)
    label = {f"as {d}": v for d, v in enumerate(result.per_class_realness)}
    return result, label


@user_errors
def gan_score(image, digit="auto"):
    """Discriminator realness of an uploaded image; returns (label of realness per class, info dict)."""
    validation = engine_module("core.validation")
    pil = validation.load_image(_payload_path(image), max_pixels=LIMITS.digit_image_pixels)
    result, label = _score(pil, digit)
    return label, result.info()


@user_errors
def gan_sketch_load(seed=0, digit="3"):
    """Put a generated digit (enlarged 8x) on the sketchpad; returns (editor value, score info, chart, history)."""
    inference, render = engine_module("gan.inference"), engine_module("gan.render")
    digit = "0" if str(digit) == "random" else digit
    result = inference.generate(inference.load_generator(), seed, digit, 1, 1.0)
    big = render.digit_image(result.images[0], scale=SKETCH_SIDE // result.images.shape[-1]).convert("RGB")
    scored, _ = _score(big, digit)
    history = [scored.realness]
    chart = _history_chart(history)
    return {"background": big, "layers": [_empty_layer()], "composite": big}, scored.info(), chart, history


def _history_chart(history):
    render = engine_module("gan.render")
    import numpy as np  # noqa: PLC0415  (numpy only; keeps module import light)

    xs = np.arange(len(history), dtype=float)
    return render.render_curves([(xs, np.asarray(history, float), render.REALNESS_COLOUR, "realness")],
                                width=560, height=230, title="D's realness after each edit (0 to 1)", y_range=(0.0, 1.0),
                                x_label="edit")


@user_errors
def gan_score_sketch(editor, digit="auto", history=None):
    """Score the sketchpad's composite; appends to the per-session history. Returns (info, chart, history)."""
    validation = engine_module("core.validation")
    composite = editor_composite(editor, "gan-sketch")  # a file, or the drawing the browser streamed (by id)
    if composite is None:
        raise ValueError("The sketchpad is empty: load a generated digit or draw one (white ink on black).")
    # White ink on black: a transparent part of the composite is black canvas, not white paper.
    pil = validation.load_image(composite, max_pixels=LIMITS.digit_image_pixels, background=(0, 0, 0))
    if max(high for _, high in pil.getextrema()) == 0:  # a blank (all-black) canvas: nothing to score yet
        return None, None, []
    result, _ = _score(pil, digit)
    history = (list(history or []) + [result.realness])[-200:]
    return result.info(), _history_chart(history), history


# ----------------------------------------------------------------------------------------- cards
def _realness_reference():
    return engine_module("gan.inference").realness_reference()


def _card(summary: str, hint: str, reference: bool = False):
    """A card formatter through ``engine.gan.render.<summary>``; ``reference`` adds D's measured yardstick."""
    return card_formatter(lambda *args: getattr(engine_module("gan.render"), summary)(*args), hint, f"gan_{summary}_card",
                          _realness_reference if reference else None)


gan_generate_card = _card("generate_summary", "Press Generate to make digits.")
gan_interp_card = _card("interpolation_summary", "Press Interpolate.")
gan_score_card = _card("realness_summary", "Upload a digit and press Score upload.", reference=True)
gan_sketch_card = _card("realness_summary", SKETCH_HINT, reference=True)
gan_lab_card = _card("lab_summary", "Press Play, Step or Reset.")
gan_live_card = _card("live_summary", "Press Start to train.")
gan_quality_card = _card("quality_summary", "Press Re-measure now to score the generator again.")


# ----------------------------------------------------------------------------------------- GAN Lab
def _lab_session(state, csv_file, values: dict):
    lab = engine_module("gan.lab")
    config = lab.config_from_values(**values)
    points = None
    path = _payload_path(csv_file)
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
    if not 1 <= total <= LAB_MAX_STEPS:
        raise ValueError(f"max_steps must be from 1 to {LAB_MAX_STEPS:,}, got {total}.")
    return total


def _lab(action: str, values: dict, csv_file, arrows, max_steps, state, request=None):
    """Play ("run": stream frames until max_steps), Step (one G update) or Reset (fresh networks)."""
    render = engine_module("gan.render")
    if action != "run":
        session = _lab_session(None if action == "reset" else state, csv_file, values)
        if action == "step":
            session.train(1)
        yield *render.lab_view(session, arrows), session
        return
    total = _check_max_steps(max_steps)
    yield from _live_run(request, "lab", lambda run: _lab_frames(run, values, csv_file, arrows, total, state))


def _lab_frames(run, values, csv_file, arrows, total, state):
    """Play's frames: each is trained and drawn in one fair-share turn (see engine.core.streams)."""
    render, streams = engine_module("gan.render"), engine_module("core.streams")
    session = _lab_session(state, csv_file, values)
    target, chunk = session.step + total, 10
    while session.step < target and not run.stop.is_set():
        with streams.SHARE.turn(run.stop):
            started = time.perf_counter()
            while session.step < target and time.perf_counter() - started < LAB_FRAME_SECONDS:
                session.train(min(chunk, target - session.step))
            frame = render.lab_view(session, arrows)
        yield *frame, session


def _live_run(request, kind: str, frames):
    """Stream ``frames(run)`` as this session's one live run of ``kind`` (a newer one replaces it)."""
    streams = engine_module("core.streams")
    run = streams.RUNS.start(session_id(request), kind)
    try:
        yield from frames(run)
    except streams.RunStopped:
        return
    finally:
        streams.RUNS.finish(run)


def _lab_handler(action: str, doc: str):
    """One handler for Play / Step / Reset. Its parameters (the API's) come from the engine's field
    order (``lab_config.UI_FIELDS``) with LabConfig's defaults: dataset, csv_file, the other settings,
    arrows, [max_steps,] state. Play streams; Step and Reset return one frame."""
    defaults = LabConfig()
    names = [UI_FIELDS[0], "csv_file", *UI_FIELDS[1:], "arrows"] + (["max_steps"] if action == "run" else []) + ["state"]
    names += ["request"] if action == "run" else []  # Play: one live run per session (gradio fills it in)
    extra = {"csv_file": None, "arrows": True, "max_steps": LAB_DEFAULT_STEPS, "state": None, "request": None}
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


gan_lab_run = _lab_handler("run", "Play: train and stream (field image, charts image, stats) about 3 times a second until max_steps.")
gan_lab_step = _lab_handler("step", "Step: one generator update (after d_steps discriminator updates).")
gan_lab_reset = _lab_handler("reset", "Reset: fresh networks with the current settings (step 0).")


@user_errors
def gan_lab_apply(g_lr=0.001, d_lr=0.001, optimizer="adam", loss="non-saturating", d_steps=1, state=None):
    """A hyper-parameter changed: a running Play (or the next Step) uses it on its next step."""
    if state is not None:  # nothing runs yet: Play / Step / Reset read the widgets themselves
        lab = engine_module("gan.lab")
        state.request(lab.config_from_values(**dict(zip(LIVE_FIELDS, [g_lr, d_lr, optimizer, loss, d_steps]))))


@user_errors
def gan_lab_csv(csv_file):
    """Check an uploaded CSV of x,y points; returns (preview field image, summary). Bad files raise clear errors."""
    lab = engine_module("gan.lab")
    points = lab.parse_points_csv(_payload_path(csv_file))
    session = lab.LabSession(lab.LabConfig(dataset="custom"), lab.normalise_points(points))
    field, _, _ = engine_module("gan.render").lab_view(session, False)
    summary = {"points": int(len(points)), "x_range": [float(points[:, 0].min()), float(points[:, 0].max())],
               "y_range": [float(points[:, 1].min()), float(points[:, 1].max())], "modes": int(len(session.modes.centres))}
    return field, summary


def _preset(config):
    return [getattr(config, name) for name in UI_FIELDS]


def lab_collapse_preset():
    return _preset(COLLAPSE_PRESET)


def lab_default_preset():
    return _preset(LabConfig())


# ----------------------------------------------------------------------------------------- live digits
@user_errors
def gan_live_train(seed=0, seconds=LIVE_DEFAULT_SECONDS, state=None, request: gr.Request = None):
    """Start: train the small digits GAN, streaming (sample grid, loss chart, status) every second or so.

    One run per session (a new Start replaces a running one); up to ``LIMITS.live_runs`` sessions train at
    once, taking fair turns on one core; the next waits in the queue, which shows its position and wait.
    """
    yield from _live_run(request, "live", lambda run: _live_frames(run, seed, seconds, state))


@user_errors
def gan_live_reset(seed=0):
    """A new, untrained run for ``seed`` at step 0: (sample grid, loss chart, status, run); Start trains it."""
    seed = engine_module("gan.inference").check_seed(seed)
    session = engine_module("gan.live").LiveDigitsGan(seed)
    return (*_live_view(session, seed), session)


def _live_view(session, seed):
    """The run's current (sample grid, loss chart, status)."""
    live, render = engine_module("gan.live"), engine_module("gan.render")
    frame = session.snapshot()
    grid = render.digits_grid(frame.samples, columns=live.SAMPLES_PER_CLASS, cell=32)
    chart = render.render_curves(
        [(frame.loss_steps, frame.d_losses, render.D_COLOUR, "D loss"),
         (frame.loss_steps, frame.g_losses, render.G_COLOUR, "G loss")], width=420, title="losses")
    status = {"step": frame.step, "seconds_trained": round(frame.seconds, 1),
              "steps_per_second": round(frame.steps_per_second, 1), "seed": seed}
    return grid, chart, status


def _live_frames(run, seed, seconds, state):
    live, streams = engine_module("gan.live"), engine_module("core.streams")
    try:
        budget = float(seconds)
    except (TypeError, ValueError):
        raise ValueError(f"seconds must be a number, got {seconds!r}.") from None
    if not 1 <= budget <= LIVE_MAX_SECONDS:
        raise ValueError(f"seconds must be between 1 and {LIVE_MAX_SECONDS}, got {seconds!r}.")
    check_seed = engine_module("gan.inference").check_seed
    seed = check_seed(seed)
    # Start again with the same seed continues the run; a new seed starts a new one.
    session = state if state is not None and state.seed == seed else live.LiveDigitsGan(seed)
    started = time.perf_counter()
    while not run.stop.is_set():
        with streams.SHARE.turn(run.stop):  # train and draw one frame in this run's fair turn
            remaining = budget - (time.perf_counter() - started)
            turn = LIVE_FIRST_FRAME_SECONDS if session.step == 0 else LIVE_FRAME_SECONDS
            session.train_for(min(turn, max(remaining, 0.05)))
            grid, chart, status = _live_view(session, seed)
        yield grid, chart, status, session
        if time.perf_counter() - started >= budget:
            return


# ----------------------------------------------------------------------------------------- quality
@user_errors
def gan_quality(samples=200):
    """Re-measure the embedded generator with the judge (takes a few seconds); returns the figures."""
    samples = engine_module("core.validation").check_number(samples, "number of samples", 1, LIMITS.gan_quality_samples,
                                                            whole=True)
    quality = engine_module("gan.inference").measure_quality(samples)
    return quality.as_dict()


def _committed_figures_markdown() -> str:
    try:
        record = engine_module("gan.record").committed_quality()
    except Exception as error:  # noqa: BLE001  (the tab still works without the figures)
        return f"Quality figures unavailable: {error}"
    q = record["quality"]
    if not q:
        return "Quality figures were not recorded for this model."
    return (
        "| measured on 1,000 generated digits (100 per class) | value | bar |\n|---|---|---|\n"
        f"| judge accuracy on held-out real digits | {q['judge_test_accuracy']:.1%} | ≥ 97% |\n"
        f"| judge agrees with the requested class | {q['agreement']:.1%} | ≥ 90% |\n"
        f"| classes produced | {q['classes_produced']} / 10 | 10 |\n"
        f"| diversity, worst class (generated / real mean pairwise distance) | {q['min_diversity_ratio']:.0%} | ≥ 50% |\n"
        f"| Fréchet distance on judge features, generated vs held-out real | {q['fid_generated_vs_heldout']:.2f} | lower is better |\n"
        f"| same, real training digits vs held-out real (floor) | {q['fid_real_train_vs_heldout']:.2f} | |\n"
        f"\nTrained in {record['train_seconds']} s on CPU by `scripts/train_gan_digits.py`."
    )


# ----------------------------------------------------------------------------------------- layout
def _build_generate():
    with gr.Row():
        seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="gan-seed")
        digit = gr.Dropdown(DIGIT_CHOICES, value="random", label="Digit class", elem_id="gan-digit")
        count = gr.Slider(1, 64, value=16, step=1, label="Count", elem_id="gan-count")
        psi = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Truncation ψ", elem_id="gan-psi")
    with gr.Row():
        model_id = gr.Textbox(value="", label="Generator: empty = the embedded model, or a Hub id in NeuroDeck's format "
                              "(needs the app online)", placeholder="embedded", elem_id="gan-model-id", scale=3)
        button = gr.Button("Generate", variant="primary", elem_id="gan-generate-btn", scale=1)
    gallery = gr.Gallery(label="Generated digits (caption = requested class)", show_label=False, columns=8, height="auto",
                         elem_id="gan-gallery", format="png")
    card = result_card("gan-generate-card", "Press Generate to make digits.")
    with gr.Accordion("Details (JSON)", open=False, elem_id="gan-generate-details"):
        info = gr.JSON(label="What was generated", elem_id="gan-generate-info")
    with gr.Accordion("Bring your own generator (Hub format)", open=False, elem_id="gan-hub-format"):
        gr.Markdown(HUB_FORMAT)
    show_card(info, card, gan_generate_card)
    button.click(gan_generate, inputs=[seed, digit, count, psi, model_id], outputs=[gallery, info],
                 api_name="gan_generate", time_limit=STANDARD_S, preprocess=False)  # raw values: the engine checks them


def _build_latent():
    gr.Markdown("### Interpolate between two seeds (and two classes)")
    with gr.Row():
        seed_a = gr.Number(value=0, precision=0, minimum=0, label="Seed A", elem_id="gan-interp-seed-a")
        seed_b = gr.Number(value=1, precision=0, minimum=0, label="Seed B", elem_id="gan-interp-seed-b")
        digit_a = gr.Dropdown(DIGIT_CHOICES[1:], value="3", label="Class A", elem_id="gan-interp-digit-a")
        digit_b = gr.Dropdown(DIGIT_CHOICES[1:], value="8", label="Class B", elem_id="gan-interp-digit-b")
        frames = gr.Slider(2, 48, value=12, step=1, label="Frames", elem_id="gan-interp-frames")
        psi = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Truncation ψ", elem_id="gan-interp-psi")
    button = gr.Button("Interpolate", variant="primary", elem_id="gan-interp-btn")
    with gr.Row():
        with gr.Column(scale=2, min_width=280):
            gr.Markdown("**Animation** (forward, then back)")
            gif = gr.Image(label="Animation", show_label=False, type="filepath", interactive=False, elem_id="gan-interp-gif",
                           format="gif", buttons=["download"], height=300)
        with gr.Column(scale=3):
            gr.Markdown("**Every frame**, left to right, row by row")
            strip = gr.Image(label="Frames", show_label=False, interactive=False, elem_id="gan-interp-strip", buttons=[])
    interp_card = result_card("gan-interp-card", "Press Interpolate.")
    with gr.Accordion("Details (JSON)", open=False, elem_id="gan-interp-details"):
        info = gr.JSON(label="Interpolation", elem_id="gan-interp-info")
    show_card(info, interp_card, gan_interp_card)
    button.click(gan_interpolate, inputs=[seed_a, seed_b, digit_a, digit_b, frames, psi], outputs=[gif, strip, info],
                 api_name="gan_interpolate", time_limit=STANDARD_S, preprocess=False)

    gr.Markdown("### Latent walk along a random direction")
    with gr.Row():
        seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="gan-walk-seed")
        digit = gr.Dropdown(DIGIT_CHOICES[1:], value="5", label="Class", elem_id="gan-walk-digit")
        direction = gr.Number(value=1, precision=0, minimum=0, label="Direction (seed)", elem_id="gan-walk-direction")
        walk_psi = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Truncation ψ", elem_id="gan-walk-psi")
    amount = gr.Slider(-3, 3, value=0, step=0.1, label="Move along the direction", elem_id="gan-walk-amount")
    with gr.Row():
        with gr.Column(scale=2, min_width=240):
            gr.Markdown("**Here** (at the slider's position)")
            current = gr.Image(label="Here", show_label=False, interactive=False, elem_id="gan-walk-image", buttons=[],
                               height=240)
        with gr.Column(scale=3):
            gr.Markdown("**From −3 to +3** along the same direction")
            walk_strip = gr.Image(label="From -3 to +3", show_label=False, interactive=False, elem_id="gan-walk-strip",
                                  buttons=[])
    inputs = [seed, digit, direction, amount, walk_psi]
    amount.release(gan_walk, inputs=inputs, outputs=[current, walk_strip], api_name="gan_walk", time_limit=QUICK_S,
                   preprocess=False)
    for control in (seed, digit, direction, walk_psi):
        control.change(gan_walk, inputs=inputs, outputs=[current, walk_strip], api_visibility="private", time_limit=QUICK_S,
                       preprocess=False)


def _build_score():
    gr.Markdown(
        "The discriminator's **realness** (sigmoid of D's output) for an image as a given class. "
        "Load a generated digit onto the sketchpad, then scribble on it (white ink, black to erase) and watch the score move. "
        "At the end of training D sits near its equilibrium, so real and good fake digits both score about 0.5; "
        "noise, blots and scribbles push the score down. D is a training signal, not a digit detector."
    )
    with gr.Row():
        with gr.Column():
            # Starts with the README's example digit, scored when the view opens (demos.stage.ON_OPEN).
            upload = gr.Image(value=str(ASSETS_DIR / "examples" / "digit_7.png"), type="filepath", label="Upload a digit image",
                              elem_id="gan-score-image")
            score_class = gr.Dropdown(SCORE_CLASS_CHOICES, value="auto", label="Score as class (auto = judge's reading)",
                                      elem_id="gan-score-class")
            score_button = gr.Button("Score upload", variant="primary", elem_id="gan-score-btn")
            score_card = result_card("gan-score-card", "Upload a digit and press Score upload.")
            with gr.Accordion("Details (JSON)", open=False, elem_id="gan-score-details"):
                # D's realness under each class condition, for the API. Not shown: a gr.Label would headline
                # the largest one as if D had predicted that class, and D predicts no class.
                label = gr.Label(num_top_classes=10, label="Realness if read as each class", elem_id="gan-score-label",
                                 visible=False)
                score_info = gr.JSON(label="Score", elem_id="gan-score-info")
            show_card(score_info, score_card, gan_score_card)
        with gr.Column():
            with gr.Row():
                sketch_seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="gan-sketch-seed")
                sketch_digit = gr.Dropdown(DIGIT_CHOICES[1:], value="3", label="Class", elem_id="gan-sketch-digit")
                load = gr.Button("Load a generated digit", elem_id="gan-sketch-load")
                blank = gr.Button("Blank canvas", elem_id="gan-sketch-blank")
            black = {"background": _black_canvas(), "layers": [_empty_layer()], "composite": None}
            sketch = gr.Sketchpad(value=black, type="numpy", image_mode="RGB", canvas_size=(SKETCH_SIDE, SKETCH_SIDE),
                                  brush=gr.Brush(colors=["#ffffff", "#000000"], default_color="#ffffff", default_size=12),
                                  format="png", label="Scribble here", elem_id="gan-sketch")
            live_editor(sketch)  # its change event streams the drawing: gan_score_sketch resolves it by id
            sketch_card = result_card("gan-sketch-card", SKETCH_HINT)
            history_chart = gr.Image(label="Realness history", show_label=False, interactive=False,
                                     elem_id="gan-sketch-history", buttons=[])
            with gr.Accordion("Details (JSON)", open=False, elem_id="gan-sketch-details"):
                sketch_info = gr.JSON(label="Realness of the sketch", elem_id="gan-sketch-info")
            show_card(sketch_info, sketch_card, gan_sketch_card)
    history = gr.State([])
    score_button.click(gan_score, inputs=[upload, score_class], outputs=[label, score_info], api_name="gan_score",
                       preprocess=False, time_limit=QUICK_S)
    load.click(gan_sketch_load, inputs=[sketch_seed, sketch_digit], outputs=[sketch, sketch_info, history_chart, history],
               api_name="gan_sketch_load", time_limit=QUICK_S, preprocess=False)
    blank.click(lambda: ({**black, "composite": _black_canvas()}, None, None, []), outputs=[sketch, sketch_info, history_chart, history],
                api_visibility="private", queue=False)
    # Every stroke is scored with the drawing as it is after the stroke. (Gradio's editor skips its first
    # change event; the empty layer in its value uses that up when the value loads, so the user's first
    # stroke is scored too, not only from the second on.)
    sketch.change(gan_score_sketch, inputs=[sketch, score_class, history], outputs=[sketch_info, history_chart, history],
                  api_name="gan_score_sketch", time_limit=QUICK_S, trigger_mode="always_last", show_progress="hidden",
                  preprocess=False)  # the editor's raw files: load_image checks them (not an image, too many pixels)


def _black_canvas():
    from PIL import Image  # noqa: PLC0415

    return Image.new("RGB", (SKETCH_SIDE, SKETCH_SIDE), (0, 0, 0))


def _empty_layer():
    """A transparent layer to draw on. Loading a value with a layer fires the editor's change once, which
    Gradio 6.31's editor skips: without it, the user's first stroke was the skipped change (not scored)."""
    from PIL import Image  # noqa: PLC0415

    return Image.new("RGBA", (SKETCH_SIDE, SKETCH_SIDE), (0, 0, 0, 0))


def _build_lab():
    gr.Markdown(
        "A GAN learning a 2-D point cloud, live. **Green** = real points, **purple** = generated; the background is "
        "the discriminator's verdict, arrows show where the generator's gradient pushes its points. "
        "Press **Collapse me** then **Play** to see mode collapse: it sets G's learning rate 5x too high, so G piles its "
        "points on one or two modes and hops between them. Fix it by setting G's learning rate back to 0.001 (**Defaults**), "
        "switching the loss to WGAN-GP (with 5 D steps), or giving D 3 steps per G step."
    )
    state = gr.State(None)
    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            dataset = gr.Dropdown(list(DATASETS), value="ring", label="Data", elem_id="gan-lab-dataset")
            csv_file = gr.File(label="Your points (CSV of x,y; choose 'custom')", file_types=[".csv", ".txt"],
                               elem_id="gan-lab-csv")
            with gr.Row():
                g_width = gr.Slider(4, 256, value=64, step=4, label="G width", elem_id="gan-lab-g-width")
                g_depth = gr.Slider(1, 6, value=2, step=1, label="G depth", elem_id="gan-lab-g-depth")
            with gr.Row():
                d_width = gr.Slider(4, 256, value=64, step=4, label="D width", elem_id="gan-lab-d-width")
                d_depth = gr.Slider(1, 6, value=2, step=1, label="D depth", elem_id="gan-lab-d-depth")
            with gr.Row():
                g_lr = gr.Number(value=0.001, label="G learning rate", elem_id="gan-lab-g-lr")
                d_lr = gr.Number(value=0.001, label="D learning rate", elem_id="gan-lab-d-lr")
            with gr.Row():
                optimizer = gr.Dropdown(list(OPTIMIZERS), value="adam", label="Optimizer", elem_id="gan-lab-optimizer")
                loss = gr.Dropdown(list(LOSSES), value="non-saturating", label="Loss", elem_id="gan-lab-loss")
            with gr.Row():
                d_steps = gr.Slider(1, 10, value=1, step=1, label="D steps per G step", elem_id="gan-lab-d-steps")
                noise_dim = gr.Slider(1, 16, value=2, step=1, label="Noise dimension", elem_id="gan-lab-noise-dim")
            with gr.Row():
                seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="gan-lab-seed")
                max_steps = gr.Number(value=LAB_DEFAULT_STEPS, precision=0, label="Play runs up to (steps)",
                                      elem_id="gan-lab-max-steps")
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
                field = gr.Image(label="Data space", show_label=False, interactive=False, elem_id="gan-lab-field", format="png",
                                 buttons=["fullscreen"])
                charts = gr.Image(label="Losses and mode coverage", show_label=False, interactive=False, elem_id="gan-lab-charts",
                                  format="png", buttons=[])
            lab_card = result_card("gan-lab-card", "Press Play, Step or Reset.")
            with gr.Accordion("Details (JSON)", open=False, elem_id="gan-lab-details"):
                stats = gr.JSON(label="Status", elem_id="gan-lab-stats")
            show_card(stats, lab_card, gan_lab_card)
    widgets = {"dataset": dataset, "noise_dim": noise_dim, "g_width": g_width, "g_depth": g_depth, "d_width": d_width,
               "d_depth": d_depth, "g_lr": g_lr, "d_lr": d_lr, "optimizer": optimizer, "loss": loss, "d_steps": d_steps,
               "seed": seed}
    # The engine's field order (lab_config.UI_FIELDS) decides the inputs' order, as it does the handlers' parameters.
    settings = [widgets[UI_FIELDS[0]], csv_file, *[widgets[name] for name in UI_FIELDS[1:]], arrows]
    outputs = [field, charts, stats, state]
    run_event = play.click(gan_lab_run, inputs=[*settings, max_steps, state], outputs=outputs, api_name="gan_lab_run",
                           time_limit=LONG_S, concurrency_limit=LIMITS.lab_runs, concurrency_id="gan-lab-play",
                           trigger_mode="once", show_progress="minimal")
    pause.click(None, cancels=[run_event], api_visibility="private")
    step.click(gan_lab_step, inputs=[*settings, state], outputs=outputs, api_name="gan_lab_step", cancels=[run_event],
               time_limit=QUICK_S)
    reset.click(gan_lab_reset, inputs=[*settings, state], outputs=outputs, api_name="gan_lab_reset", cancels=[run_event],
                time_limit=QUICK_S)
    csv_file.upload(gan_lab_csv, inputs=[csv_file], outputs=[field, stats], api_name="gan_lab_csv", time_limit=QUICK_S).then(
        lambda: "custom", outputs=[dataset], api_visibility="private")
    preset_outputs = [widgets[name] for name in UI_FIELDS]
    # Hyper-parameters apply while Play runs: the session takes them on its next step (no restart).
    for name in LIVE_FIELDS:
        widgets[name].change(gan_lab_apply, inputs=[*[widgets[n] for n in LIVE_FIELDS], state], outputs=None,
                             api_name="gan_lab_apply" if name == LIVE_FIELDS[0] else None,
                             api_visibility="undocumented" if name == LIVE_FIELDS[0] else "private",
                             concurrency_limit=None, time_limit=QUICK_S, show_progress="hidden")
    collapse.click(lab_collapse_preset, outputs=preset_outputs, cancels=[run_event], api_visibility="private").then(
        gan_lab_reset, inputs=[*settings, state], outputs=outputs, api_visibility="private")
    defaults.click(lab_default_preset, outputs=preset_outputs, cancels=[run_event], api_visibility="private").then(
        gan_lab_reset, inputs=[*settings, state], outputs=outputs, api_visibility="private")


def _build_live():
    gr.Markdown(
        "A small class-conditional DCGAN (the same code as the embedded model, at the digits' native 8x8) trains "
        "on the CPU right now. Rows are digits 0-9; readable digits appear within a few hundred steps."
    )
    state = gr.State(None)
    with gr.Row():
        seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", elem_id="gan-live-seed")
        seconds = gr.Slider(5, LIVE_MAX_SECONDS, value=LIVE_DEFAULT_SECONDS, step=5, label="Train for (seconds)",
                            elem_id="gan-live-seconds")
        start = gr.Button("Start", variant="primary", elem_id="gan-live-start")
        stop = gr.Button("Stop", elem_id="gan-live-stop")
        reset = gr.Button("Reset", elem_id="gan-live-reset")
    with gr.Row():
        grid = gr.Image(label="Samples (rows: 0-9)", show_label=False, interactive=False, elem_id="gan-live-samples",
                        format="png", buttons=[])
        chart = gr.Image(label="Losses", show_label=False, interactive=False, elem_id="gan-live-losses", format="png", buttons=[])
    live_card = result_card("gan-live-card", "Press Start to train.")
    with gr.Accordion("Details (JSON)", open=False, elem_id="gan-live-details"):
        status = gr.JSON(label="Status", elem_id="gan-live-status")
    show_card(status, live_card, gan_live_card)
    event = start.click(gan_live_train, inputs=[seed, seconds, state], outputs=[grid, chart, status, state],
                        api_name="gan_live_train", time_limit=LONG_S, concurrency_limit=LIMITS.live_runs,
                        concurrency_id="gan-live", trigger_mode="once", show_progress="minimal", preprocess=False)
    stop.click(None, cancels=[event], api_visibility="private")
    # Reset (and opening the view) shows a fresh, untrained run at step 0: what training will improve.
    reset.click(gan_live_reset, inputs=[seed], outputs=[grid, chart, status, state], cancels=[event],
                api_name="gan_live_reset", time_limit=QUICK_S, preprocess=False)


def _build_quality():
    gr.Markdown(_committed_figures_markdown(), elem_id="gan-quality-table")
    with gr.Row():
        samples = gr.Slider(20, 1000, value=200, step=10, label="Samples to re-measure", elem_id="gan-quality-samples")
        button = gr.Button("Re-measure now", elem_id="gan-quality-btn")
    quality_card = result_card("gan-quality-card", "Press Re-measure now to score the generator again (a few seconds).")
    with gr.Accordion("Details (JSON)", open=False, elem_id="gan-quality-details"):
        figures = gr.JSON(label="Measured now", elem_id="gan-quality-json")
    show_card(figures, quality_card, gan_quality_card)
    button.click(gan_quality, inputs=[samples], outputs=[figures], api_name="gan_quality", time_limit=LONG_S,
                 concurrency_limit=1, preprocess=False)  # also at most LIMITS.expensive_queued waiting (demos.admission)


def build_tab(demo: gr.Blocks) -> None:
    """Add the GAN tab to ``demo`` (per-session state lives in gr.State, freed with the session)."""
    with gr.Tab("GAN", id="gan", elem_id="tab-gan"):
        gr.Markdown(INTRO)
        with gr.Tabs(elem_id="gan-subtabs"):
            with gr.Tab("Faces", id="gan-faces", elem_id="tab-gan-faces"):
                gan_faces.build(demo)
            with gr.Tab("Generate", id="gan-generate", elem_id="tab-gan-generate"):
                _build_generate()
            with gr.Tab("Latent space", id="gan-latent", elem_id="tab-gan-latent"):
                _build_latent()
            with gr.Tab("Discriminator score", id="gan-score", elem_id="tab-gan-score"):
                _build_score()
            with gr.Tab("GAN Lab (2-D, live)", id="gan-lab", elem_id="tab-gan-lab"):
                _build_lab()
            with gr.Tab("Train live", id="gan-live", elem_id="tab-gan-live"):
                _build_live()
            with gr.Tab("Quality", id="gan-quality", elem_id="tab-gan-quality"):
                _build_quality()
