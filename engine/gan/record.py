"""The embedded GAN's recorded training figures, readable without importing torch (the UI shows them at build time)."""

from __future__ import annotations

import json

from engine.core.registry import get_source, verified_path

DEFAULT_MODEL = "gan-digits"  # registry key of the embedded generator


def committed_quality() -> dict:
    """The quality figures measured when the embedded generator was built (assets/gan_digits/training.json)."""
    folder = verified_path(get_source(DEFAULT_MODEL))
    record = json.loads((folder / "training.json").read_text())
    return {"quality": record.get("quality", {}), "train_seconds": record.get("metrics", {}).get("train_seconds")}
