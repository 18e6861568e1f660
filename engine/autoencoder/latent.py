"""Latent space of the digits autoencoders: the 2-D map, decoding points, interpolation, bottleneck curve.

Digits are (8, 8) float32 arrays in [0, 1] (ink = 1), as in ``engine.core.datasets``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.autoencoder import render
from engine.autoencoder.models import DigitsAutoencoder
from engine.autoencoder.train_digits import DIGITS_LATENT_SIZES, flat_digits, pca_test_mse
from engine.core.registry import load_once

MAP_MARGIN = 0.1  # the map's axes extend this fraction beyond the encoded digits


def build_registered(source, folder) -> dict[int, DigitsAutoencoder]:
    """Registry builder (task ``autoencoder-latent``): the digits autoencoders, one per latent size."""
    return {size: DigitsAutoencoder.from_pretrained(folder / f"latent_{size}", use_safetensors=True).eval()
            for size in DIGITS_LATENT_SIZES}


def load_digits_ae(latent_dim: int = 2) -> DigitsAutoencoder:
    """The committed digits autoencoder with the given latent size (built once per process by the registry)."""
    if latent_dim not in DIGITS_LATENT_SIZES:
        raise ValueError(f"No digits autoencoder with latent size {latent_dim}; choose one of {DIGITS_LATENT_SIZES}.")
    from engine.core import registry

    return registry.load("autoencoder-latent")[latent_dim]


@dataclass(frozen=True)
class LatentMap:
    points: np.ndarray  # (M, 2) float32: encoded test digits
    labels: np.ndarray  # (M,) int64 class of each point
    digits: np.ndarray  # (M, 8, 8) float32 the test digits themselves
    x_range: tuple[float, float]  # axis limits of the map (data units)
    y_range: tuple[float, float]


def latent_map() -> LatentMap:
    """Encode every test digit with the 2-D autoencoder (cached once per process)."""

    def build() -> LatentMap:
        _, _, test_x, test_y = flat_digits()
        with torch.inference_mode():
            points = load_digits_ae(2).encode(torch.from_numpy(test_x)).numpy()
        low, high = points.min(axis=0), points.max(axis=0)
        pad = (high - low) * MAP_MARGIN
        return LatentMap(
            points,
            test_y,
            test_x.reshape(-1, 8, 8),
            (float(low[0] - pad[0]), float(high[0] + pad[0])),
            (float(low[1] - pad[1]), float(high[1] + pad[1])),
        )

    return load_once("ae-digits-map", build)


@torch.inference_mode()
def decode_points(points: np.ndarray) -> np.ndarray:
    """(K, 2) latent points -> (K, 8, 8) decoded digits in [0, 1]."""
    points = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    if not np.isfinite(points).all():
        raise ValueError("Latent coordinates must be finite numbers.")
    return load_digits_ae(2).decode(torch.from_numpy(points)).numpy().reshape(-1, 8, 8)


def nearest_test_digit(x: float, y: float) -> tuple[int, int, float]:
    """(index, label, distance) of the encoded test digit closest to (x, y)."""
    lm = latent_map()
    distances = np.hypot(lm.points[:, 0] - x, lm.points[:, 1] - y)
    index = int(np.argmin(distances))
    return index, int(lm.labels[index]), float(distances[index])


def first_index_of(label: int, occurrence: int = 0) -> int:
    """Index (in the test set) of the ``occurrence``-th test digit of class ``label``."""
    lm = latent_map()
    matches = np.nonzero(lm.labels == int(label))[0]
    if not 0 <= int(label) <= 9:
        raise ValueError(f"Digit class must be 0..9, got {label}.")
    return int(matches[int(occurrence) % len(matches)])


def interpolate(index_a: int, index_b: int, steps: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Straight line in the 2-D latent space between two test digits.

    Returns (path (steps, 2) float32, decoded (steps, 8, 8) in [0, 1]).
    """
    lm = latent_map()
    for index in (index_a, index_b):
        if not 0 <= int(index) < len(lm.points):
            raise ValueError(f"Test digit index must be 0..{len(lm.points) - 1}, got {index}.")
    if not 2 <= int(steps) <= 32:
        raise ValueError(f"Interpolation steps must be 2..32, got {steps}.")
    t = np.linspace(0, 1, int(steps), dtype=np.float32)[:, None]
    path = (1 - t) * lm.points[int(index_a)] + t * lm.points[int(index_b)]
    return path, decode_points(path)


