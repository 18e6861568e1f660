"""Rebuild assets/gan_digits (the GAN tab's class-conditional DCGAN) and print its quality figures.

    python scripts/train_gan_digits.py [--steps 4000] [--out assets/gan_digits]
    python scripts/train_gan_digits.py --measure-only   # re-measure the committed generator and D snapshots

Training also saves snapshots: D at the earlier --snapshot-steps (OUT/discriminator_snapshots/<step>/,
the final D is OUT/discriminator/), and the raw generator each of them was trained against
(OUT/generator_snapshots/<step>/, float16 to stay small), all from the same seeded run.
Needs the judge in assets/gan_judge (``python scripts/train_gan_judge.py``) for the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path

import torch

from engine.gan.models import DISCRIMINATOR_SUBFOLDER, GENERATOR_SUBFOLDER
from engine.gan.record import GENERATOR_SNAPSHOTS_FOLDER, SNAPSHOTS_FILE, SNAPSHOTS_FOLDER
from engine.gan.train import GanDigitsConfig, train_gan_digits

QUALITY_SAMPLES = 1000  # the recorded figures
SMALL_SAMPLES = 200  # what the tab's "Re-measure now" uses: recorded too, to show FID's sample-size bias


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=GanDigitsConfig.steps)
    parser.add_argument("--seed", type=int, default=GanDigitsConfig.seed)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("assets/gan_digits"))
    parser.add_argument("--judge", type=Path, default=Path("assets/gan_judge"))
    parser.add_argument("--snapshot-steps", default="250,1000,2000",
                        help="comma-separated steps before the last at which D and G are saved (G also at the last)")
    parser.add_argument("--measure-only", action="store_true",
                        help="keep the networks in --out; only re-measure the quality figures and the D snapshots")
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

    def snapshot(step: int, discriminator, generator) -> None:
        if step < config.steps:  # the last D is saved as OUT/discriminator
            discriminator.save_pretrained(args.out / SNAPSHOTS_FOLDER / str(step), safe_serialization=True)
        generator.half().save_pretrained(args.out / GENERATOR_SNAPSHOTS_FOLDER / str(step), safe_serialization=True)

    steps = sorted({int(s) for s in args.snapshot_steps.split(",") if s.strip()} | {config.steps})
    generator, discriminator, metrics = train_gan_digits(config, on_progress=report, snapshot_steps=steps,
                                                         on_snapshot=snapshot)
    generator.save_pretrained(args.out / GENERATOR_SUBFOLDER, safe_serialization=True)
    discriminator.save_pretrained(args.out / DISCRIMINATOR_SUBFOLDER, safe_serialization=True)
    record = {"config": dataclasses.asdict(config), "metrics": metrics}
    if (args.judge / "config.json").is_file():
        record["quality"], record["sample_size_check"] = quality(generator, args.judge)
    (args.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(metrics), f"saved to {args.out}")


def quality(generator, judge_folder: Path) -> tuple[dict, dict]:
    """The generator's quality figures on 1,000 samples with the judge in ``judge_folder`` (printed too),
    and FID/KID on 200 samples beside them (the same generator: FID's bias with fewer samples, KID's lack of it)."""
    from engine.gan.judge import DigitJudge, evaluate_generator

    judge = DigitJudge.from_pretrained(judge_folder, use_safetensors=True)
    figures = evaluate_generator(generator, judge, samples=QUALITY_SAMPLES).as_dict()
    print(json.dumps(figures, indent=2))
    check = {}
    for samples in (SMALL_SAMPLES, QUALITY_SAMPLES):
        result = figures if samples == QUALITY_SAMPLES else evaluate_generator(generator, judge, samples=samples).as_dict()
        check[str(samples)] = {key: result[key] for key in (
            "n_generated", "n_heldout", "fid_generated_vs_heldout", "fid_real_same_n_vs_heldout",
            "kid_generated_vs_heldout", "kid_generated_vs_heldout_std")}
    print(json.dumps(check, indent=2))
    return figures, check


def measure_only(out: Path, judge_folder: Path) -> None:
    """Rewrite the ``quality`` block of out/training.json for the generator already in ``out``,
    and out/snapshots.json (D snapshots' separation of real from damaged and generated digits)."""
    from engine.gan.models import ConditionalGenerator
    from engine.gan.snapshots import measure_snapshots, snapshots_from_folder

    started = time.perf_counter()
    generator = ConditionalGenerator.from_pretrained(out, subfolder=GENERATOR_SUBFOLDER, use_safetensors=True).eval()
    record = json.loads((out / "training.json").read_text())
    record["quality"], record["sample_size_check"] = quality(generator, judge_folder)
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    figures = measure_snapshots(snapshots=snapshots_from_folder(out), final_generator=generator).as_dict()
    (out / SNAPSHOTS_FILE).write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    print(f"measured in {time.perf_counter() - started:.0f} s; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
