"""Write assets/examples/digit_<d>.png: the first held-out test digit of each class, dark on light, 128 px."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from engine.datasets import digits_split  # noqa: E402
from engine.registry import ASSETS_DIR  # noqa: E402


def main() -> None:
    split = digits_split()
    out = ASSETS_DIR / "examples"
    out.mkdir(parents=True, exist_ok=True)
    written: set[int] = set()
    for image, label in zip(split.test_images, split.test_labels):
        if int(label) in written:
            continue
        written.add(int(label))
        big = Image.fromarray(((1 - image) * 255).astype(np.uint8)).resize((128, 128), Image.BICUBIC)
        big.save(out / f"digit_{label}.png")
    print(f"wrote {len(written)} examples to {out}")


if __name__ == "__main__":
    main()
