"""Rebuild assets/gan_judge (the classifier that measures the GAN tab's quality figures).

    python scripts/train_gan_judge.py [--epochs 30] [--no-plain-sevens] [--out assets/gan_judge]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path


import torch

from engine.gan.judge import JudgeConfig, train_judge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=JudgeConfig.epochs)
    parser.add_argument("--seed", type=int, default=JudgeConfig.seed)
    parser.add_argument("--no-plain-sevens", dest="plain_sevens", action="store_false",
                        help="train on the dataset's 7s only (most have a crossbar; a plain drawn 7 then reads as 3)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("assets/gan_judge"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = JudgeConfig(epochs=args.epochs, seed=args.seed, plain_sevens=args.plain_sevens)
    judge, metrics = train_judge(config, on_progress=lambda e, n, loss: print(f"epoch {e}/{n} loss {loss:.4f}", flush=True))
    print(json.dumps(metrics, indent=2))
    if metrics["test_accuracy"] < 0.97:
        raise SystemExit(f"judge test accuracy {metrics['test_accuracy']:.3f} < 0.97; not saving")
    judge.save_pretrained(args.out, safe_serialization=True)
    (args.out / "training.json").write_text(
        json.dumps({"config": dataclasses.asdict(config), "metrics": metrics}, indent=2) + "\n"
    )
    print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
