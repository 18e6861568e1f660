"""A small digits GAN that trains live, in front of the audience.

It is the same class-conditional DCGAN and training step as the embedded model
(:class:`engine.gan.train.DigitsGanTrainer`), shrunk to the digits' native 8x8
resolution so that on a CPU it produces readable digits within a few hundred steps
(well under a minute). ``train_for(seconds)`` advances it; ``snapshot()`` returns arrays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from engine.core.threads import single_thread
from engine.gan.train import DigitsGanTrainer, GanDigitsConfig

LIVE_CONFIG = GanDigitsConfig(
    image_size=8,  # native digits resolution: 16x fewer pixels than the embedded model
    g_channels=32,
    d_channels=32,
    batch_size=64,
    g_lr=1e-3,  # higher rates than the embedded model: we want digits fast, not the best digits
    d_lr=1e-3,
    r1_gamma=0.1,
    ema_decay=0.98,  # short average: smooths samples without lagging seconds behind
    ema_start=100,
    steps=0,  # unbounded; the caller decides when to stop
    seed=0,
)
SAMPLES_PER_CLASS = 6  # the grid shows 10 rows (digits 0..9) x this many columns
MAX_LIVE_STEPS = 50_000  # a session stops growing its history here


@dataclass(frozen=True)
class LiveFrame:
    step: int  # training steps done
    samples: np.ndarray  # (10 * SAMPLES_PER_CLASS, 8, 8) float32 in [0, 1], row-major by class
    loss_steps: np.ndarray  # (H,) steps of the loss history
    d_losses: np.ndarray  # (H,) mean D loss over each history interval
    g_losses: np.ndarray  # (H,)
    steps_per_second: float
    seconds: float  # wall time spent training so far


class LiveDigitsGan:
    """One session's live run; ``seed`` makes it reproducible."""

    def __init__(self, seed: int = 0, config: GanDigitsConfig = LIVE_CONFIG):
        from dataclasses import replace

        self.seed = int(seed)
        self.trainer = DigitsGanTrainer(replace(config, seed=self.seed))
        self.history: list[tuple[int, float, float]] = []
        self.seconds = 0.0
        self.steps_per_second = 0.0
        noise_rng = torch.Generator().manual_seed(int(seed) + 1)
        count = 10 * SAMPLES_PER_CLASS
        # Fixed noise, so the grid shows the same "pen" improving rather than new random digits each time.
        self.view_z = torch.randn(count, config.latent_dim, generator=noise_rng)
        self.view_labels = torch.arange(10).repeat_interleave(SAMPLES_PER_CLASS)

    @property
    def step(self) -> int:
        return self.trainer.steps_done

    def train_for(self, seconds: float, max_steps: int = 10_000) -> int:
        """Train until ``seconds`` have passed or ``max_steps`` steps ran; returns the steps run."""
        with single_thread():
            return self._train_for(seconds, max_steps)

    def _train_for(self, seconds: float, max_steps: int) -> int:
        started = time.perf_counter()
        d_sum = g_sum = 0.0
        steps = 0
        while steps < max_steps and self.step < MAX_LIVE_STEPS:
            d_loss, g_loss = self.trainer.step()
            d_sum += d_loss
            g_sum += g_loss
            steps += 1
            if time.perf_counter() - started >= seconds:
                break
        elapsed = time.perf_counter() - started
        self.seconds += elapsed
        if steps:
            self.steps_per_second = steps / max(elapsed, 1e-9)
            self.history.append((self.step, d_sum / steps, g_sum / steps))
        return steps

    @torch.no_grad()
    def snapshot(self) -> LiveFrame:
        with single_thread():
            samples = self.trainer.ema(self.view_z, self.view_labels)[:, 0].clamp(0, 1).numpy()
        history = np.asarray(self.history, dtype=np.float32).reshape(-1, 3)
        return LiveFrame(
            step=self.step,
            samples=samples,
            loss_steps=history[:, 0],
            d_losses=history[:, 1],
            g_losses=history[:, 2],
            steps_per_second=self.steps_per_second,
            seconds=self.seconds,
        )
