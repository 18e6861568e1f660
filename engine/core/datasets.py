"""Datasets that ship inside packages, so everything works offline.

scikit-learn's digits: 1,797 grayscale 8x8 images (values 0..16), 10 classes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

DIGITS_SPLIT_SEED = 0  # every tab uses the same held-out digits, so no test image leaks into training
DIGITS_TEST_FRACTION = 0.2


@dataclass(frozen=True)
class DigitsSplit:
    train_images: np.ndarray  # (N, 8, 8) float32 in [0, 1], ink = 1
    train_labels: np.ndarray  # (N,) int64 in 0..9
    test_images: np.ndarray  # (M, 8, 8) float32 in [0, 1]
    test_labels: np.ndarray  # (M,) int64


@functools.lru_cache(maxsize=1)
def digits_split() -> DigitsSplit:
    """The fixed stratified 80/20 split of scikit-learn's digits used by every NeuroDeck model."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)
    labels = data.target.astype(np.int64)
    train_x, test_x, train_y, test_y = train_test_split(
        images, labels, test_size=DIGITS_TEST_FRACTION, stratify=labels, random_state=DIGITS_SPLIT_SEED
    )
    return DigitsSplit(train_x, train_y, test_x, test_y)


def upscale_digits(images: np.ndarray | torch.Tensor, size: int = 32) -> torch.Tensor:
    """Bilinearly upscale (N, 8, 8) digits in [0, 1] to a (N, 1, size, size) float32 tensor."""
    tensor = torch.as_tensor(np.asarray(images, dtype=np.float32))
    if tensor.ndim == 2:
        tensor = tensor[None]
    return F.interpolate(tensor[:, None], size=(size, size), mode="bilinear", align_corners=False).clamp(0, 1)
