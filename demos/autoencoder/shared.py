"""What the Autoencoder views share (not a view): reading raw uploads, display images, result cards.

Image events use ``preprocess=False``, so every upload (corrupt, CMYK, 16-bit, huge) reaches
``engine.core.validation.load_image``, which refuses bad files with a clear message instead of a stack trace.
"""

from __future__ import annotations

import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr

from demos.common.cards import card_formatter
from demos.common.outputs import OldFileSweeper
from engine.autoencoder import render
from engine.core.settings import LIMITS
from engine.core.validation import load_image

OUTPUT_DIR = Path(tempfile.gettempdir()) / "neurodeck_autoencoder_outputs"
OUTPUT_MAX_AGE_S = 600  # our display images older than this are deleted (gradio has copied them into its cache)
_ENCODER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ae-encode")  # PIL's encoders release the GIL
_sweeper = OldFileSweeper(OUTPUT_DIR, "*.jpg", OUTPUT_MAX_AGE_S)


def _jpeg(image) -> str:
    """Save a PIL output as a JPEG (quality 90, no chroma subsampling) and return its path.

    Display only: every PSNR / SSIM / score is computed on the exact float arrays before encoding. Gradio would
    re-encode a noisy photo as a slow, large PNG; this JPEG is several times faster to write and to download.
    """
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    _sweeper.sweep()
    path = OUTPUT_DIR / f"{uuid.uuid4().hex}.jpg"
    image.convert("RGB").save(path, format="JPEG", quality=90, subsampling=0)
    return str(path)


def display_images(images) -> list[str]:
    """PIL images -> JPEG paths, encoded in parallel."""
    return list(_ENCODER.map(_jpeg, images))


def load(image):
    """A raw image payload (path, file dict, PIL) as an RGB PIL image, within the photo pixel limit."""
    return load_image(image, max_pixels=LIMITS.photo_image_pixels)


def number(value, name: str, default: float) -> float:
    """A raw API value as a finite number (numbers and numeric strings; ``default`` when empty). The engine
    checks the range, so its message names the range that applies (e.g. per noise kind)."""
    if value is None or value == "":
        return default
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"The {name} must be a number; got {value!r}.") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError(f"The {name} must be a finite number; got {value!r}.")
    return result


def choice(value, name: str, options, default: str) -> str:
    """``value`` if it is one of ``options`` (``default`` when empty); ``ValueError`` naming the options otherwise."""
    value = default if value in (None, "") else value
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}; got {value!r}.")
    return value


def card(summary: str, hint: str):
    """A card formatter through ``engine.autoencoder.render.<summary>`` (e.g. ``denoise_summary``)."""
    return card_formatter(getattr(render, summary), hint, f"ae_{summary}_card")


def output_image(label: str, elem_id: str, **kwargs) -> gr.Image:
    """An output image under its own caption (a label badge would cover the picture's top-left corner)."""
    gr.Markdown(f"**{label}**", elem_classes=["nd-caption"])
    return gr.Image(label=label, show_label=False, elem_id=elem_id, format="png", buttons=[], interactive=False, **kwargs)
