"""GAN > Faces: a real, distilled StyleGAN2 (MobileStyleGAN, FFHQ) drawing photoreal faces.

Sections: Generate (+ the truncation row beside it), Z space vs W space, Semantic directions, How far GANs
came, Deepfakes. Handlers are thin wrappers over the engine's faces modules (model and maths, no torch) and
:mod:`engine.gan.faces_render` (drawing); OpenVINO loads with the first face, not when the tab is built.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import gradio as gr
from gradio import utils as gradio_utils

from demos.common import disk
from demos.common.contract import LinkParam, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, QUICK_S, STANDARD_S
from demos.common.memo import memoised
from demos.gan.shared import opening
from engine.gan import faces as face_engine
from engine.gan import faces_compare, faces_directions, faces_interpolate, faces_render

SIZES = [256, 512, 1024]
DEFAULT_SEED = 0
TRUNCATION_SEED = 4
DIRECTION_AMOUNTS = (-3.0, -1.5, 0.0, 1.5, 3.0)
MAX_SEED = face_engine.MAX_SEED

LICENCE = (
    "**Model:** MobileStyleGAN, distilled from NVIDIA's StyleGAN2 trained on FFHQ (70,000 Flickr portraits), "
    "run with OpenVINO from the `random-face` package's files. **Licence: non-commercial use only** "
    "(StyleGAN2: NVIDIA Source Code License-NC; FFHQ: CC BY-NC-SA 4.0; package code Apache-2.0). "
    "None of these people exist."
)
TRUNCATION_TEXT = (
    "**Truncation ψ** pulls each style towards the average style w̄ (estimated once from 4,096 mapped samples): "
    "w′ = w̄ + ψ (w − w̄). ψ = 0 gives the same average face for every seed; ψ = 1 is the untouched model. "
    "Lower ψ: cleaner, more typical faces (quality); higher ψ: more variety and more odd ones (diversity)."
)
ZW_TEXT = (
    "Both rows walk a straight line between the same two seeds. **In z** (the input noise) the line is pushed "
    "through the mapping network, which bends it; **in w** (the style space the mapping network learned) the "
    "line is taken directly. W is shaped by training to be disentangled, so its straight lines give smoother "
    "paths with fewer sudden changes and no detours through unrelated faces."
)
DIRECTIONS_TEXT = (
    "These directions were **found without any labels**: they are the principal components of 20,000 sampled "
    "styles w (GANSpace). A direction has a name only where a measured image statistic (brightness, colour, "
    "where the skin-coloured pixels lie) changes the same way for nearly every one of 50 faces, and the name "
    "says only that; the others are called by number. Each direction changes several things at once."
)
DEEPFAKE_TEXT = (
    "**Deepfakes, honestly.** Faces like these have been used for fake profiles, scams and disinformation, and "
    "the method behind them (StyleGAN) is public. Detection tools and trained eyes look for the artefacts a "
    "generator still leaves at full resolution: smeared or asymmetric **backgrounds**, mismatched or melting "
    "**earrings** and hair edges, and **teeth** that blur together, which the zoom below shows at native 1024² pixels."
)


def _cache_path(key: str, suffix: str) -> Path:
    folder = Path(gradio_utils.get_upload_folder()) / "neurodeck_faces"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (hashlib.sha1(key.encode()).hexdigest()[:24] + suffix)


def _publish(path: Path, write) -> str:
    """Write a file once, atomically: staged under a unique name, then renamed into place."""
    if not disk.reuse(path):  # touched when reused: the cache sweeps age files from their last hand-out
        handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp", delete=False)
        with handle:
            write(handle)
        os.replace(handle.name, path)  # a concurrent identical request renames identical bytes
    return str(path)


def _cache_file(key: str, suffix: str, data: bytes) -> str:
    """``data`` in gradio's cache folder under a name derived from the request (reused if present)."""
    return _publish(_cache_path(key, suffix), lambda handle: handle.write(data))


def _gallery_files(images, keys) -> list[str]:
    """PNGs written straight into gradio's cache folder (fast zlib level), named by what they show.

    Handing PIL images to gr.Gallery makes gradio encode them at PNG's default level, hash the bytes
    and copy them; files already in the cache are served as they are.
    """
    return [_publish(_cache_path(key, ".png"), lambda handle, im=image: im.save(handle, format="PNG", compress_level=1))
            for image, key in zip(images, keys)]


