"""GAN & co. > Diffusion: a class-conditional DDPM on the same digits as the GAN, step by step.

Generate (public /diffusion_generate), the denoising step-through (public /diffusion_trace; the slider's
x_t / ε̂ / x̂0 / schedule are private), SDEdit on the user's own sketch and the guidance row (private).
"""

from __future__ import annotations

import time

import gradio as gr

from demos.common.cards import card_formatter, result_card, show_card
from demos.common.contract import LinkParam, ViewHandles
from demos.common.editors import editor_composite, live_editor
from demos.common.errors import user_errors
from demos.common.limits import QUICK_S, STANDARD_S
from demos.gan.shared import DIGIT_CHOICES, opening
from engine.core import validation
from engine.core.imports import IMPORT_LOCK
from engine.core.registry import ASSETS_DIR, load_once
from engine.core.settings import LIMITS

# The engine's defaults and limits, repeated here so building the tab imports no torch (a test compares them).
DEFAULT_STEPS = 8
DEFAULT_GUIDANCE = 2.0
MAX_STEPS = 50
MAX_GUIDANCE = 10.0
MAX_COUNT = 64
SKETCH_SIDE = 256
SKETCH_EXAMPLE = ASSETS_DIR / "examples" / "digit_3.png"
SDEDIT_CHOICES = [("none (keep what it sees)", "random")] + [(str(d), str(d)) for d in range(10)]

EXPLAIN = (
    "**A diffusion model learns to remove noise.** Training adds Gaussian noise to real digits, "
    "x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε, and teaches a U-Net to predict the noise ε from x_t, t and the class. "
    "Generating starts from pure noise and removes the predicted noise a little at a time. "
    "*Guidance* w mixes the class-conditional and the class-free predictions, ε̂ = ε̂_free + w·(ε̂_class - ε̂_free): "
    "0 ignores the class, 1 is the plain model, more exaggerates it."
)
GENERATE_HINT = "Press Generate to denoise digits from noise."
STEP_HINT = "Move the step slider to watch one digit being denoised."

diffusion_generate_card = card_formatter(lambda info: _render().generate_summary(info), GENERATE_HINT,
                                         "diffusion_generate_card")
diffusion_step_card = card_formatter(lambda info: _render().step_summary(info), STEP_HINT, "diffusion_step_card")
diffusion_sdedit_card = card_formatter(lambda info: _render().sdedit_summary(info), "Draw a digit.",
                                       "diffusion_sdedit_card")
diffusion_guidance_card = card_formatter(lambda info: _render().guidance_summary(info), "Press Show guidance row.",
                                         "diffusion_guidance_card")


def _render():
    with IMPORT_LOCK:
        from engine.gan import diffusion_render
    return diffusion_render


def _engine():
    with IMPORT_LOCK:
        from engine.gan import diffusion
    return diffusion


@user_errors
def diffusion_generate(seed, digit="random", count=16, steps=DEFAULT_STEPS, guidance=DEFAULT_GUIDANCE):
    """Generate count digits (0 to 9, or random classes) from seed by denoising pure noise in steps DPM-Solver++
    steps at classifier-free guidance scale guidance (0 ignores the class, 1 is the plain conditional model);
    returns the gallery (caption = requested class) and a summary with the classes, timesteps, the judge's
    agreement with the requested classes and the time taken."""
    if _is_default(seed, digit, count, steps, guidance):
        # The view's opening: generated once per process (16 digits x 8 steps, ~1.5 s of CPU every new visitor
        # paid before its first result); "seconds" is the time that generation took.
        return load_once("diffusion-opening", lambda: _generate(0, "random", 16, DEFAULT_STEPS, DEFAULT_GUIDANCE))
    return _generate(seed, digit, count, steps, guidance)


