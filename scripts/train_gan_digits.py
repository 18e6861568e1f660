"""Rebuild assets/gan_digits (the GAN tab's class-conditional DCGAN) and print its quality figures.

    python scripts/train_gan_digits.py [--steps 4000] [--out assets/gan_digits]
    python scripts/train_gan_digits.py --measure-only   # re-measure the committed generator (after a new judge)

Needs the judge in assets/gan_judge (``python scripts/train_gan_judge.py``) for the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path


import torch

from engine.gan.models import DISCRIMINATOR_SUBFOLDER, GENERATOR_SUBFOLDER
from engine.gan.train import GanDigitsConfig, train_gan_digits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=GanDigitsConfig.steps)
    parser.add_argument("--seed", type=int, default=GanDigitsConfig.seed)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("assets/gan_digits"))
    parser.add_argument("--judge", type=Path, default=Path("assets/gan_judge"))
    parser.add_argument("--measure-only", action="store_true",
                        help="keep the generator in --out; only re-measure its quality figures with the judge")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.measure_only:
        measure_only(args.out, args.judge)
        return
    config = GanDigitsConfig(steps=args.steps, seed=args.seed)
    started = time.perf_counter()

    def report(step: int, total: int, d_loss: float, g_loss: float) -> None:
        if step % 500 == 0 or step == total:
            print(f"step {step}/{total} d_loss {d_loss:.3f} g_loss {g_loss:.3f} ({time.perf_counter() - started:.0f}s)", flush=True)

    generator, discriminator, metrics = train_gan_digits(config, on_progress=report)
    generator.save_pretrained(args.out / GENERATOR_SUBFOLDER, safe_serialization=True)
    discriminator.save_pretrained(args.out / DISCRIMINATOR_SUBFOLDER, safe_serialization=True)
    record = {"config": dataclasses.asdict(config), "metrics": metrics}
    if (args.judge / "config.json").is_file():
        record["quality"] = quality(generator, args.judge)
    (args.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(metrics), f"saved to {args.out}")


def quality(generator, judge_folder: Path) -> dict:
    """The generator's quality figures on 1,000 samples with the judge in ``judge_folder`` (printed too)."""
    from engine.gan.judge import DigitJudge, evaluate_generator

    judge = DigitJudge.from_pretrained(judge_folder, use_safetensors=True)
    figures = evaluate_generator(generator, judge, samples=1000).as_dict()
    print(json.dumps(figures, indent=2))
    return figures


def measure_only(out: Path, judge_folder: Path) -> None:
    """Rewrite the ``quality`` block of out/training.json for the generator already in ``out``."""
    from engine.gan.models import ConditionalGenerator

    generator = ConditionalGenerator.from_pretrained(out, subfolder=GENERATOR_SUBFOLDER, use_safetensors=True).eval()
    record = json.loads((out / "training.json").read_text())
    record["quality"] = quality(generator, judge_folder)
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
