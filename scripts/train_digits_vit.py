"""Rebuild assets/digits_vit (the Attention tab's image model).

    python scripts/train_digits_vit.py [--epochs 120] [--out assets/digits_vit]
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
    parser.add_argument("--out", type=Path, default=Path("assets/digits_vit"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    config = DigitsViTConfig(epochs=args.epochs, seed=args.seed)

    def report(epoch: int, total: int, loss: float) -> None:
        if epoch % 10 == 0 or epoch == total:
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
