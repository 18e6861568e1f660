"""GAN tab, "Faces" sub-tab: a real, distilled StyleGAN2 (MobileStyleGAN, FFHQ) drawing photoreal faces.

Sections: Generate (+ the truncation row beside it), Z space vs W space, Semantic directions,
How far GANs came, Deepfakes. Handlers are thin wrappers over :mod:`engine.gan.faces` (model,
maths) and :mod:`engine.gan.faces_render` (drawing); engine modules load lazily, so building the
UI imports neither OpenVINO nor torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import gradio as gr
from gradio import utils as gradio_utils

from demos.common.limits import LONG_S, QUICK_S, STANDARD_S
from demos.common.legacy import engine_module
from demos.common.errors import user_errors

SIZES = [256, 512, 1024]
DEFAULT_SEED = 0
TRUNCATION_SEED = 4
DIRECTION_AMOUNTS = (-3.0, -1.5, 0.0, 1.5, 3.0)

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
    "styles w (GANSpace). The names are what we saw them change when we looked at the faces; they are "
    "entangled (age moves along several)."
)
DEEPFAKE_TEXT = (
    "**Deepfakes, honestly.** Faces like these have been used for fake profiles, scams and disinformation, and "
    "the method behind them (StyleGAN) is public. Detection tools and trained eyes look for the artefacts a "
    "generator still leaves at full resolution: smeared or asymmetric **backgrounds**, mismatched or melting "
    "**earrings** and hair edges, and **teeth** that blur together, which the zoom below shows at native 1024² pixels."
)


# The events below use ``preprocess=False``: each number reaches the handler unchecked and the engine
# validates it, saying clearly what is wrong (gradio's own range checks name neither the field nor the fix,
# and reject a NaN sent as the string "nan" with a preprocessing traceback). Plain components: subclasses
# would need a frontend of their own (custom components 404 and stop the page's load events).
EngineSlider, EngineNumber, EngineRadio = gr.Slider, gr.Number, gr.Radio


def _faces():
    return engine_module("gan.faces")


def _render():
    return engine_module("gan.faces_render")


def _cache_path(key: str, suffix: str) -> Path:
    folder = Path(gradio_utils.get_upload_folder()) / "neurodeck_faces"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / (hashlib.sha1(key.encode()).hexdigest()[:24] + suffix)


def _publish(path: Path, write) -> str:
    """Write a file once, atomically: staged under a unique name, then renamed into place."""
    if not path.exists():
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
    and copy them; a 1024² face took ~0.4 s that way. Files already in the cache are served as they are.
    """
    return [_publish(_cache_path(key, ".png"), lambda handle, im=image: im.save(handle, format="PNG", compress_level=1))
            for image, key in zip(images, keys)]


def _progress_callback(progress, enabled: bool = True):
    if not enabled or progress is None:
        return None
    return lambda done, total, what: progress((done, total), desc=what)


# ----------------------------------------------------------------------------------------- handlers
@user_errors
def gan_faces(seed, count=1, psi=0.7, size=256, progress=gr.Progress()):
    """``count`` faces from ``seed`` (seeds seed, seed+1, ...); returns (gallery, info dict)."""
    faces = _faces()
    many = faces.check_count(count) > 1
    result = faces.generate_faces(seed, count, psi, size, on_progress=_progress_callback(progress, many))
    keys = [json.dumps(["face", s, result.psi, result.size]) for s in result.seeds]
    gallery = [(path, f"seed {s}") for path, s in zip(_gallery_files(result.images, keys), result.seeds)]
    return gallery, result.payload()


@user_errors
def gan_faces_truncation(seed=TRUNCATION_SEED, progress=gr.Progress()):
    """The same three seeds at ψ = 0, 0.5, 0.7, 1.0; returns the labelled sheet."""
    faces = _faces()
    grid = faces.truncation_grid(seed, rows=3, on_progress=_progress_callback(progress))
    first = faces.check_seed(seed)
    return _render().truncation_sheet(grid, faces.TRUNCATION_PSIS, [first + i for i in range(3)])


