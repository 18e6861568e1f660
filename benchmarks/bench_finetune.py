"""scripts.finetune on the CPU: one process vs two under accelerate (time, accuracy), measured in one run.

    .venv/bin/python -m benchmarks.bench_finetune [--tasks text-head,text-last2,textures-full] [--out FILE]

Each task runs the real command three times on the same settings and seed:
  * one process, 1 torch thread:   python -m scripts.finetune ...
  * one process, 2 torch threads:  the same with OMP_NUM_THREADS=2
  * two processes, 1 thread each:  accelerate launch --multi_gpu --num_processes 2 -m scripts.finetune --cpu ...
(accelerate 1.15 starts several CPU processes only through --multi_gpu/torchrun or mpirun.)
Figures: the command's wall time (Python start, model load and export included), the training loop's
seconds and the feature-extraction seconds from metrics.json, validation accuracy and macro-F1.
The machine's load average is printed: other jobs on a shared machine move the times (two OpenMP
threads suffer most when the cores are busy: each small product waits for a hand-off).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATIONS = ((1, 1), (1, 2), (2, 1))  # (processes, torch threads per process); two processes last
TASKS = {
    # frozen MiniLM + linear head: one feature pass, then 15 cheap epochs (communication-bound)
    "text-head": ["--data", "builtin:text-topics", "--strategy", "feature_extraction", "--epochs", "15"],
    # last 2 MiniLM blocks train: the backbone runs every step (compute-bound)
    "text-last2": ["--data", "builtin:text-topics", "--strategy", "fine_tune_last_n", "--unfreeze-blocks", "2",
                   "--epochs", "4", "--patience", "0"],
    # NeuroDeck CNN, every layer trains, augmented 64x64 texture patches
    "textures-full": ["--data", "builtin:textures", "--backbone", "neurodeck-cnn", "--strategy", "full_fine_tune",
                      "--epochs", "6", "--patience", "0"],
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_command(args: list[str], processes: int, threads: int, output: Path) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONUNBUFFERED": "1"}
    if processes == 1:
        command = [sys.executable, "-m", "scripts.finetune", *args, "--cpu", "--output", str(output)]
    else:
        command = [str(Path(sys.executable).with_name("accelerate")), "launch", "--multi_gpu", "--num_processes",
                   str(processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                   "--main_process_port", str(_free_port()), "--num_cpu_threads_per_process", str(threads),
                   "-m", "scripts.finetune", *args, "--cpu", "--output", str(output)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    metrics = json.loads((output / "metrics.json").read_text())
    return {"processes": processes, "threads_per_process": threads, "wall_s": round(wall, 2),
            "train_s": metrics["train_seconds"], "feature_s": metrics["feature_seconds"],
            "val_accuracy": metrics["validation_accuracy"], "macro_f1": metrics["macro_f1"],
            "epochs_run": metrics["epochs_run"], "world_size": metrics["world_size"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {', '.join(TASKS)}")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "finetune_cpu.json")
    args = parser.parse_args()
    results = {"cpu_count": os.cpu_count(), "load_average_start": [round(x, 1) for x in os.getloadavg()], "tasks": {}}
    print(f"CPUs: {os.cpu_count()}, load average at start: {results['load_average_start']}")
    with tempfile.TemporaryDirectory() as folder:
        for task in args.tasks.split(","):
            rows = []
            for processes, threads in CONFIGURATIONS:
                row = run_command(TASKS[task], processes, threads, Path(folder) / f"{task}-{processes}x{threads}")
                rows.append(row)
                print(task, json.dumps(row), flush=True)
            two = rows[-1]
            one = min(rows[:-1], key=lambda row: row["train_s"])  # the faster one-process run
            results["tasks"][task] = {
                "args": TASKS[task], "runs": rows,
                "train_time_ratio_two_over_best_one": round(two["train_s"] / max(one["train_s"], 1e-9), 2),
                "wall_time_ratio_two_over_best_one": round(two["wall_s"] / one["wall_s"], 2),
                "accuracy_difference_points": round(100 * (two["val_accuracy"] - one["val_accuracy"]), 1),
            }
    results["load_average_end"] = [round(x, 1) for x in os.getloadavg()]
    print("\n| task | processes x threads | wall s | train s | features s | val accuracy | macro-F1 | epochs |")
    print("|---|---|---|---|---|---|---|---|")
    for task, entry in results["tasks"].items():
        for row in entry["runs"]:
            print(f"| {task} | {row['processes']} x {row['threads_per_process']} | {row['wall_s']:.1f} | {row['train_s']:.2f} | "
                  f"{row['feature_s']:.2f} | {row['val_accuracy']:.4f} | {row['macro_f1']:.4f} | {row['epochs_run']} |")
        print(f"| {task} | 2 x 1 / faster 1-process | {entry['wall_time_ratio_two_over_best_one']:.2f}x | "
              f"{entry['train_time_ratio_two_over_best_one']:.2f}x | | {entry['accuracy_difference_points']:+.1f} pts | | |")
    print(f"load average at the end: {results['load_average_end']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
