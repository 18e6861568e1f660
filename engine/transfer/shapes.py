"""A seeded 3-class few-shot task: shapes drawn over crops of scikit-image's photos.

Every picture is a random crop of one of scikit-image's photos (``skimage.data``: chelsea, coffee,
rocket, astronaut, camera, the two motorcycle views, and the brick / grass / gravel textures),
resized to ``side`` x ``side``, with one filled shape drawn over it: a circle, a square or a triangle.
The crop (20-60 % of the photo's shorter side), the shape's size (circumradius 30-45 % of the side),
place, rotation, colour (uniform RGB for every class, so colour is no cue) and opacity (90-100 %) are
random, so the photo behind it is clutter the classifier must look past. Classes are balanced; a seed
fixes every picture. (Settings chosen so a logistic regression on EfficientNet-Lite0 features lands
near 0.8 held-out accuracy with 12 pictures a class, as the task in issue #23 did.)

Used by the baselines benchmark and the tests: a few-shot split (``train_per_class`` pictures per
class train, the rest are held out) where pre-trained features help but do not make the task trivial.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw

from engine.transfer.data import TransferDataset, _finish

CLASSES = ("circle", "square", "triangle")
PHOTOS = ("chelsea", "coffee", "rocket", "astronaut", "camera", "motorcycle_left", "motorcycle_right",
          "brick", "grass", "gravel")
TRAIN_PER_CLASS = 12
HELD_OUT_PER_CLASS = 12
SIDE = 224
RADIUS = (0.3, 0.45)  # circumradius, as a fraction of the side
OPACITY = (0.9, 1.0)
CROP = (0.2, 0.6)  # crop side, as a fraction of the photo's shorter side


@functools.lru_cache(maxsize=None)
def _photo(name: str) -> Image.Image:
    from engine.transfer.fewshot import photo_path  # the packaged scikit-image files, read with PIL

    with Image.open(photo_path(name)) as image:
        return image.convert("RGB")


def _crop(rng: np.random.Generator, side: int) -> Image.Image:
    """A random square crop (30-100 % of the shorter side) of a random photo, resized to side x side."""
    photo = _photo(PHOTOS[int(rng.integers(len(PHOTOS)))])
    width, height = photo.size
    crop = int(min(width, height) * rng.uniform(*CROP))
    left, top = int(rng.integers(0, width - crop + 1)), int(rng.integers(0, height - crop + 1))
    return photo.resize((side, side), Image.BILINEAR, box=(left, top, left + crop, top + crop))


def _outline(kind: str, centre: np.ndarray, radius: float, angle: float) -> list[tuple[float, float]]:
    """Polygon vertices of a square or triangle of circumradius ``radius`` rotated by ``angle`` radians."""
    corners = 4 if kind == "square" else 3
    turns = angle + 2 * np.pi * np.arange(corners) / corners
    return [(float(centre[0] + radius * np.cos(t)), float(centre[1] + radius * np.sin(t))) for t in turns]


def draw_shape(background: Image.Image, kind: str, rng: np.random.Generator) -> Image.Image:
    """``background`` with one ``kind`` shape blended over it (see the module docstring)."""
    side = background.size[0]
    radius = side * rng.uniform(*RADIUS)
    centre = rng.uniform(radius, side - radius, size=2)
    colour = rng.uniform(0, 255, size=3)
    opacity = rng.uniform(*OPACITY)
    fill = tuple(int(v) for v in np.clip(colour, 0, 255)) + (int(255 * opacity),)
    layer = Image.new("RGBA", background.size, (0, 0, 0, 0))
    pen = ImageDraw.Draw(layer)
    if kind == "circle":
        pen.ellipse([float(centre[0] - radius), float(centre[1] - radius), float(centre[0] + radius),
                     float(centre[1] + radius)], fill=fill)
    else:
        pen.polygon(_outline(kind, centre, radius, float(rng.uniform(0, 2 * np.pi))), fill=fill)
    return Image.alpha_composite(background.convert("RGBA"), layer).convert("RGB")


def shape_views(per_class: int, seed: int = 0, side: int = SIDE) -> tuple[list[np.ndarray], list[str], list[str]]:
    """``(items, class names, item names)``: ``per_class`` pictures of each class, (side, side, 3) uint8."""
    rng = np.random.default_rng(seed)
    items, classes, names = [], [], []
    for number in range(per_class):  # classes interleaved, so one class never gets all the early draws
        for kind in CLASSES:
            items.append(np.asarray(draw_shape(_crop(rng, side), kind, rng), dtype=np.uint8))
            classes.append(kind)
            names.append(f"{kind} #{number + 1}")
    return items, classes, names


def shapes_dataset(train_per_class: int = TRAIN_PER_CLASS, held_out_per_class: int = HELD_OUT_PER_CLASS,
                   seed: int = 0, side: int = SIDE) -> TransferDataset:
    """The task as a :class:`TransferDataset` with a fixed few-shot split size (``train_per_class``)."""
    from dataclasses import replace

    items, classes, names = shape_views(train_per_class + held_out_per_class, seed, side)
    dataset = _finish("image", items, names, classes, [], [], f"Shapes over photo crops (seed {seed})")
    return replace(dataset, train_per_class=int(train_per_class))
