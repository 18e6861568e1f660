"""Train the embedded digits Vision Transformer (the Attention tab's image model).

Rebuild the committed weights with ``python scripts/train_digits_vit.py``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from transformers import ViTConfig, ViTForImageClassification

from engine.core.augment import random_affine
from engine.core.datasets import digits_split, upscale_digits
from engine.core.digit_input import with_plain_sevens
from engine.core.seeding import seed_everything, torch_generator

DIGIT_LABELS = [str(d) for d in range(10)]


@dataclass(frozen=True)
class DigitsViTConfig:
    image_size: int = 32  # digits are upscaled 8x8 -> 32x32 (bilinear)
    patch_size: int = 4  # 4x4 patches: an 8x8 grid, one patch per original digit pixel
    hidden_size: int = 64  # token width
    num_layers: int = 4  # transformer blocks
    num_heads: int = 4  # attention heads per block
    mlp_size: int = 128  # width of each block's MLP
    epochs: int = 120  # passes over the 1,437 training digits
    batch_size: int = 64
    learning_rate: float = 2e-3  # AdamW peak, cosine-decayed to 0
    weight_decay: float = 0.05
    seed: int = 0  # seeds init, shuffling and augmentation
    plain_sevens: bool = True  # add crossbar-free copies of the training 7s (digit_input.plain_sevens)
    init_from: str = ""  # a save_pretrained folder to start from (fine-tuning) instead of random weights


def build_vit(config: DigitsViTConfig) -> ViTForImageClassification:
    vit_config = ViTConfig(
        image_size=config.image_size,
        patch_size=config.patch_size,
        num_channels=1,
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        intermediate_size=config.mlp_size,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=10,
        id2label=dict(enumerate(DIGIT_LABELS)),
        label2id={label: i for i, label in enumerate(DIGIT_LABELS)},
    )
    vit_config._attn_implementation = "eager"
    return ViTForImageClassification(vit_config)


@torch.no_grad()
def evaluate(model: ViTForImageClassification, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    logits = model(pixel_values=images).logits
    return float((logits.argmax(-1) == labels).float().mean())


def train_digits_vit(
    config: DigitsViTConfig = DigitsViTConfig(),
    on_progress: Callable[[int, int, float], None] | None = None,
) -> tuple[ViTForImageClassification, dict]:
    """Train from scratch; returns the model and metrics including ``test_accuracy``.

    ``on_progress(epoch, total_epochs, train_loss)`` is called after each epoch.
    """
    seed_everything(config.seed)
    split = digits_split()
    train_images, train_labels = split.train_images, split.train_labels
    if config.plain_sevens:  # most of the dataset's 7s have a crossbar; users mostly draw them plain
        train_images, train_labels = with_plain_sevens(train_images, train_labels)
    train_x = upscale_digits(train_images, config.image_size)
    train_y = torch.as_tensor(train_labels)
    test_x = upscale_digits(split.test_images, config.image_size)
    test_y = torch.as_tensor(split.test_labels)

    if config.init_from:
        model = ViTForImageClassification.from_pretrained(config.init_from, attn_implementation="eager", use_safetensors=True)
    else:
        model = build_vit(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = int(np.ceil(len(train_x) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=config.epochs * steps_per_epoch, pct_start=0.1
    )
    generator = torch_generator(config.seed)
    started = time.perf_counter()
    # Copied from engine.gan.judge.train_judge (the epoch loop): kept apart so each committed model stays
    # reproducible by its own script; a change to one loop is a deliberate change to the other.
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total_loss = 0.0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            batch = random_affine(train_x[index], generator)
            loss = F.cross_entropy(model(pixel_values=batch).logits, train_y[index], label_smoothing=0.05)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(index)
        if on_progress is not None:
            on_progress(epoch + 1, config.epochs, total_loss / len(train_x))
    metrics = {
        "train_accuracy": evaluate(model, train_x[: len(split.train_labels)], train_y[: len(split.train_labels)]),
        "plain_sevens_added": int(len(train_y) - len(split.train_labels)),
        "test_accuracy": evaluate(model, test_x, test_y),
        "test_size": int(len(test_y)),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return model, metrics