def _progress_callback(progress, enabled: bool = True):
    if not enabled or progress is None:
        return None
    return lambda done, total, what: progress((done, total), desc=what)


# The events use ``preprocess=False``: each number reaches the handler unchecked and the engine validates it,
# saying clearly what is wrong (gradio's own range checks name neither the field nor the fix, and reject a
# NaN sent as the string "nan" with a preprocessing traceback).
@user_errors
def gan_faces(seed, count=1, psi=0.7, size=256, progress=gr.Progress()):
    """count faces (1 to 8) of seeds seed, seed+1, ... at truncation psi (0 to 1), size 256, 512 or 1024 px;
    returns the gallery and the request's details."""
    many = face_engine.check_count(count) > 1
    result = face_engine.generate_faces(seed, count, psi, size, on_progress=_progress_callback(progress, many))
    keys = [json.dumps(["face", s, result.psi, result.size]) for s in result.seeds]
    gallery = [(path, f"seed {s}") for path, s in zip(_gallery_files(result.images, keys), result.seeds)]
    return gallery, result.payload()


# Every visitor's opening draws the same sheets from the same seeds: kept per process (see demos.common.memo), 4
# inputs per handler (a sheet or strip is 0.7-1.8 MB of pixels, an interpolation up to ~2.5 MB with its GIF bytes).
@user_errors
@memoised(capacity=4)
def gan_faces_truncation(seed=TRUNCATION_SEED, progress=gr.Progress()):
    """The same three seeds at ψ = 0, 0.5, 0.7, 1.0; returns the labelled sheet."""
    grid = face_engine.truncation_grid(seed, rows=3, on_progress=_progress_callback(progress))
    first = face_engine.check_seed(seed)
    return faces_render.truncation_sheet(grid, face_engine.TRUNCATION_PSIS, [first + i for i in range(3)])


@memoised(capacity=4)
def _interpolation(seed_a, seed_b, frames, space, psi, progress=None):
    """(file key, GIF bytes, strip, figures, details): drawn once per inputs; the GIF is published per call."""
    result = faces_interpolate.interpolate_faces(seed_a, seed_b, frames, space, psi, size=256,
                                                 on_progress=_progress_callback(progress))
    info = result.payload()
    key = json.dumps(["interp", info["space"], info["seed_a"], info["seed_b"], info["frames"], info["psi"]])
    name = "z (input noise)" if result.space == "z" else "w (style space)"
    strip = faces_render.strip(result.frames, f"straight line in {name}", cell=128)
    figures = (f"**Path through W:** {info['w_path_detour']:.2f}× the straight line  \n"
               f"**Largest step ÷ average step** (pixels): {info['step_unevenness']:.2f} (1.00 = evenly paced)")
    return key, faces_render.frames_to_gif(result.frames), strip, figures, info


def _interpolate(seed_a, seed_b, frames, space, psi, progress):
    key, gif, strip, figures, info = _interpolation(seed_a, seed_b, frames, space, psi, progress=progress)
    # Published on every call: gradio's cache sweep may have removed the file since it was first written.
    return _cache_file(key, ".gif", gif), strip, figures, info


@user_errors
def gan_faces_interpolate(seed_a=0, seed_b=1, frames=6, space="w", psi=0.7, progress=gr.Progress()):
    """Faces on the straight line from seed_a to seed_b in frames steps (2 to 16), in space "w" (style) or "z"
    (input noise); returns a GIF, the frames as one strip, the path figures and the details."""
    return _interpolate(seed_a, seed_b, frames, space, psi, progress)


@user_errors
def gan_faces_interpolate_z(seed_a=0, seed_b=1, frames=6, psi=0.7, progress=gr.Progress()):
    """The Z-space column of the side-by-side view."""
    return _interpolate(seed_a, seed_b, frames, "z", psi, progress)


@user_errors
@memoised(capacity=4)
def gan_faces_direction(seed=0, direction=0, amount=0.0, psi=0.7):
    """Face seed moved amount standard deviations (-4 to 4) along principal direction direction (0 to 9, or its
    name); returns the face, a caption and the details."""
    edit = faces_directions.edit_direction(seed, direction, amount, psi, size=512)
    text = (f"**{edit.name}** at **{edit.amount:+.1f} σ** · this direction holds "
            f"**{edit.explained:.1%}** of the variance of w")
    return edit.image, text, edit.payload()


