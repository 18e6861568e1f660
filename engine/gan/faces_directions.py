"""Faces: semantic directions in style space, found without labels (GANSpace: principal components of w).

The directions are committed in ``assets/gan_faces`` by ``python -m scripts.make_face_directions``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from engine.core.registry import ASSETS_DIR, load_once
from engine.gan.faces import (DEFAULT_PSI, MODEL_KEY, _number, _progress, check_psi, check_seed, check_size,
                              load_face_generator, resize, styles)

AMOUNT_RANGE = (-4.0, 4.0)  # direction edits, in standard deviations of w along the direction
DIRECTIONS_DIR = ASSETS_DIR / "gan_faces"
DIRECTIONS_FILE = "directions.safetensors"
LABELS_FILE = "labels.json"


def check_amount(amount) -> float:
    message = f"The amount must be a number of standard deviations from {AMOUNT_RANGE[0]:g} to {AMOUNT_RANGE[1]:g}"
    value = _number(amount, message)
    if not math.isfinite(value) or not AMOUNT_RANGE[0] <= value <= AMOUNT_RANGE[1]:
        raise ValueError(f"{message}, got {amount!r}.")
    return value


def check_direction(direction, count: int, labels: Sequence[str] = ()) -> int:
    """A direction index 0..count-1, or a label such as ``"age"`` (case-insensitive)."""
    if isinstance(direction, str) and direction.strip():
        text = direction.strip().lower()
        for index, label in enumerate(labels):
            if text == label.lower() or text == f"{index}: {label}".lower():
                return index
    message = f"The direction must be a whole number from 0 to {count - 1}"
    if labels:
        message += " or one of " + ", ".join(repr(label) for label in labels)
    value = _number(direction, message)
    if not math.isfinite(value) or value != int(value) or not 0 <= value < count:
        raise ValueError(f"{message}, got {direction!r}.")
    return int(value)


@dataclass(frozen=True)
class Directions:
    """GANSpace-style principal directions of w: unit ``components`` (K, 512), ``stdev`` (K,) of w along each."""

    components: np.ndarray
    stdev: np.ndarray
    mean: np.ndarray  # (512,) mean of the sampled w
    explained: np.ndarray  # (K,) fraction of w's variance along each component
    labels: tuple[str, ...]  # the measured statistic each changes (labels.json); "direction N" = none passed
    notes: str = ""

    @property
    def count(self) -> int:
        return int(len(self.components))

    def name(self, index: int) -> str:
        """ "N: <measured change>" for a named direction, "direction N" for the others."""
        label = self.labels[index] if index < len(self.labels) else ""
        return f"{index}: {label}" if label and label != f"direction {index}" else f"direction {index}"


def pca_directions(ws: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Principal directions of sampled styles (N, D) -> (components (K, D), stdev (K,), mean (D,), explained (K,)).

    Components are unit vectors sorted by variance; each sign is fixed so its largest entry is
    positive (SVD's sign is arbitrary), which makes the result reproducible.
    """
    ws = np.asarray(ws, np.float64)
    if ws.ndim != 2 or len(ws) < 2:
        raise ValueError(f"PCA needs at least two samples as an (N, D) array, got shape {ws.shape}.")
    count = min(int(count), ws.shape[1], len(ws))
    mean = ws.mean(axis=0)
    _, singular, vt = np.linalg.svd(ws - mean, full_matrices=False)
    components = vt[:count]
    signs = np.sign(components[np.arange(count), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    variance = singular**2 / (len(ws) - 1)
    return (components.astype(np.float32), np.sqrt(variance[:count]).astype(np.float32), mean.astype(np.float32),
            (variance[:count] / variance.sum()).astype(np.float32))


def apply_direction(w: np.ndarray, directions: Directions, index: int, amount: float) -> np.ndarray:
    """``w`` moved ``amount`` standard deviations along direction ``index``."""
    return (np.asarray(w, np.float32) + np.float32(amount) * directions.stdev[index] * directions.components[index]).astype(np.float32)


def load_directions() -> Directions:
    """The committed principal directions and their measured labels (assets/gan_faces)."""

    def build() -> Directions:
        from safetensors.numpy import load_file

        path = DIRECTIONS_DIR / DIRECTIONS_FILE
        if not path.is_file():
            raise ValueError(f"{path} is missing; rebuild it with `python -m scripts.make_face_directions`.")
        tensors = load_file(str(path))
        labels_path = DIRECTIONS_DIR / LABELS_FILE
        labels, notes = (), ""
        if labels_path.is_file():
            data = json.loads(labels_path.read_text())
            labels, notes = tuple(data.get("labels", ())), data.get("notes", "")
        return Directions(tensors["components"], tensors["stdev"], tensors["mean"], tensors["explained"], labels, notes)

    return load_once(MODEL_KEY + "/directions", build)


@dataclass(frozen=True)
class DirectionEdit:
    image: Image.Image
    seed: int
    direction: int
    name: str
    amount: float
    psi: float
    explained: float

    def payload(self) -> dict:
        return {"seed": self.seed, "direction": self.direction, "name": self.name, "amount": self.amount,
                "psi": self.psi, "variance_explained": round(self.explained, 4)}


def edit_direction(seed=0, direction=0, amount=0.0, psi=DEFAULT_PSI, size=512) -> DirectionEdit:
    """Face ``seed`` moved ``amount`` standard deviations along principal direction ``direction``."""
    directions = load_directions()
    seed, index = check_seed(seed), check_direction(direction, directions.count, directions.labels)
    amount, psi, size = check_amount(amount), check_psi(psi), check_size(size)
    generator = load_face_generator()
    w = apply_direction(styles((seed,), psi, generator)[0], directions, index, amount)
    return DirectionEdit(resize(generator.synthesize(w), size), seed, index, directions.name(index), amount, psi,
                         float(directions.explained[index]))


def direction_strip(seed=0, direction=0, amounts=(-3.0, -1.5, 0.0, 1.5, 3.0), psi=DEFAULT_PSI, size=192,
                    on_progress=None) -> list[Image.Image]:
    """The same face at several amounts along one direction."""
    directions = load_directions()
    seed, index, psi = check_seed(seed), check_direction(direction, directions.count, directions.labels), check_psi(psi)
    amounts = [check_amount(a) for a in amounts]
    generator = load_face_generator()
    w = styles((seed,), psi, generator)[0]
    images = []
    for done, amount in enumerate(amounts):
        _progress(on_progress, done, len(amounts), f"{directions.name(index)} at {amount:+g} σ")
        images.append(resize(generator.synthesize(apply_direction(w, directions, index, amount)), size))
    return images