def _is_default(seed, digit, *numbers) -> bool:
    """The view's opening inputs (seed 0, a random class, then count, steps and guidance if given, at their defaults)?"""
    try:
        values = [float(seed), *[float(n) for n in numbers]]
    except (TypeError, ValueError):
        return False
    return values == [0.0, 16.0, float(DEFAULT_STEPS), DEFAULT_GUIDANCE][:len(values)] and digit == "random"


def _generate(seed, digit, count, steps, guidance):
    engine = _engine()
    started = time.perf_counter()
    result = engine.generate(engine.load_model(), seed, digit, count, steps, guidance)
    seconds = time.perf_counter() - started
    readings = engine.judge_readings(result.images)
    info = result.info()
    info["judge_readings"] = [int(r) for r in readings]
    info["judge_agreement"] = round(float((readings == list(result.classes)).mean()), 4)
    info["seconds"] = round(seconds, 3)
    render = _render()
    return [(render.digit(image, 4), str(label)) for image, label in zip(result.images, result.classes)], info


@user_errors
def diffusion_trace(seed, digit="random", steps=DEFAULT_STEPS, guidance=DEFAULT_GUIDANCE):
    """The denoising of one digit (sample 0 of seed, class digit) in steps steps: returns the frames x_T to x_0 as
    images (the last is the first image /diffusion_generate gives for the same seed, digit, steps and guidance)
    and the timesteps, the noise schedule's alphas_cumprod and SNR at each step."""
    engine = _engine()
    result = engine.trace(engine.load_model(), seed, digit, steps, guidance)
    render = _render()
    labels = [f"x_T (t = {result.timesteps[0]})"] + [f"after step {i + 1}" for i in range(result.steps)]
    labels[-1] = "x_0 (done)"
    return [(render.digit(frame, 4), label) for frame, label in zip(result.frames, labels)], result.info()


@user_errors
def diffusion_step(seed, digit="random", steps=DEFAULT_STEPS, guidance=DEFAULT_GUIDANCE, step=0):
    """One step of the trace: x_t, the predicted noise, the predicted clean digit and the schedule chart."""
    engine, render = _engine(), _render()
    model = engine.load_model()
    result = engine.trace(model, seed, digit, steps, guidance)
    # The slider may span more steps than this trace (a link set fewer steps): show the last frame then.
    index = min(int(validation.check_number(step, "step", 0, MAX_STEPS, whole=True)), result.steps)
    info = {"step": index, "steps": result.steps, "class": result.digit}
    if index < result.steps:
        noise, clean = render.noise_image(result.noise[index]), render.digit(result.clean[index])
        info.update(timestep=result.timesteps[index], alpha_bar=result.alphas_cumprod[index])
        current = result.timesteps[index]
    else:  # the finished digit: no more noise to predict
        noise, clean, current = None, render.digit(result.frames[-1]), 0
    chart = render.schedule_chart(model.alphas_cumprod.numpy(), result.timesteps, current)
    return render.digit(result.frames[index]), noise, clean, chart, info


def _sketch_pixels(editor):
    composite = editor_composite(editor, "diffusion-sketch")
    if composite is None:
        raise ValueError("The sketchpad is empty: draw a digit (white ink on the black canvas).")
    pil = validation.load_image(composite, max_pixels=LIMITS.digit_image_pixels, background=(0, 0, 0))
    with IMPORT_LOCK:
        from engine.gan import inference
    pixels = inference.image_to_judge_view(pil)  # cropped and centred like the training digits
    if pixels is None:
        raise ValueError("The sketchpad is blank: draw a digit (white ink on the black canvas).")
    return pixels


@user_errors
def diffusion_sdedit(editor, strength=0.6, digit="random", seed=0, steps=DEFAULT_STEPS, guidance=DEFAULT_GUIDANCE):
    """SDEdit: noise the sketch to strength, then denoise it back (towards digit, or no class)."""
    engine, render = _engine(), _render()
    result = engine.sdedit(engine.load_model(), _sketch_pixels(editor), strength, seed, digit, steps, guidance)
    info = result.info()
    info["judge_reads"] = int(engine.judge_readings(result.result[None])[0])
    return render.digit(result.original), render.digit(result.noised), render.digit(result.result), info


