"""Train the embedded class-conditional DCGAN on scikit-learn digits upscaled to 32x32.

Rebuild the committed weights with ``python scripts/train_gan_digits.py``.
The saved generator is an exponential moving average (EMA) of the trained one:
averaging the weights over the last few hundred steps smooths GAN oscillations.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from engine.core.datasets import digits_split, upscale_digits
from engine.gan.models import ConditionalDiscriminator, ConditionalGenerator
from engine.core.seeding import JobRng, torch_generator


@dataclass(frozen=True)
class GanDigitsConfig:
    latent_dim: int = 64  # noise size
    g_channels: int = 16  # generator's last hidden width (earlier layers: 32, 64)
    d_channels: int = 16  # discriminator's first conv width (later: 32, 64)
    image_size: int = 32  # digits are upscaled 8x8 -> 32x32 (bilinear)
    steps: int = 4000  # generator updates (one D update each)
    batch_size: int = 64
    g_lr: float = 2e-4  # Adam, DCGAN's betas (0.5, 0.999)
    d_lr: float = 2e-4
    r1_gamma: float = 1.0  # R1 gradient penalty on reals every r1_every steps; keeps D smooth
    r1_every: int = 4
    ema_decay: float = 0.995  # generator weight averaging; the EMA copy is what we save
    ema_start: int = 500  # steps before averaging starts (early weights are noise)
    d_dropout: float = 0.2
    seed: int = 0  # seeds init, batches and noise


def build_models(config: GanDigitsConfig) -> tuple[ConditionalGenerator, ConditionalDiscriminator]:
    generator = ConditionalGenerator(
        latent_dim=config.latent_dim, base_channels=config.g_channels, image_size=config.image_size
    )
    discriminator = ConditionalDiscriminator(
        base_channels=config.d_channels, image_size=config.image_size, dropout=config.d_dropout
    )
    return generator, discriminator


@torch.no_grad()
def _ema_update(target: torch.nn.Module, source: torch.nn.Module, decay: float) -> None:
    for target_param, source_param in zip(target.parameters(), source.parameters()):
        target_param.lerp_(source_param, 1 - decay)
    for target_buffer, source_buffer in zip(target.buffers(), source.buffers()):
        target_buffer.copy_(source_buffer)


class DigitsGanTrainer:
    """One GAN training run, advanced a step at a time (the offline script and the live tab share it).

    ``step()`` does one discriminator and one generator update and returns (d_loss, g_loss).
    Losses are the non-saturating GAN losses (softplus form), with an R1 penalty on reals.
    """

    def __init__(self, config: GanDigitsConfig = GanDigitsConfig()):
        self.config = config
        # Initialisation and D's dropout draw from torch's global RNG: this run's own copy of it,
        # so live runs in other sessions (threads) neither disturb nor are disturbed by it.
        self.global_rng = JobRng(config.seed)
        split = digits_split()
        self.real = upscale_digits(split.train_images, config.image_size)
        self.labels = torch.as_tensor(split.train_labels)
        with self.global_rng.active():
            self.generator, self.discriminator = build_models(config)
        self.ema = copy.deepcopy(self.generator).eval()
        self.g_opt = torch.optim.Adam(self.generator.parameters(), lr=config.g_lr, betas=(0.5, 0.999))
        self.d_opt = torch.optim.Adam(self.discriminator.parameters(), lr=config.d_lr, betas=(0.5, 0.999))
        self.rng = torch_generator(config.seed)
        self.steps_done = 0

    def step(self) -> tuple[float, float]:
        with self.global_rng.active():
            return self._step()

    def _step(self) -> tuple[float, float]:
        config, rng = self.config, self.rng
        self.steps_done += 1
        step = self.steps_done
        self.generator.train()
        self.discriminator.train()
        index = torch.randint(len(self.real), (config.batch_size,), generator=rng)
        real_x, real_y = self.real[index], self.labels[index]
        fake_y = torch.randint(10, (config.batch_size,), generator=rng)
        z = torch.randn(config.batch_size, config.latent_dim, generator=rng)
        fake_x = self.generator(z, fake_y)

        regularise = config.r1_gamma > 0 and step % config.r1_every == 0
        real_x.requires_grad_(regularise)
        real_logits = self.discriminator(real_x, real_y)
        d_loss = F.softplus(-real_logits).mean() + F.softplus(self.discriminator(fake_x.detach(), fake_y)).mean()
        if regularise:
            # Lazy R1 (StyleGAN2): penalise |grad_x D(real)|^2 every r1_every steps, scaled up to match.
            (grad,) = torch.autograd.grad(real_logits.sum(), real_x, create_graph=True)
            d_loss = d_loss + config.r1_gamma / 2 * config.r1_every * grad.pow(2).flatten(1).sum(1).mean()
        self.d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        self.d_opt.step()

        g_loss = F.softplus(-self.discriminator(fake_x, fake_y)).mean()
        self.g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        self.g_opt.step()
        # No averaging at first: early weights are noise and would pull the average back for a long time.
        _ema_update(self.ema, self.generator, config.ema_decay if step > config.ema_start else 0.0)
        return d_loss.detach().item(), g_loss.detach().item()


def train_gan_digits(
    config: GanDigitsConfig = GanDigitsConfig(),
    on_progress: Callable[[int, int, float, float], None] | None = None,
    snapshot_steps: Sequence[int] = (),
    on_snapshot: Callable[[int, ConditionalDiscriminator, ConditionalGenerator], None] | None = None,
) -> tuple[ConditionalGenerator, ConditionalDiscriminator, dict]:
    """Train from scratch; returns (EMA generator in eval mode, discriminator in eval mode, metrics).

    ``on_progress(step, total_steps, d_loss, g_loss)`` is called every 100 steps with mean losses.
    ``on_snapshot(step, discriminator, generator)`` gets eval-mode copies of D and of the generator D was
    trained against (the raw one, not the EMA) after each step in ``snapshot_steps``; copying draws no
    random numbers, so the run (and its final weights) is the same with or without it.
    """
    trainer = DigitsGanTrainer(config)
    started = time.perf_counter()
    d_sum = g_sum = 0.0
    for step in range(1, config.steps + 1):
        d_loss, g_loss = trainer.step()
        d_sum += d_loss
        g_sum += g_loss
        if on_snapshot is not None and step in snapshot_steps:
            on_snapshot(step, copy.deepcopy(trainer.discriminator).eval(), copy.deepcopy(trainer.generator).eval())
        if step % 100 == 0:
            if on_progress is not None:
                on_progress(step, config.steps, d_sum / 100, g_sum / 100)
            d_sum = g_sum = 0.0
    trainer.discriminator.eval()
    metrics = {"train_seconds": round(time.perf_counter() - started, 1), "steps": config.steps}
    return trainer.ema, trainer.discriminator, metrics
