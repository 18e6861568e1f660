"""Faces: how far GANs came, our digits DCGAN beside MobileStyleGAN, measured on this machine."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from engine.core.imports import import_engine
from engine.gan.faces import DEFAULT_PSI, NATIVE_SIZE, check_seed, load_face_generator, seed_z, styles, to_uint8


@dataclass(frozen=True)
class Comparison:
    digits: Image.Image
    face: Image.Image
    figures: dict = field(default_factory=dict)


_comparison_lock = threading.Lock()
_comparison: list[Comparison] = []


def compare_generators(seed=0, remeasure: bool = False, repeats: int = 3) -> Comparison:
    """Our digits DCGAN beside this face generator: parameters, output size, measured time per image.

    Measured once per process (both generators timed here, median of ``repeats`` single-image runs;
    the face is timed with the synthesis actually run, not from the image cache); ``remeasure`` repeats it.
    """
    seed = check_seed(seed)
    with _comparison_lock:
        if _comparison and not remeasure and _comparison[0].figures["seed"] == seed:
            return _comparison[0]
        inference = import_engine("engine.gan.inference")  # torch: only when this view is opened

        digits_gan = inference.load_generator()
        digit_times = []
        for _ in range(repeats + 1):
            started = time.perf_counter()
            result = inference.generate(digits_gan, seed, "random", 1, 1.0)
            digit_times.append(time.perf_counter() - started)
        many = inference.generate(digits_gan, seed, "random", 16, 1.0)
        digit_params = sum(p.numel() for p in digits_gan.parameters())
        side = int(result.images.shape[-1])

        generator = load_face_generator()
        w = styles((seed,), DEFAULT_PSI, generator)[0]
        face_times = []
        for _ in range(repeats):
            started = time.perf_counter()
            generator.map(seed_z(seed))
            raw = generator.synthesize_raw(w)
            face_times.append(time.perf_counter() - started)
        figures = {
            "seed": seed,
            "digits_parameters": int(digit_params),
            "digits_side": side,
            "digits_seconds_per_image": float(np.median(digit_times[1:])),
            "faces_parameters": int(generator.parameters),
            "faces_mapping_parameters": int(generator.mapping_parameters),
            "faces_synthesis_parameters": int(generator.synthesis_parameters),
            "faces_side": NATIVE_SIZE,
            "faces_seconds_per_image": float(np.median(face_times)),
            "openvino_threads": generator.threads,
            "openvino_streams": generator.streams,
        }
        figures["parameter_ratio"] = figures["faces_parameters"] / max(figures["digits_parameters"], 1)
        figures["pixel_ratio"] = (NATIVE_SIZE**2 * 3) / (side**2)
        figures["time_ratio"] = figures["faces_seconds_per_image"] / max(figures["digits_seconds_per_image"], 1e-9)
        digits = _digits_row(many.images)
        comparison = Comparison(digits, Image.fromarray(to_uint8(raw)), figures)
        _comparison[:] = [comparison]
        return comparison


def _digits_row(images: np.ndarray) -> Image.Image:
    """(N, S, S) digits in [0, 1] -> one 4x4 grid at native pixels (white ink on black), RGB."""
    array = (np.clip(np.asarray(images, np.float32), 0, 1) * 255).round().astype(np.uint8)
    count, side = len(array), array.shape[-1]
    columns = 4
    rows = -(-count // columns)
    grid = np.zeros((rows * side, columns * side), np.uint8)
    for i, image in enumerate(array):
        r, c = divmod(i, columns)
        grid[r * side:(r + 1) * side, c * side:(c + 1) * side] = image
    return Image.fromarray(grid, "L").convert("RGB")
