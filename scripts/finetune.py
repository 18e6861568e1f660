"""Fine-tune like the Transfer tab, as a command that runs on one CPU, one GPU or many, under Hugging Face accelerate.

    python -m scripts.finetune --data builtin:text-topics --epochs 15 --output model
    accelerate launch -m scripts.finetune --data photos.zip --strategy full_fine_tune --output model
    accelerate launch --multi_gpu --num_processes 4 -m scripts.finetune --data photos.zip --strategy full_fine_tune \\
        --mixed-precision bf16 --output model
    accelerate launch --multi_gpu --num_processes 2 -m scripts.finetune --cpu --data texts.csv --output model

(``python -m scripts.finetune --help`` lists every setting; they are the tab's, see engine.transfer.project.)

The training is the tab's engine, not a copy: data loading and validation (engine.transfer.data),
backbones, strategies, and engine.transfer.train's start_run / fit / finish_run (the epoch loop,
early stopping, best-epoch restore, metrics). Under accelerate:

* **Data is sharded**: each optimiser step's batch of ``--batch-size`` examples (the tab's recipe) is cut
  into equal parts, one per process (accelerate's ``split_batches``); the last, shorter batch is padded
  with examples from the epoch's first batch so every process steps the same number of times. Every
  process draws the same epoch order from the seed; augmentation has a stream per process. Feature
  extraction encodes each process's share of the examples, then gathers them; the linear head (and
  logistic regression) is then fitted full batch on every process, identically (engine.transfer.linear).
* **Gradients are averaged** by accelerate's DistributedDataParallel wrapper (``accelerator.prepare`` on
  the model, optimiser and dataloader; ``accelerator.backward``).
* **Only the main process** evaluates (each epoch's validation loss is broadcast, so every process stops at
  the same epoch), logs and writes ``--output``: the tab's export (config.json, safetensors, labels.json,
  model card, tokenizer for text) plus metrics.json with the validation accuracy, macro-F1, epochs and
  ``world_size``.

One process with the same seed trains exactly the tab's model (tests/engine/transfer/test_project.py).
accelerate 1.15 starts several CPU processes only through ``--multi_gpu`` (torchrun) with this script's
``--cpu``, or through mpirun: ``accelerate launch --cpu --num_processes 2`` starts ONE process (the script
says so when it sees it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from engine.transfer.project import ProjectSettings, RunOptions, command_line, load_data, parse_command
from engine.transfer.options import LINEAR_STRATEGIES
from engine.transfer.train import (
    TrainConfig, TrainProgress, TrainResult, extract_batched, finish_run, fit, start_run,
)

STOP_REASONS = ("", "stopped by user", "time limit")
# Backbones whose every trainable parameter gets a gradient in each step; others (Hub models, EfficientNet)
# may hold unused ones (e.g. a mask token), which DistributedDataParallel must be told to look for.
ALL_PARAMETERS_USED = ("bert", "neurodeck_cnn")


class _Indices(torch.utils.data.Dataset):
    """Dataset indices: batches carry indices, the engine looks the examples up (features or inputs)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> int:
        return index


class EpochBatches(torch.utils.data.Sampler):
    """The tab's epoch as a batch sampler: the order stream's permutation of the training split, in whole batches.

    accelerate wraps it (BatchSamplerShard) and hands each process its part of every batch.
    """

    def __init__(self, run) -> None:
        self.run = run
        self.batch_size = run.config.batch_size
        self.drop_last = False

    def __len__(self) -> int:
        return int(np.ceil(len(self.run.train_index) / self.batch_size))

    def __iter__(self):
        for batch in self.run.epoch_batches():
            yield batch.tolist()


def make_accelerator(options: RunOptions, backbone_type: str, strategy: str):
    """An Accelerator that splits each batch between processes, on the CPU if asked."""
    from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs

    find_unused = strategy != "feature_extraction" and backbone_type not in ALL_PARAMETERS_USED
    return Accelerator(
        cpu=options.cpu,
        mixed_precision=options.mixed_precision,
        dataloader_config=DataLoaderConfiguration(split_batches=True, even_batches=True),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=find_unused)],
    )


