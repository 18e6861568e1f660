"""Every environment setting NeuroDeck reads, read once, in one place; and the input limits.

``get()`` reads the environment on first use and caches a frozen :class:`Settings`; tests that
change the environment call :func:`reload`. Nothing else in the engine or the demos reads
``NEURODECK_*`` (or ``HF_HUB_OFFLINE``) directly.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

LOCAL_MODELS_ENV = "NEURODECK_ALLOW_LOCAL_MODELS"
DEVICE_ENV = "NEURODECK_DEVICE"


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Settings:
    device: str  # NEURODECK_DEVICE: "cpu", "cuda", "cuda:1", "mps"; "" = CUDA, then MPS, then CPU
    allow_local_models: bool  # NEURODECK_ALLOW_LOCAL_MODELS=1: model ids may be server folders (tests, local use)
    warm_up: bool  # NEURODECK_WARMUP=0 skips the background warm-up after launch
    cache_dir: Path  # NEURODECK_CACHE: converted weights and other per-machine caches (~/.cache/neurodeck)
    hub_offline: bool  # HF_HUB_OFFLINE=1: Hub ids fail at once with a clear message
    zero_gpu: bool  # SPACES_ZERO_GPU: running on a ZeroGPU Space


@functools.lru_cache(maxsize=1)
def get() -> Settings:
    """The process's settings, read from the environment on first call."""
    cache = os.environ.get("NEURODECK_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "neurodeck")
    return Settings(
        device=os.environ.get(DEVICE_ENV, "").strip().lower(),
        allow_local_models=os.environ.get(LOCAL_MODELS_ENV, "0").strip() == "1",
        warm_up=os.environ.get("NEURODECK_WARMUP", "1").strip() != "0",
        cache_dir=Path(cache),
        hub_offline=_flag("HF_HUB_OFFLINE", "0"),
        zero_gpu=bool(os.environ.get("SPACES_ZERO_GPU")),
    )


def reload() -> Settings:
    """Read the environment again (tests that change it call this)."""
    get.cache_clear()
    return get()


@dataclass(frozen=True)
class Limits:
    """Input caps, one source. Callers pass the one that fits their use explicitly."""

    upload_bytes: int = 25 * 2**20  # one uploaded file; also launch(max_file_size=...)
    image_pixels: int = 40_000_000  # any single image, checked from the header before decoding (~6300x6300)
    dataset_image_pixels: int = 16_000_000  # each image of an uploaded training set
    text_chars: int = 5_000  # one text input; longer text is cut (the user is told)
    dataset_text_chars: int = 1_000  # each row of an uploaded CSV
    model_id_chars: int = 200  # a Hub model id; longer is refused before anything else looks at it


LIMITS = Limits()
