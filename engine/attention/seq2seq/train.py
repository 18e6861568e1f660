"""One training loop for all three models and both tasks (dates, copy).

Teacher forcing, token cross-entropy, AdamW with a linear warm-up and a cosine decay, gradient
clipping. Batches are drawn fresh every step from a private ``numpy`` generator; the model is
initialised from a private ``torch.Generator``: a seed gives the same run, and nothing global is reseeded.
:class:`Trainer` is the loop's state (the live demo drives it step by step); :func:`train` runs it
to the end, calling ``on_progress(step, total_steps, loss)``.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from engine.attention.seq2seq import data, tokens
from engine.attention.seq2seq.models import MODEL_CLASSES, build_model, cross_entropy

TASKS = ("dates", "copy")
BUCKET_BATCHES = 8


@dataclass(frozen=True)
class TrainConfig:
    model: str = "transformer"  # "rnn" | "rnn_attention" | "transformer"
    task: str = "dates"  # "dates" (the translation task) or "copy" (the length-stress task)
    steps: int = 3000  # optimiser steps; 0 = unbounded (live training)
    batch_size: int = 128
    learning_rate: float = 2e-3  # peak AdamW rate
    warmup_steps: int = 200  # linear warm-up, then cosine decay to min_lr_ratio x peak
    min_lr_ratio: float = 0.05
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 0  # model initialisation and the batches
    # GRU models
    embed_dim: int = 64
    encoder_hidden: int = 64  # per direction: the annotations have 2 x 64 numbers
    decoder_hidden: int = 128
    attention_dim: int = 64  # Bahdanau's hidden size
    # transformer
    model_dim: int = 64
    num_heads: int = 4
    ff_dim: int = 256
    encoder_layers: int = 2
    decoder_layers: int = 2
    max_positions: int = 128
    # copy task
    copy_min_length: int = data.COPY_MIN_LENGTH
    copy_max_length: int = data.COPY_MAX_LENGTH

    def model_kwargs(self) -> dict:
        """The fields the chosen model class takes."""
        cls = MODEL_CLASSES.get(self.model)
        if cls is None:
            raise ValueError(f"Unknown model {self.model!r}; use one of {', '.join(MODEL_CLASSES)}.")
        names = inspect.signature(cls.__init__).parameters
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name in names}

    def check(self) -> "TrainConfig":
        self.model_kwargs()
        if self.task not in TASKS:
            raise ValueError(f"Unknown task {self.task!r}; use one of {', '.join(TASKS)}.")
        if self.batch_size < 1 or self.steps < 0 or self.learning_rate <= 0:
            raise ValueError("batch_size must be >= 1, steps >= 0 and learning_rate > 0.")
        return self


def make_batch(pairs: list[tuple[str, str]]) -> dict[str, torch.Tensor]:
    """Tensors for teacher forcing from (source, target) strings."""
    sources = [tokens.encode(s) for s, _ in pairs]
    decoder_in, decoder_out = zip(*(tokens.target_ids(t) for _, t in pairs))
    src, lengths = tokens.pad_batch(sources)
    tgt_in, _ = tokens.pad_batch(list(decoder_in))
    tgt_out, _ = tokens.pad_batch(list(decoder_out))
    return {
        "src": torch.from_numpy(src),
        "src_lengths": torch.from_numpy(lengths),
        "tgt_in": torch.from_numpy(tgt_in),
        "tgt_out": torch.from_numpy(tgt_out),
    }


def draw_pairs(config: TrainConfig, rng: np.random.Generator, count: int) -> list[tuple[str, str]]:
    if config.task == "dates":
        return [(s.source, s.target) for s in data.sample_dates(rng, count, "train")]
    return data.copy_sequences(rng, count, config.copy_min_length, config.copy_max_length)


class Trainer:
    """A model, its optimiser and its data stream; :meth:`step` does one update."""

    def __init__(self, config: TrainConfig):
        self.config = config.check()
        self.model = build_model(config.model, seed=config.seed, **config.model_kwargs())
        self.model.train()
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        self.rng = np.random.default_rng([config.seed, 1])  # batches; a different stream from the init
        self._queue: list[list[tuple[str, str]]] = []
        self.steps_done = 0
        self.seconds = 0.0

    def learning_rate(self, step: int) -> float:
        c = self.config
        if step < c.warmup_steps:
            return c.learning_rate * (step + 1) / c.warmup_steps
        if c.steps <= 0:
            return c.learning_rate
        progress = min(1.0, (step - c.warmup_steps) / max(1, c.steps - c.warmup_steps))
        return c.learning_rate * (c.min_lr_ratio + (1 - c.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))

    def next_pairs(self) -> list[tuple[str, str]]:
        """The next batch. Batches are cut from a pool of BUCKET_BATCHES batches sorted by source
        length, so a batch holds similar lengths and little compute goes to padding."""
        if not self._queue:
            size = self.config.batch_size
            pool = sorted(draw_pairs(self.config, self.rng, size * BUCKET_BATCHES), key=lambda pair: len(pair[0]))
            chunks = [pool[i : i + size] for i in range(0, len(pool), size)]
            self._queue = [chunks[i] for i in self.rng.permutation(len(chunks))]
        return self._queue.pop()

    def step(self) -> float:
        started = time.perf_counter()
        batch = make_batch(self.next_pairs())
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(self.steps_done)
        logits = self.model(batch["src"], batch["src_lengths"], batch["tgt_in"])
        loss = cross_entropy(logits, batch["tgt_out"])
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
        self.optimizer.step()
        self.steps_done += 1
        self.seconds += time.perf_counter() - started
        return float(loss.detach())


def train(
    config: TrainConfig,
    on_progress: Callable[[int, int, float], None] | None = None,
    progress_every: int = 50,
) -> tuple[torch.nn.Module, dict]:
    """Train ``config.steps`` steps; returns the model (in eval mode) and a record.

    ``on_progress(step, total_steps, mean_loss_since_last_call)`` runs every ``progress_every`` steps.
    The record holds the wall time, the parameter count and the loss history.
    """
    if config.steps <= 0:
        raise ValueError("train() needs steps > 0; drive a Trainer yourself for unbounded training.")
    trainer = Trainer(config)
    history, running, count = [], 0.0, 0
    started, cpu_started = time.perf_counter(), time.process_time()
    while trainer.steps_done < config.steps:
        running += trainer.step()
        count += 1
        if trainer.steps_done % progress_every == 0 or trainer.steps_done == config.steps:
            history.append((trainer.steps_done, round(running / count, 5)))
            if on_progress is not None:
                on_progress(trainer.steps_done, config.steps, running / count)
            running, count = 0.0, 0
    model = trainer.model.eval()
    record = {
        "train_seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(time.process_time() - cpu_started, 1),  # this process's CPU time (the box is shared)
        "parameters": model.num_parameters(),
        "loss_history": history,
        "torch_threads": torch.get_num_threads(),
    }
    return model, record