def _sharded_extract(accelerator, feature_dim: int, count: int):
    """Feature extraction over processes: each encodes a contiguous share, then all shares are gathered."""
    def extract(model, batch_inputs, size: int) -> torch.Tensor:
        world, rank, device = accelerator.num_processes, accelerator.process_index, accelerator.device
        share = -(-count // world)
        indices = np.arange(rank * share, min(count, (rank + 1) * share))
        local = extract_batched(model, indices, batch_inputs, size, device)
        if world == 1:
            return local
        padded = torch.zeros(share, feature_dim, dtype=local.dtype, device=device)
        padded[: len(local)] = local
        return accelerator.gather(padded)[:count]

    return extract


def train_with_accelerate(dataset, backbone, config: TrainConfig, accelerator, log=None) -> TrainResult | None:
    """Train ``config`` under ``accelerator``; the main process gets the :class:`TrainResult`, the others None."""
    from accelerate.utils import broadcast

    world, device = accelerator.num_processes, accelerator.device
    if config.batch_size % world:
        raise ValueError(f"--batch-size {config.batch_size} is split between {world} processes, so it must be a "
                         f"multiple of {world} (e.g. {config.batch_size + world - config.batch_size % world}).")
    if not accelerator.split_batches:
        raise ValueError("Make the Accelerator with make_accelerator (batches are split between processes).")
    run = start_run(dataset, backbone, config, device=device, lazy_images=True, num_processes=world,
                    process_index=accelerator.process_index,
                    extract=_sharded_extract(accelerator, backbone.feature_dim, len(dataset)))
    loader = torch.utils.data.DataLoader(_Indices(len(dataset)), batch_sampler=EpochBatches(run))
    run.step_module, run.optimizer, loader = accelerator.prepare(run.step_module, run.optimizer, loader)

    def validate() -> tuple[float, float]:
        values = torch.zeros(2, dtype=torch.float64, device=device)
        if accelerator.is_main_process:
            loss, accuracy, _ = run.evaluate(run.val_index)
            values = torch.tensor([loss, accuracy], dtype=torch.float64, device=device)
        values = broadcast(values, from_process=0)
        return float(values[0]), float(values[1])

    def sum_across(values: list[float]) -> list[float]:
        return accelerator.reduce(torch.tensor(values, dtype=torch.float64, device=device), reduction="sum").tolist()

    def agree(reason: str) -> str:
        code = torch.tensor([STOP_REASONS.index(reason)], device=device)
        return STOP_REASONS[int(accelerator.gather(code).max())]

    shown = {"epoch": 0}

    def report(progress: TrainProgress) -> None:
        if log is None or not accelerator.is_main_process:
            return
        if progress.history and progress.history[-1].epoch != shown["epoch"]:
            entry = progress.history[-1]
            shown["epoch"] = entry.epoch
            log(f"epoch {entry.epoch}/{progress.epochs}  train loss {entry.train_loss:.4f} acc {entry.train_accuracy:.3f}  "
                f"| val loss {entry.val_loss:.4f} acc {entry.val_accuracy:.3f}  ({entry.seconds:.1f} s)")
        if progress.message:
            log(progress.message)

    if config.strategy in LINEAR_STRATEGIES:
        # The linear head (and logistic regression) fit full batch on the gathered features, as in the tab:
        # deterministic, so every process computes the same head without exchanging anything.
        from engine.transfer.linear import fit_linear

        outcome = fit_linear(run, on_progress=report)
    else:
        extra = dict(validate=validate, sum_across=sum_across, agree=agree) if world > 1 else {}
        outcome = fit(run, epoch_batches=lambda: (batch.cpu().numpy() for batch in loader),
                      backward=accelerator.backward, on_progress=report, **extra)
    result = finish_run(run, outcome) if accelerator.is_main_process else None
    accelerator.wait_for_everyone()
    return result


def write_output(result: TrainResult, dataset, backbone, settings: ProjectSettings, options: RunOptions,
                 accelerator, wall_seconds: float) -> Path:
    """The tab's export folder plus the run's figures in metrics.json (main process only)."""
    from engine.transfer.export import export_folder

    world = accelerator.num_processes
    folder = export_folder(result, dataset, Path(options.output), backbone.tokenizer,
                           trained_with=f"`scripts.finetune` under accelerate ({world} process(es), {accelerator.device.type})")
    metrics = json.loads((folder / "metrics.json").read_text())
    metrics.update({
        "validation_accuracy": metrics["accuracy"],
        "epochs": result.config.epochs,
        "world_size": world,
        "device": accelerator.device.type,
        "distributed_type": str(accelerator.distributed_type.value),
        "mixed_precision": str(accelerator.mixed_precision),
        "batch_size": result.config.batch_size,
        "batch_size_per_process": result.config.batch_size // world,
        "examples": {"train": int(len(result.train_index)), "validation": int(len(result.val_index))},
        "wall_seconds": round(wall_seconds, 3),
        "history": [asdict(entry) for entry in result.history],
        "settings": settings.to_json(),
        "command": command_line(settings, output=options.output, launcher="accelerate", num_processes=world,
                                cpu=options.cpu),
    })
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return folder


def _launched_cpu_without_processes(accelerator) -> bool:
    """`accelerate launch --cpu --num_processes N>1` (no mpirun) starts one process with MASTER_ADDR set."""
    return (accelerator.num_processes == 1 and os.environ.get("ACCELERATE_USE_CPU", "").lower() == "true"
            and "MASTER_ADDR" in os.environ and "WORLD_SIZE" not in os.environ)


def main(argv: list[str] | None = None) -> int:
    settings, options = parse_command(argv)
    started = time.perf_counter()
    from engine.core.seeding import seed_everything
    from engine.transfer.backbones import load_backbone

    # An offline script, one job per process: seeding the global RNGs is allowed here (CUDA dropout on GPUs);
    # the CPU draws come from the run's own per-job streams either way.
    seed_everything(settings.seed)
    try:
        dataset = load_data(settings.data, options)
        backbone = load_backbone(settings.backbone, dataset.modality)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    accelerator = make_accelerator(options, backbone.backbone_type, settings.strategy)
    say = accelerator.print
    if _launched_cpu_without_processes(accelerator):
        say("warning: `accelerate launch --cpu` started ONE process (accelerate needs mpirun for several CPU "
            "processes). For N CPU processes run: accelerate launch --multi_gpu --num_processes N -m scripts.finetune "
            "--cpu ...")
    say(f"{dataset.name}: {len(dataset)} {dataset.modality} examples, {len(dataset.class_names)} classes; backbone "
        f"{backbone.name}; strategy {settings.strategy}; {accelerator.num_processes} process(es) on "
        f"{accelerator.device.type} ({accelerator.distributed_type.value}), batch {settings.batch_size} = "
        f"{accelerator.num_processes} x {settings.batch_size // max(1, accelerator.num_processes)}")
    try:
        result = train_with_accelerate(dataset, backbone, settings.train_config(options.max_seconds), accelerator, log=say)
    except ValueError as error:
        say(f"error: {error}")
        accelerator.end_training()
        return 2
    if accelerator.is_main_process:
        folder = write_output(result, dataset, backbone, settings, options, accelerator, time.perf_counter() - started)
        say(f"validation accuracy {result.metrics.accuracy:.4f}, macro-F1 {result.metrics.macro_f1:.4f}, "
            f"{len(result.history)} epoch(s) (best {result.best_epoch}, {result.stop_reason}); "
            f"{result.train_seconds:.1f} s training + {result.feature_seconds:.1f} s features; wrote {folder}")
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return 0


if __name__ == "__main__":
    sys.exit(main())
