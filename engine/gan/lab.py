"""GAN Lab: a small GAN that learns a 2-D point cloud, one step at a time.

A :class:`LabSession` holds everything one user's run needs (data, G, D, optimisers,
history). ``train(n)`` advances it; ``snapshot()`` returns plain arrays for drawing
(points, D's decision surface, G's gradient arrows, loss and coverage curves).
Drawing lives in :mod:`engine.gan.render`.
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.core.seeding import JobRng
from engine.core.threads import single_thread
from engine.gan.lab_config import (  # noqa: F401  (re-exported: the lab's public settings API)
    COLLAPSE_PRESET, DATASETS, LIVE_FIELDS, LOSSES, OPTIMIZERS, STRUCTURAL, UI_FIELDS, LabConfig, config_from_values,
)

MAX_POINTS = 100_000  # CSV rows beyond this are refused (keeps parsing and k-means fast)
MIN_POINTS = 8  # fewer points cannot define a distribution worth learning
POOL_SIZE = 8192  # real points sampled once per built-in dataset; batches are drawn from this pool
VIEW_SAMPLES = 512  # generated/real points drawn per frame
SURFACE_RES = 48  # the decision surface is evaluated on a SURFACE_RES^2 grid
ARROW_COUNT = 48  # generated points that get a gradient arrow
HISTORY_EVERY = 10  # record losses every this many steps
COVERAGE_SAMPLES = 2048  # generated points used to measure mode coverage
COVERED_SHARE = 0.25  # a mode counts as covered when it gets >= 25% of its fair share of generated points
RING_MODES, RING_RADIUS, RING_STD = 8, 1.5, 0.08
GRID_SIDE, GRID_SPACING, GRID_STD = 5, 0.8, 0.05
CLUSTER_MODES = 8  # modes of moons/spiral/line/custom data: k-means clusters of the real points


# ----------------------------------------------------------------------------------------- data
def sample_dataset(name: str, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` points of a built-in distribution as (count, 2) float32, roughly within [-2, 2]^2."""
    if name == "ring":
        angles = 2 * np.pi * rng.integers(RING_MODES, size=count) / RING_MODES
        centres = RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], 1)
        return (centres + rng.normal(scale=RING_STD, size=(count, 2))).astype(np.float32)
    if name == "grid":
        return (mode_centres("grid")[rng.integers(GRID_SIDE**2, size=count)] + rng.normal(scale=GRID_STD, size=(count, 2))).astype(np.float32)
    if name == "moons":
        upper = rng.random(count) < 0.5
        t = rng.random(count) * np.pi
        x = np.where(upper, np.cos(t), 1 - np.cos(t))
        y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
        points = np.stack([x - 0.5, y - 0.25], 1) * 1.4
        return (points + rng.normal(scale=0.05, size=(count, 2))).astype(np.float32)
    if name == "spiral":
        t = np.sqrt(rng.random(count)) * 3 * np.pi
        points = np.stack([t * np.cos(t), t * np.sin(t)], 1) / (3 * np.pi) * 1.8
        return (points + rng.normal(scale=0.04, size=(count, 2))).astype(np.float32)
    if name == "line":
        t = rng.uniform(-1.6, 1.6, size=count)
        points = np.stack([t, 0.5 * t], 1)
        return (points + rng.normal(scale=0.03, size=(count, 2))).astype(np.float32)
    raise ValueError(f"Unknown built-in dataset {name!r}; choose one of {', '.join(DATASETS[:-1])}.")


def mode_centres(name: str) -> np.ndarray:
    """Centres (K, 2) of the Gaussian mixture behind ``ring`` or ``grid``."""
    if name == "ring":
        angles = 2 * np.pi * np.arange(RING_MODES) / RING_MODES
        return RING_RADIUS * np.stack([np.cos(angles), np.sin(angles)], 1)
    if name == "grid":
        axis = (np.arange(GRID_SIDE) - (GRID_SIDE - 1) / 2) * GRID_SPACING
        return np.stack(np.meshgrid(axis, axis), -1).reshape(-1, 2)
    raise ValueError(f"{name!r} is not a Gaussian mixture.")