@user_errors
@memoised(capacity=4)
def gan_faces_direction_strip(seed=0, direction=0, psi=0.7, progress=gr.Progress()):
    """The face at -3, -1.5, 0, +1.5, +3 σ along one direction, as one labelled strip."""
    images = faces_directions.direction_strip(seed, direction, DIRECTION_AMOUNTS, psi, 192,
                                              on_progress=_progress_callback(progress))
    titles = [f"{a:+g} σ" for a in DIRECTION_AMOUNTS]
    return faces_render.labelled_grid([images], titles, cell=192)


@user_errors
def gan_faces_compare(seed=0, remeasure=False):
    """Our digits DCGAN beside MobileStyleGAN: measured figures (HTML cards) and one output of each."""
    comparison = faces_compare.compare_generators(seed, remeasure=bool(remeasure))
    figures = comparison.figures
    sheet = faces_render.comparison_sheet(comparison.digits, comparison.face, figures["digits_side"],
                                          figures["faces_side"])
    return faces_render.comparison_html(figures), sheet


def gan_faces_remeasure(seed=0):
    return gan_faces_compare(seed, True)


@user_errors
@memoised(capacity=4)
def gan_faces_zoom(seed=0, psi=1.0):
    """One generated face with native-resolution zooms on the usual give-aways."""
    zoom = face_engine.deepfake_zoom(seed, psi)
    return faces_render.zoom_sheet(zoom.face, zoom.crops)


def direction_choices() -> list[tuple[str, int]]:
    try:
        directions = faces_directions.load_directions()
    except Exception:  # noqa: BLE001  (the view still builds; the handler reports the problem)
        return [(f"direction {i}", i) for i in range(10)]
    return [(directions.name(i), i) for i in range(directions.count)]


class SizeRadio(gr.Radio):
    """The size choice, documented in the API as the integer it is (a Radio's API type is a string)."""

    is_template = True  # drawn by gradio's own Radio frontend

    def api_info(self) -> dict:
        return {"type": "integer", "description": f"pixels: {', '.join(map(str, SIZES))}"}


def _seed(value, label, elem_id, **kwargs):
    return gr.Number(value=value, precision=0, minimum=0, maximum=MAX_SEED, label=label, elem_id=elem_id, **kwargs)


def _psi(elem_id):
    return gr.Slider(0.0, 1.0, value=0.7, step=0.05, label="Truncation ψ", elem_id=elem_id, min_width=140)


