"""Input validation shared by every tab: text, images and upload sizes.

All failures raise ``ValueError`` with a message that says what is wrong and
what to do; the demos turn it into ``gr.Error``.
"""

from __future__ import annotations

import io
import os
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from engine.core.settings import LIMITS

# Defaults for load_image / clean_text; callers with other needs pass their own cap (see settings.Limits).
# PIL's process-wide Image.MAX_IMAGE_PIXELS is left alone: the per-call header check below is stricter.
MAX_UPLOAD_BYTES = LIMITS.upload_bytes
MAX_IMAGE_PIXELS = LIMITS.image_pixels
MAX_TEXT_CHARS = LIMITS.text_chars


@dataclass(frozen=True)
class CleanText:
    text: str  # the text that will be used, possibly cut
    original_chars: int  # length before cutting
    was_cut: bool  # True when text was shortened to the character cap


def clean_text(text: str | None, *, field: str = "text", max_chars: int = MAX_TEXT_CHARS) -> CleanText:
    """Normalise user text (NFC) and cap its length.

    Raises ``ValueError`` for missing or whitespace-only text. Invisible characters
    (zero-width space/joiners, BOM) do not count as content.
    """
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValueError(f"The {field} must be a string, got {type(text).__name__}.")
    normalised = unicodedata.normalize("NFC", text)
    visible = "".join(ch for ch in normalised if unicodedata.category(ch) not in {"Cf", "Cc", "Zs", "Zl", "Zp"})
    if not visible.strip():
        raise ValueError(f"The {field} is empty: type a sentence (e.g. 'The cat sat on the mat.').")
    was_cut = len(normalised) > max_chars
    return CleanText(text=normalised[:max_chars], original_chars=len(normalised), was_cut=was_cut)


