"""Faces: straight lines between two seeds, in input space z or in style space w (the "Z vs W" view)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from engine.gan.faces import (DEFAULT_PSI, _number, _progress, check_psi, check_seed, check_size, load_face_generator,
                              resize, seed_z, styles, truncate, w_average)

MAX_FRAMES = 16


def check_frames(frames) -> int:
    message = f"The number of frames must be a whole number from 2 to {MAX_FRAMES}"
    value = _number(frames, message)
    if not math.isfinite(value) or value != int(value) or not 2 <= value <= MAX_FRAMES:
        raise ValueError(f"{message}, got {frames!r}.")
    return int(value)


def check_space(space) -> str:
    text = str(space).strip().lower() if space is not None else ""
    if text not in {"w", "z"}:
        raise ValueError(f'The interpolation space must be "w" (style space) or "z" (input noise), got {space!r}.')
    return text



def lerp(a: np.ndarray, b: np.ndarray, frames: int) -> np.ndarray:
    """(frames, D) points evenly spaced on the straight line from ``a`` to ``b`` (both ends included)."""
    t = np.linspace(0.0, 1.0, frames, dtype=np.float32)[:, None]
    return ((1 - t) * np.asarray(a, np.float32) + t * np.asarray(b, np.float32)).astype(np.float32)


def path_length(points: np.ndarray) -> float:
    """Sum of Euclidean distances between consecutive rows."""
    return float(np.linalg.norm(np.diff(np.asarray(points, np.float64), axis=0), axis=1).sum())


@dataclass(frozen=True)
class Interpolation:
    frames: tuple[Image.Image, ...]
    space: str
    seed_a: int
    seed_b: int
    psi: float
    w_path_length: float  # length of the path the frames take through W
    straight_w_distance: float  # |w_b - w_a|: the shortest path
    step_unevenness: float  # largest / mean pixel change between neighbouring frames (1 = evenly paced)

    def payload(self) -> dict:
        return {
            "space": self.space,
            "seed_a": self.seed_a,
            "seed_b": self.seed_b,
            "frames": len(self.frames),
            "psi": self.psi,
            "w_path_length": round(self.w_path_length, 3),
            "straight_w_distance": round(self.straight_w_distance, 3),
            "w_path_detour": round(self.w_path_length / max(self.straight_w_distance, 1e-9), 3),
            "step_unevenness": round(self.step_unevenness, 3),
        }


def step_unevenness(images: Sequence[np.ndarray]) -> float:
    """Largest over mean mean-absolute pixel change between neighbouring frames (1.0 = perfectly even)."""
    small = [np.asarray(Image.fromarray(np.asarray(image)).resize((64, 64), Image.BILINEAR), np.float32) for image in images]
    steps = np.array([np.abs(b - a).mean() for a, b in zip(small, small[1:])])
    return float(steps.max() / steps.mean()) if steps.mean() > 0 else 1.0


def interpolate_faces(seed_a=0, seed_b=1, frames=6, space="w", psi=DEFAULT_PSI, size=256,
                      on_progress=None) -> Interpolation:
    """Faces on the straight line between two seeds, drawn in input space z or in style space w.

    In z the line is mapped point by point (so its path through W curves); in w it is the
    straight line between the two truncated styles. Both share their end faces.
    """
    seed_a, seed_b = check_seed(seed_a, "seed A"), check_seed(seed_b, "seed B")
    frames, space, psi, size = check_frames(frames), check_space(space), check_psi(psi), check_size(size)
    generator = load_face_generator()
    w_avg = w_average(generator).w_avg
    if space == "z":
        ws = np.stack([truncate(generator.map(z), w_avg, psi) for z in lerp(seed_z(seed_a), seed_z(seed_b), frames)])
    else:
        ends = styles((seed_a, seed_b), psi, generator)
        ws = lerp(ends[0], ends[1], frames)
    images = []
    for done, w in enumerate(ws):
        _progress(on_progress, done, frames, f"frame {done + 1} of {frames} ({space})")
        images.append(generator.synthesize(w))
    return Interpolation(tuple(resize(image, size) for image in images), space, seed_a, seed_b, psi, path_length(ws),
                         float(np.linalg.norm(ws[-1] - ws[0])), step_unevenness(images))