def _layout() -> dict:
    """The widgets, by name (plain components: the events take raw values, see above)."""
    w: dict = {}
    with gr.Tab("Faces", id="gan-faces", elem_id="tab-gan-faces") as w["page"]:
        gr.Markdown("## Photoreal faces from a real StyleGAN2, offline", elem_id="gan-faces-title")
        with gr.Row(equal_height=False):
            with gr.Column(scale=4, min_width=340):
                # The face first: it is the landing's result, in view at 1280x720 without scrolling.
                w["gallery"] = gr.Gallery(label="Generated faces", show_label=False, columns=2, height="auto",
                                          format="png", object_fit="contain", elem_id="gan-faces-gallery")
                with gr.Row():
                    w["seed"] = _seed(DEFAULT_SEED, "Seed", "gan-faces-seed", scale=1, min_width=80)
                    w["size"] = SizeRadio(SIZES, value=256, label="Size (px)", elem_id="gan-faces-size", scale=3,
                                         min_width=250)
                with gr.Row():
                    w["count"] = gr.Slider(1, 8, value=1, step=1, precision=0, label="Faces", elem_id="gan-faces-count",
                                           min_width=140)
                    w["psi"] = _psi("gan-faces-psi")
                w["button"] = gr.Button("Generate", variant="primary", elem_id="gan-faces-generate")
                gr.Markdown(LICENCE, elem_id="gan-faces-licence")
                with gr.Accordion("Request details (JSON, as the API returns it)", open=False, elem_classes=["nd-dev"]):
                    w["info"] = gr.JSON(show_label=False, elem_id="gan-faces-info")
            with gr.Column(scale=8, min_width=480):
                gr.Markdown("### Truncation, shown: quality vs diversity")
                w["truncation"] = gr.Image(label="Truncation row", show_label=False, interactive=False, format="png",
                                           elem_id="gan-faces-truncation")
                gr.Markdown(TRUNCATION_TEXT, elem_classes=["nd-explain"])
                with gr.Row():
                    w["truncation_seed"] = _seed(TRUNCATION_SEED, "First seed of the rows", "gan-faces-truncation-seed")
                    w["truncation_button"] = gr.Button("Show these seeds", elem_id="gan-faces-truncation-btn")

        gr.Markdown("### Z space vs W space")
        gr.Markdown(ZW_TEXT, elem_classes=["nd-explain"])
        with gr.Row():
            w["seed_a"] = _seed(0, "Seed A", "gan-faces-seed-a")
            w["seed_b"] = _seed(2, "Seed B", "gan-faces-seed-b")
            w["frames"] = gr.Slider(2, 16, value=6, step=1, precision=0, label="Frames", elem_id="gan-faces-frames")
            w["interp_psi"] = _psi("gan-faces-interp-psi")
            w["interp_button"] = gr.Button("Interpolate", variant="primary", elem_id="gan-faces-interp-btn")
        w["space_w"] = gr.Textbox(value="w", visible=False, label="space")  # an API parameter: "w" or "z"
        with gr.Row():
            for space, name in (("z", "z (input noise)"), ("w", "w (style space)")):
                with gr.Column():
                    gr.Markdown(f"#### Straight line in {name}")
                    w[f"gif_{space}"] = gr.Image(label=f"{space} path", show_label=False, type="filepath",
                                                 interactive=False, format="gif", height=280,
                                                 elem_id=f"gan-faces-gif-{space}")
                    w[f"figures_{space}"] = gr.Markdown(elem_id=f"gan-faces-figures-{space}")
        for space in ("z", "w"):
            w[f"strip_{space}"] = gr.Image(label=f"{space} frames", show_label=False, interactive=False, format="png",
                                           elem_id=f"gan-faces-strip-{space}")
        with gr.Accordion("Interpolation details (JSON)", open=False, elem_classes=["nd-dev"]):
            with gr.Row():
                for space in ("z", "w"):
                    w[f"info_{space}"] = gr.JSON(label=space, elem_id=f"gan-faces-interp-info-{space}")

        gr.Markdown("### Semantic directions")
        gr.Markdown(DIRECTIONS_TEXT, elem_classes=["nd-explain"])
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=300):
                w["dir_seed"] = _seed(1, "Seed", "gan-faces-dir-seed")
                w["direction"] = gr.Dropdown(direction_choices(), value=0, label="Direction", elem_id="gan-faces-direction")
                w["amount"] = gr.Slider(-4.0, 4.0, value=2.0, step=0.25, label="Move along it (standard deviations)",
                                        elem_id="gan-faces-amount")
                w["dir_psi"] = _psi("gan-faces-dir-psi")
                w["dir_text"] = gr.Markdown(elem_id="gan-faces-dir-text")
                w["range_button"] = gr.Button("Redraw −3σ … +3σ", elem_id="gan-faces-dir-range-btn")
                with gr.Accordion("Edit details (JSON)", open=False, elem_classes=["nd-dev"]):
                    w["dir_info"] = gr.JSON(show_label=False, elem_id="gan-faces-dir-info")
            with gr.Column(scale=3):
                w["dir_image"] = gr.Image(label="Edited face", show_label=False, interactive=False, format="png",
                                          height=420, elem_id="gan-faces-dir-image")
        w["dir_strip"] = gr.Image(label="Along the direction", show_label=False, interactive=False, format="png",
                                  elem_id="gan-faces-dir-strip")

        gr.Markdown("### How far GANs came")
        gr.Markdown("Both generators below run on this machine's CPU right now; every figure is measured here "
                    "(once per server start, or again when you press the button).", elem_classes=["nd-explain"])
        w["compare_html"] = gr.HTML(elem_id="gan-faces-compare-figures")
        w["compare_image"] = gr.Image(label="Digits DCGAN vs MobileStyleGAN", show_label=False, interactive=False,
                                      format="png", height=380, elem_id="gan-faces-compare-image")
        w["compare_seed"] = gr.Number(value=DEFAULT_SEED, visible=False, label="seed")  # the handler's seed parameter
        w["remeasure"] = gr.Button("Measure again", elem_id="gan-faces-compare-btn")

        gr.Markdown("### Deepfakes")
        gr.Markdown(DEEPFAKE_TEXT, elem_classes=["nd-explain"])
        with gr.Row():
            w["zoom_seed"] = _seed(3, "Seed (ψ = 1, the untruncated model)", "gan-faces-zoom-seed")
            w["zoom_button"] = gr.Button("Zoom in", elem_id="gan-faces-zoom-btn")
        w["zoom_image"] = gr.Image(label="Zoom", show_label=False, interactive=False, format="png",
                                   elem_id="gan-faces-zoom")
    return w


