"""Train several texture-autoencoder configurations in parallel and rank them on the validation set.

    python scripts/anomaly_sweep.py train --out runs/anomaly_sweep --device cuda   # one process per config
    python scripts/anomaly_sweep.py score --out runs/anomaly_sweep                 # validation figures, no eval set

Model choice for ``assets/ae_anomaly`` is made from the ``score`` table (the validation set is built
from the calibration columns, seed 777); the held-out evaluation set is then scored once, for the
chosen model only, by ``python scripts/train_autoencoders.py anomaly-calibrate``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> AnomalyTrainConfig overrides. Every run is trained on normal training-column patches only.
SWEEP = {
    "c32_l8_rb0": dict(channels=32, latent_channels=8, num_res_blocks=0),
    "c32_l8_rb2": dict(channels=32, latent_channels=8, num_res_blocks=2),
    "c32_l16_rb2": dict(channels=32, latent_channels=16, num_res_blocks=2),
    "c32_l32_rb2": dict(channels=32, latent_channels=32, num_res_blocks=2),
    "c48_l16_rb2": dict(channels=48, latent_channels=16, num_res_blocks=2),
    "c32_l16_rb2_tex": dict(channels=32, latent_channels=16, num_res_blocks=2, texture_fill_fraction=0.5),
    "c32_l16_rb2_p96": dict(channels=32, latent_channels=16, num_res_blocks=2, patch_size=96),
    "c48_l16_rb2_tex": dict(channels=48, latent_channels=16, num_res_blocks=2, texture_fill_fraction=0.5),
}
SWEEP_TRAINING = dict(steps=20000, batch_size=32)  # shared by every run


def train_one(args: tuple[str, str, str, int | None]) -> str:
    name, out, device, steps = args
    import torch

    torch.set_num_threads(1)
    from engine.autoencoder.train_anomaly import AnomalyTrainConfig, train_anomaly

    overrides = {**SWEEP_TRAINING, **SWEEP[name], **({"steps": steps} if steps else {})}
    config = AnomalyTrainConfig(**overrides)
    last = {}
    model, metrics = train_anomaly(config, on_progress=lambda s, t, loss: last.update(step=s, loss=loss), device=device)
    folder = Path(out) / name
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "training.json").write_text(json.dumps({"config": dataclasses.asdict(config), "metrics": {**metrics, "final_loss": last.get("loss")}}, indent=2) + "\n")
    return f"{name}: {metrics['train_seconds']} s, final loss {last.get('loss'):.5f}"


def score(out: Path) -> None:
    import torch

    torch.set_num_threads(1)
    from engine.autoencoder.anomaly import build_validation_set, calibrate, evaluate_anomaly
    from engine.autoencoder.models import TextureAutoencoder

    validation = build_validation_set()
    for folder in sorted(p for p in out.iterdir() if (p / "config.json").exists()):
        model = TextureAutoencoder.from_pretrained(folder, use_safetensors=True).eval()
        figures = evaluate_anomaly(model, calibrate(model), validation)
        (folder / "validation.json").write_text(json.dumps(figures, indent=2) + "\n")
        print(f"{folder.name:22s} image {figures['image_auroc']:.4f} pixel {figures['pixel_auroc']:.4f} "
              f"kinds {figures['image_auroc_per_kind']} textures {figures['image_auroc_per_texture']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["train", "score"])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "anomaly_sweep")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=None, help="override steps (smoke runs)")
    parser.add_argument("--only", nargs="*", default=None, help="subset of config names")
    parser.add_argument("--processes", type=int, default=len(SWEEP))
    args = parser.parse_args()
    if args.action == "score":
        score(args.out)
        return
    names = args.only or list(SWEEP)
    jobs = [(name, str(args.out), args.device, args.steps) for name in names]
    with multiprocessing.get_context("spawn").Pool(min(args.processes, len(jobs))) as pool:
        for line in pool.imap_unordered(train_one, jobs):
            print(line, flush=True)


if __name__ == "__main__":
    main()
