"""Turn a user's photo or drawing of a digit into the 8x8 layout of scikit-learn's digits.

The digits were made by cropping each handwritten digit and averaging it down to
8x8. Doing the same to a user's image keeps it in the distribution the models
were trained on, whether the ink is dark-on-light (paper, sketchpad) or light-on-dark.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

INK_THRESHOLD = 0.25  # fraction of the ink range above which a pixel counts as ink
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
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
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