def parse_points_csv(source: str | os.PathLike | bytes) -> np.ndarray:
    """Read x,y points from a CSV (path or bytes) into (N, 2) float32.

    An optional header line is skipped; extra columns are refused. Raises ``ValueError``
    for empty files, header-only files, non-numeric or non-finite values, more than
    ``MAX_POINTS`` rows, fewer than ``MIN_POINTS`` points, or points that are all identical.
    """
    if source is None or source == "":
        raise ValueError("No CSV given: upload a .csv file with two columns x,y (one point per row).")
    if isinstance(source, (bytes, bytearray)):
        handle = io.TextIOWrapper(io.BytesIO(source), encoding="utf-8", errors="replace")
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError("The CSV file could not be found on the server; upload it again.")
        handle = open(path, encoding="utf-8", errors="replace")
    rows: list[tuple[float, float]] = []
    with handle:
        line_number = 0
        for line_number, line in enumerate(handle, 1):
            line = line.strip().lstrip("\ufeff")
            if not line:
                continue
            fields = [f.strip() for f in line.replace(";", ",").replace("\t", ",").split(",")]
            if len(fields) != 2:
                raise ValueError(
                    f"Line {line_number} has {len(fields)} columns ({line[:40]!r}); every row must be exactly two numbers, x,y."
                )
            try:
                x, y = float(fields[0]), float(fields[1])
            except ValueError:
                if not rows and line_number == 1:
                    continue  # a header such as "x,y"
                raise ValueError(
                    f"Line {line_number} is not numeric ({line[:40]!r}); every row must be two numbers, x,y."
                ) from None
            if not (math.isfinite(x) and math.isfinite(y)):
                raise ValueError(f"Line {line_number} contains NaN or infinity ({line[:40]!r}); remove or fix that row.")
            rows.append((x, y))
            if len(rows) > MAX_POINTS:
                raise ValueError(f"The CSV has more than {MAX_POINTS:,} rows; sample it down to at most {MAX_POINTS:,} points.")
    if not rows:
        what = "is empty" if line_number == 0 else "has no data rows (only a header or blank lines)"
        raise ValueError(f"The CSV {what}; add rows of two numbers, x,y.")
    points = np.asarray(rows, dtype=np.float32)
    if len(points) < MIN_POINTS:
        raise ValueError(f"The CSV has {len(points)} point(s); give at least {MIN_POINTS} so there is a distribution to learn.")
    if np.ptp(points, axis=0).max() == 0:
        raise ValueError("All points in the CSV are the same; give points that spread out in x or y.")
    return points


def normalise_points(points: np.ndarray) -> np.ndarray:
    """Centre points and scale their largest spread into about [-1.8, 1.8] (float32)."""
    centred = points.astype(np.float64) - points.mean(0)
    scale = np.percentile(np.abs(centred), 99.5) or np.abs(centred).max()
    return (centred / scale * 1.8).astype(np.float32)


@dataclass(frozen=True)
class Modes:
    centres: np.ndarray  # (K, 2) float32 mode centres
    radius: np.ndarray  # (K,) a generated point within this distance of its nearest centre lands in that mode
    share: np.ndarray  # (K,) fraction of real points in each mode (sums to 1)


def find_modes(name: str, pool: np.ndarray, seed: int = 0) -> Modes:
    """The modes coverage is measured against: the true centres for ring/grid, else k-means clusters."""
    if name in ("ring", "grid"):
        centres = mode_centres(name).astype(np.float32)
        std = RING_STD if name == "ring" else GRID_STD
        return Modes(centres, np.full(len(centres), 3 * std, np.float32), np.full(len(centres), 1 / len(centres)))
    from sklearn.cluster import KMeans

    k = min(CLUSTER_MODES, len(np.unique(pool, axis=0)))
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(pool[:4096])
    assign = km.predict(pool)
    dist = np.linalg.norm(pool - km.cluster_centers_[assign], axis=1)
    radius = np.array([np.percentile(dist[assign == i], 95) if (assign == i).any() else 0.0 for i in range(k)])
    share = np.bincount(assign, minlength=k) / len(pool)
    return Modes(km.cluster_centers_.astype(np.float32), radius.astype(np.float32) + 1e-3, share)


def mode_coverage(points: np.ndarray, modes: Modes) -> tuple[float, float]:
    """Return (share of modes covered, share of generated points that land in some mode).

    A mode is covered when at least ``COVERED_SHARE`` of its fair share of the points lands in it.
    """
    dist = np.linalg.norm(points[:, None, :] - modes.centres[None], axis=2)
    nearest = dist.argmin(1)
    inside = dist[np.arange(len(points)), nearest] <= modes.radius[nearest]
    counts = np.bincount(nearest[inside], minlength=len(modes.centres))
    covered = counts >= COVERED_SHARE * modes.share * len(points)
    return float(covered.mean()), float(inside.mean())


