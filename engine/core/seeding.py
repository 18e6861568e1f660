"""Randomness per job, never per process.

Request threads share one process, so nothing served reseeds a global RNG: each job draws from its
own ``torch.Generator`` / ``numpy.random.Generator``. Code that can only draw from torch's global CPU
RNG (modules' default initialisation, ``nn.Dropout``, attention dropout inside transformers) runs
inside :meth:`JobRng.active`, which swaps the job's own copy of that RNG in and out under one lock.
:func:`seed_everything` is for the offline training scripts only (one job per process).
"""

from __future__ import annotations

import random
import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch

# Held while any job's copy of torch's global CPU RNG is swapped in (re-entrant: nested blocks are fine).
_GLOBAL_RNG_LOCK = threading.RLock()


def seed_everything(seed: int) -> None:
    """Seed ``random``, NumPy's legacy global RNG and torch (CPU and CUDA). Offline scripts only."""
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def torch_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A private torch RNG, so one user's seed never disturbs another's draws."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(seed))
    return generator


def numpy_rng(seed: int) -> np.random.Generator:
    """A private NumPy RNG (PCG64) for one job."""
    return np.random.default_rng(int(seed) % 2**63)


class JobRng:
    """One job's own stream of torch's *global* CPU RNG.

    ``with rng.active(): model = build()`` draws exactly what ``torch.manual_seed(seed); build()``
    would (a fresh CPU generator seeded with ``seed`` has the same state), but other threads neither
    see the reseed nor consume the job's numbers: the job's state is swapped in under a process-wide
    lock and saved back on exit, so successive blocks continue one stream. Keep blocks short: while one
    is active, other jobs' blocks wait (their private-generator code does not).
    """

    def __init__(self, seed: int) -> None:
        self._state = torch_generator(seed).get_state()

    @contextmanager
    def active(self) -> Iterator[None]:
        with _GLOBAL_RNG_LOCK:
            outside = torch.random.get_rng_state()
            torch.random.set_rng_state(self._state)
            try:
                yield
            finally:
                self._state = torch.random.get_rng_state()
                torch.random.set_rng_state(outside)
