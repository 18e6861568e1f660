"""Reproducibility: one call seeds Python, NumPy and torch."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed ``random``, NumPy's legacy global RNG and torch (CPU and CUDA)."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A private torch RNG, so one user's seed never disturbs another's draws."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator
