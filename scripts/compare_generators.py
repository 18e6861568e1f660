"""Measure GAN, VAE and diffusion with the same judge and record the table the comparison view opens with.

    python scripts/compare_generators.py [--n 500] [--seed 0] [--threads 2] [--out benchmarks/results/compare_generators.json]

Runs engine.gan.compare.compare_generators (the function behind the view's "Measure now") and writes its
figures as JSON; generators whose module is missing are listed under "missing".
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from engine.gan.compare import COMMITTED, compare_generators, table_markdown, tradeoff_words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=500, help="samples per model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (ms per sample depends on it)")
    parser.add_argument("--out", type=Path, default=COMMITTED)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    comparison = compare_generators(args.n, args.seed, on_progress=lambda d, t: print(f"{d}/{t}", flush=True))
    args.out.write_text(json.dumps(comparison.as_dict(), indent=2) + "\n")
    print(table_markdown(comparison))
    print()
    print(tradeoff_words(comparison))


if __name__ == "__main__":
    main()
