"""Small, seeded geometric augmentation for image batches."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(
    images: torch.Tensor,
    generator: torch.Generator,
    max_degrees: float = 10.0,
    max_shift: float = 0.08,
    scale_range: tuple[float, float] = (0.9, 1.1),
) -> torch.Tensor:
    """Randomly rotate, shift and scale a (N, C, H, W) batch; shift is a fraction of the side."""
    count = images.shape[0]
    angle = (torch.rand(count, generator=generator) * 2 - 1) * math.radians(max_degrees)
    scale = torch.empty(count).uniform_(*scale_range, generator=generator)
    shift = (torch.rand(count, 2, generator=generator) * 2 - 1) * max_shift * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False, padding_mode="zeros")