QUOTE_CHARS = 80  # an error quotes at most this much of what the user sent (a 10 MB seed is not echoed back)
# Not text: C0/C1 controls other than tab and line breaks, and the bidi overrides/isolates that reorder what is shown.
_NOT_TEXT = {chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(c) not in "\t\n\r"} | {
    chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def quote(value, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` for an error message, cut to ``limit`` characters with its full length said."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} characters" if isinstance(value, (str, bytes)) else f"{len(text):,} characters as text"
    return f"{text[:limit]}… ({size})"


def refuse_control_characters(text: str, field: str = "text") -> str:
    """``text`` unchanged, or ``ValueError`` naming the control characters in it (terminal escapes, NUL, bidi
    overrides): they are not text, and silently dropping them would answer a different question."""
    found = sorted({ch for ch in text if ch in _NOT_TEXT})
    if found:
        names = ", ".join(f"U+{ord(ch):04X}" for ch in found[:6]) + (" …" if len(found) > 6 else "")
        raise ValueError(f"The {field} contains control characters that are not text ({names}); remove them and "
                         "type plain text.")
    return text


def check_number(value, name: str, low: float, high: float, *, whole: bool = False, default=None) -> float | int:
    """A number from ``low`` to ``high`` (``whole``: an integer), from a number or a numeric string.

    Raw API values arrive here (``""``, ``"abc"``, NaN, 1e30, 2**70); ``None`` or ``""`` give ``default``
    when one is set. Raises ``ValueError`` that names the field and the accepted range.
    """
    if default is not None and (value is None or (isinstance(value, str) and not value.strip())):
        return default
    kind = "a whole number" if whole else "a number"
    message = f"The {name} must be {kind} from {low:,} to {high:,}; got {quote(value)}."
    if isinstance(value, bool):
        raise ValueError(message)
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(message) from None
    if not np.isfinite(number) or not low <= number <= high or (whole and number != int(number)):
        raise ValueError(message)
    return int(number) if whole else number


def check_seed(seed, name: str = "seed") -> int:
    """A seed: a whole number from 0 to ``LIMITS.seed_max``."""
    return int(check_number(seed, name, 0, LIMITS.seed_max, whole=True))


def _open_source(source) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, np.ndarray):
        array = source
        if array.dtype != np.uint8:
            array = np.clip(array, 0, 255).astype(np.uint8) if array.max() > 1 else (np.clip(array, 0, 1) * 255).astype(np.uint8)
        return Image.fromarray(array)
    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_UPLOAD_BYTES:
            raise ValueError(f"The image is larger than {MAX_UPLOAD_BYTES // 2**20} MB; upload a smaller file.")
        return Image.open(io.BytesIO(source))
    if isinstance(source, dict):  # a gradio FileData / ImageData payload
        source = source.get("path") or source.get("name")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise ValueError("The uploaded image could not be found on the server; upload it again.")
        if path.stat().st_size > MAX_UPLOAD_BYTES:
            raise ValueError(f"The image is larger than {MAX_UPLOAD_BYTES // 2**20} MB; upload a smaller file.")
        return Image.open(path)
    raise ValueError("No image given: upload an image (PNG, JPEG, WebP, BMP, GIF or TIFF) or draw one.")


def load_image(source, *, max_pixels: int = MAX_IMAGE_PIXELS, min_side: int = 1,
               background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Open and decode an image safely, returning an RGB ``PIL.Image``.

    ``source`` may be a path, bytes, a PIL image, a numpy array (HxW or HxWxC),
    or a gradio file payload dict. The pixel count is checked from the header,
    *before* decoding, so a 30000x30000 PNG is refused without allocating it.
    Alpha is composited onto ``background`` (white; black for a white-ink-on-black sketchpad, whose
    cleared canvas is transparent); 16-bit, palette, CMYK and grayscale images are converted to 8-bit
    RGB; EXIF rotation is applied.
    """
    if source is None:
        raise ValueError("No image given: upload an image (PNG, JPEG, WebP, BMP, GIF or TIFF) or draw one.")
    try:
        with warnings.catch_warnings():  # PIL's DecompressionBombWarning: our header check below decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = _open_source(source)
    except UnidentifiedImageError:
        raise ValueError("That file is not an image NeuroDeck can read; upload a PNG, JPEG, WebP, BMP, GIF or TIFF.") from None
    except Image.DecompressionBombError:
        raise ValueError(f"The image has too many pixels (the limit is {max_pixels:,}); resize it and try again.") from None
    except (OSError, SyntaxError) as error:  # e.g. a PNG signature followed by junk: "Truncated File Read"
        raise ValueError(f"The image file is corrupt or truncated ({error}); upload another file.") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ValueError(
            f"The image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,}. Resize it and try again."
        )
    check_image_side(width, height, min_side)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image.load()
            image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"The image file is corrupt or truncated ({error}); upload another file.") from None
    return to_rgb(image, background)


def check_image_side(width: int, height: int, min_side: int = LIMITS.photo_min_side) -> None:
    """Refuse a picture narrower or shorter than ``min_side`` (a 1x1 or 20000x1 image is no photo)."""
    if min(width, height) < min_side:
        raise ValueError(f"The image is {width}x{height}; it must be at least {min_side} pixels on each side (a "
                         "smaller picture holds too little for the model). Upload a larger picture.")


def load_photo(source, *, max_pixels: int = LIMITS.photo_image_pixels, min_side: int = LIMITS.photo_min_side) -> Image.Image:
    """A picture for an image classifier (ImageNet classify and attribution, Transfer predict): one rule for all of
    them, at most ``LIMITS.photo_image_pixels`` and at least ``LIMITS.photo_min_side`` on each side, both checked
    from the header before decoding, with the same messages."""
    return load_image(source, max_pixels=max_pixels, min_side=min_side)


def to_rgb(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB, compositing transparency onto ``background`` (white)."""
    if image.mode in {"I;16", "I;16B", "I;16L", "I"}:
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if array.max() > 255 else 255.0
        image = Image.fromarray((np.clip(array / top, 0, 1) * 255).round().astype(np.uint8), mode="L")
    elif image.mode == "F":
        array = np.asarray(image, dtype=np.float64)
        span = float(array.max() - array.min()) or 1.0
        image = Image.fromarray(((array - array.min()) / span * 255).round().astype(np.uint8), mode="L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in {"RGBA", "LA", "PA"}:
        rgba = image.convert("RGBA")
        under = Image.new("RGBA", rgba.size, (*background, 255))
        return Image.alpha_composite(under, rgba).convert("RGB")
    return image.convert("RGB")
