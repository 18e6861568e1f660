"""The GAN's referee: a digit classifier trained on real digits, and the quality figures it yields.

The judge is a small CNN trained on the real 32x32 digits (never on generated ones).
From it we compute, for a generator:

* agreement: how often the judge reads the class the generator was asked for;
* coverage: how many of the 10 classes the judge sees among the samples;
* diversity: per class, mean pairwise pixel distance of generated samples / that of real ones;
* Fréchet distance (FID-style) between the judge's penultimate features of generated and
  held-out real digits, beside the same distance for real training digits (the floor);
* kernel distance (KID-style) between the same features: an unbiased estimate, so unlike the
  Fréchet distance its expected value does not depend on how many samples were drawn.

The Fréchet distance is biased upwards, the more so the fewer samples: always quote it with its
sample counts (``GanQuality.samples``, ``heldout_count``, ``real_train_count``).

Rebuild the committed judge with ``python scripts/train_gan_judge.py``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from engine.core.augment import random_affine
from engine.core.datasets import digits_split, upscale_digits
from engine.core.digit_input import with_plain_sevens
from engine.core.seeding import seed_everything, torch_generator


class DigitJudge(ModelMixin, ConfigMixin):
    """images (N, 1, S, S) float32 in [0, 1] -> logits (N, 10); ``features`` gives (N, feature_dim)."""

    @register_to_config
    def __init__(
        self,
        channels: int = 32,  # first conv width; two more convs double it
        feature_dim: int = 128,  # penultimate width, the space Fréchet distances are measured in
        num_classes: int = 10,
        image_size: int = 32,
    ):
        super().__init__()
        c = channels
        self.conv = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(2 * c, 4 * c, 3, padding=1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
        )
        self.feature = nn.Sequential(nn.Linear(4 * c * 16, feature_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.feature(self.conv(images))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


@dataclass(frozen=True)
class JudgeConfig:
    epochs: int = 30  # passes over the 1,437 training digits (plus the plain 7s)
    batch_size: int = 64
    learning_rate: float = 2e-3  # AdamW peak, one-cycle schedule
    weight_decay: float = 1e-4
    image_size: int = 32
    seed: int = 0
    plain_sevens: bool = True  # add crossbar-free copies of the training 7s (digit_input.plain_sevens)


@torch.no_grad()
def predict(judge: DigitJudge, images: torch.Tensor, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Return (logits (N, 10) float32, features (N, feature_dim) float32) for images in [0, 1]."""
    judge.eval()
    logits, features = [], []
    for start in range(0, len(images), batch_size):
        feats = judge.features(images[start : start + batch_size])
        features.append(feats)
        logits.append(judge.head(feats))
    return torch.cat(logits).numpy(), torch.cat(features).numpy()


