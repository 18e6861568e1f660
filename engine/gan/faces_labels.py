"""Faces: name a style direction only when a measured image statistic supports the name.

No face detector is available, so the statistics are plain image measurements of a 256 px face:
mean brightness, warmth (red minus blue), saturation, the face centre's brightness against the
border, and where the skin-coloured pixels lie (their horizontal centroid and their share of the
image). Each seed's face is rendered at -a and +a standard deviations along a direction; the
paired change (+a minus -a) is summarised over the seeds by its sign consistency (the share of
seeds whose change has the majority sign) and its standardised effect (mean change / standard
deviation of the change). A direction is named after the statistics that pass both thresholds;
the others are called "direction N". ``python -m scripts.make_face_directions --measure-labels``
writes the result to assets/gan_faces/labels.json.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

SIGN_THRESHOLD = 0.9  # share of seeds whose change has the majority sign
EFFECT_THRESHOLD = 1.0  # |mean change| / standard deviation of the change (a large paired effect)
MAX_NAMED_STATISTICS = 2  # a name lists at most the two strongest passing statistics

# statistic -> (what it is, phrase when it rises toward +σ, phrase when it falls toward +σ)
STATISTICS: dict[str, tuple[str, str, str]] = {
    "brightness": ("mean luminance of the whole image (0-1)", "brighter", "darker"),
    "warmth": ("mean red minus blue (0-1 scale)", "warmer colour", "cooler colour"),
    "saturation": ("mean HSV saturation (0-1)", "more saturated", "less saturated"),
    "centre_contrast": ("luminance of the central half minus the outer border (0-1)",
                        "centre brighter than border", "centre darker than border"),
    "skin_centroid_x": ("horizontal centroid of skin-coloured pixels, fraction of width from the left",
                        "skin area shifts right", "skin area shifts left"),
    "skin_area": ("share of pixels that are skin-coloured", "more skin-coloured area", "less skin-coloured area"),
}


def skin_mask(rgb: np.ndarray) -> np.ndarray:
    """A crude skin-colour rule on uint8 RGB (Kovac et al.'s daylight rule)."""
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    spread = rgb.max(axis=-1).astype(np.int16) - rgb.min(axis=-1).astype(np.int16)
    return (r > 95) & (g > 40) & (b > 20) & (spread > 15) & (np.abs(r - g) > 15) & (r > g) & (r > b)


def image_statistics(image) -> dict[str, float]:
    """The statistics of one RGB image (PIL image or (H, W, 3) uint8 array)."""
    rgb = np.asarray(image, np.uint8)[..., :3]
    x = rgb.astype(np.float64) / 255.0
    luminance = 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
    high, low = x.max(axis=-1), x.min(axis=-1)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-9), 0.0)
    h, w = luminance.shape
    centre = luminance[h // 4: 3 * h // 4, w // 4: 3 * w // 4]
    border = np.ones_like(luminance, bool)
    border[h // 8: 7 * h // 8, w // 8: 7 * w // 8] = False
    mask = skin_mask(rgb)
    columns = np.nonzero(mask)[1]
    centroid = float(columns.mean() + 0.5) / w if len(columns) else 0.5
    return {"brightness": float(luminance.mean()), "warmth": float((x[..., 0] - x[..., 2]).mean()),
            "saturation": float(saturation.mean()), "centre_contrast": float(centre.mean() - luminance[border].mean()),
            "skin_centroid_x": centroid, "skin_area": float(mask.mean())}


def summarise(changes: Sequence[float]) -> dict[str, float]:
    """Paired changes over seeds -> mean, sign consistency and standardised effect."""
    values = np.asarray(changes, np.float64)
    if len(values) < 2:
        raise ValueError(f"Sign consistency and effect size need at least two seeds, got {len(values)}.")
    mean, spread = float(values.mean()), float(values.std(ddof=1))
    positive = float((values > 0).mean())
    effect = mean / spread if spread > 0 else (0.0 if mean == 0 else float(np.sign(mean)) * 1e6)
    return {"mean_change": mean, "sign_consistency": max(positive, float((values < 0).mean())),
            "effect_size": effect, "seeds": int(len(values))}


def passes(summary: dict) -> bool:
    return summary["sign_consistency"] >= SIGN_THRESHOLD and abs(summary["effect_size"]) >= EFFECT_THRESHOLD


def direction_label(index: int, measured: dict[str, dict]) -> str:
    """The name a direction earns from its measured statistics, else "direction N"."""
    passing = sorted((name for name, summary in measured.items() if passes(summary)),
                     key=lambda name: -abs(measured[name]["effect_size"]))[:MAX_NAMED_STATISTICS]
    if not passing:
        return f"direction {index}"
    phrases = [STATISTICS[name][1 if measured[name]["mean_change"] > 0 else 2] for name in passing]
    return ", ".join(phrases) + " toward +σ"


def measure_directions(render: Callable[[int, int, float], object], seeds: Sequence[int], count: int,
                       amount: float = 2.0, on_progress=None) -> list[dict]:
    """For each direction 0..count-1: each statistic's change from -amount to +amount σ, summarised over seeds.

    ``render(seed, direction, amount)`` returns the face as an RGB image.
    """
    results = []
    for index in range(count):
        changes: dict[str, list[float]] = {name: [] for name in STATISTICS}
        for seed in seeds:
            low, high = image_statistics(render(seed, index, -amount)), image_statistics(render(seed, index, amount))
            for name in STATISTICS:
                changes[name].append(high[name] - low[name])
            if on_progress is not None:
                on_progress(index, seed)
        measured = {name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in summarise(values).items()}
                    for name, values in changes.items()}
        results.append({"direction": index, "label": direction_label(index, measured), "statistics": measured})
    return results


def markdown_table(data: dict) -> str:
    """labels.json's measurement as a Markdown table: per direction, each statistic's standardised effect and
    sign consistency (bold where both pass), then the name it earned."""
    names = list(STATISTICS)
    rows = ["| # | " + " | ".join(names) + " | name |", "|---|" + "---|" * len(names) + "---|"]
    for entry in data["measurement"]["directions"]:
        cells = []
        for name in names:
            s = entry["statistics"][name]
            text = f"{s['effect_size']:+.2f} / {s['sign_consistency']:.0%}"
            cells.append(f"**{text}**" if passes(s) else text)
        rows.append(f"| {entry['direction']} | " + " | ".join(cells) + f" | {entry['label']} |")
    return "\n".join(rows)
