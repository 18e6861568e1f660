"""The natural photos that ship with scikit-image and scikit-learn, split for the denoiser.

Held-out photos are never seen in training; the quality bar and the tab's
examples use them. All photos are returned as (H, W, 3) float32 in [0, 1]
(grayscale ones are repeated to 3 channels).
"""

from __future__ import annotations

import functools

import numpy as np

# skimage.data function names (and "sklearn:<file>") used for training patches.
TRAIN_PHOTOS = (
    "astronaut",
    "camera",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "coins",
    "moon",
    "clock",
    "page",
    "sklearn:china.jpg",
)
# Never used in training. (skimage's "cat" is the same photo as "chelsea", so it is excluded too.)
HELDOUT_PHOTOS = ("chelsea", "sklearn:flower.jpg")


@functools.lru_cache(maxsize=None)
def load_photo(name: str) -> np.ndarray:
    """Return one named photo as a read-only (H, W, 3) float32 array in [0, 1]."""
    if name.startswith("sklearn:"):
        from sklearn.datasets import load_sample_image

        array = load_sample_image(name.split(":", 1)[1])
    else:
        import skimage.data

        if name not in TRAIN_PHOTOS + HELDOUT_PHOTOS:
            raise ValueError(f"Unknown photo {name!r}; choose one of {TRAIN_PHOTOS + HELDOUT_PHOTOS}.")
        array = getattr(skimage.data, name)()
    array = np.asarray(array)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=-1)
    photo = (array[..., :3].astype(np.float32) / 255.0).copy()
    photo.setflags(write=False)
    return photo
