"""Write assets/examples/autoencoder/: the Autoencoder tab's example inputs.

Held-out photos (never trained on) for denoising, and held-out texture crops (right quarter),
normal and with synthetic defects, for anomaly highlighting.

    python scripts/make_autoencoder_examples.py
"""

from __future__ import annotations

import shutil
from pathlib import Path


from engine.autoencoder import service as ae_service
from engine.core.registry import ASSETS_DIR


def main() -> None:
    folder = ASSETS_DIR / "examples" / "autoencoder"
    shutil.rmtree(folder, ignore_errors=True)
    photos = ae_service.denoise_examples(folder / "photos")
    textures = ae_service.example_images(folder / "textures", count=6)
    print(f"wrote {len(photos)} photos and {len(textures)} texture crops to {folder}")


if __name__ == "__main__":
    main()