def _interpolate(seed_a, seed_b, frames, space, psi, progress):
    faces, render = _faces(), _render()
    result = faces.interpolate_faces(seed_a, seed_b, frames, space, psi, size=256,
                                     on_progress=_progress_callback(progress))
    info = result.payload()
    key = json.dumps(["interp", info["space"], info["seed_a"], info["seed_b"], info["frames"], info["psi"]])
    gif = _cache_file(key, ".gif", render.frames_to_gif(result.frames))
    name = "z (input noise)" if result.space == "z" else "w (style space)"
    strip = render.strip(result.frames, f"straight line in {name}", cell=128)
    figures = (f"**Path through W:** {info['w_path_detour']:.2f}× the straight line  \n"
               f"**Largest step ÷ average step** (pixels): {info['step_unevenness']:.2f} (1.00 = evenly paced)")
    return gif, strip, figures, info


@user_errors
def gan_faces_interpolate(seed_a=0, seed_b=1, frames=6, space="w", psi=0.7, progress=gr.Progress()):
    """Faces on the straight line between two seeds in W or Z; returns (GIF path, strip, figures, info)."""
    return _interpolate(seed_a, seed_b, frames, space, psi, progress)


@user_errors
def gan_faces_interpolate_z(seed_a=0, seed_b=1, frames=6, psi=0.7, progress=gr.Progress()):
    """The Z-space column of the side-by-side view."""
    return _interpolate(seed_a, seed_b, frames, "z", psi, progress)


@user_errors
def gan_faces_direction(seed=0, direction=0, amount=0.0, psi=0.7):
    """Face ``seed`` moved ``amount`` standard deviations along principal direction ``direction``."""
    edit = _faces().edit_direction(seed, direction, amount, psi, size=512)
    text = (f"**{edit.name}** at **{edit.amount:+.1f} σ** · this direction holds "
            f"**{edit.explained:.1%}** of the variance of w")
    return edit.image, text, edit.payload()


@user_errors
def gan_faces_direction_strip(seed=0, direction=0, psi=0.7, progress=gr.Progress()):
    """The face at -3, -1.5, 0, +1.5, +3 σ along one direction, as one labelled strip."""
    faces = _faces()
    images = faces.direction_strip(seed, direction, DIRECTION_AMOUNTS, psi, 192, on_progress=_progress_callback(progress))
    titles = [f"{a:+g} σ" for a in DIRECTION_AMOUNTS]
    return _render().labelled_grid([images], titles, cell=192)


@user_errors
def gan_faces_compare(seed=0, remeasure=False):
    """Our digits DCGAN beside MobileStyleGAN: measured figures (HTML cards) and one output of each."""
    engine_module("gan.inference").MAX_COUNT  # import torch + diffusers under the shared import lock first
    comparison = _faces().compare_generators(seed, remeasure=bool(remeasure))
    render, figures = _render(), comparison.figures
    sheet = render.comparison_sheet(comparison.digits, comparison.face, figures["digits_side"], figures["faces_side"])
    return render.comparison_html(figures), sheet


def gan_faces_remeasure(seed=0):
    return gan_faces_compare(seed, True)


@user_errors
def gan_faces_zoom(seed=0, psi=1.0):
    """One generated face with native-resolution zooms on the usual give-aways."""
    zoom = _faces().deepfake_zoom(seed, psi)
    return _render().zoom_sheet(zoom.face, zoom.crops)


def direction_choices() -> list[tuple[str, int]]:
    try:
        directions = _faces().load_directions()
    except Exception:  # noqa: BLE001  (the tab still builds; the handler reports the problem)
        return [(f"{i}: PC{i}", i) for i in range(10)]
    return [(directions.name(i), i) for i in range(directions.count)]


