"""Write assets/examples/autoencoder/: the Autoencoder tab's example inputs.

- ``photos/<name>.png``: the held-out photos (never trained on) for denoising;
- ``textures/<texture>_<kind>.png``: 128x128 crops of the held-out right quarter of scikit-image's brick, grass
  and gravel (the anomaly model trains on the left half only), from the seeded evaluation set
  (``engine.autoencoder.anomaly.build_eval_set``, seed ``EVAL_SEED``): per texture a normal crop and synthetic
  defects that the model flags at its calibrated threshold.

Deterministic: the same files every run.

    python scripts/make_autoencoder_examples.py
"""

from __future__ import annotations

import shutil

from engine.autoencoder import render
from engine.autoencoder.anomaly import build_eval_set
from engine.autoencoder.assets import EXAMPLES_DIR, PHOTOS_DIR, TEXTURES_DIR
from engine.autoencoder.photos import HELDOUT_PHOTOS, load_photo

# Indices in the evaluation set (normal crops are even, their defective twins odd): brick 0-31, grass 32-63,
# gravel 64-95.
TEXTURE_PICKS = (0, 1, 17, 19, 32, 33, 35, 64, 71, 73)


def main() -> None:
    shutil.rmtree(EXAMPLES_DIR, ignore_errors=True)
    PHOTOS_DIR.mkdir(parents=True)
    TEXTURES_DIR.mkdir(parents=True)
    for name in HELDOUT_PHOTOS:
        render.to_pil(load_photo(name)).save(PHOTOS_DIR / f"{name.removeprefix('sklearn:').split('.')[0]}.png")
    eval_set = build_eval_set()
    for index in TEXTURE_PICKS:
        render.to_pil(eval_set.images[index]).save(TEXTURES_DIR / f"{eval_set.textures[index]}_{eval_set.kinds[index]}.png")
    print(f"wrote {len(HELDOUT_PHOTOS)} photos and {len(TEXTURE_PICKS)} texture crops to {EXAMPLES_DIR}")


if __name__ == "__main__":
    main()
