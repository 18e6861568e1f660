"""Write assets/examples/digit_<d>.png: the first held-out test digit of each class, dark on light, 128 px."""

from __future__ import annotations

from pathlib import Path


import numpy as np
from PIL import Image

from engine.core.datasets import digits_split
from engine.core.registry import ASSETS_DIR


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
