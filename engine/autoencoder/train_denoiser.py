"""Train the photo denoising autoencoder on patches of the packaged natural photos.

Rebuild the committed weights with ``python scripts/train_autoencoders.py denoiser``.
Inputs are clean patches corrupted by a random mix of the tab's noise kinds;
the target is the clean patch (MSE, which is what PSNR measures).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from engine.autoencoder.models import DenoisingAutoencoder
from engine.autoencoder.photos import TRAIN_PHOTOS, load_photo
from engine.core.seeding import seed_everything, torch_generator


@dataclass(frozen=True)
class DenoiserTrainConfig:
    channels: int = 32  # feature maps at 1/2 resolution
    bottleneck_channels: int = 64  # feature maps at the 1/4-resolution bottleneck
    num_res_blocks: int = 3  # residual blocks at the bottleneck
    steps: int = 2500  # optimiser steps
    batch_size: int = 16  # patches per step
    patch_size: int = 64  # side of each square training patch (pixels)
    learning_rate: float = 2e-3  # Adam peak, cosine-decayed to 0
    gaussian_fraction: float = 0.7  # share of patches with Gaussian noise; the rest split over the other kinds
    max_sigma: float = 0.2  # Gaussian sigma is drawn uniformly from [0.02, max_sigma]
    finetune_steps: int = 1000  # stage 2: continue from stage 1 with colour augmentation, lower learning rate (0 = skip)
    finetune_learning_rate: float = 4e-4  # stage 2 Adam peak, cosine-decayed to 0
    seed: int = 0  # seeds init, patch sampling and noise (stage 2 uses seed + 1)


def sample_patches(
    photos: list[np.ndarray], count: int, size: int, rng: np.random.Generator, colour_augment: bool = False
) -> torch.Tensor:
    """``count`` random (3, size, size) crops with random flips/rot90, as one float32 tensor in [0, 1].

    ``colour_augment`` also permutes the RGB channels and scales saturation by 0.5-2x, because half of the
    packaged photos are grey or earthy and the model otherwise shifts the colours of saturated photos.
    """
    out = np.empty((count, size, size, 3), dtype=np.float32)
    for i in range(count):
        photo = photos[rng.integers(len(photos))]
        top = rng.integers(photo.shape[0] - size + 1)
        left = rng.integers(photo.shape[1] - size + 1)
        patch = photo[top : top + size, left : left + size]
        patch = np.rot90(patch, rng.integers(4))
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if colour_augment:
            patch = patch[..., rng.permutation(3)]
            grey = patch.mean(axis=-1, keepdims=True)
            patch = np.clip(grey + rng.uniform(0.5, 2.0) * (patch - grey), 0, 1)
        out[i] = patch
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def corrupt(clean: torch.Tensor, config: DenoiserTrainConfig, generator: torch.Generator) -> torch.Tensor:
    """Apply one random noise kind per patch (batched torch versions of engine.autoencoder.noise)."""
    n = len(clean)
    noisy = clean.clone()
    kind = torch.rand(n, generator=generator)
    rest = (1 - config.gaussian_fraction) / 3
    edges = [config.gaussian_fraction, config.gaussian_fraction + rest, config.gaussian_fraction + 2 * rest]
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(n, 1, 1, 1, generator=generator)  # noqa: E731
    sigma = u(0.02, config.max_sigma)
    gauss = kind < edges[0]
    noisy[gauss] = (clean + sigma * torch.randn(clean.shape, generator=generator))[gauss]
    sp = (kind >= edges[0]) & (kind < edges[1])
    amount = u(0.02, 0.3)
    hit = torch.rand(n, 1, *clean.shape[2:], generator=generator) < amount
    salt = (torch.rand(n, 1, *clean.shape[2:], generator=generator) < 0.5).float()
    noisy[sp] = torch.where(hit, salt.expand_as(clean), clean)[sp]
    spk = (kind >= edges[1]) & (kind < edges[2])
    noisy[spk] = (clean * (1 + u(0.05, 0.5) * torch.randn(clean.shape, generator=generator)))[spk]
    msk = kind >= edges[2]
    tiles = torch.rand(n, 1, clean.shape[2] // 8, clean.shape[3] // 8, generator=generator) < u(0.02, 0.4)
    mask = F.interpolate(tiles.float(), scale_factor=8, mode="nearest")
    noisy[msk] = (clean * (1 - mask))[msk]
    return noisy.clamp(0, 1)


def _run_stage(
    model: DenoisingAutoencoder,
    config: DenoiserTrainConfig,
    steps: int,
    learning_rate: float,
    seed: int,
    on_progress: Callable[[int, int, float], None] | None,
    colour_augment: bool = False,
) -> None:
    """One optimisation stage with its own RNGs (so a stage can be re-run alone from saved weights)."""
    rng = np.random.default_rng(seed)
    generator = torch_generator(seed)
    photos = [np.asarray(load_photo(name)) for name in TRAIN_PHOTOS]
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.05)
    recent: list[float] = []
    model.train()
    for step in range(1, steps + 1):
        clean = sample_patches(photos, config.batch_size, config.patch_size, rng, colour_augment)
        noisy = corrupt(clean, config, generator)
        loss = F.mse_loss(model(noisy), clean)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        recent.append(loss.item())
        if on_progress is not None and (step % 50 == 0 or step == steps):
            on_progress(step, steps, float(np.mean(recent)))
            recent.clear()
    model.eval()


def finetune_denoiser(
    model: DenoisingAutoencoder,
    config: DenoiserTrainConfig = DenoiserTrainConfig(),
    on_progress: Callable[[int, int, float], None] | None = None,
) -> DenoisingAutoencoder:
    """Stage 2: continue from the stage-1 weights at a lower learning rate, with colour augmentation (seed + 1)."""
    _run_stage(
        model, config, config.finetune_steps, config.finetune_learning_rate, config.seed + 1, on_progress, colour_augment=True
    )
    return model


def train_denoiser(
    config: DenoiserTrainConfig = DenoiserTrainConfig(),
    on_progress: Callable[[int, int, float], None] | None = None,
) -> tuple[DenoisingAutoencoder, dict]:
    """Train from scratch (stage 1, then the fine-tuning stage 2).

    ``on_progress(step, total_steps, mean_recent_loss)`` every 50 steps of each stage.
    """
    seed_everything(config.seed)
    model = DenoisingAutoencoder(config.channels, config.bottleneck_channels, config.num_res_blocks)
    started = time.perf_counter()
    _run_stage(model, config, config.steps, config.learning_rate, config.seed, on_progress)
    if config.finetune_steps:
        finetune_denoiser(model, config, on_progress)
    return model, {"train_seconds": round(time.perf_counter() - started, 1), "train_photos": list(TRAIN_PHOTOS)}
