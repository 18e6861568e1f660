"""GAN > Latent space: interpolate between two seeds (and classes), and walk one digit along a direction."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from demos.common.cards import result_card, show_card
from demos.common.contract import LinkParam, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import QUICK_S, STANDARD_S
from demos.common.outputs import OldFileSweeper
from demos.gan.shared import CLASS_CHOICES, MAX_SEED, card, opening
from engine.core import validation
from engine.core.imports import IMPORT_LOCK
from engine.gan import render

HINT = "Press Interpolate."
WALK_AMOUNTS = (-3, -2, -1, 0, 1, 2, 3)
GIF_DIR = Path(tempfile.gettempdir()) / "neurodeck_gan_gifs"  # gradio copies each GIF into its cache
GIF_MAX_AGE_S = 600  # so ours are deleted after 10 minutes (checked at most once a minute)
_gif_sweeper = OldFileSweeper(GIF_DIR, "*.gif", GIF_MAX_AGE_S)

gan_interp_card = card("interpolation_summary", HINT)


def _gif_path(data: bytes) -> str:
    GIF_DIR.mkdir(parents=True, exist_ok=True)
    _gif_sweeper.sweep()
    handle = tempfile.NamedTemporaryFile(dir=GIF_DIR, prefix="neurodeck_gan_", suffix=".gif", delete=False)
    with handle:
        handle.write(data)
    return handle.name


@user_errors
def gan_interpolate(seed_a=0, seed_b=1, digit_a="3", digit_b="8", frames=12, psi=1.0):
    """Interpolate from seed_a drawn as digit_a to seed_b drawn as digit_b in frames steps (2 to 48); returns an
    animated GIF, the frames as one image, and a summary."""
    with IMPORT_LOCK:
        from engine.gan import inference
    images = inference.interpolate(inference.load_generator(), seed_a, seed_b, digit_a, digit_b, frames, psi)
    tiles = [render.digit_image(image, scale=8) for image in images]
    strip = render.digits_grid(images, columns=min(len(images), 12), cell=48)  # wrapped: 48 frames = 4 rows of 12
    info = {"seed_a": int(seed_a), "seed_b": int(seed_b), "class_a": int(digit_a), "class_b": int(digit_b),
            "frames": len(images), "psi": float(psi)}
    return _gif_path(render.frames_to_gif(tiles)), strip, info


@user_errors
def gan_walk(seed=0, digit="5", direction_seed=1, amount=0.0, psi=1.0):
    """Move one digit (seed, class digit) amount steps (-3 to 3) along the random latent direction direction_seed;
    returns the digit there and the strip from -3 to +3."""
    with IMPORT_LOCK:
        from engine.gan import inference
    amount = validation.check_number(amount, "walk amount", -3, 3, default=0.0)
    generator = inference.load_generator()
    strip_images = inference.latent_walk(generator, seed, digit, direction_seed, list(WALK_AMOUNTS), psi)
    current = inference.latent_walk(generator, seed, digit, direction_seed, [amount], psi)[0]
    return render.digit_image(current, scale=8), render.digits_grid(strip_images, columns=len(WALK_AMOUNTS), cell=72)


def _seed(value, label, elem_id):
    return gr.Number(value=value, precision=0, minimum=0, maximum=MAX_SEED, label=label, elem_id=elem_id)


def _layout():
    with gr.Tab("Latent space", id="gan-latent", elem_id="tab-gan-latent") as page:
        gr.Markdown("### Interpolate between two seeds (and two classes)")
        with gr.Row():
            seed_a = _seed(0, "Seed A", "gan-interp-seed-a")
            seed_b = _seed(1, "Seed B", "gan-interp-seed-b")
            digit_a = gr.Dropdown(CLASS_CHOICES, value="3", label="Class A", elem_id="gan-interp-digit-a")
            digit_b = gr.Dropdown(CLASS_CHOICES, value="8", label="Class B", elem_id="gan-interp-digit-b")
            frames = gr.Slider(2, 48, value=12, step=1, precision=0, label="Frames", elem_id="gan-interp-frames")
            psi = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Truncation ψ", elem_id="gan-interp-psi")
            button = gr.Button("Interpolate", variant="primary", elem_id="gan-interp-btn", scale=0, min_width=150)
        with gr.Row():
            with gr.Column(scale=2, min_width=280):
                gr.Markdown("**Animation** (forward, then back)")
                gif = gr.Image(label="Animation", show_label=False, type="filepath", interactive=False,
                               elem_id="gan-interp-gif", format="gif", buttons=["download"], height=240)
            with gr.Column(scale=3):
                gr.Markdown("**Every frame**, left to right, row by row")
                strip = gr.Image(label="Frames", show_label=False, interactive=False, elem_id="gan-interp-strip",
                                 buttons=[])
        interp_card = result_card("gan-interp-card", HINT)
        with gr.Accordion("Details (JSON)", open=False, elem_id="gan-interp-details", elem_classes=["nd-dev"]):
            info = gr.JSON(label="Interpolation", elem_id="gan-interp-info")

        gr.Markdown("### Latent walk along a random direction")
        with gr.Row():
            seed = _seed(0, "Seed", "gan-walk-seed")
            digit = gr.Dropdown(CLASS_CHOICES, value="5", label="Class", elem_id="gan-walk-digit")
            direction = gr.Number(value=1, precision=0, minimum=0, maximum=MAX_SEED, label="Direction (seed)",
                                  elem_id="gan-walk-direction")
            walk_psi = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Truncation ψ", elem_id="gan-walk-psi")
        amount = gr.Slider(-3, 3, value=0, step=0.1, label="Move along the direction", elem_id="gan-walk-amount")
        with gr.Row():
            with gr.Column(scale=2, min_width=240):
                gr.Markdown("**Here** (at the slider's position)")
                current = gr.Image(label="Here", show_label=False, interactive=False, elem_id="gan-walk-image",
                                   buttons=[], height=240)
            with gr.Column(scale=3):
                gr.Markdown("**From −3 to +3** along the same direction")
                walk_strip = gr.Image(label="From -3 to +3", show_label=False, interactive=False,
                                      elem_id="gan-walk-strip", buttons=[])
    interp = dict(inputs=[seed_a, seed_b, digit_a, digit_b, frames, psi], outputs=[gif, strip, info],
                  button=button, card=interp_card)
    walk = dict(inputs=[seed, digit, direction, amount, walk_psi], outputs=[current, walk_strip], amount=amount)
    return page, interp, walk


def _wire(page, interp, walk) -> ViewHandles:
    show_card(interp["outputs"][2], interp["card"], gan_interp_card)
    interp_event = dict(fn=gan_interpolate, inputs=interp["inputs"], outputs=interp["outputs"], time_limit=STANDARD_S,
                        preprocess=False)
    interp["button"].click(**interp_event, api_name="gan_interpolate")
    walk_event = dict(fn=gan_walk, inputs=walk["inputs"], outputs=walk["outputs"], time_limit=QUICK_S, preprocess=False)
    walk["amount"].release(**walk_event, api_name="gan_walk")
    for control in walk["inputs"]:
        if control is not walk["amount"]:
            control.change(**walk_event, api_visibility="private")
    seed_a, seed_b, digit_a, digit_b, frames, psi = interp["inputs"]
    seed, digit, direction, amount, _ = walk["inputs"]
    return ViewHandles(
        tab="gan", sub="latent", page=page, result=interp["outputs"][1],
        on_open=(opening(walk_event), opening(interp_event)),
        link=(LinkParam("seed_a", seed_a), LinkParam("seed_b", seed_b), LinkParam("digit_a", digit_a),
              LinkParam("digit_b", digit_b), LinkParam("frames", frames), LinkParam("psi", psi),
              LinkParam("walk_seed", seed), LinkParam("walk_digit", digit), LinkParam("direction", direction),
              LinkParam("amount", amount)),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(*_layout())
