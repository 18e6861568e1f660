"""Watch attention learn: a small transformer (or attention GRU) trained from scratch, live.

Each browser session owns one :class:`LiveSeq2Seq` (kept in ``gr.State``). ``train_for(seconds)``
advances it with the same :class:`.train.Trainer` as the committed models; ``snapshot()`` reads the
cross-attention of one fixed example with teacher forcing (so its rows always line up with the
right answer, even while the model still writes nonsense) and scores how aligned it is
(:func:`.evaluate.best_head_alignment`). At most :data:`MAX_CONCURRENT_RUNS` sessions train at once
on the shared CPU; the next ones wait in line (:func:`wait_for_slot`), first come first served.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from engine.attention.seq2seq import data, tokens
from engine.attention.seq2seq.decoding import encode_sources, greedy_ids, strip_row, teacher_forced_attention
from engine.attention.seq2seq.evaluate import ALIGNED_THRESHOLD, best_head_alignment
from engine.attention.seq2seq.train import TrainConfig, Trainer
from engine.core.threads import single_thread

LIVE_CONFIG = TrainConfig(
    model="transformer",
    steps=0,  # unbounded: the session decides when to stop
    batch_size=64,  # smaller batches: more, faster steps in the minute a demo has
    learning_rate=3e-3,
    warmup_steps=100,
)
LIVE_MODELS = ("transformer", "rnn_attention")
FIXED_EXAMPLE = data.make_sample(dt.date(2021, 3, 3), "weekday", "as_written")  # "Wednesday, March 3, 2021"
MAX_CONCURRENT_RUNS = 2
MAX_LIVE_STEPS = 20_000  # a session stops growing here

_slots = threading.Condition()
_active_runs = 0
_line: deque[object] = deque()  # tickets of the sessions waiting for a slot, first come first served


def wait_for_slot(poll_seconds: float = 1.0) -> Iterator[int]:
    """Wait in line for one of the :data:`MAX_CONCURRENT_RUNS` live-training slots.

    Yields this caller's place in line (1 = next) about every ``poll_seconds`` while it waits, so a stream
    can show it; returns once the caller holds a slot, which it must give back with :func:`release_slot`.
    Closing the generator while waiting (the user pressed Stop or left) leaves the line.
    """
    global _active_runs
    ticket = object()
    with _slots:
        _line.append(ticket)
    holding = False
    try:
        while True:
            with _slots:
                if _line[0] is ticket and _active_runs < MAX_CONCURRENT_RUNS:
                    _line.popleft()
                    _active_runs += 1
                    holding = True
                    return
                place = _line.index(ticket) + 1
            yield place
            with _slots:
                _slots.wait(timeout=poll_seconds)
    finally:
        if not holding:
            with _slots:
                if ticket in _line:
                    _line.remove(ticket)
                _slots.notify_all()


def release_slot() -> None:
    """Give back a slot taken by :func:`wait_for_slot`; the first in line starts."""
    global _active_runs
    with _slots:
        _active_runs -= 1
        _slots.notify_all()


@contextlib.contextmanager
def live_slot():
    """Hold a live-training slot for the ``with`` block (waiting in line, silently, for one to free)."""
    for _ in wait_for_slot():
        pass
    try:
        yield
    finally:
        release_slot()


def active_runs() -> int:
    return _active_runs


def waiting() -> int:
    return len(_line)


@dataclass(frozen=True)
class LiveFrame:
    step: int
    seconds: float  # training wall time so far
    steps_per_second: float
    loss_steps: np.ndarray  # (K,) steps at which the loss / score were recorded
    losses: np.ndarray  # (K,) mean loss since the previous record
    scores: np.ndarray  # (K,) alignment score of the fixed example at those steps
    cross: np.ndarray  # (L, H, T, S) transformer / (T, S) GRU: the fixed example's cross-attention
    best_head: tuple[int, int] | None  # (layer, head), 0-based, of the best-aligned transformer head
    score: float  # current alignment score
    output: str  # the model's greedy output for the fixed example now
    aligned_step: int | None  # first step whose score reached ALIGNED_THRESHOLD
    aligned_seconds: float | None
    source_tokens: tuple[str, ...]
    target_tokens: tuple[str, ...]


class LiveSeq2Seq:
    """One session's live run; the seed makes it reproducible (up to how many steps fit in a second)."""

    def __init__(self, seed: int = 0, model: str = "transformer", config: TrainConfig = LIVE_CONFIG):
        if model not in LIVE_MODELS:
            raise ValueError(f"Live training runs {' or '.join(LIVE_MODELS)}, not {model!r}.")
        self.seed = int(seed)
        self.model_kind = model
        self.trainer = Trainer(dataclasses.replace(config, seed=self.seed, model=model))
        self.history: list[tuple[int, float, float]] = []  # (step, loss, score)
        self.steps_per_second = 0.0
        self.aligned: tuple[int, float] | None = None
        self.example = FIXED_EXAMPLE
        self._target_row = tokens.encode(self.example.target) + [tokens.EOS]

    @property
    def step(self) -> int:
        return self.trainer.steps_done

    def _score(self) -> tuple[float, np.ndarray, tuple[int, int] | None]:
        _, attention = teacher_forced_attention(self.trainer.model, self.example.source, self._target_row)
        cross = attention["cross"]
        score, best = best_head_alignment(cross, self.example)
        return score, cross, best

    def train_for(self, seconds: float, max_steps: int = 100_000) -> int:
        """Train until ``seconds`` passed or ``max_steps`` ran; records loss and alignment. Returns steps run."""
        with single_thread():
            started = time.perf_counter()
            loss_sum, steps = 0.0, 0
            while steps < max_steps and self.step < MAX_LIVE_STEPS:
                loss_sum += self.trainer.step()
                steps += 1
                if time.perf_counter() - started >= seconds:
                    break
            elapsed = time.perf_counter() - started
            if steps:
                self.steps_per_second = steps / max(elapsed, 1e-9)
                score, _, _ = self._score()
                self.history.append((self.step, loss_sum / steps, score))
                if self.aligned is None and score >= ALIGNED_THRESHOLD:
                    self.aligned = (self.step, self.trainer.seconds)
            return steps

    def snapshot(self) -> LiveFrame:
        with single_thread():
            score, cross, best = self._score()
            src, lengths = encode_sources([self.example.source])
            row = strip_row(greedy_ids(self.trainer.model, src, lengths, data.TARGET_LENGTH + 4)[0])
        history = np.asarray(self.history, dtype=np.float64).reshape(-1, 3)
        return LiveFrame(
            step=self.step,
            seconds=round(self.trainer.seconds, 2),
            steps_per_second=self.steps_per_second,
            loss_steps=history[:, 0],
            losses=history[:, 1],
            scores=history[:, 2],
            cross=cross,
            best_head=best,
            score=score,
            output=tokens.decode(row),
            aligned_step=None if self.aligned is None else self.aligned[0],
            aligned_seconds=None if self.aligned is None else round(self.aligned[1], 1),
            source_tokens=tuple(tokens.token_label(i) for i in tokens.encode(self.example.source)),
            target_tokens=tuple(tokens.token_label(i) for i in self._target_row),
        )
