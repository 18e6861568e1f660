"""The digits diffusion model: a small class-conditional UNet2DModel and its noise schedule.

Class index 10 is "no class": training drops the label to 10 for a fraction of the batch, so one
network gives both the conditional and the unconditional noise prediction that classifier-free
guidance mixes. Training (offline, seeded) lives here too; the app only samples
(engine/gan/diffusion.py). Rebuild the committed weights with ``python scripts/train_diffusion.py``.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from engine.core.augment import random_affine
from engine.core.datasets import digits_split, upscale_digits
from engine.core.seeding import JobRng, torch_generator

NUM_CLASSES = 10
UNCONDITIONAL = 10  # the extra class-embedding row: "any digit"


@dataclass(frozen=True)
class DiffusionConfig:
    block_out_channels: tuple[int, ...] = (16, 32, 64)  # 32x32 -> 16x16 -> 8x8, one ResNet block each
    norm_num_groups: int = 8
    train_timesteps: int = 1000
    beta_schedule: str = "squaredcos_cap_v2"  # the cosine schedule: small images lose detail late, not early
    steps: int = 1800  # optimiser updates (about 25 minutes on one busy core)
    batch_size: int = 32  # small batches, more updates: better for a short CPU budget
    learning_rate: float = 2e-3  # AdamW peak; linear warm-up then cosine decay
    warmup_steps: int = 100
    weight_decay: float = 1e-4
    label_dropout: float = 0.15  # fraction of labels replaced by UNCONDITIONAL
    min_snr_gamma: float = 5.0  # Min-SNR loss weighting (Hang et al. 2023): faster convergence
    ema_decay: float = 0.998  # the saved weights are this exponential moving average
    augment: bool = True  # small random rotation / shift / scale of the real digits
    seed: int = 0


def build_unet(config: DiffusionConfig = DiffusionConfig()):
    from diffusers import UNet2DModel

    levels = len(config.block_out_channels)
    return UNet2DModel(
        sample_size=32,
        in_channels=1,
        out_channels=1,
        block_out_channels=tuple(config.block_out_channels),
        layers_per_block=1,
        down_block_types=("DownBlock2D",) * levels,
        up_block_types=("UpBlock2D",) * levels,
        norm_num_groups=config.norm_num_groups,
        num_class_embeds=NUM_CLASSES + 1,
    )


def build_train_scheduler(config: DiffusionConfig = DiffusionConfig()):
    from diffusers import DDPMScheduler

    return DDPMScheduler(
        num_train_timesteps=config.train_timesteps, beta_schedule=config.beta_schedule, prediction_type="epsilon"
    )


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] ink-on-black -> [-1, 1], the range the network is trained in."""
    return images * 2 - 1


def from_model_range(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) / 2).clamp(0, 1)


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def train_diffusion(
    config: DiffusionConfig = DiffusionConfig(),
    on_progress: Callable[[int, int, float], None] | None = None,
    on_checkpoint: Callable[[int, torch.nn.Module], None] | None = None,
    checkpoint_every: int = 0,
) -> tuple[torch.nn.Module, dict]:
    """Train from scratch; returns (EMA UNet in eval mode, metrics).

    ``on_progress(step, total, mean_loss)`` every 50 steps; ``on_checkpoint(step, ema)`` every
    ``checkpoint_every`` steps (it draws no random numbers, so checkpoints do not change the run).
    """
    global_rng = JobRng(config.seed)
    with global_rng.active():
        unet = build_unet(config)
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    scheduler = build_train_scheduler(config)
    alphas_cumprod = scheduler.alphas_cumprod
    snr = alphas_cumprod / (1 - alphas_cumprod)
    split = digits_split()
    real = to_model_range(upscale_digits(split.train_images, 32))
    labels = torch.as_tensor(split.train_labels)
    optimizer = torch.optim.AdamW(unet.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)

    def lr_factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
        return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))

    lr_schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    rng = torch_generator(config.seed)
    started = time.perf_counter()
    loss_sum = 0.0
    unet.train()
    for step in range(1, config.steps + 1):
        index = torch.randint(len(real), (config.batch_size,), generator=rng)
        x0, y = real[index], labels[index].clone()
        if config.augment:
            x0 = random_affine((x0 + 1) / 2, rng, max_degrees=8.0, max_shift=0.05, scale_range=(0.92, 1.08)) * 2 - 1
        drop = torch.rand(config.batch_size, generator=rng) < config.label_dropout
        y[drop] = UNCONDITIONAL
        t = torch.randint(config.train_timesteps, (config.batch_size,), generator=rng)
        noise = torch.randn(x0.shape, generator=rng)
        xt = scheduler.add_noise(x0, noise, t)
        eps = unet(xt, t, class_labels=y).sample
        weight = torch.clamp(snr[t], max=config.min_snr_gamma) / snr[t]  # Min-SNR-γ for ε-prediction
        loss = (weight * (eps - noise).pow(2).mean(dim=(1, 2, 3))).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        optimizer.step()
        lr_schedule.step()
        decay = min(config.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for target, source in zip(ema.parameters(), unet.parameters()):
                target.lerp_(source, 1 - decay)
        loss_sum += loss.item()
        if step % 50 == 0:
            if on_progress is not None:
                on_progress(step, config.steps, loss_sum / 50)
            loss_sum = 0.0
        if on_checkpoint is not None and checkpoint_every and step % checkpoint_every == 0 and step < config.steps:
            on_checkpoint(step, ema)
    metrics = {"train_seconds": round(time.perf_counter() - started, 1), "steps": config.steps}
    return ema.eval(), metrics
