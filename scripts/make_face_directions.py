"""Rebuild assets/gan_faces/directions.safetensors: GANSpace-style principal directions of w.

    python -m scripts.make_face_directions [--samples 20000] [--components 10] [--seed 0]
    python -m scripts.make_face_directions --preview /tmp/directions   # also render each direction

Samples ``--samples`` seeded z, maps them with MobileStyleGAN's mapping network (from the
random-face package's IR, through engine.gan.faces) and keeps the top ``--components`` principal
directions of the styles w: unit vectors, w's standard deviation along each, the sample mean and
the fraction of variance each explains. No labels are used: what a direction changes is found by
looking at the faces it moves (``--preview``), then written by hand into assets/gan_faces/labels.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from engine.gan import faces, faces_directions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=20000, help="mapped z samples for the PCA")
    parser.add_argument("--components", type=int, default=10, help="principal directions kept")
    parser.add_argument("--seed", type=int, default=0, help="seed of the z draw")
    parser.add_argument("--out", type=Path, default=faces_directions.DIRECTIONS_DIR)
    parser.add_argument("--preview", type=Path, default=None,
                        help="folder for one strip per direction (seeds 0-3 at -3..+3 σ), to label them by eye")
    parser.add_argument("--preview-seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--preview-psi", type=float, default=faces.DEFAULT_PSI)
    args = parser.parse_args()

    from safetensors.numpy import save_file

    generator = faces.load_face_generator()
    started = time.perf_counter()
    z = np.random.default_rng(args.seed).standard_normal((args.samples, faces.STYLE_DIM)).astype(np.float32)
    ws = generator.map_batch(z)
    components, stdev, mean, explained = faces_directions.pca_directions(ws, args.components)
    seconds = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    metadata = {"samples": str(args.samples), "seed": str(args.seed), "ir_digest": faces._ir_digest(),
                "command": f"python -m scripts.make_face_directions --samples {args.samples} "
                           f"--components {args.components} --seed {args.seed}"}
    save_file({"components": components, "stdev": stdev, "mean": mean, "explained": explained},
              str(args.out / faces_directions.DIRECTIONS_FILE), metadata=metadata)
    print(json.dumps({"seconds": round(seconds, 2), "explained": [round(float(e), 4) for e in explained],
                      "stdev": [round(float(s), 3) for s in stdev]}, indent=2))
    print(f"saved {args.out / faces_directions.DIRECTIONS_FILE}")
    if args.preview:
        preview(args.preview, args.preview_seeds, args.preview_psi)


def preview(folder: Path, seeds: list[int], psi: float) -> None:
    """One image per direction: rows = seeds, columns = -3, -1.5, 0, +1.5, +3 standard deviations."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    directions = faces_directions.load_directions()
    amounts = (-3.0, -1.5, 0.0, 1.5, 3.0)
    cell = 160
    for index in range(directions.count):
        sheet = Image.new("RGB", (cell * len(amounts), cell * len(seeds)), "white")
        for row, seed in enumerate(seeds):
            for column, image in enumerate(faces_directions.direction_strip(seed, index, amounts, psi, 256)):
                sheet.paste(image.resize((cell, cell), Image.LANCZOS), (column * cell, row * cell))
        sheet.save(folder / f"direction_{index:02d}.png")
        print(f"wrote {folder / f'direction_{index:02d}.png'}", flush=True)


if __name__ == "__main__":
    main()