# ----------------------------------------------------------------------------------------- layout
def build(demo: gr.Blocks) -> None:
    """Lay out the Faces sub-tab's content (call inside a ``gr.Tab``)."""
    gr.Markdown("## Photoreal faces from a real StyleGAN2, offline", elem_id="gan-faces-title")
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=340):
            # The face first: it is the landing's result, in view at 1280x720 without scrolling.
            gallery = gr.Gallery(label="Generated faces", show_label=False, columns=2, height="auto", format="png",
                                 object_fit="contain", elem_id="gan-faces-gallery")  # one face spans the width
            with gr.Row():
                seed = EngineNumber(value=DEFAULT_SEED, precision=0, label="Seed", elem_id="gan-faces-seed",
                                    scale=1, min_width=80)
                size = EngineRadio(SIZES, value=256, label="Size (px)", elem_id="gan-faces-size", scale=3,
                                   min_width=250)
            with gr.Row():
                count = EngineSlider(1, 8, value=1, step=1, label="Faces", elem_id="gan-faces-count", min_width=140)
                psi = EngineSlider(0.0, 1.0, value=0.7, step=0.05, label="Truncation ψ", elem_id="gan-faces-psi",
                                   min_width=140)
            button = gr.Button("Generate", variant="primary", elem_id="gan-faces-generate")
            gr.Markdown(LICENCE, elem_id="gan-faces-licence")
            with gr.Accordion("Request details (JSON, as the API returns it)", open=False):
                info = gr.JSON(show_label=False, elem_id="gan-faces-info")
        with gr.Column(scale=8, min_width=480):
            gr.Markdown("### Truncation, shown: quality vs diversity")
            truncation = gr.Image(label="Truncation row", show_label=False, interactive=False, format="png",
                                  elem_id="gan-faces-truncation")
            gr.Markdown(TRUNCATION_TEXT)
            with gr.Row():
                truncation_seed = EngineNumber(value=TRUNCATION_SEED, precision=0, label="First seed of the rows",
                                            elem_id="gan-faces-truncation-seed")
                truncation_button = gr.Button("Show these seeds", elem_id="gan-faces-truncation-btn")
    generate_event = dict(preprocess=False, fn=gan_faces, inputs=[seed, count, psi, size], outputs=[gallery, info], time_limit=STANDARD_S)
    button.click(**generate_event, api_name="gan_faces")
    truncation_event = dict(preprocess=False, fn=gan_faces_truncation, inputs=[truncation_seed], outputs=[truncation], time_limit=LONG_S)
    truncation_button.click(**truncation_event, api_name="gan_faces_truncation")

    gr.Markdown("### Z space vs W space")
    gr.Markdown(ZW_TEXT)
    with gr.Row():
        seed_a = EngineNumber(value=0, precision=0, label="Seed A", elem_id="gan-faces-seed-a")
        seed_b = EngineNumber(value=2, precision=0, label="Seed B", elem_id="gan-faces-seed-b")
        frames = EngineSlider(2, 16, value=6, step=1, label="Frames", elem_id="gan-faces-frames")
        interp_psi = EngineSlider(0.0, 1.0, value=0.7, step=0.05, label="Truncation ψ", elem_id="gan-faces-interp-psi")
        interp_button = gr.Button("Interpolate", variant="primary", elem_id="gan-faces-interp-btn")
    space_w = gr.Textbox(value="w", visible=False, label="space")  # an API parameter: "w" or "z"
    with gr.Row():
        with gr.Column():
            gr.Markdown("#### Straight line in z (input noise)")
            gif_z = gr.Image(label="z path", show_label=False, type="filepath", interactive=False, format="gif",
                             height=280, elem_id="gan-faces-gif-z")
            figures_z = gr.Markdown(elem_id="gan-faces-figures-z")
        with gr.Column():
            gr.Markdown("#### Straight line in w (style space)")
            gif_w = gr.Image(label="w path", show_label=False, type="filepath", interactive=False, format="gif",
                             height=280, elem_id="gan-faces-gif-w")
            figures_w = gr.Markdown(elem_id="gan-faces-figures-w")
    strip_z = gr.Image(label="z frames", show_label=False, interactive=False, format="png", elem_id="gan-faces-strip-z")
    strip_w = gr.Image(label="w frames", show_label=False, interactive=False, format="png", elem_id="gan-faces-strip-w")
    with gr.Accordion("Interpolation details (JSON)", open=False):
        with gr.Row():
            info_z = gr.JSON(label="z", elem_id="gan-faces-interp-info-z")
            info_w = gr.JSON(label="w", elem_id="gan-faces-interp-info-w")
    interp_w = dict(preprocess=False, fn=gan_faces_interpolate, inputs=[seed_a, seed_b, frames, space_w, interp_psi],
                    outputs=[gif_w, strip_w, figures_w, info_w], time_limit=LONG_S)
    interp_z = dict(preprocess=False, fn=gan_faces_interpolate_z, inputs=[seed_a, seed_b, frames, interp_psi],
                    outputs=[gif_z, strip_z, figures_z, info_z], time_limit=LONG_S)
    interp_button.click(**interp_w, api_name="gan_faces_interpolate")
    interp_button.click(**interp_z, api_name="gan_faces_interpolate_z", api_visibility="undocumented")

    gr.Markdown("### Semantic directions")
    gr.Markdown(DIRECTIONS_TEXT)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            dir_seed = EngineNumber(value=1, precision=0, label="Seed", elem_id="gan-faces-dir-seed")
            direction = gr.Dropdown(direction_choices(), value=0, label="Direction", elem_id="gan-faces-direction")
            amount = EngineSlider(-4.0, 4.0, value=2.0, step=0.25, label="Move along it (standard deviations)",
                               elem_id="gan-faces-amount")
            dir_psi = EngineSlider(0.0, 1.0, value=0.7, step=0.05, label="Truncation ψ", elem_id="gan-faces-dir-psi")
            dir_text = gr.Markdown(elem_id="gan-faces-dir-text")
            range_button = gr.Button("Redraw −3σ … +3σ", elem_id="gan-faces-dir-range-btn")
            with gr.Accordion("Edit details (JSON)", open=False):
                dir_info = gr.JSON(show_label=False, elem_id="gan-faces-dir-info")
        with gr.Column(scale=3):
            dir_image = gr.Image(label="Edited face", show_label=False, interactive=False, format="png", height=420,
                                 elem_id="gan-faces-dir-image")
    dir_strip = gr.Image(label="Along the direction", show_label=False, interactive=False, format="png",
                         elem_id="gan-faces-dir-strip")
    dir_inputs = [dir_seed, direction, amount, dir_psi]
    dir_event = dict(preprocess=False, fn=gan_faces_direction, inputs=dir_inputs, outputs=[dir_image, dir_text, dir_info], time_limit=QUICK_S)
    amount.release(**dir_event, api_name="gan_faces_direction", trigger_mode="always_last")
    dir_strip_event = dict(preprocess=False, fn=gan_faces_direction_strip, inputs=[dir_seed, direction, dir_psi],
                           outputs=[dir_strip], time_limit=STANDARD_S)
    range_button.click(**dir_strip_event, api_name="gan_faces_direction_strip")
    for control in (dir_seed, direction, dir_psi):  # a new face or direction: redraw the face, then its range
        control.change(**dir_event, api_visibility="private", trigger_mode="always_last").then(
            **dir_strip_event, api_visibility="private")

    gr.Markdown("### How far GANs came")
    gr.Markdown("Both generators below run on this machine's CPU right now; every figure is measured here "
                "(once per server start, or again when you press the button).")
    compare_html = gr.HTML(elem_id="gan-faces-compare-figures")
    compare_image = gr.Image(label="Digits DCGAN vs MobileStyleGAN", show_label=False, interactive=False,
                             format="png", height=380, elem_id="gan-faces-compare-image")
    compare_seed = EngineNumber(value=DEFAULT_SEED, visible=False, label="seed")  # the API's seed parameter
    remeasure = gr.Button("Measure again", elem_id="gan-faces-compare-btn")
    remeasure.click(gan_faces_remeasure, preprocess=False, inputs=[compare_seed], outputs=[compare_html, compare_image],
                    api_visibility="private", time_limit=STANDARD_S)

    gr.Markdown("### Deepfakes")
    gr.Markdown(DEEPFAKE_TEXT)
    with gr.Row():
        zoom_seed = EngineNumber(value=3, precision=0, label="Seed (ψ = 1, the untruncated model)",
                              elem_id="gan-faces-zoom-seed")
        zoom_button = gr.Button("Zoom in", elem_id="gan-faces-zoom-btn")
    zoom_image = gr.Image(label="Zoom", show_label=False, interactive=False, format="png", elem_id="gan-faces-zoom")
    zoom_event = dict(preprocess=False, fn=gan_faces_zoom, inputs=[zoom_seed], outputs=[zoom_image], time_limit=QUICK_S)
    zoom_button.click(**zoom_event, api_name="gan_faces_zoom")
    compare_event = dict(preprocess=False, fn=gan_faces_compare, inputs=[compare_seed], outputs=[compare_html, compare_image],
                         time_limit=STANDARD_S)

    # A real result in every section when the page opens: one after another (they share two CPU cores),
    # the first face first. Repeated visits come from the engine's caches.
    (demo.load(**generate_event, api_name="gan_faces_on_open", api_visibility="private")
     .then(**truncation_event, api_visibility="private")
     .then(**interp_w, api_visibility="private")
     .then(**interp_z, api_visibility="private")
     .then(**dir_event, api_visibility="private")
     .then(**dir_strip_event, api_visibility="private")
     .then(**zoom_event, api_visibility="private")
     .then(**compare_event, api_name="gan_faces_compare"))
