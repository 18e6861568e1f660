"""Pre-train :class:`engine.transfer.cnn.NeuroDeckCNN` on packaged photos.

Pretext tasks (self-supervised, no human labels needed):

* **which photo** did this random crop come from (one class per source photo, plus the
  ten digit classes of scikit-learn digits), which teaches colour/texture/shape statistics;
* **which rotation** (0/90/180/270 degrees) was applied, which teaches orientation and
  object structure (a face upside down looks different from one upright).

The photos are scikit-image's bundled samples and scikit-learn's two sample images.
The transfer datasets (``brick``, ``grass``, ``gravel`` and ``lfw_subset``) are
deliberately excluded so the transfer numbers are honest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from engine.transfer.cnn import IMAGE_SIZE, NeuroDeckCNN
from engine.core.seeding import seed_everything, torch_generator

# Photos bundled inside scikit-image's wheel (no download). Transfer targets are excluded.
SKIMAGE_PHOTOS = (
    "astronaut", "camera", "coffee", "chelsea", "cat", "rocket", "coins", "moon", "page",
    "hubble_deep_field", "immunohistochemistry", "retina", "cell", "colorwheel", "text",
    "clock", "microaneurysms", "horse", "checkerboard", "logo", "shepp_logan_phantom",
)


@dataclass(frozen=True)
class PretrainConfig:
    crops_per_photo: int = 160  # random crops cut once per photo (the pool is reused each epoch)
    digits_per_class: int = 100  # scikit-learn digits added as ten more "photo" classes
    epochs: int = 6  # passes over the crop pool
    batch_size: int = 128
    learning_rate: float = 3e-3  # AdamW peak, one-cycle schedule
    weight_decay: float = 5e-4
    seed: int = 0  # seeds crops, init, shuffling and augmentation


def _photos() -> list[np.ndarray]:
    """Every pretext photo as (H, W, 3) uint8."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = []
    for name in SKIMAGE_PHOTOS:
        array = np.asarray(getattr(skimage.data, name)())
        if array.dtype == bool:
            array = array.astype(np.uint8) * 255
        elif array.dtype != np.uint8:
            array = (np.clip((array - array.min()) / (np.ptp(array) or 1), 0, 1) * 255).astype(np.uint8)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        photos.append(array[..., :3])
    photos.extend(np.asarray(image) for image in load_sample_images().images)
    return photos


def build_pretext_pool(config: PretrainConfig) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Random multi-scale crops: returns ((N, 3, 64, 64) uint8, (N,) int64 photo ids, class count)."""
    rng = np.random.default_rng(config.seed)
    crops, labels = [], []
    photos = _photos()
    for label, photo in enumerate(photos):
        height, width = photo.shape[:2]
        for _ in range(config.crops_per_photo):
            side = int(rng.integers(24, max(25, min(height, width, 200))))
            top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
            patch = Image.fromarray(photo[top : top + side, left : left + side]).resize(
                (IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR
            )
            crops.append(np.asarray(patch))
            labels.append(label)
    from sklearn.datasets import load_digits

    digits = load_digits()
    for digit in range(10):
        chosen = np.flatnonzero(digits.target == digit)[: config.digits_per_class]
        for index in chosen:
            gray = (digits.images[index] / 16.0 * 255).astype(np.uint8)
            patch = np.asarray(Image.fromarray(gray).resize((IMAGE_SIZE, IMAGE_SIZE), Image.BILINEAR))
            crops.append(np.stack([patch] * 3, axis=-1))
            labels.append(len(photos) + digit)
    pool = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
    return pool, torch.tensor(labels, dtype=torch.int64), len(photos) + 10


def augment_batch(batch: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N,3,H,W) -> float [0,1] with flips, grayscale, brightness/contrast; plus a random
    rotation by k*90 degrees. Returns (images, k) with k in 0..3."""
    images = batch.float() / 255.0
    count = images.shape[0]
    flip = torch.rand(count, generator=generator) < 0.5
    images[flip] = images[flip].flip(-1)
    gray = torch.rand(count, generator=generator) < 0.5
    images[gray] = images[gray].mean(1, keepdim=True).expand(-1, 3, -1, -1)
    contrast = 0.7 + 0.6 * torch.rand(count, 1, 1, 1, generator=generator)
    brightness = 0.2 * (torch.rand(count, 1, 1, 1, generator=generator) - 0.5)
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    images = ((images - mean) * contrast + mean + brightness).clamp(0, 1)
    turns = torch.randint(0, 4, (count,), generator=generator)
    rotated = torch.stack([torch.rot90(image, int(k), dims=(1, 2)) for image, k in zip(images, turns)])
    return rotated, turns


class PretextModel(nn.Module):
    """Backbone plus two throw-away heads (photo id, rotation)."""

    def __init__(self, backbone: NeuroDeckCNN, num_photo_classes: int):
        super().__init__()
        self.backbone = backbone
        self.photo_head = nn.Linear(backbone.feature_dim, num_photo_classes)
        self.rotation_head = nn.Linear(backbone.feature_dim, 4)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.backbone(images)
        return self.photo_head(features), self.rotation_head(features)


def pretrain_image_backbone(
    config: PretrainConfig = PretrainConfig(),
    on_progress: Callable[[int, int, float, float], None] | None = None,
) -> tuple[NeuroDeckCNN, dict]:
    """Pre-train from scratch. ``on_progress(epoch, epochs, loss, photo_accuracy)`` after each epoch."""
    seed_everything(config.seed)
    pool, labels, num_classes = build_pretext_pool(config)
    backbone = NeuroDeckCNN()
    model = PretextModel(backbone, num_classes)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps = config.epochs * int(np.ceil(len(pool) / config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.learning_rate, total_steps=steps)
    generator = torch_generator(config.seed)
    started = time.perf_counter()
    for epoch in range(config.epochs):
        model.train()
        order = torch.randperm(len(pool), generator=generator)
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), config.batch_size):
            index = order[start : start + config.batch_size]
            images, turns = augment_batch(pool[index], generator)
            photo_logits, rotation_logits = model(images)
            loss = F.cross_entropy(photo_logits, labels[index]) + F.cross_entropy(rotation_logits, turns)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += loss.item() * len(index)
            correct += int((photo_logits.argmax(-1) == labels[index]).sum())
        if on_progress is not None:
            on_progress(epoch + 1, config.epochs, total_loss / len(pool), correct / len(pool))
    backbone.eval()
    metrics = {
        "pool_size": int(len(pool)),
        "pretext_classes": num_classes,
        "final_loss": round(total_loss / len(pool), 4),
        "final_photo_accuracy": round(correct / len(pool), 4),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    return backbone, metrics