# ----------------------------------------------------------------------------------------- models
def mlp(inputs: int, width: int, depth: int, outputs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(inputs if i == 0 else width, width), nn.LeakyReLU(0.2)]
    layers.append(nn.Linear(width, outputs))
    return nn.Sequential(*layers)


def _make_optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.9))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=0.0)


@dataclass(frozen=True)
class LabFrame:
    """Everything one view of the lab shows; arrays are float32."""

    step: int  # generator updates so far
    real: np.ndarray  # (R, 2) real points
    fake: np.ndarray  # (F, 2) generated points
    surface: np.ndarray  # (SURFACE_RES, SURFACE_RES) D's output on the view grid, scaled to [0, 1]; row 0 = top
    surface_label: str  # what the surface shows, e.g. "D(x) = P(real)"
    arrow_origins: np.ndarray  # (A, 2) generated points with arrows (A = 0 when arrows are off)
    arrow_vectors: np.ndarray  # (A, 2) direction G moves them (-dLoss_G/dx), scaled for display
    bound: float  # the view is [-bound, bound]^2
    loss_steps: np.ndarray  # (H,) steps at which losses were recorded
    d_losses: np.ndarray  # (H,)
    g_losses: np.ndarray  # (H,)
    coverage_steps: np.ndarray  # (C,) steps at which coverage was measured
    coverage: np.ndarray  # (C,) share of modes covered, in [0, 1]
    modes: np.ndarray  # (K, 2) mode centres
    steps_per_second: float  # training speed over the last train() call
    config: LabConfig

    @property
    def latest_coverage(self) -> float:
        return float(self.coverage[-1]) if len(self.coverage) else 0.0


