"""Committed Autoencoder files that are read without torch: the tab's example inputs and the anomaly
threshold's calibrated default. Listing them imports no model, so the tab builds without torch.

The examples are written by ``python scripts/make_autoencoder_examples.py``.
"""

from __future__ import annotations

import json

from engine.core.registry import ASSETS_DIR

EXAMPLES_DIR = ASSETS_DIR / "examples" / "autoencoder"
PHOTOS_DIR = EXAMPLES_DIR / "photos"  # held-out photos (never trained on), <name>.png
TEXTURES_DIR = EXAMPLES_DIR / "textures"  # held-out texture crops, <texture>_<normal or defect kind>.png
CALIBRATION = ASSETS_DIR / "ae_anomaly" / "calibration.json"


def photo_examples() -> dict[str, str]:
    """Held-out photos for denoising: name (file stem) -> path, sorted by name."""
    return {path.stem: str(path) for path in sorted(PHOTOS_DIR.glob("*.png"))}


def texture_examples() -> dict[str, str]:
    """Held-out texture crops, normal and with synthetic defects: name (e.g. ``grass_hole``) -> path.

    Ordered by texture, the normal crop of each texture first.
    """
    paths = sorted(TEXTURES_DIR.glob("*.png"), key=lambda p: (p.stem.split("_")[0], not p.stem.endswith("_normal"), p.stem))
    return {path.stem: str(path) for path in paths}


def normal_texture_examples() -> dict[str, str]:
    """The defect-free crops among :func:`texture_examples` (one per texture): name -> path."""
    return {name: path for name, path in texture_examples().items() if name.endswith("_normal")}


def default_threshold() -> float:
    """The anomaly threshold calibrated on normal crops (5% above the worst one); 1.0 if not calibrated."""
    if not CALIBRATION.is_file():
        return 1.0
    return float(json.loads(CALIBRATION.read_text())["default_threshold"])
