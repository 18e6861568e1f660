"""Seeded image corruptions for the denoising demo.

Every function takes an (H, W, C) float32 image in [0, 1] and returns a new
float32 array of the same shape in [0, 1]. The same ``seed`` always gives the
same noise, so a user can reproduce a result and tests can check statistics.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

NOISE_KINDS = ("gaussian", "salt_pepper", "speckle", "masking")
# What "level" means for each kind, and the slider range the UI offers.
NOISE_LEVELS = {
    "gaussian": (0.0, 0.5, 0.1, "standard deviation of the added noise"),
    "salt_pepper": (0.0, 0.5, 0.1, "fraction of pixels set to black or white"),
    "speckle": (0.0, 1.0, 0.3, "standard deviation of the multiplicative noise"),
    "masking": (0.0, 0.8, 0.2, "fraction of 8x8 blocks blacked out"),
}
MASK_BLOCK = 8  # side of each blacked-out block, in pixels


def _as_float(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 3:
        raise ValueError(f"Expected an (H, W, C) image, got shape {image.shape}.")
    return image


def gaussian(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Add i.i.d. N(0, sigma^2) to every value, then clip to [0, 1]."""
    image = _as_float(image)
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0.0, sigma, image.shape).astype(np.float32), 0, 1)


def salt_pepper(image: np.ndarray, amount: float, seed: int = 0) -> np.ndarray:
    """Set a fraction ``amount`` of pixels (all channels together) to 0 or 1, half each."""
    image = _as_float(image).copy()
    rng = np.random.default_rng(seed)
    hit = rng.random(image.shape[:2]) < amount
    salt = rng.random(image.shape[:2]) < 0.5
    image[hit & salt] = 1.0
    image[hit & ~salt] = 0.0
    return image


def speckle(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Multiplicative noise ``x + x * n`` with n ~ N(0, sigma^2) (brighter pixels get noisier)."""
    image = _as_float(image)
    rng = np.random.default_rng(seed)
    return np.clip(image * (1 + rng.normal(0.0, sigma, image.shape).astype(np.float32)), 0, 1)


def masking(image: np.ndarray, fraction: float, seed: int = 0, block: int = MASK_BLOCK) -> np.ndarray:
    """Black out a random ``fraction`` of the ``block``x``block`` tiles of the image."""
    image = _as_float(image).copy()
    rng = np.random.default_rng(seed)
    rows = -(-image.shape[0] // block)
    cols = -(-image.shape[1] // block)
    tiles = rng.random((rows, cols)) < fraction
    mask = np.kron(tiles, np.ones((block, block), dtype=bool))[: image.shape[0], : image.shape[1]]
    image[mask] = 0.0
    return image


NOISE_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "gaussian": gaussian,
    "salt_pepper": salt_pepper,
    "speckle": speckle,
    "masking": masking,
}


def apply_noise(image: np.ndarray, kind: str, level: float, seed: int = 0) -> np.ndarray:
    """Dispatch to one corruption by name; unknown names or out-of-range levels raise ``ValueError``."""
    if kind not in NOISE_FUNCTIONS:
        raise ValueError(f"Unknown noise {kind!r}; choose one of {', '.join(NOISE_KINDS)}.")
    low, high, _, meaning = NOISE_LEVELS[kind]
    level = float(level)
    if not np.isfinite(level) or not low <= level <= high:
        raise ValueError(f"The {kind} level ({meaning}) must be between {low} and {high}; got {level}.")
    return NOISE_FUNCTIONS[kind](image, level, int(seed))
