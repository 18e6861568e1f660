"""Discriminator snapshots from training: how D's realness changes as the GAN approaches equilibrium.

At a GAN's equilibrium D scores about 0.5 everywhere, so the committed (final) D's scores barely move
when a digit is scribbled over. The snapshots saved during the same seeded training run (assets/
gan_digits/discriminator_snapshots/<step>/, with the raw generator each D faced in generator_snapshots/)
show how that came about. Per snapshot we measure how well D's realness separates real held-out digits
from damaged copies of them (scribbled, noised) and from its own generator's digits (AUROC: 1 = every
real digit scores above every other one, 0.5 = chance), and we score any image under every snapshot.

Rebuild the snapshots with ``python scripts/train_gan_digits.py`` and their figures
(assets/gan_digits/snapshots.json) with ``python scripts/train_gan_digits.py --measure-only``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image

from engine.core import registry
from engine.core.datasets import digits_split, upscale_digits
from engine.core.threads import single_thread
from engine.core.seeding import torch_generator
from engine.gan.models import DISCRIMINATOR_SUBFOLDER, ConditionalDiscriminator, ConditionalGenerator
from engine.gan.record import (
    GENERATOR_SNAPSHOTS_FOLDER,
    SNAPSHOTS_FOLDER,
    SnapshotFigures,
    SnapshotSeparation,
    committed_snapshot_figures,  # noqa: F401  (re-exported for the UI)
)

NOISE_SIGMA = 0.3  # Gaussian noise on pixels in [0, 1] (then clipped)
SNAPSHOTS_TASK = "gan-discriminator-snapshots"  # the registry task (engine.core.registry.TASKS) that builds them


# ----------------------------------------------------------------------------------------- loading
@dataclass(frozen=True)
class DiscriminatorSnapshot:
    step: int  # training step after which D was saved
    discriminator: ConditionalDiscriminator  # in eval mode
    generator: ConditionalGenerator | None  # the raw (not averaged) generator D was trained against, eval mode


def _final_step(folder: Path) -> int:
    record = json.loads((folder / "training.json").read_text())
    return int(record.get("metrics", {}).get("steps") or record["config"]["steps"])


def _load(cls, folder: Path):
    if not (folder / "config.json").is_file():
        return None
    return cls.from_pretrained(folder, use_safetensors=True, low_cpu_mem_usage=False, torch_dtype=torch.float32).eval()


def snapshots_from_folder(folder: Path) -> tuple[DiscriminatorSnapshot, ...]:
    """Every snapshot in a gan_digits folder, earliest first, ending with its final D (``discriminator/``)."""
    folder = Path(folder)
    root = folder / SNAPSHOTS_FOLDER
    steps = sorted(int(path.name) for path in root.iterdir() if path.name.isdigit() and (path / "config.json").is_file())
    final = _final_step(folder)
    if steps and steps[-1] >= final:
        raise ValueError(f"Snapshot steps {steps} must come before the final step {final}.")
    generators = folder / GENERATOR_SNAPSHOTS_FOLDER
    snapshots = [DiscriminatorSnapshot(step, _load(ConditionalDiscriminator, root / str(step)),
                                       _load(ConditionalGenerator, generators / str(step))) for step in steps]
    snapshots.append(DiscriminatorSnapshot(final, _load(ConditionalDiscriminator, folder / DISCRIMINATOR_SUBFOLDER),
                                           _load(ConditionalGenerator, generators / str(final))))
    return tuple(snapshots)


def build_snapshots(source, folder: Path) -> tuple[DiscriminatorSnapshot, ...]:
    """Registry-style builder (``(source, verified folder) -> model``) of :func:`snapshots_from_folder`."""
    return snapshots_from_folder(folder)


def load_snapshots() -> tuple[DiscriminatorSnapshot, ...]:
    """The committed snapshots, loaded once per process through the registry (every snapshot's sha256 checked)."""
    return registry.load(SNAPSHOTS_TASK)


# ----------------------------------------------------------------------------------------- damage
def _segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each (P, 2) point to the segment a-b."""
    ab = b - a
    t = np.clip(((points - a) @ ab) / max(float(ab @ ab), 1e-9), 0, 1)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def scribble(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Copies of (N, S, S) images in [0, 1] (ink = 1) with 2-3 random thick strokes drawn over each.

    A stroke is a polyline through 3 random points inside the image, 1.5-3 px wide at 32 px
    (scaled with the side), with a soft 1 px edge. Drawn in ink (the maximum of digit and stroke).
    """
    images = np.asarray(images, np.float32)
    side = images.shape[-1]
    scale = side / 32
    rows, cols = np.mgrid[0:side, 0:side]
    pixels = np.stack([cols.ravel(), rows.ravel()], 1).astype(np.float64)
    out = images.copy()
    for index in range(len(images)):
        for _ in range(int(rng.integers(2, 4))):
            points = rng.uniform(3 * scale, side - 1 - 3 * scale, size=(3, 2))
            radius = rng.uniform(0.75, 1.5) * scale
            distance = np.minimum(_segment_distance(pixels, points[0], points[1]),
                                  _segment_distance(pixels, points[1], points[2]))
            stroke = np.clip(radius + 0.5 - distance, 0, 1).reshape(side, side)
            out[index] = np.maximum(out[index], stroke)
    return out


def add_noise(images: np.ndarray, rng: np.random.Generator, sigma: float = NOISE_SIGMA) -> np.ndarray:
    """Copies of (N, S, S) images in [0, 1] with Gaussian pixel noise of std ``sigma``, clipped to [0, 1]."""
    images = np.asarray(images, np.float32)
    return np.clip(images + rng.normal(0, sigma, images.shape), 0, 1).astype(np.float32)


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Area under the ROC curve: P(a positive scores above a negative), ties counted half (Mann-Whitney)."""
    positive, negative = np.asarray(positive, np.float64).ravel(), np.asarray(negative, np.float64).ravel()
    if not len(positive) or not len(negative):
        raise ValueError("AUROC needs at least one score on each side.")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([positive, negative]))  # ties get their average rank
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# ----------------------------------------------------------------------------------------- scoring
@torch.no_grad()
def realness(discriminator: ConditionalDiscriminator, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """sigmoid(D(x, class)) for (N, S, S) images in [0, 1] -> (N,) float64."""
    x = torch.as_tensor(np.asarray(images, np.float32))[:, None]
    return torch.sigmoid(discriminator(x, torch.as_tensor(np.asarray(labels), dtype=torch.long))).double().numpy()


@dataclass(frozen=True)
class TestSet:
    """Real held-out digits and damaged copies of them, all drawn from one seed."""

    real: np.ndarray  # (N, S, S) float32
    labels: np.ndarray  # (N,) int64, their true classes (D is conditioned on them)
    scribbled: np.ndarray  # (N, S, S)
    noised: np.ndarray  # (N, S, S)
    seed: int  # also seeds the generators' noise


def make_test_set(count: int = 200, seed: int = 0, side: int = 32, sigma: float = NOISE_SIGMA) -> TestSet:
    """``count`` held-out real digits (a seeded choice from digits_split's 360) and their damaged copies."""
    split = digits_split()
    rng = np.random.default_rng(seed)
    if not 1 <= count <= len(split.test_images):
        raise ValueError(f"Use 1 to {len(split.test_images)} real digits, got {count}.")
    index = np.sort(rng.choice(len(split.test_images), count, replace=False))
    real = upscale_digits(split.test_images[index], side)[:, 0].numpy()
    return TestSet(real=real, labels=np.asarray(split.test_labels[index], np.int64),
                   scribbled=scribble(real, rng), noised=add_noise(real, rng, sigma), seed=seed)


@torch.no_grad()
def generated(generator: ConditionalGenerator, labels: np.ndarray, seed: int) -> np.ndarray:
    """(N, S, S) digits of the given classes from ``generator``, with noise seeded by ``seed``."""
    z = torch.randn(len(labels), generator.config.latent_dim, generator=torch_generator(seed))
    return generator(z, torch.as_tensor(labels, dtype=torch.long))[:, 0].clamp(0, 1).numpy()


def separation(snapshot: DiscriminatorSnapshot, test: TestSet,
               final_generator: ConditionalGenerator | None = None) -> SnapshotSeparation:
    """How well the snapshot's D separates ``test``'s real digits from its scribbled and noised copies, from
    as many digits of the same classes made by the generator it was trained against, and from digits of
    ``final_generator`` (the committed one the app shows); NaN where a generator is missing."""
    discriminator = snapshot.discriminator

    def against(generator) -> np.ndarray | None:
        if generator is None:
            return None
        return realness(discriminator, generated(generator, test.labels, test.seed), test.labels)

    real = realness(discriminator, test.real, test.labels)
    scribbled = realness(discriminator, test.scribbled, test.labels)
    noised = realness(discriminator, test.noised, test.labels)
    fake, final_fake = against(snapshot.generator), against(final_generator)
    return SnapshotSeparation(
        step=int(snapshot.step), auroc_scribbled=auroc(real, scribbled), auroc_noised=auroc(real, noised),
        auroc_generated=auroc(real, fake) if fake is not None else float("nan"),
        auroc_final_generator=auroc(real, final_fake) if final_fake is not None else float("nan"),
        real_low=float(np.percentile(real, 5)), real_median=float(np.median(real)),
        real_high=float(np.percentile(real, 95)), scribbled_median=float(np.median(scribbled)),
        noised_median=float(np.median(noised)), generated_median=float(np.median(fake)) if fake is not None else float("nan"),
    )


@single_thread()
def measure_snapshots(
    count: int = 200, seed: int = 0, snapshots=None, on_progress: Callable[[int, int], None] | None = None,
    final_generator: ConditionalGenerator | None = None,
) -> SnapshotFigures:
    """AUROC of ``count`` real held-out digits against ``count`` scribbled copies, ``count`` noised copies and
    ``count`` digits from the generator each D faced, per snapshot (the committed ones unless ``snapshots``
    is given), and against the committed generator's digits (``final_generator``, by default the embedded
    one when the snapshots are the committed ones); seeded, so the same every run."""
    if snapshots is None:
        from engine.gan.inference import load_generator

        snapshots = load_snapshots()
        final_generator = load_generator() if final_generator is None else final_generator
    snapshots = tuple(snapshots)
    test = make_test_set(count, seed, snapshots[0].discriminator.config.image_size)
    results = []
    for done, snapshot in enumerate(snapshots, 1):
        results.append(separation(snapshot, test, final_generator))
        if on_progress is not None:
            on_progress(done, len(snapshots))
    return SnapshotFigures(snapshots=tuple(results), real_count=count, damaged_count=count, seed=seed,
                           noise_sigma=NOISE_SIGMA)


@dataclass(frozen=True)
class SnapshotScores:
    """One image's realness under every snapshot, for the class D was told."""

    steps: tuple[int, ...]
    realness: tuple[float, ...]  # sigmoid(D(x, digit)) per snapshot, same order as steps
    digit: int
    digit_source: str  # "requested" or "judge"

    def info(self) -> dict:
        return {"class": self.digit, "class_from": self.digit_source,
                "snapshots": [{"step": step, "realness": round(value, 4)} for step, value in zip(self.steps, self.realness)]}


@single_thread()
def score_snapshots(image: np.ndarray, digit: int, digit_source: str = "requested") -> SnapshotScores:
    """A (S, S) image in [0, 1] (ink = 1) scored as class ``digit`` (0-9) by every committed snapshot."""
    from engine.gan.inference import _resized, _square, check_digit

    digit = check_digit(digit, allow_random=False)
    snapshots = load_snapshots()
    x = _resized(_square(image, "image"), snapshots[0].discriminator.config.image_size)[:, 0].numpy()
    values = [float(realness(s.discriminator, x, np.array([digit]))[0]) for s in snapshots]
    return SnapshotScores(tuple(s.step for s in snapshots), tuple(values), digit, digit_source)


def score_image_snapshots(image: Image.Image, digit="auto", size: int = 32) -> SnapshotScores:
    """An uploaded or drawn RGB image scored by every snapshot, as ``digit`` (0-9, or "auto" = the judge's
    reading, exactly as ``inference.score_image`` picks it); the pixels D sees are the same as there."""
    from engine.gan.inference import _as_drawn, _training_layout, score_image

    chosen = score_image(image, digit, size)
    pixels = _as_drawn(image, size)
    pixels = _training_layout(image, size) if pixels is None else pixels
    return score_snapshots(pixels, chosen.digit, chosen.digit_source)