@user_errors
def diffusion_guidance_row(seed, digit="random", steps=DEFAULT_STEPS):
    """Four samples at guidance 0, 1, 3 and 7 from the same noise: a grid (one row per scale) and its figures."""
    if _is_default(seed, digit) and str(steps) in (str(DEFAULT_STEPS), f"{DEFAULT_STEPS:.1f}"):
        return load_once("diffusion-guidance-opening", lambda: _guidance_row(0, "random", DEFAULT_STEPS))
    return _guidance_row(seed, digit, steps)


def _guidance_row(seed, digit, steps):
    engine, render = _engine(), _render()
    rows = engine.guidance_row(engine.load_model(), seed, digit, steps)
    figures = []
    for row in rows:
        readings = engine.judge_readings(row.images)
        figures.append({"guidance": row.guidance, "classes": list(row.classes),
                        "judge_readings": [int(r) for r in readings],
                        "judge_agreement": round(float((readings == list(row.classes)).mean()), 4)})
    gallery = [(render.digit(image, 4), f"w = {row.guidance:g}, asked {label}")
               for row in rows for image, label in zip(row.images, row.classes)]
    return gallery, {"seed": rows[0].seed, "steps": rows[0].steps, "rows": figures}


def _sketch_value():
    from PIL import Image, ImageOps  # noqa: PLC0415

    example = Image.open(SKETCH_EXAMPLE).convert("L").resize((SKETCH_SIDE, SKETCH_SIDE), Image.BILINEAR)
    if sum(example.getpixel((0, y)) for y in range(0, SKETCH_SIDE, 16)) > 128 * 16:  # dark ink on paper
        example = ImageOps.invert(example)
    background = example.convert("RGB")
    layer = Image.new("RGBA", (SKETCH_SIDE, SKETCH_SIDE), (0, 0, 0, 0))
    return {"background": background, "layers": [layer], "composite": background}


