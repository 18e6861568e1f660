"""Turn a user's photo or drawing of a digit into the 8x8 layout of scikit-learn's digits.

The digits were made by cropping each handwritten digit and averaging it down to
8x8. Doing the same to a user's image keeps it in the distribution the models
were trained on, whether the ink is dark-on-light (paper, sketchpad) or light-on-dark.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

INK_THRESHOLD = 0.25  # fraction of the ink range above which a pixel counts as ink
SEVEN = 7
# The dataset's digits were written with a pen about 1/8 of the digit's height wide. A thin sketchpad
# brush leaves faint, broken strokes at 8x8 (a thin 9 read as 7) and a fat one fills the loops (a 6 read
# as 4), so strokes are brought into this range of widths (fractions of the digit's height).
MIN_STROKE_FRACTION = 0.12
MAX_STROKE_FRACTION = 0.25
TRAINING_CENTRE_X = 4.07  # mean horizontal centre of mass of the training digits, in 8x8 pixel units (+0.5 for pixel centres)


def image_to_digit8(image: Image.Image) -> np.ndarray:
    """Return the (8, 8) float32 array in [0, 1] (ink = 1) for an RGB ``PIL.Image``.

    Raises ``ValueError`` when the image has no visible strokes.
    """
    gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    height, width = gray.shape
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 0.5:  # light background: ink is dark
        gray = 1.0 - gray
    low, high = float(np.percentile(gray, 5)), float(gray.max())
    if high - low < 0.1:
        raise ValueError("The image looks blank: draw or upload a digit with visible strokes.")
    ink = np.clip((gray - low) / (high - low), 0, 1)
    rows = np.where((ink > INK_THRESHOLD).any(axis=1))[0]
    cols = np.where((ink > INK_THRESHOLD).any(axis=0))[0]
    if rows.size == 0 or cols.size == 0:
        raise ValueError("The image looks blank: draw or upload a digit with visible strokes.")
    crop = _thicken(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    # Digits fill the full 8-pixel height; horizontally, place the ink's centre of mass where the
    # training digits have theirs (a one-pixel shift at 8x8 is a big change for the model).
    side = max(crop.shape)
    square = np.zeros((side, side), dtype=np.float32)
    top = (side - crop.shape[0]) // 2
    mass_x = float((crop.sum(axis=0) * np.arange(crop.shape[1])).sum() / max(crop.sum(), 1e-6))
    left = int(round(TRAINING_CENTRE_X / 8 * side - 0.5 - mass_x))
    left = min(max(left, 0), side - crop.shape[1])
    square[top : top + crop.shape[0], left : left + crop.shape[1]] = crop
    small = Image.fromarray((square * 255).astype(np.uint8)).resize((8, 8), Image.BOX)
    digit = np.asarray(small, dtype=np.float32) / 255.0
    return digit / max(float(digit.max()), 1e-6)


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a boolean ink mask, in pixels: 2 x area / perimeter (exact for long strokes)."""
    mask = np.asarray(mask, dtype=bool)
    area = int(mask.sum())
    if area == 0:
        return 0.0
    padded = np.pad(mask, 1)
    inner = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    perimeter = area - int(inner.sum())
    return 2.0 * area / max(perimeter, 1)


def _disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius + radius  # a round pen tip


def _thicken(crop: np.ndarray) -> np.ndarray:
    """Bring the strokes of a cropped digit to MIN..MAX_STROKE_FRACTION of its height (grey dilation / erosion)."""
    from scipy.ndimage import grey_dilation, grey_erosion

    width = stroke_width(crop > INK_THRESHOLD)
    height = crop.shape[0]
    grow = int(round((MIN_STROKE_FRACTION * height - width) / 2))
    if grow >= 1:
        padded = np.pad(crop, grow)  # room for the thicker strokes: the digit keeps its proportions
        return grey_dilation(padded, footprint=_disk(grow))
    shrink = int(round((width - MAX_STROKE_FRACTION * height) / 2))
    if shrink >= 1:
        thinner = grey_erosion(crop, footprint=_disk(shrink))
        if (thinner > INK_THRESHOLD).any():
            return thinner
    return crop


def erase_crossbar(digit: np.ndarray, threshold: float = 0.3) -> np.ndarray:
    """An (8, 8) "7" from scikit-learn's digits without its crossbar (or hook): a plain 7.

    83% of the dataset's 7s are written the continental way, with a bar across the stem, so models
    trained on it read a plainly drawn 7 as a 3. The stem runs from the top bar's right end (rows
    0-1) to the ink's centre of mass in the bottom rows (6-7); in rows 2-5 everything more than 1.2
    pixels from that line is erased, which removes the crossbar and keeps the stem.
    """
    digit = np.asarray(digit, dtype=np.float32)
    out = digit.copy()
    bottom = digit[6:8].sum(axis=0)
    x_bottom = float((bottom * np.arange(8)).sum() / max(float(bottom.sum()), 1e-6))
    top_cols = np.where((digit[0:2] > threshold).any(axis=0))[0]
    x_top = float(top_cols[-1]) if top_cols.size else x_bottom
    columns = np.arange(8)
    for row in range(2, 6):
        stem = x_top + (x_bottom - x_top) * (row - 1) / 6
        out[row, np.abs(columns - stem) > 1.2] = 0.0
    return out


def plain_sevens(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(K, 8, 8) plain copies (:func:`erase_crossbar`) of the 7s among (N, 8, 8) ``images`` that have a crossbar."""
    sevens = np.asarray(images, dtype=np.float32)[np.asarray(labels) == SEVEN]
    plain = [erase_crossbar(seven) for seven in sevens]
    # Only where something was erased: a 7 that already had no bar would just be duplicated.
    kept = [p for p, s in zip(plain, sevens) if float(np.abs(p - s).sum()) > 1.0]
    return np.stack(kept) if kept else np.zeros((0, 8, 8), np.float32)


def with_plain_sevens(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(images, labels) with the :func:`plain_sevens` of ``images`` appended, labelled 7."""
    extra = plain_sevens(images, labels)
    return (np.concatenate([images, extra]),
            np.concatenate([labels, np.full(len(extra), SEVEN, dtype=np.asarray(labels).dtype)]))
