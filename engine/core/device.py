"""Where tensors live: CUDA, then Apple MPS, then CPU, overridable by env.

Set ``NEURODECK_DEVICE`` (``cpu``, ``cuda``, ``cuda:1``, ``mps``) to force a device.
On a Hugging Face ZeroGPU Space, :func:`gpu_task` wraps a function with
``spaces.GPU`` so the GPU is attached only while that function runs.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Callable, TypeVar

import torch

from engine.core import settings

DEVICE_ENV_VAR = settings.DEVICE_ENV

F = TypeVar("F", bound=Callable)


@functools.lru_cache(maxsize=1)
def pick_device() -> torch.device:
    """Return the torch device every model in this process should use."""
    requested = settings.get().device
    if requested:
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"{DEVICE_ENV_VAR}={requested!r} but CUDA is not available here; "
                f"unset {DEVICE_ENV_VAR} or set it to 'cpu'."
            )
        if requested == "mps" and not torch.backends.mps.is_available():
            raise ValueError(f"{DEVICE_ENV_VAR}=mps but MPS is not available; use 'cpu'.")
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def gpu_task(fn: F) -> F:
    """Wrap ``fn`` with ``spaces.GPU`` on a ZeroGPU Space; return it unchanged elsewhere.

    ZeroGPU Spaces set ``SPACES_ZERO_GPU``; the ``spaces`` package is only present there,
    so importing it unconditionally would break local runs.
    """
    if settings.get().zero_gpu and importlib.util.find_spec("spaces") is not None:
        import spaces  # noqa: PLC0415  (optional dependency, Spaces only)

        return spaces.GPU(fn)
    return fn