def _layout():
    ui = {}
    with gr.Tab("Diffusion", id="gan-diffusion", elem_id="tab-gan-diffusion") as page:
        with gr.Row():
            ui["seed"] = gr.Number(value=0, precision=0, minimum=0, maximum=LIMITS.seed_max, label="Seed",
                                   elem_id="diffusion-seed")
            ui["digit"] = gr.Dropdown(DIGIT_CHOICES, value="random", label="Digit class", elem_id="diffusion-digit")
            ui["count"] = gr.Slider(1, MAX_COUNT, value=16, step=1, precision=0, label="Count", elem_id="diffusion-count")
            ui["steps"] = gr.Slider(1, MAX_STEPS, value=DEFAULT_STEPS, step=1, precision=0, label="Denoising steps",
                                    elem_id="diffusion-steps")
            ui["guidance"] = gr.Slider(0, MAX_GUIDANCE, value=DEFAULT_GUIDANCE, step=0.5, label="Guidance w",
                                       elem_id="diffusion-guidance")
            ui["generate"] = gr.Button("Generate", variant="primary", elem_id="diffusion-generate-btn", scale=0,
                                       min_width=140)
        ui["gallery"] = gr.Gallery(label="Denoised digits (caption = requested class)", show_label=False, columns=8,
                                   height="auto", elem_id="diffusion-gallery", format="png")
        ui["card"] = result_card("diffusion-generate-card", GENERATE_HINT)
        with gr.Accordion("Details (JSON)", open=False, elem_id="diffusion-generate-details", elem_classes=["nd-dev"]):
            ui["info"] = gr.JSON(label="What was generated", elem_id="diffusion-generate-info")
        gr.Markdown(EXPLAIN, elem_classes=["nd-explain"])

        gr.Markdown("### Step through the denoising (sample 1 of the seed)")
        with gr.Row():
            ui["step"] = gr.Slider(0, DEFAULT_STEPS, value=0, step=1, precision=0, label="Step (0 = pure noise)",
                                   elem_id="diffusion-step")
            ui["trace_button"] = gr.Button("Trace", elem_id="diffusion-trace-btn", scale=0, min_width=120)
        with gr.Row(equal_height=True):
            ui["x_t"] = gr.Image(label="x_t: what the network sees", interactive=False, elem_id="diffusion-xt",
                                 height=256, buttons=[])
            ui["eps"] = gr.Image(label="ε̂: predicted noise (grey = 0)", interactive=False, elem_id="diffusion-eps",
                                 height=256, buttons=[])
            ui["x0"] = gr.Image(label="x̂0: predicted clean digit", interactive=False, elem_id="diffusion-x0",
                                height=256, buttons=[])
        ui["chart"] = gr.Image(label="Noise schedule", show_label=False, interactive=False, elem_id="diffusion-schedule",
                               buttons=[])
        ui["step_card"] = result_card("diffusion-step-card", STEP_HINT)
        ui["frames"] = gr.Gallery(label="All frames, x_T to x_0", columns=11, height="auto", elem_id="diffusion-frames",
                                  format="png")
        with gr.Accordion("Details (JSON)", open=False, elem_id="diffusion-trace-details", elem_classes=["nd-dev"]):
            ui["trace_info"] = gr.JSON(label="Trace", elem_id="diffusion-trace-info")
            ui["step_info"] = gr.JSON(label="This step", elem_id="diffusion-step-info")

        gr.Markdown("### Your sketch: noise it, then denoise it back (SDEdit)")
        with gr.Row(equal_height=False):
            with gr.Column(min_width=280):
                ui["sketch"] = live_editor(gr.Sketchpad(
                    value=_sketch_value(), type="numpy", image_mode="RGB", canvas_size=(SKETCH_SIDE, SKETCH_SIDE),
                    brush=gr.Brush(colors=["#ffffff", "#000000"], default_color="#ffffff", default_size=14),
                    format="png", label="Draw a digit (white on black)", elem_id="diffusion-sketch"))
            with gr.Column(min_width=420):
                with gr.Row():
                    ui["strength"] = gr.Slider(0.05, 1.0, value=0.6, step=0.05, label="Strength (how far to noise it)",
                                               elem_id="diffusion-strength")
                    ui["sdedit_digit"] = gr.Dropdown(SDEDIT_CHOICES, value="random", label="Denoise towards",
                                                     elem_id="diffusion-sdedit-digit")
                    ui["sdedit_button"] = gr.Button("Noise and denoise", elem_id="diffusion-sdedit-btn", scale=0)
                with gr.Row():
                    ui["sd_original"] = gr.Image(label="Your sketch (32 px)", interactive=False, height=180, buttons=[],
                                                 elem_id="diffusion-sdedit-original")
                    ui["sd_noised"] = gr.Image(label="Noised", interactive=False, height=180, buttons=[],
                                               elem_id="diffusion-sdedit-noised")
                    ui["sd_result"] = gr.Image(label="Denoised back", interactive=False, height=180, buttons=[],
                                               elem_id="diffusion-sdedit-result")
                ui["sd_card"] = result_card("diffusion-sdedit-card", "Draw a digit.")
                with gr.Accordion("Details (JSON)", open=False, elem_classes=["nd-dev"]):
                    ui["sd_info"] = gr.JSON(label="SDEdit", elem_id="diffusion-sdedit-info")

        gr.Markdown("### What guidance does: the same noise at w = 0, 1, 3 and 7")
        ui["row_button"] = gr.Button("Show guidance row", elem_id="diffusion-guidance-btn")
        ui["row_gallery"] = gr.Gallery(label="One row per guidance scale", columns=4, height="auto",
                                       elem_id="diffusion-guidance-gallery", format="png")
        ui["row_card"] = result_card("diffusion-guidance-card", "Press Show guidance row.")
        with gr.Accordion("Details (JSON)", open=False, elem_classes=["nd-dev"]):
            ui["row_info"] = gr.JSON(label="Guidance row", elem_id="diffusion-guidance-info")
    return page, ui


