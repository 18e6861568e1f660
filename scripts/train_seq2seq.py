"""Rebuild assets/seq2seq: the encoder-decoder lab's models (dates) and the length-stress models (copy).

    python -m scripts.train_seq2seq --model transformer              # one date model
    python -m scripts.train_seq2seq --model all                      # the three date models
    python -m scripts.train_seq2seq --task copy --model all          # the three copy-task models

Every TrainConfig field is an option (--steps, --batch-size, --learning-rate, --model-dim, ...);
defaults per model and task are in DEFAULT_STEPS. Seeded (--seed, default 0) and CPU-only: it runs
on --threads torch threads (default 1). Each run writes <out>/config.json +
diffusion_pytorch_model.safetensors, training.json (config, time, held-out evaluation) and README.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from engine.attention.seq2seq import data, evaluate
from engine.attention.seq2seq.train import TrainConfig, train

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assets" / "seq2seq"
KINDS = ("transformer", "rnn_attention", "rnn")
# As few steps as still meet the bar (>= 99% exact match on held-out dates for the two attention models).
DEFAULT_STEPS = {
    ("dates", "transformer"): 2000,
    ("dates", "rnn_attention"): 1500,
    ("dates", "rnn"): 2000,
    ("copy", "transformer"): 2000,
    ("copy", "rnn_attention"): 2000,
    ("copy", "rnn"): 2000,
}
DEFAULT_BATCH = {"dates": 128, "copy": 64}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="all", choices=KINDS + ("all",))
    p.add_argument("--out", type=Path, default=None, help="output folder (default assets/seq2seq[/copy]/<model>)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (the reference machine has 2 shared cores)")
    p.add_argument("--eval-per-cell", type=int, default=200,
                   help="held-out dates per (form, casing) cell: 7 x 4 x this many in all")
    p.add_argument("--eval-per-length", type=int, default=40, help="held-out copy sequences per length 5..60")
    for f in dataclasses.fields(TrainConfig):
        if f.name == "model":
            continue
        flag = "--" + f.name.replace("_", "-")
        p.add_argument(flag, type=type(f.default), default=None, help=f"default {f.default!r} (steps: see DEFAULT_STEPS)")
    return p


def config_for(args: argparse.Namespace, kind: str) -> TrainConfig:
    task = args.task or TrainConfig.task
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                 if f.name != "model" and getattr(args, f.name) is not None}
    overrides.setdefault("task", task)
    overrides.setdefault("steps", DEFAULT_STEPS[(task, kind)])
    overrides.setdefault("batch_size", DEFAULT_BATCH[task])
    return TrainConfig(model=kind, **overrides).check()


def readme(kind: str, config: TrainConfig, record: dict, evaluation: dict, command: str) -> str:
    task = "date normalisation (7 forms x 4 casings -> YYYY-MM-DD)" if config.task == "dates" else \
        "copying sequences of 5-60 symbols (the length-stress task)"
    lines = [
        f"# seq2seq / {'copy/' if config.task == 'copy' else ''}{kind}",
        "",
        f"`{type_name(kind)}` trained by NeuroDeck on {task}. Licence: MIT (NeuroDeck's own weights).",
        "",
        f"- Rebuild: `{command}`",
        f"- Training: {config.steps} steps, batch {config.batch_size}, AdamW lr {config.learning_rate} "
        f"(warm-up {config.warmup_steps}, cosine), seed {config.seed}; {record['parameters']:,} parameters.",
        f"- Training time: **{record['train_seconds']:.0f} s** wall"
        + (f" ({record['cpu_seconds']:.0f} s of CPU)" if "cpu_seconds" in record else "")
        + f" on {record['torch_threads']} CPU thread(s) ({record['machine']}, a 2-core machine shared with other "
        f"jobs, load average {record.get('load_average', '?')}; expect less when it runs alone).",
        f"- Held-out exact match: **{evaluation['exact_match']:.2%}** on {evaluation['samples']:,} "
        + ("held-out dates (never seen in training), every form and casing equally." if config.task == "dates"
           else "held-out random sequences, every length 5-60 equally."),
    ]
    if config.task == "dates":
        lines.append("- Per form: " + ", ".join(f"{k} {v:.2%}" for k, v in evaluation["per_form"].items()) + ".")
        lines.append(f"- Worst form/casing cell: {evaluation['worst_form_casing'][0]} "
                     f"{evaluation['worst_form_casing'][1]:.2%}.")
    lines.append("- By length: " + ", ".join(f"{r['lengths']}: {r['exact_match']:.1%}" for r in evaluation["by_length"]) + ".")
    lines.append("- Everything (config, loss history, evaluation, errors) is in `training.json`.")
    return "\n".join(lines) + "\n"


def type_name(kind: str) -> str:
    from engine.attention.seq2seq.models import MODEL_CLASSES

    return MODEL_CLASSES[kind].__name__


def run(args: argparse.Namespace, kind: str) -> dict:
    config = config_for(args, kind)
    out = args.out or (OUT / kind if config.task == "dates" else OUT / "copy" / kind)
    print(f"== {kind} on {config.task}: {config.steps} steps -> {out}", flush=True)

    def report(step: int, total: int, loss: float) -> None:
        if step % 250 == 0 or step == total:
            print(f"{kind} step {step}/{total} loss {loss:.4f}", flush=True)

    model, record = train(config, on_progress=report)
    record["machine"] = f"{platform.machine()}, torch {torch.__version__}"
    record["load_average"] = round(os.getloadavg()[0], 1)  # 1-minute load when training ended
    started = time.perf_counter()
    if config.task == "dates":
        evaluation = evaluate.date_accuracy(model, data.evaluation_set(args.eval_per_cell, seed=0))
    else:
        evaluation = evaluate.copy_accuracy(model, data.copy_evaluation_set(args.eval_per_length, seed=0))
    evaluation["evaluation_seconds"] = round(time.perf_counter() - started, 1)
    print(f"{kind}: exact match {evaluation['exact_match']:.4f} in {record['train_seconds']} s", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    argv = [a for a in sys.argv[1:]]
    if "--model" in argv:
        argv[argv.index("--model") + 1] = kind
    else:
        argv = ["--model", kind] + argv
    command = "python -m scripts.train_seq2seq " + shlex.join(argv)
    (out / "training.json").write_text(json.dumps(
        {"command": command, "config": dataclasses.asdict(config), "record": record, "evaluation": evaluation},
        indent=1) + "\n")
    (out / "README.md").write_text(readme(kind, config, record, evaluation, command))
    return evaluation


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    kinds = KINDS if args.model == "all" else (args.model,)
    if args.out is not None and len(kinds) > 1:
        raise SystemExit("--out needs a single --model.")
    for kind in kinds:
        run(args, kind)


if __name__ == "__main__":
    main()
