"""Training the Variational view's models: the committed 32x32 VAEs (offline) and the live beta run (seconds).

The loss per digit is the negative ELBO with a weight beta on its KL term (a beta-VAE):
reconstruction = binary cross-entropy summed over the pixels (nats), KL = KL(q(z|x) || N(0, I)) in closed form.
beta = 0 with a deterministic encoder is a plain autoencoder. Rebuild the committed weights with
``python scripts/train_vae.py``; the live run is :func:`live_run`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from engine.autoencoder.models import DigitsVAE, TinyDigitsVAE
from engine.core.datasets import digits_split, upscale_digits
from engine.core.seeding import JobRng, seed_everything, torch_generator


def kl_per_item(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(log_var)) || N(0, I)) per row: 0.5 * sum(mu^2 + exp(log_var) - 1 - log_var)."""
    return 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)


def reparameterize(mu: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I) drawn from ``generator`` (so a seed fixes z)."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    return mu + (0.5 * log_var).exp() * eps


def recon_per_item(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy summed over each item's pixels (nats), from decoder logits."""
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return loss.reshape(len(loss), -1).sum(dim=1)


def elbo_terms(model, images: torch.Tensor, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, KL) per item. A variational model samples z (``generator``) while training, else uses mu."""
    mu, log_var = model.encode(images)
    if log_var is None:  # a plain autoencoder: deterministic, no KL
        return recon_per_item(model.decode(mu), images), torch.zeros(len(mu))
    z = reparameterize(mu, log_var, generator) if generator is not None else mu
    return recon_per_item(model.decode(z).reshape(images.shape), images), kl_per_item(mu, log_var)


# ------------------------------------------------------------------------------------- committed models
@dataclass(frozen=True)
class VaeTrainConfig:
    latent_dim: int = 16
    variational: bool = True  # False: a plain autoencoder (beta is then irrelevant)
    beta: float = 1.0  # weight of the KL term
    channels: int = 32  # first conv width (then 2x, 4x)
    epochs: int = 100  # passes over the 1,437 training digits
    batch_size: int = 64
    learning_rate: float = 2e-3  # Adam peak, one-cycle schedule
    seed: int = 0


def training_digits(size: int = 32) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train (N, 1, size, size), train labels, test images, test labels): the fixed split, upscaled like the GAN's."""
    split = digits_split()
    return (upscale_digits(split.train_images, size), torch.as_tensor(split.train_labels),
            upscale_digits(split.test_images, size), torch.as_tensor(split.test_labels))


@torch.no_grad()
def evaluate(model: DigitsVAE, images: torch.Tensor) -> dict:
    """Mean reconstruction (decoding mu), KL and pixel MSE per digit on ``images``."""
    model.eval()
    recon, kl = elbo_terms(model, images, None)
    mse = F.mse_loss(model(images), images)
    return {"reconstruction_nats": round(float(recon.mean()), 3), "kl_nats": round(float(kl.mean()), 3),
            "pixel_mse": round(float(mse), 6)}


def train_vae(config: VaeTrainConfig = VaeTrainConfig(),
              on_progress: Callable[[int, int, float], None] | None = None) -> tuple[DigitsVAE, dict]:
    """Train one model from scratch; ``on_progress(epoch, epochs, mean loss)`` after each epoch."""
    seed_everything(config.seed)
    generator = torch_generator(config.seed)
    train_x, _, test_x, _ = training_digits()
    model = DigitsVAE(config.latent_dim, config.channels, config.variational)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    steps_per_epoch = int(np.ceil(len(train_x) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate,
                                                    total_steps=config.epochs * steps_per_epoch, pct_start=0.1)
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = train_x[order[start : start + config.batch_size]]
            recon, kl = elbo_terms(model, batch, generator)
            loss = (recon + config.beta * kl).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(batch)
        if on_progress is not None:
            on_progress(epoch, config.epochs, total / len(train_x))
    seconds = time.perf_counter() - started
    metrics = {"train": evaluate(model, train_x), "test": evaluate(model, test_x),
               "parameters": int(sum(p.numel() for p in model.parameters())), "training_seconds": round(seconds, 1)}
    return model.eval(), metrics


# ------------------------------------------------------------------------------------------- live run
LIVE_EPOCHS = 40  # passes over the 1,437 training digits (8x8): a few seconds on one thread
LIVE_FRAME_EVERY = 5  # epochs between the map frames a live run yields
LIVE_MAX_RUNS = 2  # live runs at once, whole server: each holds a CPU core for a few seconds
BETA_RANGE = (0.0, 8.0)
_live_slots = threading.BoundedSemaphore(LIVE_MAX_RUNS)


@dataclass(frozen=True)
class LiveFrame:
    epoch: int
    epochs: int
    mu: np.ndarray  # (M, 2) the test digits' posterior means
    sigma: np.ndarray  # (M, 2) their posterior standard deviations
    labels: np.ndarray  # (M,)
    reconstruction: float  # mean test reconstruction (nats per digit, 64 pixels)
    kl: float  # mean test KL (nats per digit)
    seconds: float


def check_beta(beta) -> float:
    try:
        value = float(beta)
    except (TypeError, ValueError, OverflowError):
        value = float("nan")
    low, high = BETA_RANGE
    if not (np.isfinite(value) and low <= value <= high):
        raise ValueError(f"beta must be a number from {low:g} to {high:g}; got {str(beta)[:80]!r}.")
    return value


def live_run(beta: float, seed: int = 0, epochs: int = LIVE_EPOCHS, frame_every: int = LIVE_FRAME_EVERY,
             time_limit_s: float = 30.0, wait_s: float = 0.0) -> Iterator[LiveFrame]:
    """Train a 2-D :class:`TinyDigitsVAE` on the 8x8 training digits with weight ``beta`` on the KL term, yielding
    the test digits' posteriors every ``frame_every`` epochs (and after the last). Deterministic per seed.

    At most :data:`LIVE_MAX_RUNS` run at once: a run waits up to ``wait_s`` for a slot, then raises ``ValueError``
    ("busy"). A run stops early after ``time_limit_s`` and yields its last frame.
    """
    beta = check_beta(beta)
    if not (_live_slots.acquire(timeout=wait_s) if wait_s > 0 else _live_slots.acquire(blocking=False)):
        raise ValueError(f"{LIVE_MAX_RUNS} live training runs are already going on this server; try again in a few "
                         "seconds.")
    try:
        yield from _live_frames(beta, int(seed), int(epochs), int(frame_every), time_limit_s)
    finally:
        _live_slots.release()


_final: "OrderedDict[tuple[float, int], LiveFrame]" = OrderedDict()
_final_lock = threading.Lock()  # guards the dict only; runs happen outside it


def final_frame(beta: float, seed: int = 0, keep: int = 16) -> LiveFrame:
    """The last frame of the live run for (beta, seed), trained once and kept (the ``keep`` most recent): what the
    view shows when it opens. The run is deterministic, so a kept frame is exactly what a new run would give."""
    key = (check_beta(beta), int(seed))
    with _final_lock:
        if key in _final:
            _final.move_to_end(key)
            return _final[key]
    frame = list(live_run(*key, wait_s=30.0))[-1]
    with _final_lock:
        _final[key] = frame
        while len(_final) > keep:
            _final.popitem(last=False)
    return frame


def _live_frames(beta, seed, epochs, frame_every, time_limit_s):
    from engine.core.threads import single_thread

    split = digits_split()
    train_x = torch.from_numpy(split.train_images.reshape(-1, 64))
    test_x = torch.from_numpy(split.test_images.reshape(-1, 64))
    generator = torch_generator(seed)
    with JobRng(seed).active():  # module initialisation draws from torch's global RNG
        model = TinyDigitsVAE(latent_dim=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    started = time.perf_counter()
    with single_thread():
        for epoch in range(1, epochs + 1):
            order = torch.randperm(len(train_x), generator=generator)
            for start in range(0, len(order), 64):
                batch = train_x[order[start : start + 64]]
                mu, log_var = model.encode(batch)
                recon = recon_per_item(model.decode(reparameterize(mu, log_var, generator)), batch)
                loss = (recon + beta * kl_per_item(mu, log_var)).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            late = time.perf_counter() - started > time_limit_s
            if epoch % frame_every == 0 or epoch == epochs or late:
                with torch.no_grad():
                    mu, log_var = model.encode(test_x)
                    recon = recon_per_item(model.decode(mu), test_x).mean()
                    kl = kl_per_item(mu, log_var).mean()
                yield LiveFrame(epoch, epochs, mu.numpy(), (0.5 * log_var).exp().numpy(), split.test_labels,
                                float(recon), float(kl), time.perf_counter() - started)
            if late:
                return