def bottleneck_curve() -> dict[int, dict[str, float]]:
    """Test reconstruction MSE per pixel, autoencoder vs PCA, for each latent size (cached)."""

    def build() -> dict[int, dict[str, float]]:
        _, _, test_x, _ = flat_digits()
        x = torch.from_numpy(test_x)
        curve = {}
        for size in DIGITS_LATENT_SIZES:
            with torch.inference_mode():
                mse = float(torch.mean((load_digits_ae(size)(x) - x) ** 2))
            curve[size] = {"autoencoder_mse": mse, "pca_mse": pca_test_mse(size)}
        return curve

    return load_once("ae-digits-bottleneck", build)


# ---------------------------------------------------------------- drawn for the tab

def map_view(marker: tuple[float, float] | None = None, path: np.ndarray | None = None):
    """The 2-D map of the test digits, with an optional marker or path: (image, x range, y range)."""
    lm = latent_map()
    image = render.latent_scatter(lm.points, lm.labels, lm.x_range, lm.y_range, marker=marker, path=path)
    return image, lm.x_range, lm.y_range


def click_to_latent(px: float, py: float) -> tuple[float, float]:
    """Pixel position of a click on the map image -> latent (x, y)."""
    lm = latent_map()
    return render.map_frame(lm.x_range, lm.y_range).to_data(px, py)


def decode_view(x: float, y: float):
    """Decode one latent point: (decoded digit image, map with a marker there, info dict with the nearest test digit)."""
    x, y = float(x), float(y)
    digit = decode_points(np.array([[x, y]]))[0]
    index, label, distance = nearest_test_digit(x, y)
    image, _, _ = map_view(marker=(x, y))
    info = {"x": round(x, 4), "y": round(y, 4), "nearest_test_digit": {"index": index, "label": label, "distance": round(distance, 4)}}
    return render.digit_tiles(digit[None], scale=24)[0], image, info


def interpolate_view(class_a: int, class_b: int, steps: int = 8):
    """From the first test digit of ``class_a`` to one of ``class_b``: (strip of start digit, decoded path and
    end digit; map with the path; info dict)."""
    class_a, class_b = int(class_a), int(class_b)
    index_a = first_index_of(class_a)
    index_b = first_index_of(class_b, occurrence=1 if class_a == class_b else 0)
    path, decoded = interpolate(index_a, index_b, int(steps))
    lm = latent_map()
    tiles = render.digit_tiles(np.concatenate([lm.digits[index_a][None], decoded, lm.digits[index_b][None]]), scale=10)
    strip = render.image_grid(tiles, columns=len(tiles), gap=4, background=200)
    image, _, _ = map_view(path=path)
    info = {"from_index": index_a, "to_index": index_b, "steps": int(steps), "path": np.round(path, 4).tolist()}
    return strip, image, info


def bottleneck_view():
    """The bottleneck comparison: (plot, table latent size -> {autoencoder_mse, pca_mse, autoencoder_beats_pca})."""
    curve = bottleneck_curve()
    sizes = sorted(curve)
    plot = render.bottleneck_plot(sizes, [curve[s]["autoencoder_mse"] for s in sizes], [curve[s]["pca_mse"] for s in sizes])
    table = {
        str(s): {
            "autoencoder_mse": round(curve[s]["autoencoder_mse"], 6),
            "pca_mse": round(curve[s]["pca_mse"], 6),
            "autoencoder_beats_pca": curve[s]["autoencoder_mse"] < curve[s]["pca_mse"],
        }
        for s in sizes
    }
    return plot, table
