"""Honest baselines (issue #23): every transfer strategy with the same epoch budget on two few-shot tasks.

    python -m benchmarks.bench_baselines [--seeds 0 1 2] [--epochs 40] [--datasets objects shapes]
                                         [--strategies ...] [--json benchmarks/results/baselines.json]

Tasks: the built-in *Objects, few-shot* (7 classes, 8 training pictures a class, 12 held out) and the
seeded *shapes over photo crops* task (engine/transfer/shapes.py, pictures of seed 0: 3 classes, 12
training pictures a class, 12 held out). Backbone: EfficientNet-Lite0 (ImageNet), 224x224.

Every strategy gets the same budget and the held-out pictures never steer training: ``epochs`` epochs,
no early stopping, the last epoch kept (``patience=0``, ``keep_best=False``; validation runs once, at
the end). The linear strategies (feature extraction's head, scikit-learn's logistic regression) fit to
convergence on the cached features within that budget. Per strategy the script reports the median over
seeds (the seed draws the few-shot split, the initialisation, the order and the augmentation) of the
train accuracy (the final model on its unaugmented training pictures) and the held-out accuracy, and
whether the run fit its training data (train accuracy >= 0.9; a run that did not is never used for the
pre-training gain). Accuracies do not depend on the machine; seconds do, so the load average is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESULTS = Path(__file__).resolve().parent / "results" / "baselines.json"
DATASETS = ("objects", "shapes")


def load_dataset(name: str):
    if name == "objects":
        from engine.transfer.data import load_builtin

        return load_builtin("objects-few-shot")
    from engine.transfer.shapes import shapes_dataset

    return shapes_dataset(seed=0)


def run_dataset(name: str, seeds: list[int], epochs: int, strategies: tuple[str, ...]) -> dict:
    """Runs and medians for one task."""
    from engine.transfer.backbones import load_backbone, prepare_inputs
    from engine.transfer.render import FIT_THRESHOLD
    from engine.transfer.train import TrainConfig, train_transfer

    dataset = load_dataset(name)
    backbone = load_backbone("efficientnet-lite0", "image")
    inputs, cache = prepare_inputs(backbone, dataset.items), {}
    runs: dict[str, list[dict]] = {strategy: [] for strategy in strategies}
    for seed in seeds:
        for strategy in strategies:
            config = TrainConfig(strategy=strategy, seed=seed, epochs=epochs, patience=0, keep_best=False,
                                 validate_every=epochs)
            result = train_transfer(dataset, backbone, config, inputs=inputs, feature_cache=cache)
            row = {"seed": seed, "train_accuracy": round(result.train_accuracy, 4),
                   "held_out_accuracy": round(result.metrics.accuracy, 4),
                   "fitted": result.train_accuracy >= FIT_THRESHOLD, "epochs_run": len(result.history),
                   "last_epoch": result.history[-1].epoch if result.history else 0, "stop": result.stop_reason,
                   "seconds": round(result.train_seconds + result.feature_seconds, 1)}
            runs[strategy].append(row)
            print(f"{name} seed {seed} {strategy}: train {row['train_accuracy']:.3f} held-out "
                  f"{row['held_out_accuracy']:.3f} ({row['seconds']} s, {row['stop']})", flush=True)
    summary = {}
    for strategy, rows in runs.items():
        summary[strategy] = {
            "train_accuracy_median": round(statistics.median(r["train_accuracy"] for r in rows), 4),
            "held_out_accuracy_median": round(statistics.median(r["held_out_accuracy"] for r in rows), 4),
            "fitted_runs": f"{sum(r['fitted'] for r in rows)}/{len(rows)}",
            "seconds_median": round(statistics.median(r["seconds"] for r in rows), 1),
            "runs": rows,
        }
    gains = []
    for index in range(len(seeds)):
        scratch = runs.get("from_scratch", [None] * len(seeds))[index]
        pretrained = [runs[s][index]["held_out_accuracy"] for s in strategies
                      if s != "from_scratch" and runs[s][index]["fitted"]]
        if scratch is not None and scratch["fitted"] and pretrained:
            gains.append(round(max(pretrained) - scratch["held_out_accuracy"], 4))
    held_out = int(len(dataset) - dataset.train_per_class * len(dataset.class_names))
    return {"dataset": dataset.name, "classes": list(dataset.class_names), "train_per_class": dataset.train_per_class,
            "held_out": held_out, "strategies": summary,
            "pretraining_gain_per_seed": gains, "pretraining_gain_median": statistics.median(gains) if gains else None}


def table(figures: dict) -> str:
    lines = ["| task | strategy | train accuracy | held-out accuracy | fit its data | s (median) |", "|---|---|---|---|---|---|"]
    for name, task in figures["tasks"].items():
        for strategy, row in task["strategies"].items():
            lines.append(f"| {name} | {strategy} | {row['train_accuracy_median']:.3f} | "
                         f"{row['held_out_accuracy_median']:.3f} | {row['fitted_runs']} | {row['seconds_median']} |")
    return "\n".join(lines)


def main() -> None:
    from engine.transfer.options import STRATEGIES

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--strategies", nargs="+", choices=STRATEGIES, default=list(STRATEGIES))
    parser.add_argument("--json", type=Path, default=RESULTS, help="merged into an existing file, task by task")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    started, load_before = time.perf_counter(), os.getloadavg()
    command = "python -m benchmarks.bench_baselines " + " ".join(
        ["--seeds", *map(str, args.seeds), "--epochs", str(args.epochs), "--datasets", *args.datasets])
    for name in args.datasets:
        task = run_dataset(name, args.seeds, args.epochs, tuple(args.strategies))
        task.update(command=command, seeds=args.seeds, epochs=args.epochs, torch_threads=torch.get_num_threads(),
                    load_average_1_5_15_before=[round(v, 2) for v in load_before],
                    load_average_1_5_15_after=[round(v, 2) for v in os.getloadavg()])
        # Re-read just before writing: tasks run in separate processes merge into one file.
        figures = json.loads(args.json.read_text()) if args.json.is_file() else {}
        figures.setdefault("tasks", {})[name] = task
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    figures = {"tasks": {name: json.loads(args.json.read_text())["tasks"][name] for name in args.datasets}}
    print(table(figures))
    for name, task in figures["tasks"].items():
        print(f"{name}: pre-training gain per seed (fitted runs only) {task['pretraining_gain_per_seed']}")
    print(f"load average (1, 5, 15 min) before {tuple(round(v, 2) for v in load_before)}, after "
          f"{tuple(round(v, 2) for v in os.getloadavg())}; {os.cpu_count()} CPUs, torch threads "
          f"{torch.get_num_threads()}; {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