def _step_range(steps):
    """The step slider spans 0..steps (frames x_T .. x_0); a changed step count restarts it at 0."""
    try:
        top = int(validation.check_number(steps, "number of denoising steps", 1, MAX_STEPS, whole=True))
    except ValueError:
        top = DEFAULT_STEPS
    return gr.Slider(minimum=0, maximum=top, value=0)


def _wire(page, ui) -> ViewHandles:
    show_card(ui["info"], ui["card"], diffusion_generate_card)
    show_card(ui["step_info"], ui["step_card"], diffusion_step_card)
    show_card(ui["sd_info"], ui["sd_card"], diffusion_sdedit_card)
    show_card(ui["row_info"], ui["row_card"], diffusion_guidance_card)
    params = [ui["seed"], ui["digit"], ui["steps"], ui["guidance"]]
    generate = dict(fn=diffusion_generate, inputs=[ui["seed"], ui["digit"], ui["count"], ui["steps"], ui["guidance"]],
                    outputs=[ui["gallery"], ui["info"]], time_limit=STANDARD_S, preprocess=False)
    ui["generate"].click(**generate, api_name="diffusion_generate")
    trace = dict(fn=diffusion_trace, inputs=params, outputs=[ui["frames"], ui["trace_info"]], time_limit=STANDARD_S,
                 preprocess=False)
    step = dict(fn=diffusion_step, inputs=params + [ui["step"]],
                outputs=[ui["x_t"], ui["eps"], ui["x0"], ui["chart"], ui["step_info"]], time_limit=QUICK_S)
    ui["trace_button"].click(**trace, api_name="diffusion_trace").then(**step, api_visibility="private",
                                                                      show_progress="hidden")
    ui["step"].change(**step, api_name="diffusion_step", api_visibility="private", trigger_mode="always_last",
                      show_progress="hidden")
    ui["steps"].release(_step_range, ui["steps"], ui["step"], api_visibility="private", queue=False)
    sdedit = dict(fn=diffusion_sdedit, inputs=[ui["sketch"], ui["strength"], ui["sdedit_digit"], ui["seed"],
                                               ui["steps"], ui["guidance"]],
                  outputs=[ui["sd_original"], ui["sd_noised"], ui["sd_result"], ui["sd_info"]], time_limit=QUICK_S,
                  preprocess=False)  # the editor's raw files: load_image checks them
    ui["sdedit_button"].click(**sdedit, api_name="diffusion_sdedit", api_visibility="private")
    ui["sketch"].change(**sdedit, api_name="diffusion_sdedit_live", api_visibility="private",
                        trigger_mode="always_last", show_progress="hidden")
    ui["strength"].release(**sdedit, api_name="diffusion_sdedit_strength", api_visibility="private")
    row = dict(fn=diffusion_guidance_row, inputs=[ui["seed"], ui["digit"], ui["steps"]],
               outputs=[ui["row_gallery"], ui["row_info"]], time_limit=STANDARD_S, preprocess=False)
    ui["row_button"].click(**row, api_name="diffusion_guidance_row", api_visibility="private")
    return ViewHandles(
        tab="gan", sub="diffusion", page=page, result=ui["gallery"],
        on_open=(opening(generate, then=(opening(trace, then=(opening(step, then=(opening(sdedit, then=(
            opening(row),)),)),)),)),),  # one after another: they share two CPU cores
        link=(LinkParam("seed", ui["seed"]), LinkParam("digit", ui["digit"]), LinkParam("steps", ui["steps"]),
              LinkParam("guidance", ui["guidance"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(*_layout())