def _wire(w: dict) -> ViewHandles:
    raw = dict(preprocess=False)
    generate = dict(fn=gan_faces, inputs=[w["seed"], w["count"], w["psi"], w["size"]], outputs=[w["gallery"], w["info"]],
                    time_limit=STANDARD_S, **raw)
    truncation = dict(fn=gan_faces_truncation, inputs=[w["truncation_seed"]], outputs=[w["truncation"]],
                      time_limit=LONG_S, **raw)
    interp_inputs = [w["seed_a"], w["seed_b"], w["frames"]]
    interp_w = dict(fn=gan_faces_interpolate, inputs=[*interp_inputs, w["space_w"], w["interp_psi"]],
                    outputs=[w["gif_w"], w["strip_w"], w["figures_w"], w["info_w"]], time_limit=LONG_S, **raw)
    interp_z = dict(fn=gan_faces_interpolate_z, inputs=[*interp_inputs, w["interp_psi"]],
                    outputs=[w["gif_z"], w["strip_z"], w["figures_z"], w["info_z"]], time_limit=LONG_S, **raw)
    direction = dict(fn=gan_faces_direction, inputs=[w["dir_seed"], w["direction"], w["amount"], w["dir_psi"]],
                     outputs=[w["dir_image"], w["dir_text"], w["dir_info"]], time_limit=QUICK_S, **raw)
    direction_strip = dict(fn=gan_faces_direction_strip, inputs=[w["dir_seed"], w["direction"], w["dir_psi"]],
                           outputs=[w["dir_strip"]], time_limit=STANDARD_S, **raw)
    zoom = dict(fn=gan_faces_zoom, inputs=[w["zoom_seed"]], outputs=[w["zoom_image"]], time_limit=QUICK_S, **raw)
    compare = dict(fn=gan_faces_compare, inputs=[w["compare_seed"]], outputs=[w["compare_html"], w["compare_image"]],
                   time_limit=STANDARD_S, **raw)

    w["button"].click(**generate, api_name="gan_faces")
    w["truncation_button"].click(**truncation, api_name="gan_faces_truncation", api_visibility="private")
    w["interp_button"].click(**interp_w, api_name="gan_faces_interpolate")
    w["interp_button"].click(**interp_z, api_name="gan_faces_interpolate_z", api_visibility="private")
    w["amount"].release(**direction, api_name="gan_faces_direction", trigger_mode="always_last")
    w["range_button"].click(**direction_strip, api_name="gan_faces_direction_strip", api_visibility="private")
    for control in (w["dir_seed"], w["direction"], w["dir_psi"]):  # a new face or direction: the face, then its range
        control.change(**direction, api_visibility="private", trigger_mode="always_last").then(
            **direction_strip, api_visibility="private")
    w["remeasure"].click(gan_faces_remeasure, inputs=[w["compare_seed"]], outputs=[w["compare_html"], w["compare_image"]],
                         api_visibility="private", time_limit=STANDARD_S, **raw)
    w["zoom_button"].click(**zoom, api_name="gan_faces_zoom", api_visibility="private")

    # A real result in every section when the view opens: one after another (they share two CPU cores), the
    # first face first. Repeated visits come from the engine's caches.
    chain = None
    for event in reversed((generate, truncation, interp_w, interp_z, direction, direction_strip, zoom, compare)):
        chain = opening(event, then=(chain,) if chain else ())
    return ViewHandles(
        tab="gan", sub="faces", page=w["page"], result=w["gallery"], on_open=(chain,),
        link=(LinkParam("seed", w["seed"]), LinkParam("count", w["count"]), LinkParam("psi", w["psi"]),
              LinkParam("size", w["size"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(_layout())
