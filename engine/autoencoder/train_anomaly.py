"""Train the texture autoencoder for anomaly detection on normal texture patches only.

Rebuild the committed weights with ``python scripts/train_autoencoders.py anomaly --device cuda``
(493 s on an H100 shared with 7 other sweep runs; the defaults below are the configuration that ranked first on the
validation set in ``scripts/anomaly_sweep.py``, see ``assets/ae_anomaly/sweep_validation.json``).
Half of the inputs get a generic corruption (a random rectangle of flat colour or
noise) while the target stays clean, so the model learns to *repair* anything that
is not texture. The corruption is deliberately unlike the evaluation defects
(no lines, discs, stains or slits), and only the training columns are ever seen.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from engine.autoencoder.anomaly import TEXTURES, TRAIN_COLUMNS, load_texture
from engine.autoencoder.models import TextureAutoencoder
from engine.core.seeding import seed_everything


@dataclass(frozen=True)
class AnomalyTrainConfig:
    channels: int = 32  # feature maps at 1/2 resolution (x2 at 1/4 and 1/8)
    latent_channels: int = 16  # code channels at 1/8 resolution: the bottleneck
    num_res_blocks: int = 2  # residual blocks at 1/8 resolution, in the encoder and again in the decoder
    steps: int = 20000  # optimiser steps
    batch_size: int = 32  # patches per step
    patch_size: int = 96  # side of each training patch (pixels)
    learning_rate: float = 2e-3  # Adam peak, cosine-decayed to 0
    corrupt_fraction: float = 0.5  # share of inputs that get a pasted rectangle
    texture_fill_fraction: float = 0.0  # share of those rectangles filled with a patch of another texture
    seed: int = 0  # seeds init, patch sampling and corruption


def sample_texture_patches(count: int, size: int, rng: np.random.Generator) -> torch.Tensor:
    """Random (3, size, size) crops of the training columns, random rot90/flip; float32 in [0, 1]."""
    bands = [load_texture(name)[:, TRAIN_COLUMNS[0] : TRAIN_COLUMNS[1]] for name in TEXTURES]
    out = np.empty((count, size, size, 3), dtype=np.float32)
    for i in range(count):
        band = bands[rng.integers(len(bands))]
        top = rng.integers(band.shape[0] - size + 1)
        left = rng.integers(band.shape[1] - size + 1)
        patch = np.rot90(band[top : top + size, left : left + size], rng.integers(4))
        out[i] = patch[:, ::-1] if rng.random() < 0.5 else patch
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def paste_rectangles(
    clean: torch.Tensor, fraction: float, rng: np.random.Generator, texture_fill_fraction: float = 0.0
) -> torch.Tensor:
    """Paste one axis-aligned rectangle on ``fraction`` of the batch.

    The fill is a patch of a random training texture (share ``texture_fill_fraction``: the wrong
    texture in the wrong place), else a flat random colour or uniform noise, half and half.
    """
    noisy = clean.clone()
    size = clean.shape[-1]
    for i in range(len(clean)):
        if rng.random() >= fraction:
            continue
        h, w = rng.integers(size // 16, size // 3, size=2)
        top, left = rng.integers(0, size - h), rng.integers(0, size - w)
        if rng.random() < texture_fill_fraction:
            fill = sample_texture_patches(1, size, rng)[0, :, :h, :w]
        elif rng.random() < 0.5:
            fill = torch.tensor(rng.random(3), dtype=torch.float32)[:, None, None]
        else:
            fill = torch.from_numpy(rng.random((3, h, w)).astype(np.float32))
        noisy[i, :, top : top + h, left : left + w] = fill
    return noisy


def train_anomaly(
    config: AnomalyTrainConfig = AnomalyTrainConfig(),
    on_progress: Callable[[int, int, float], None] | None = None,
    device: str = "cpu",
) -> tuple[TextureAutoencoder, dict]:
    """Train from scratch; ``on_progress(step, total_steps, mean_recent_loss)`` every 50 steps.

    Patches are sampled on the CPU from the seeded NumPy RNG whatever ``device`` is, so
    CPU and CUDA runs see the same data; their weights agree only up to float rounding.
    The returned model is on the CPU.
    """
    seed_everything(config.seed)
    if device.startswith("cuda"):
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    rng = np.random.default_rng(config.seed)
    model = TextureAutoencoder(config.channels, config.latent_channels, config.num_res_blocks).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.steps, pct_start=0.05
    )
    started = time.perf_counter()
    recent: list[float] = []
    model.train()
    # Copied from engine.autoencoder.train_denoiser._run_stage (the step loop): kept apart so each
    # committed model stays reproducible by its own script.
    for step in range(1, config.steps + 1):
        clean = sample_texture_patches(config.batch_size, config.patch_size, rng)
        inputs = paste_rectangles(clean, config.corrupt_fraction, rng, config.texture_fill_fraction)
        clean, inputs = clean.to(device, non_blocking=True), inputs.to(device, non_blocking=True)
        loss = F.mse_loss(model(inputs), clean)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        recent.append(loss.item())
        if on_progress is not None and (step % 50 == 0 or step == config.steps):
            on_progress(step, config.steps, float(np.mean(recent)))
            recent.clear()
    model = model.eval().cpu()
    return model, {"device": device, "train_seconds": round(time.perf_counter() - started, 1)}