def train_judge(
    config: JudgeConfig = JudgeConfig(), on_progress: Callable[[int, int, float], None] | None = None
) -> tuple[DigitJudge, dict]:
    """Train the judge on real training digits (with small random affine jitter); returns (judge, metrics).

    With ``config.plain_sevens`` the training 7s that have a crossbar are added once more without it:
    most of the dataset's 7s are crossed, most people draw them plain, and a plain 7 was read as a 3.
    """
    seed_everything(config.seed)
    split = digits_split()
    train_images, train_labels = split.train_images, split.train_labels
    if config.plain_sevens:
        train_images, train_labels = with_plain_sevens(train_images, train_labels)
    train_x = upscale_digits(train_images, config.image_size)
    train_y = torch.as_tensor(train_labels)
    test_x = upscale_digits(split.test_images, config.image_size)
    judge = DigitJudge(image_size=config.image_size)
    optimizer = torch.optim.AdamW(judge.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = int(np.ceil(len(train_x) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.epochs * steps_per_epoch, pct_start=0.15
    )
    rng = torch_generator(config.seed)
    started = time.perf_counter()
    for epoch in range(config.epochs):
        judge.train()
        order = torch.randperm(len(train_x), generator=rng)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            loss = F.cross_entropy(judge(random_affine(train_x[index], rng)), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(index)
        if on_progress is not None:
            on_progress(epoch + 1, config.epochs, total / len(train_x))
    judge.eval()
    test_logits, _ = predict(judge, test_x)
    metrics = {
        "plain_sevens_added": int(len(train_y) - len(split.train_labels)),
        "test_accuracy": float((test_logits.argmax(1) == split.test_labels).mean()),
        "test_size": int(len(test_x)),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return judge, metrics


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets (the FID formula)."""
    from scipy import linalg

    mu_a, mu_b = features_a.mean(0), features_b.mean(0)
    cov_a = np.cov(features_a, rowvar=False)
    cov_b = np.cov(features_b, rowvar=False)
    with warnings.catch_warnings():
        # Fewer samples than feature dimensions makes the covariances singular; sqrtm still works.
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(cov_a @ cov_b)
        if not np.isfinite(covmean).all():  # regularise, as the reference FID code does
            offset = np.eye(len(cov_a)) * 1e-6
            covmean = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    covmean = covmean.real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.trace(covmean))


def kernel_distance(
    features_a: np.ndarray, features_b: np.ndarray, subsets: int = 100, subset_size: int | None = None, seed: int = 0
) -> tuple[float, float]:
    """KID between two (N, D) feature sets: (mean, standard deviation) of the unbiased MMD^2 over random subsets.

    Kernel k(x, y) = (x.y / D + 1)^3 (the cubic polynomial kernel of Bińkowski et al., 2018). Each subset
    draws ``subset_size`` rows of each set without replacement. The default is half the smaller set (at most
    1,000) rather than the usual min(N_a, N_b, 1000): with only 360 held-out digits the usual size puts all
    of them in every subset, and the spread would then ignore their own sampling noise.
    The estimate is unbiased: about 0 (within its std) for two samples of one distribution, at any size.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    smaller = min(len(a), len(b))
    size = subset_size if subset_size is not None else min(smaller // 2, 1000)
    if not 2 <= size <= smaller:
        raise ValueError(f"KID needs subsets of 2 to {smaller} rows, got {size}.")
    dim = a.shape[1]
    rng = np.random.default_rng(seed)
    values = np.empty(subsets)
    off_diagonal = size * (size - 1)
    for i in range(subsets):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        k_xx, k_yy, k_xy = (x @ x.T / dim + 1) ** 3, (y @ y.T / dim + 1) ** 3, (x @ y.T / dim + 1) ** 3
        values[i] = ((k_xx.sum() - np.trace(k_xx)) / off_diagonal + (k_yy.sum() - np.trace(k_yy)) / off_diagonal
                     - 2 * k_xy.mean())
    return float(values.mean()), float(values.std(ddof=1)) if subsets > 1 else 0.0


def mean_pairwise_distance(images: np.ndarray) -> float:
    """Mean Euclidean distance over all pairs of the (N, ...) samples, flattened (N >= 2)."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    squared = (flat**2).sum(1)
    d2 = np.maximum(squared[:, None] + squared[None, :] - 2 * flat @ flat.T, 0)
    n = len(flat)
    return float(np.sqrt(d2)[np.triu_indices(n, 1)].mean())


@dataclass(frozen=True)
class GanQuality:
    samples: int  # generated images scored (evenly split over the 10 classes)
    judge_test_accuracy: float  # judge accuracy on held-out real digits
    agreement: float  # share of samples the judge reads as the requested class
    per_class_agreement: tuple[float, ...]  # the same, for classes 0..9
    classes_produced: int  # distinct classes among the judge's readings of the samples
    diversity_ratio: tuple[float, ...]  # per class: generated / real mean pairwise pixel distance
    fid_generated: float  # judge-feature Fréchet distance, generated (n = samples) vs held-out real
    fid_real_train: float  # the same for real training digits vs held-out real (the floor)
    fid_real_same_n: float = float("nan")  # the floor at the generated sample size: ``samples`` real training digits
    heldout_count: int = 0  # held-out real digits both distances compare against
    real_train_count: int = 0  # real training digits in the floor
    kid_generated: float = float("nan")  # judge-feature kernel distance (KID), generated vs held-out real
    kid_generated_std: float = float("nan")  # its standard deviation over the subsets
    kid_real_train: float = float("nan")  # the same for real training digits vs held-out real (the floor)
    kid_real_train_std: float = float("nan")
    kid_subsets: int = 0

    @property
    def min_diversity_ratio(self) -> float:
        return min(self.diversity_ratio)

    def passes(self) -> bool:
        """The issue's bar: agreement >= 90%, all 10 classes, every class diversity >= 50% of real."""
        return self.agreement >= 0.9 and self.classes_produced == 10 and self.min_diversity_ratio >= 0.5

    def as_dict(self) -> dict:
        return {
            "samples": self.samples,
            "judge_test_accuracy": round(self.judge_test_accuracy, 4),
            "agreement": round(self.agreement, 4),
            "per_class_agreement": [round(v, 3) for v in self.per_class_agreement],
            "classes_produced": self.classes_produced,
            "diversity_ratio": [round(v, 3) for v in self.diversity_ratio],
            "min_diversity_ratio": round(self.min_diversity_ratio, 3),
            "fid_generated_vs_heldout": round(self.fid_generated, 2),
            "fid_real_train_vs_heldout": round(self.fid_real_train, 2),
            "fid_real_same_n_vs_heldout": round(self.fid_real_same_n, 2),
            # Sample counts behind every distance: FID's bias depends on them.
            "n_generated": self.samples,
            "n_heldout": self.heldout_count,
            "n_real_train": self.real_train_count,
            "kid_generated_vs_heldout": round(self.kid_generated, 5),
            "kid_generated_vs_heldout_std": round(self.kid_generated_std, 5),
            "kid_real_train_vs_heldout": round(self.kid_real_train, 5),
            "kid_real_train_vs_heldout_std": round(self.kid_real_train_std, 5),
            "kid_subsets": self.kid_subsets,
            "passes_bar": self.passes(),
        }


@torch.no_grad()
def evaluate_generator(
    generator, judge: DigitJudge, samples: int = 1000, seed: int = 12345,
    on_progress: Callable[[int, int], None] | None = None, kid_subsets: int = 100,
) -> GanQuality:
    """Score ``generator`` (a ConditionalGenerator in eval mode) with ``judge`` on ``samples`` images.

    ``on_progress(done, total)`` is called after each block of work (100 samples generated and read,
    the real digits read, each distance), with ``done`` rising to ``total``.
    """
    if samples < 20:
        raise ValueError("Use at least 20 samples (2 per class) to measure quality.")
    generator.eval()
    rng = torch_generator(seed)
    labels = torch.arange(samples) % 10
    z = torch.randn(samples, generator.config.latent_dim, generator=rng)
    size = judge.config.image_size
    chunk = 100
    starts = range(0, samples, chunk)
    total, done = len(starts) + 4, 0

    def advance() -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total)

    fakes, fake_logits, fake_features = [], [], []
    for start in starts:
        fake = generator(z[start : start + chunk], labels[start : start + chunk]).clamp(0, 1)
        if fake.shape[-1] != size:
            fake = F.interpolate(fake, size=(size, size), mode="bilinear", align_corners=False)
        logits, features = predict(judge, fake)
        fakes.append(fake)
        fake_logits.append(logits)
        fake_features.append(features)
        advance()
    fake = torch.cat(fakes)
    fake_logits, fake_features = np.concatenate(fake_logits), np.concatenate(fake_features)
    split = digits_split()
    train_x = upscale_digits(split.train_images, size)
    test_x = upscale_digits(split.test_images, size)
    test_logits, test_features = predict(judge, test_x)
    _, train_features = predict(judge, train_x)
    advance()
    readings = fake_logits.argmax(1)
    requested = labels.numpy()
    fake_np, train_np = fake.numpy(), train_x.numpy()
    per_class, diversity = [], []
    for digit in range(10):
        mask = requested == digit
        per_class.append(float((readings[mask] == digit).mean()))
        real_d = mean_pairwise_distance(train_np[split.train_labels == digit])
        diversity.append(mean_pairwise_distance(fake_np[mask]) / real_d)
    advance()
    fid_generated = frechet_distance(fake_features, test_features)
    fid_real_train = frechet_distance(train_features, test_features)
    same_n = np.random.default_rng(seed).choice(len(train_features), min(samples, len(train_features)), replace=False)
    fid_real_same_n = frechet_distance(train_features[same_n], test_features)
    advance()
    # KID on features divided by one constant, the held-out digits' RMS feature value, so x.y / D is about 1
    # (raw judge features give x.y / D ~ 25 and kernel values ~ 10^4: same ranking, unreadable numbers).
    scale = float(np.sqrt((test_features.astype(np.float64) ** 2).mean()))
    kid_generated = kernel_distance(fake_features / scale, test_features / scale, kid_subsets, seed=seed)
    kid_real_train = kernel_distance(train_features / scale, test_features / scale, kid_subsets, seed=seed)
    advance()
    return GanQuality(
        samples=samples,
        judge_test_accuracy=float((test_logits.argmax(1) == split.test_labels).mean()),
        agreement=float((readings == requested).mean()),
        per_class_agreement=tuple(per_class),
        classes_produced=int(len(np.unique(readings))),
        diversity_ratio=tuple(diversity),
        fid_generated=fid_generated,
        fid_real_train=fid_real_train,
        fid_real_same_n=fid_real_same_n,
        heldout_count=len(test_features),
        real_train_count=len(train_features),
        kid_generated=kid_generated[0],
        kid_generated_std=kid_generated[1],
        kid_real_train=kid_real_train[0],
        kid_real_train_std=kid_real_train[1],
        kid_subsets=kid_subsets,
    )
