"""GAN issue #23 items 3-4: the D snapshots' separation and FID/KID at two sample sizes, measured in one run.

    python benchmarks/bench_gan_snapshots.py [--count 200] [--seeds 0,1,2] [--out benchmarks/results/gan_snapshots.json]

Per snapshot: AUROC of real held-out digits against scribbled copies, noised copies and the digits of
the generator that D was trained against, for a few seeds (the committed snapshots.json uses seed 0),
and how much a scribble moves D's realness for the same real digits (median drop). Then FID and KID
of the committed generator on 200 and 1,000 samples beside real digits' FID at the same n, and the
seconds each step took. Timings are wall-clock on this (shared) machine; the load average is recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch


def snapshots(count: int, seeds: list[int]) -> dict:
    from engine.gan import snapshots as snap

    started = time.perf_counter()
    loaded = snap.load_snapshots()
    load_seconds = time.perf_counter() - started
    per_seed = {}
    for seed in seeds:
        started = time.perf_counter()
        figures = snap.measure_snapshots(count=count, seed=seed)
        per_seed[str(seed)] = {"seconds": round(time.perf_counter() - started, 2),
                               "snapshots": [s.as_dict() for s in figures.snapshots]}
    test = snap.make_test_set(count, seeds[0])
    drops = {}
    for item in loaded:
        real = snap.realness(item.discriminator, test.real, test.labels)
        scribbled = snap.realness(item.discriminator, test.scribbled, test.labels)
        drops[str(item.step)] = {"median_realness_drop_from_scribble": round(float(np.median(real - scribbled)), 4),
                                 "share_lowered": round(float((scribbled < real).mean()), 3)}
    started = time.perf_counter()
    snap.score_snapshots(test.real[0], int(test.labels[0]))
    score_ms = (time.perf_counter() - started) * 1000
    return {"load_seconds": round(load_seconds, 2), "score_one_image_ms": round(score_ms, 1),
            "count": count, "per_seed": per_seed, "scribble_effect": drops}


def quality() -> dict:
    from engine.gan.inference import measure_quality

    out = {}
    for samples in (200, 1000):
        started = time.perf_counter()
        figures = measure_quality(samples=samples).as_dict()
        keep = ("n_generated", "n_heldout", "n_real_train", "fid_generated_vs_heldout", "fid_real_same_n_vs_heldout",
                "fid_real_train_vs_heldout", "kid_generated_vs_heldout", "kid_generated_vs_heldout_std",
                "kid_real_train_vs_heldout", "kid_real_train_vs_heldout_std")
        out[str(samples)] = {**{k: figures[k] for k in keep}, "seconds": round(time.perf_counter() - started, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/gan_snapshots.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {"load_average_before": [round(v, 2) for v in os.getloadavg()], "torch_threads": 1}
    results["snapshots"] = snapshots(args.count, [int(s) for s in args.seeds.split(",")])
    results["quality"] = quality()
    results["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
