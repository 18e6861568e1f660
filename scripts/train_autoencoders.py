"""Rebuild the Autoencoder tab's committed models.

    python scripts/train_autoencoders.py denoiser   # assets/ae_denoiser
    python scripts/train_autoencoders.py anomaly --device cuda   # assets/ae_anomaly (CPU works too, ~100x slower)
    python scripts/train_autoencoders.py anomaly-calibrate   # recompute calibration.json of the committed anomaly model
    python scripts/train_autoencoders.py digits     # assets/ae_digits/latent_{2,4,8,16,32}
    python scripts/train_autoencoders.py all

Each run is seeded and single-threaded by default (``--threads``), so the same
command rebuilds the same weights on the same machine. The anomaly model was
trained on a GPU (``--device cuda``); CUDA and CPU runs see the same patches but
their weights agree only up to float rounding.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import torch


def report(step: int, total: int, loss: float) -> None:
    print(f"  step {step}/{total} loss {loss:.5f}", flush=True)


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")


def build_denoiser(out: Path, steps: int | None) -> None:
    from engine.autoencoder.denoise import evaluate_heldout
    from engine.autoencoder.train_denoiser import DenoiserTrainConfig, train_denoiser

    config = DenoiserTrainConfig(**({"steps": steps} if steps else {}))
    model, metrics = train_denoiser(config, on_progress=report)
    metrics["heldout_gaussian_0.1"] = evaluate_heldout(model)
    print(json.dumps(metrics, indent=2))
    model.save_pretrained(out, safe_serialization=True)
    write_json(out / "training.json", {"config": dataclasses.asdict(config), "metrics": metrics})


def build_anomaly(out: Path, steps: int | None, device: str = "cpu") -> None:
    from engine.autoencoder.anomaly import calibrate, evaluate_anomaly
    from engine.autoencoder.train_anomaly import AnomalyTrainConfig, train_anomaly

    config = AnomalyTrainConfig(**({"steps": steps} if steps else {}))
    model, metrics = train_anomaly(config, on_progress=report, device=device)
    calibration = calibrate(model)
    metrics["evaluation"] = evaluate_anomaly(model, calibration)
    print(json.dumps(metrics, indent=2))
    model.save_pretrained(out, safe_serialization=True)
    write_json(out / "calibration.json", dataclasses.asdict(calibration))
    write_json(out / "training.json", {"config": dataclasses.asdict(config), "metrics": metrics})


def calibrate_anomaly(out: Path, steps: int | None) -> None:
    """No training: recompute the committed anomaly model's calibration and evaluation figures."""
    from engine.autoencoder.anomaly import calibrate, evaluate_anomaly
    from engine.autoencoder.models import TextureAutoencoder

    model = TextureAutoencoder.from_pretrained(out, use_safetensors=True).eval()
    calibration = calibrate(model)
    write_json(out / "calibration.json", dataclasses.asdict(calibration))
    training = json.loads((out / "training.json").read_text())
    training["metrics"]["evaluation"] = evaluate_anomaly(model, calibration)
    print(json.dumps(training["metrics"]["evaluation"], indent=2))
    write_json(out / "training.json", training)


def build_digits(out: Path, steps: int | None) -> None:
    from engine.autoencoder.train_digits import DIGITS_LATENT_SIZES, DigitsAETrainConfig, train_digits_ae

    summary = {}
    for latent in DIGITS_LATENT_SIZES:
        config = DigitsAETrainConfig(latent_dim=latent, **({"epochs": steps} if steps else {}))
        print(f"latent {latent}", flush=True)
        model, metrics = train_digits_ae(config, on_progress=report)
        print(json.dumps(metrics))
        folder = out / f"latent_{latent}"
        model.save_pretrained(folder, safe_serialization=True)
        write_json(folder / "training.json", {"config": dataclasses.asdict(config), "metrics": metrics})
        summary[latent] = metrics
    print(json.dumps(summary, indent=2))


BUILDERS = {"denoiser": ("ae_denoiser", build_denoiser), "anomaly": ("ae_anomaly", build_anomaly), "anomaly-calibrate": ("ae_anomaly", calibrate_anomaly), "digits": ("ae_digits", build_digits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("which", choices=[*BUILDERS, "all"])
    parser.add_argument("--steps", type=int, default=None, help="override training steps (epochs for digits)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 keeps the shared machine usable)")
    parser.add_argument("--device", default="cpu", help="torch device for the anomaly model's training (cpu, cuda)")
    parser.add_argument("--assets", type=Path, default=ROOT / "assets", help="parent folder of the model folders")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in ["denoiser", "anomaly", "digits"] if args.which == "all" else [args.which]:
        folder, build = BUILDERS[name]
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        extra = {"device": args.device} if name == "anomaly" else {}
        build(args.assets / folder, args.steps, **extra)
        print(f"== {name} done in {time.perf_counter() - started:.0f} s -> {args.assets / folder}", flush=True)


if __name__ == "__main__":
    main()
