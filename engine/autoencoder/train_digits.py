"""Train the digits autoencoders (one per latent size) and the PCA baseline they are compared with.

Rebuild the committed weights with ``python scripts/train_autoencoders.py digits``.
Data: the fixed 80/20 split of scikit-learn's digits (``engine.core.datasets.digits_split``),
flattened to 64 values in [0, 1]. Test digits are never trained on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from engine.autoencoder.models import DigitsAutoencoder
from engine.core.datasets import digits_split
from engine.core.seeding import seed_everything, torch_generator

DIGITS_LATENT_SIZES = (2, 4, 8, 16, 32)


@dataclass(frozen=True)
class DigitsAETrainConfig:
    latent_dim: int = 2  # bottleneck width
    hidden: int = 256  # widest MLP layer (the other is hidden // 2)
    epochs: int = 150  # passes over the 1,437 training digits
    batch_size: int = 64
    learning_rate: float = 2e-3  # AdamW peak, cosine-decayed to 0
    weight_decay: float = 1e-4
    input_noise: float = 0.05  # Gaussian noise on inputs during training: a mild regulariser
    seed: int = 0  # seeds init, shuffling and noise


def flat_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x (N, 64), train_y, test_x (M, 64), test_y), float32 in [0, 1] / int64."""
    split = digits_split()
    return (
        split.train_images.reshape(-1, 64),
        split.train_labels,
        split.test_images.reshape(-1, 64),
        split.test_labels,
    )


def pca_test_mse(latent_dim: int) -> float:
    """Mean squared reconstruction error per pixel on the test digits of a PCA fitted on the training digits."""
    from sklearn.decomposition import PCA

    train_x, _, test_x, _ = flat_digits()
    pca = PCA(n_components=latent_dim, random_state=0).fit(train_x)
    recon = np.clip(pca.inverse_transform(pca.transform(test_x)), 0, 1)
    return float(np.mean((recon - test_x) ** 2))


@torch.inference_mode()
def ae_test_mse(model: DigitsAutoencoder) -> float:
    _, _, test_x, _ = flat_digits()
    x = torch.from_numpy(test_x)
    return float(F.mse_loss(model.eval()(x), x))


def train_digits_ae(
    config: DigitsAETrainConfig = DigitsAETrainConfig(),
    on_progress: Callable[[int, int, float], None] | None = None,
) -> tuple[DigitsAutoencoder, dict]:
    """Train one latent size from scratch; ``on_progress(epoch, total, loss)`` every 50 epochs."""
    seed_everything(config.seed)
    generator = torch_generator(config.seed)
    train_x = torch.from_numpy(flat_digits()[0])
    model = DigitsAutoencoder(config.latent_dim, config.hidden)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = int(np.ceil(len(train_x) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.epochs * steps_per_epoch, pct_start=0.05
    )
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            batch = train_x[order[start : start + config.batch_size]]
            noisy = batch + config.input_noise * torch.randn(batch.shape, generator=generator)
            loss = F.mse_loss(model(noisy), batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(batch)
        if on_progress is not None and (epoch % 50 == 0 or epoch == config.epochs):
            on_progress(epoch, config.epochs, total / len(train_x))
    metrics = {
        "latent_dim": config.latent_dim,
        "test_mse": round(ae_test_mse(model), 6),
        "pca_test_mse": round(pca_test_mse(config.latent_dim), 6),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return model.eval(), metrics
