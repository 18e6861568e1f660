"""Rebuild assets/digits_vit (the Attention tab's image model).

    python scripts/train_digits_vit.py [--epochs 120] [--seed 0] [--no-plain-sevens] [--learning-rate 2e-3]
                                       [--init-from FOLDER] [--out assets/digits_vit]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


import torch

from engine.attention.train_vit import DigitsViTConfig, train_digits_vit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=DigitsViTConfig.epochs)
    parser.add_argument("--seed", type=int, default=DigitsViTConfig.seed)
    parser.add_argument("--no-plain-sevens", dest="plain_sevens", action="store_false",
                        help="train on the dataset's 7s only (most have a crossbar; a plainly drawn 7 then reads as 3)")
    parser.add_argument("--learning-rate", type=float, default=DigitsViTConfig.learning_rate)
    parser.add_argument("--init-from", default="", help="start from this save_pretrained folder (fine-tune) instead of random weights")
    parser.add_argument("--out", type=Path, default=Path("assets/digits_vit"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = DigitsViTConfig(epochs=args.epochs, seed=args.seed, plain_sevens=args.plain_sevens,
                             learning_rate=args.learning_rate, init_from=args.init_from)

    def report(epoch: int, total: int, loss: float) -> None:
        if epoch % 10 == 0 or epoch == total or total <= 20:
            print(f"epoch {epoch}/{total} loss {loss:.4f}", flush=True)

    model, metrics = train_digits_vit(config, on_progress=report)
    print(json.dumps(metrics, indent=2))
    model.save_pretrained(args.out, safe_serialization=True)
    (args.out / "training.json").write_text(
        json.dumps({"config": dataclasses.asdict(config), "metrics": metrics}, indent=2) + "\n"
    )
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
