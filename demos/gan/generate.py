"""GAN > Generate: digits from the embedded class-conditional DCGAN (or a Hub generator in its format)."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path

import gradio as gr
from gradio import utils as gradio_utils

from demos.common import disk
from demos.common.cards import result_card, show_card
from demos.common.contract import LinkParam, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import STANDARD_S
from demos.gan.shared import DIGIT_CHOICES, MAX_SEED, card, opening
from engine.core.imports import IMPORT_LOCK
from engine.gan import render

HINT = "Press Generate to make digits."
HUB_FORMAT = """
Any Hugging Face Hub repo in NeuroDeck's format loads here (the app must be online):
`generator/config.json` + `generator/diffusion_pytorch_model.safetensors`, written by
`ConditionalGenerator.save_pretrained("<repo>/generator")` from `engine/gan/models.py`
(a diffusers `ModelMixin`; optional `discriminator/` likewise). Server folders are refused unless the
server was started with `NEURODECK_ALLOW_LOCAL_MODELS=1`.
"""

gan_generate_card = card("generate_summary", HINT)


@user_errors
def gan_generate(seed, digit="random", count=16, psi=1.0, model_id="",
                 progress=gr.Progress(track_tqdm=True)):  # a Hub id's first download shows its bar
    """Generate count digits (0 to 9, or random classes) from seed at truncation psi; returns the gallery and a
    summary (class, seed, psi, model). model_id: empty for the embedded model, or a Hub id in NeuroDeck's format."""
    with IMPORT_LOCK:
        from engine.gan import inference
    model_id = "" if model_id is None else str(model_id)  # raw API value (preprocess=False)
    generator = inference.load_generator(model_id)
    result = inference.generate(generator, seed, digit, count, psi)
    info = result.info()
    info["model"] = model_id.strip() or "embedded (gan-digits)"
    key = json.dumps([info["model"], info["seed"], info["class"], info["psi"], info["count"]])
    files = gallery_files([render.digit_image(image) for image in result.images], key)
    return [(path, f"{label}") for path, label in zip(files, result.classes)], info


_GALLERY_LOCKS: dict[str, threading.Lock] = {}
_GALLERY_LOCKS_GUARD = threading.Lock()


def gallery_files(images, key: str) -> list[str]:
    """Write PNGs straight into gradio's cache folder, named by request, and return their paths.

    Handing PIL images to gr.Gallery makes it encode and hash every image on a thread pool and
    copy it into the cache; files already inside the cache are served as they are. Outputs are
    deterministic per request, so an existing file is reused.
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
            if not disk.reuse(path):  # touched when reused: the cache sweeps age files from their last hand-out
                handle = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.stem}.", suffix=".tmp", delete=False)
                with handle:
                    image.save(handle, format="PNG", compress_level=1)
                os.replace(handle.name, path)
            paths.append(str(path))
    return paths


def _layout():
    with gr.Tab("Generate", id="gan-generate", elem_id="tab-gan-generate") as page:
        with gr.Row():
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed", elem_id="gan-seed")
            digit = gr.Dropdown(DIGIT_CHOICES, value="random", label="Digit class", elem_id="gan-digit")
            count = gr.Slider(1, 64, value=16, step=1, precision=0, label="Count", elem_id="gan-count")
            psi = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Truncation ψ", elem_id="gan-psi")
            button = gr.Button("Generate", variant="primary", elem_id="gan-generate-btn", scale=0, min_width=140)
        gallery = gr.Gallery(label="Generated digits (caption = requested class)", show_label=False, columns=8,
                             height="auto", elem_id="gan-gallery", format="png")
        result = result_card("gan-generate-card", HINT)
        with gr.Accordion("Details (JSON)", open=False, elem_id="gan-generate-details", elem_classes=["nd-dev"]):
            info = gr.JSON(label="What was generated", elem_id="gan-generate-info")
        with gr.Accordion("Bring your own generator (Hub format)", open=False, elem_id="gan-hub-format",
                          elem_classes=["nd-dev"]):
            model_id = gr.Textbox(value="", label="Generator: empty = the embedded model, or a Hub id in NeuroDeck's "
                                  "format (needs the app online)", placeholder="embedded", elem_id="gan-model-id")
            gr.Markdown(HUB_FORMAT, elem_classes=["nd-explain"])
    return page, seed, digit, count, psi, model_id, button, gallery, result, info


def _wire(page, seed, digit, count, psi, model_id, button, gallery, result, info) -> ViewHandles:
    show_card(info, result, gan_generate_card)
    event = dict(fn=gan_generate, inputs=[seed, digit, count, psi, model_id], outputs=[gallery, info],
                 time_limit=STANDARD_S, preprocess=False)  # raw values: the engine checks them
    button.click(**event, api_name="gan_generate")
    return ViewHandles(
        tab="gan", sub="generate", page=page, result=gallery,
        on_open=(opening(event),),
        link=(LinkParam("seed", seed), LinkParam("digit", digit), LinkParam("count", count), LinkParam("psi", psi)),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    return _wire(*_layout())