class LabSession:
    """One user's GAN Lab run. Not thread-safe: a session belongs to one browser tab."""

    def __init__(self, config: LabConfig = LabConfig(), points: np.ndarray | None = None):
        self.points = points  # custom points (N, 2), already normalised; None for built-ins
        self._pending: LabConfig | None = None  # hyper-parameters asked for while a run plays
        self._pending_lock = threading.Lock()
        self._build(config.validated())

    # --------------------------------------------------------------------------- set-up
    def _build(self, config: LabConfig) -> None:
        if config.dataset == "custom" and self.points is None:
            raise ValueError("The 'custom' dataset needs points: upload a CSV of x,y rows first.")
        self.config = config
        data_rng = np.random.default_rng(config.seed)
        if config.dataset == "custom":
            pool = self.points
        else:
            pool = sample_dataset(config.dataset, POOL_SIZE, data_rng)
        self.pool = torch.as_tensor(pool)
        self.modes = find_modes(config.dataset, pool, config.seed)
        self.bound = float(max(2.0, np.abs(pool).max() * 1.15))
        self.rng = torch.Generator().manual_seed(config.seed)
        with JobRng(config.seed).active():  # default init draws from torch's global RNG: this job's copy
            self.generator = mlp(config.noise_dim, config.g_width, config.g_depth, 2)
            self.discriminator = mlp(2, config.d_width, config.d_depth, 1)
        self._make_optimizers()
        self.step = 0
        self.history: list[tuple[int, float, float]] = []
        self.coverage_history: list[tuple[int, float]] = []
        self.steps_per_second = 0.0
        self._d_acc = self._g_acc = 0.0
        self._acc_n = 0
        # Fixed noise and real points for the view, so frames differ only because G changed.
        view_rng = torch.Generator().manual_seed(config.seed + 1)
        self.view_noise = torch.randn(VIEW_SAMPLES, config.noise_dim, generator=view_rng)
        self.view_real = self.pool[torch.randint(len(self.pool), (VIEW_SAMPLES,), generator=view_rng)]
        self.coverage_noise = torch.randn(COVERAGE_SAMPLES, config.noise_dim, generator=view_rng)
        axis = torch.linspace(-self.bound, self.bound, SURFACE_RES)
        yy, xx = torch.meshgrid(axis.flip(0), axis, indexing="ij")
        self.surface_grid = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
        self._record_coverage()

    def _make_optimizers(self) -> None:
        c = self.config
        self.g_opt = _make_optimizer(c.optimizer, self.generator.parameters(), c.g_lr)
        self.d_opt = _make_optimizer(c.optimizer, self.discriminator.parameters(), c.d_lr)

    def apply(self, config: LabConfig, points: np.ndarray | None = None) -> bool:
        """Switch to ``config``. Returns True if the run was restarted (data or network shape changed).

        Learning rates, optimiser, loss and D steps apply to the running networks, as in GAN Lab.
        """
        config = config.validated()
        new_points = points is not None and (self.points is None or not np.array_equal(points, self.points))
        if points is not None:
            self.points = points
        old = self.config
        if new_points and config.dataset == "custom" or any(getattr(old, f) != getattr(config, f) for f in STRUCTURAL):
            self._build(config)
            return True
        self.config = config
        if config.optimizer != old.optimizer:
            self._make_optimizers()
        else:
            for group in self.g_opt.param_groups:
                group["lr"] = config.g_lr
            for group in self.d_opt.param_groups:
                group["lr"] = config.d_lr
        return False

    def reset(self) -> None:
        self._build(self.config)

    def request(self, config: LabConfig) -> None:
        """Ask for new hyper-parameters from another thread (a settings change while Play runs).

        Only :data:`LIVE_FIELDS` (learning rates, optimiser, loss, D steps) are taken; they apply at
        the start of the next :meth:`train` call, so a running Play uses them on its next step.
        """
        config = config.validated()
        with self._pending_lock:
            base = self._pending or self.config
            self._pending = dataclasses.replace(base, **{name: getattr(config, name) for name in LIVE_FIELDS})

    def _take_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, None
        if pending is not None:
            self.apply(pending)

    # --------------------------------------------------------------------------- training
    def _noise(self, count: int) -> torch.Tensor:
        return torch.randn(count, self.config.noise_dim, generator=self.rng)

    def _real_batch(self) -> torch.Tensor:
        return self.pool[torch.randint(len(self.pool), (self.config.batch_size,), generator=self.rng)]

    def _d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        loss_name = self.config.loss
        if loss_name == "wgan-gp":
            real_score, fake_score = self.discriminator(real), self.discriminator(fake)
            mix = torch.rand(len(real), 1, generator=self.rng)
            between = (mix * real + (1 - mix) * fake).requires_grad_(True)
            (grad,) = torch.autograd.grad(self.discriminator(between).sum(), between, create_graph=True)
            penalty = ((grad.norm(dim=1) - 1) ** 2).mean()
            return fake_score.mean() - real_score.mean() + self.config.gp_weight * penalty
        scores = self.discriminator(torch.cat([real, fake]))
        real_score, fake_score = scores[: len(real)], scores[len(real):]
        if loss_name == "least-squares":
            return 0.5 * ((real_score - 1) ** 2).mean() + 0.5 * (fake_score**2).mean()
        return F.softplus(-real_score).mean() + F.softplus(fake_score).mean()

    def _g_loss_per_point(self, fake_score: torch.Tensor) -> torch.Tensor:
        if self.config.loss == "wgan-gp":
            return -fake_score
        if self.config.loss == "least-squares":
            return 0.5 * (fake_score - 1) ** 2
        return F.softplus(-fake_score)

    def train(self, steps: int, update_generator: bool = True) -> None:
        """Run ``steps`` generator updates (each after ``d_steps`` discriminator updates).

        ``update_generator=False`` trains only D against a frozen G (the step counter still
        advances); it is how we measure how distinguishable G's points still are.
        """
        self._take_pending()
        with single_thread():
            self._train(int(steps), update_generator)

    def _train(self, steps: int, update_generator: bool) -> None:
        started = time.perf_counter()
        batch = self.config.batch_size
        for _ in range(steps):
            for _ in range(self.config.d_steps):
                with torch.no_grad():
                    fake = self.generator(self._noise(batch))
                d_loss = self._d_loss(self._real_batch(), fake)
                self.d_opt.zero_grad(set_to_none=True)
                d_loss.backward()
                self.d_opt.step()
            g_loss = self._g_loss_per_point(self.discriminator(self.generator(self._noise(batch)))).mean()
            if update_generator:
                self.g_opt.zero_grad(set_to_none=True)
                g_loss.backward()
                self.g_opt.step()
            self.step += 1
            self._d_acc += d_loss.item()
            self._g_acc += g_loss.item()
            self._acc_n += 1
            if self.step % HISTORY_EVERY == 0:
                self.history.append((self.step, self._d_acc / self._acc_n, self._g_acc / self._acc_n))
                self._d_acc = self._g_acc = 0.0
                self._acc_n = 0
            if self.step % 100 == 0:
                self._record_coverage()
        elapsed = time.perf_counter() - started
        if steps:
            self.steps_per_second = steps / max(elapsed, 1e-9)

    @torch.no_grad()
    def sample(self, count: int = COVERAGE_SAMPLES) -> np.ndarray:
        """(count, 2) generated points from fresh noise of this session's RNG."""
        return self.generator(self._noise(count)).numpy()

    @torch.no_grad()
    def coverage(self) -> float:
        """Share of modes covered by G's points on the fixed coverage noise."""
        points = self.generator(self.coverage_noise).numpy()
        return mode_coverage(points, self.modes)[0]

    def _record_coverage(self) -> None:
        if not self.coverage_history or self.coverage_history[-1][0] != self.step:
            self.coverage_history.append((self.step, self.coverage()))

    def discriminator_gap(self, count: int = 2048) -> float:
        """How well D's score separates real from generated points: best balanced accuracy - 0.5.

        The threshold is the best one for the current scores (so it works for every loss);
        0 means D cannot tell the two apart, 0.5 means it separates them perfectly.
        """
        with torch.no_grad():
            real = self.pool[torch.randint(len(self.pool), (count,), generator=self.rng)]
            real_score = self.discriminator(real).squeeze(1).numpy()
            fake_score = self.discriminator(self.generator(self._noise(count))).squeeze(1).numpy()
        thresholds = np.concatenate([real_score, fake_score])
        real_above = 1 - np.searchsorted(np.sort(real_score), thresholds, side="right") / count
        fake_above = 1 - np.searchsorted(np.sort(fake_score), thresholds, side="right") / count
        return float(np.abs(real_above - fake_above).max() / 2)

    # --------------------------------------------------------------------------- viewing
    def snapshot(self, arrows: bool = True) -> LabFrame:
        """Arrays for the current view (cheap: one pass of G and D over a few thousand points)."""
        with single_thread():
            return self._snapshot(arrows)

    def _snapshot(self, arrows: bool) -> LabFrame:
        with torch.no_grad():
            fake = self.generator(self.view_noise)
            raw = self.discriminator(self.surface_grid).squeeze(1)
        if self.config.loss == "non-saturating":
            surface, label = torch.sigmoid(raw), "D(x) = P(real)"
        elif self.config.loss == "least-squares":
            surface, label = raw.clamp(0, 1), "D(x), 1 = real"
        else:
            span = (raw.max() - raw.min()).clamp_min(1e-6)
            surface, label = (raw - raw.min()) / span, "critic score (rescaled)"
        origins = vectors = np.zeros((0, 2), np.float32)
        if arrows:
            points = fake[:ARROW_COUNT].clone().requires_grad_(True)
            loss = self._g_loss_per_point(self.discriminator(points)).sum()
            (grad,) = torch.autograd.grad(loss, points)
            move = -grad.numpy()
            norms = np.linalg.norm(move, axis=1, keepdims=True)
            longest = max(float(norms.max()), 1e-12)
            # Longest arrow = 12% of the view; the others keep their relative lengths.
            vectors = (move / longest * 0.12 * 2 * self.bound).astype(np.float32)
            origins = points.detach().numpy()
        history = np.asarray(self.history, dtype=np.float32).reshape(-1, 3)
        cover = np.asarray(self.coverage_history, dtype=np.float32).reshape(-1, 2)
        return LabFrame(
            step=self.step,
            real=self.view_real.numpy(),
            fake=fake.numpy(),
            surface=surface.reshape(SURFACE_RES, SURFACE_RES).numpy(),
            surface_label=label,
            arrow_origins=origins,
            arrow_vectors=vectors,
            bound=self.bound,
            loss_steps=history[:, 0],
            d_losses=history[:, 1],
            g_losses=history[:, 2],
            coverage_steps=cover[:, 0],
            coverage=cover[:, 1],
            modes=self.modes.centres,
            steps_per_second=self.steps_per_second,
            config=self.config,
        )
