"""Watch attention learn: a small transformer (or attention GRU) trained from scratch, live.

Each browser session owns one :class:`LiveSeq2Seq` (kept in ``gr.State``). ``train_for(seconds)``
advances it with the same :class:`.train.Trainer` as the committed models; ``snapshot()`` reads the
cross-attention of one fixed example with teacher forcing (so its rows always line up with the
right answer, even while the model still writes nonsense) and scores how aligned it is
(:func:`.evaluate.best_head_alignment`). At most :data:`MAX_CONCURRENT_RUNS` sessions train at once
on the shared CPU; :func:`live_slot` tells the next one to wait.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time
from dataclasses import dataclass

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

_slots_guard = threading.Lock()
_active_runs = 0


@contextlib.contextmanager
def live_slot():
    """Hold one of the :data:`MAX_CONCURRENT_RUNS` live-training slots, or raise ``ValueError`` to say wait."""
    global _active_runs
    with _slots_guard:
        if _active_runs >= MAX_CONCURRENT_RUNS:
            raise ValueError(
                f"{MAX_CONCURRENT_RUNS} live trainings are running right now, the most this shared machine allows. "
                "Please wait about a minute and press Train live again."
            )
        _active_runs += 1
    try:
        yield
    finally:
        with _slots_guard:
            _active_runs -= 1


def active_runs() -> int:
    return _active_runs


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
