"""Rebuild the Autoencoder > Variational view's committed models (assets/vae_digits).

    python scripts/train_vae.py            # all three: latent_16 (VAE, beta 1), latent_2 (VAE, beta 16), ae_2 (plain autoencoder)
    python scripts/train_vae.py latent_2   # one of them

Seeded and single-threaded, so the same command rebuilds the same weights on the same machine. Each model
trains on the fixed 80/20 split's 1,437 training digits, upscaled to 32x32 like the GAN's
(engine.autoencoder.vae_train.training_digits); test digits are never trained on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from engine.autoencoder.vae_train import VaeTrainConfig, train_vae  # noqa: E402

OUT = ROOT / "assets" / "vae_digits"
MODELS = {
    "latent_16": VaeTrainConfig(latent_dim=16),
    # The 32x32 digits are 8x8 ones upsampled: the cross-entropy over 1,024 pixels counts each real pixel about 16
    # times, so beta 16 weighs the KL as beta 1 would on the 64 real pixels (the live run's scale). At beta 1 the
    # 2-D posteriors were needle-thin (sigma ~0.08): an autoencoder's map with dots for ellipses.
    "latent_2": VaeTrainConfig(latent_dim=2, beta=16.0),
    "ae_2": VaeTrainConfig(latent_dim=2, variational=False, beta=0.0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help=f"which of {list(MODELS)} (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {list(MODELS)}")
    torch.set_num_threads(args.threads)
    for name in args.models or list(MODELS):
        config = MODELS[name]
        print(f"{name}: {config}", flush=True)

        def report(epoch: int, total: int, loss: float) -> None:
            if epoch % 10 == 0 or epoch == total:
                print(f"  epoch {epoch}/{total} loss {loss:.3f}", flush=True)

        model, metrics = train_vae(config, on_progress=report)
        metrics["threads"] = args.threads
        print(json.dumps(metrics, indent=2), flush=True)
        folder = OUT / name
        model.save_pretrained(folder, safe_serialization=True)
        (folder / "training.json").write_text(json.dumps({"config": dataclasses.asdict(config), "metrics": metrics},
                                                         indent=2) + "\n")


if __name__ == "__main__":
    main()
