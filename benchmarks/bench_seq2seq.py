"""Encoder-decoder lab figures, all measured in this one run from the committed weights.

    python -m benchmarks.bench_seq2seq [--per-cell 100] [--per-length 40] [--live-seconds 90]
                                       [--live-seeds 0 1] [--repeats 20] [--json benchmarks/results/seq2seq.json]

* exact match per model, per form and per casing on held-out dates (dates never seen in training);
* exact match against input length: dates, and the copy task (5-60 symbols) with the committed copy models;
* training time per model (as recorded by scripts/train_seq2seq.py) and training steps per second here;
* live training: the step and the time at which the fixed example's cross-attention is visibly aligned
  (alignment score >= engine.attention.seq2seq.evaluate.ALIGNED_THRESHOLD; the score is the share of
  attention each year / month / day output digit puts on that field in the input);
* /seq2seq_translate latency through the real server, against an empty endpoint (--repeats 0 skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets" / "seq2seq"
KINDS = ("transformer", "rnn_attention", "rnn")


def date_figures(per_cell: int) -> dict:
    from engine.attention.seq2seq import data, evaluate, inference

    samples = data.evaluation_set(per_cell, seed=0)
    out = {}
    for kind in KINDS:
        started = time.perf_counter()
        result = evaluate.date_accuracy(inference.load(kind), samples)
        result["seconds"] = round(time.perf_counter() - started, 1)
        result["errors"] = result["errors"][:5]
        out[kind] = result
    return {"held_out_samples": len(samples), "bar": ">= 0.99 exact match for transformer and rnn_attention, "
            "in every form", "models": out}


def copy_figures(per_length: int) -> dict:
    from engine.attention.seq2seq import data, evaluate
    from engine.attention.seq2seq.models import load_model

    evaluation = data.copy_evaluation_set(per_length, seed=0)
    out = {}
    for kind in KINDS:
        folder = ASSETS / "copy" / kind
        if (folder / "config.json").is_file():
            out[kind] = evaluate.copy_accuracy(load_model(folder), evaluation)
    return {"held_out_sequences": len(evaluation), "models": out}


def training_figures(steps: int = 30) -> dict:
    from engine.attention.seq2seq.train import TrainConfig, Trainer

    out = {}
    for task, folder in (("dates", ASSETS), ("copy", ASSETS / "copy")):
        for kind in KINDS:
            path = folder / kind / "training.json"
            if not path.is_file():
                continue
            record = json.loads(path.read_text())
            config = TrainConfig(**record["config"])
            trainer = Trainer(config)
            trainer.step()  # first step pays one-off costs
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(steps):
                trainer.step()
            per_step = (time.perf_counter() - started) / steps
            cpu_per_step = (time.process_time() - cpu_started) / steps
            out[f"{task}/{kind}"] = {
                "recorded_train_seconds": record["record"]["train_seconds"],
                "steps": config.steps,
                "parameters": record["record"]["parameters"],
                "steps_per_second_now": round(1 / per_step, 2),
                "estimated_train_seconds_now": round(per_step * config.steps, 1),
                "cpu_seconds_per_step_now": round(cpu_per_step, 4),
                "estimated_train_cpu_seconds": round(cpu_per_step * config.steps, 1),
                "command": record["command"],
            }
    return out


def live_figures(seconds: float, seeds: list[int], models: list[str]) -> dict:
    from engine.attention.seq2seq.evaluate import ALIGNED_THRESHOLD, uniform_alignment
    from engine.attention.seq2seq.live import FIXED_EXAMPLE, LiveSeq2Seq

    runs = []
    for model in models:
        for seed in seeds:
            session = LiveSeq2Seq(seed, model)
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                session.train_for(2.0)
            frame = session.snapshot()
            runs.append({
                "model": model, "seed": seed, "steps": frame.step, "train_seconds": frame.seconds,
                "aligned_at_step": frame.aligned_step, "aligned_at_seconds": frame.aligned_seconds,
                "final_score": round(frame.score, 3), "final_output": frame.output,
                "score_history": [[int(s), round(float(v), 3)] for s, v in zip(frame.loss_steps, frame.scores)],
            })
    return {"example": FIXED_EXAMPLE.source, "threshold": ALIGNED_THRESHOLD,
            "uniform_attention_score": round(uniform_alignment(FIXED_EXAMPLE), 3), "budget_seconds": seconds,
            "runs": runs}


def endpoint_latency(repeats: int) -> dict:
    from benchmarks.serving import p50, p95, running_server, time_calls, wait_until_warm
    from gradio_client import Client

    with running_server("app.py") as (url, _):
        client = Client(url, verbose=False, ssl_verify=False)
        wait_until_warm(client)
        ping = time_calls(lambda: client.predict(api_name="/ping"), repeats)
        rows = {"empty_endpoint_p50_ms": round(p50(ping) * 1000, 1)}
        for kind in KINDS:
            calls = time_calls(lambda k=kind: client.predict("Wednesday, March 3, 2021", k, api_name="/seq2seq_translate"),
                               repeats)
            rows[kind] = {"p50_ms": round(p50(calls) * 1000, 1), "p95_ms": round(p95(calls) * 1000, 1),
                          "ratio_p50_vs_empty": round(p50(calls) / p50(ping), 2)}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-cell", type=int, default=100, help="held-out dates per (form, casing)")
    parser.add_argument("--per-length", type=int, default=40, help="held-out copy sequences per length")
    parser.add_argument("--live-seconds", type=float, default=90)
    parser.add_argument("--live-seeds", type=int, nargs="*", default=[0, 1])
    parser.add_argument("--live-models", nargs="*", default=["transformer", "rnn_attention"])
    parser.add_argument("--repeats", type=int, default=20, help="endpoint timing calls; 0 skips the server")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "seq2seq.json")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    started = time.perf_counter()
    figures = {"dates": date_figures(args.per_cell), "copy": copy_figures(args.per_length),
               "training": training_figures()}
    if args.live_seconds > 0 and args.live_seeds:
        figures["live"] = live_figures(args.live_seconds, args.live_seeds, args.live_models)
    if args.repeats > 0:
        figures["endpoint"] = endpoint_latency(args.repeats)
    figures["cpu_count"] = os.cpu_count()
    figures["torch_threads"] = torch.get_num_threads()
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps({k: v for k, v in figures.items()}, indent=1)[:6000])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
