"""Rebuild assets/gan_faces/directions.safetensors: GANSpace-style principal directions of w.

    python -m scripts.make_face_directions [--samples 20000] [--components 10] [--seed 0]
    python -m scripts.make_face_directions --preview /tmp/directions   # also render each direction

Samples ``--samples`` seeded z, maps them with MobileStyleGAN's mapping network (from the
random-face package's IR, through engine.gan.faces) and keeps the top ``--components`` principal
directions of the styles w: unit vectors, w's standard deviation along each, the sample mean and
the fraction of variance each explains. No labels are used: what a direction changes is found by
looking at the faces it moves (``--preview``).

    python -m scripts.make_face_directions --measure-labels [--label-seeds 50] [--label-amount 2]

names the directions from measurements instead (engine.gan.faces_labels): each seed's face at
-amount and +amount σ along each direction, simple image statistics compared over the seeds, a
name only where a statistic changes consistently; writes assets/gan_faces/labels.json and leaves
directions.safetensors as it is.
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
    parser.add_argument("--measure-labels", action="store_true",
                        help="measure what each committed direction changes and write labels.json (no PCA)")
    parser.add_argument("--label-seeds", type=int, default=50, help="seeds 0..N-1 measured per direction")
    parser.add_argument("--label-amount", type=float, default=2.0, help="faces at -amount and +amount σ")
    parser.add_argument("--label-size", type=int, default=256, help="image size the statistics are measured at")
    args = parser.parse_args()
    if args.measure_labels:
        measure_labels(args.out, args.label_seeds, args.label_amount, args.label_size, args.preview_psi)
        return

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


def measure_labels(folder: Path, seeds: int, amount: float, size: int, psi: float) -> None:
    """Measure each direction's image statistics over ``seeds`` seeds and write labels.json."""
    import os

    from engine.gan import faces_labels

    directions = faces_directions.load_directions()
    generator = faces.load_face_generator()
    load_before, started = os.getloadavg(), time.perf_counter()
    base = {seed: faces.styles((seed,), psi, generator)[0] for seed in range(seeds)}

    def render(seed: int, index: int, value: float):
        w = faces_directions.apply_direction(base[seed], directions, index, value)
        return faces.resize(generator.synthesize(w), size)

    def progress(index: int, seed: int) -> None:
        if seed == seeds - 1:
            print(f"direction {index} done, {time.perf_counter() - started:.0f} s", flush=True)

    results = faces_labels.measure_directions(render, range(seeds), directions.count, amount, progress)
    seconds, load_after = time.perf_counter() - started, os.getloadavg()
    command = (f"python -m scripts.make_face_directions --measure-labels --label-seeds {seeds} "
               f"--label-amount {amount:g} --label-size {size}")
    data = {
        "labels": [r["label"] for r in results],
        "notes": "Found without labels (GANSpace: principal components of 20,000 sampled styles w). A direction is "
                 "named only after a measured image statistic that changes the same way in at least "
                 f"{faces_labels.SIGN_THRESHOLD:.0%} of {seeds} seeds with a standardised effect of at least "
                 f"{faces_labels.EFFECT_THRESHOLD:g} (from -{amount:g} to +{amount:g} σ); the name says which "
                 "statistic, not what a viewer may read into it. The others are called by number. See docs/faces.md.",
        "measurement": {
            "command": command, "seeds": seeds, "amount": amount, "size": size, "psi": psi,
            "sign_threshold": faces_labels.SIGN_THRESHOLD, "effect_threshold": faces_labels.EFFECT_THRESHOLD,
            "statistics": {name: about[0] for name, about in faces_labels.STATISTICS.items()},
            "seconds": round(seconds, 1), "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in load_after], "directions": results},
    }
    path = folder / faces_directions.LABELS_FILE
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(data["labels"], indent=2, ensure_ascii=False))
    print(f"saved {path} in {seconds:.0f} s")


if __name__ == "__main__":
    main()
