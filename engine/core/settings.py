"""Every environment setting NeuroDeck reads, read once, in one place; and the input limits.

``get()`` reads the environment on first use and caches a frozen :class:`Settings`; tests that
change the environment call :func:`reload`. Nothing else in the engine or the demos reads
``NEURODECK_*`` (or ``HF_HUB_OFFLINE``, ``SPACE_ID``, ``GRADIO_SERVER_*``, ``PORT``) directly. Nothing here
forces offline mode: on a Space Hub ids work unless the Space sets ``HF_HUB_OFFLINE=1``.
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
    space_id: str  # SPACE_ID: "owner/name" on a Hugging Face Space (set by the Space), "" elsewhere
    server_name: str  # GRADIO_SERVER_NAME; default 0.0.0.0 on a Space (reachable by its proxy), else 127.0.0.1
    server_port: int  # GRADIO_SERVER_PORT, else PORT, else 7860 (a Docker Space's app_port, see README)

    @property
    def on_space(self) -> bool:
        return bool(self.space_id)


def _port() -> int:
    """GRADIO_SERVER_PORT (must be a port), else PORT when it is one (a generic name other tools set too), else 7860."""
    value = os.environ.get("GRADIO_SERVER_PORT", "").strip()
    if value and not (value.isdigit() and 0 < int(value) < 65536):
        raise ValueError(f"GRADIO_SERVER_PORT={value[:80]!r} is not a port; use a whole number from 1 to 65535.")
    if not value:
        value = os.environ.get("PORT", "").strip()
        if not (value.isdigit() and 0 < int(value) < 65536):
            value = "7860"
    return int(value)


@functools.lru_cache(maxsize=1)
def get() -> Settings:
    """The process's settings, read from the environment on first call."""
    cache = os.environ.get("NEURODECK_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "neurodeck")
    space_id = os.environ.get("SPACE_ID", "").strip()
    return Settings(
        device=os.environ.get(DEVICE_ENV, "").strip().lower(),
        allow_local_models=os.environ.get(LOCAL_MODELS_ENV, "0").strip() == "1",
        warm_up=os.environ.get("NEURODECK_WARMUP", "1").strip() != "0",
        cache_dir=Path(cache),
        hub_offline=_flag("HF_HUB_OFFLINE", "0"),
        zero_gpu=bool(os.environ.get("SPACES_ZERO_GPU")),
        space_id=space_id,
        server_name=os.environ.get("GRADIO_SERVER_NAME", "").strip() or ("0.0.0.0" if space_id else "127.0.0.1"),
        server_port=_port(),
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
    # Per-tab image caps: every model downsamples, so more pixels only cost decoding time (a 40 MP PNG: 3-7 s of CPU).
    digit_image_pixels: int = 4_000_000  # GAN score / sketch, Attention image / sketch: the models see 8-224 px
    photo_image_pixels: int = 12_000_000  # Autoencoder, ImageNet classify, Transfer predict: a 12 MP phone photo
    photo_min_side: int = 16  # image classifiers (ImageNet classify, Transfer predict): less holds too little
    hub_download_bytes: int = 2 * 2**30  # a Hub model's safetensors weights, checked before downloading
    seed_max: int = 2**32 - 1  # every seed box: a whole number from 0 to this
    # Transfer-learning hyper-parameters accepted from the UI and the API.
    transfer_epochs: int = 100
    transfer_batch: int = 256
    transfer_learning_rate: float = 1.0  # learning rates are in (0, this]; 0 in the UI means "strategy default"
    transfer_kfold: int = 10
    # Transfer datasets (uploads, CSVs, built classes): each class is a row and a column of the confusion matrix and
    # of every reply; 1,000 two-image classes trained to accuracy 0 and sent a 3 MB matrix (issue 24).
    transfer_classes: int = 50  # most classes in one dataset; more is refused before any image is decoded
    transfer_min_per_class: int = 2  # fewest usable examples per class: one validates, the rest train
    transfer_handles: int = 256  # /transfer_train model handles remembered; the oldest is forgotten first
    # Sessions and the queue (sized for the reference 2-core, 16 GB machine; see docs/load.md).
    transfer_sessions: int = 64  # most transfer sessions kept at once
    transfer_session_bytes: int = 3 * 2**30  # their models, features and data together; idle ones are evicted first
    session_idle_s: int = 1800  # a session unused this long is freed (API-only sessions never fire unload)
    queued_per_session: int = 16  # requests one session may have waiting (a page load fires ~10 at once)
    expensive_queued: int = 4  # requests waiting for one expensive endpoint (e.g. /gan_quality), all sessions
    gan_quality_samples: int = 1000  # most samples one /gan_quality re-measures
    live_runs: int = 4  # Train live runs at once; the next waits in the queue (its position and ETA shown)
    lab_runs: int = 6  # GAN Lab Plays at once (tiny MLPs)
    stream_compute_slots: int = 1  # streams computing at the same instant: one core, the other stays for clicks
    # Memory and disk kept after a class has gone (demos/common/disk.py, demos/common/memory.py; docs/load.md, Bounds).
    gradio_cache_bytes: int = 100 * 2**20  # this app's files in gradio's cache folder; oldest go first (target 150 MB)
    gradio_cache_min_age_s: int = 120  # a file handed out this recently is never swept (its download may be pending)
    gradio_sessions: int = 500  # gradio's per-session state (~3 MB each: a copy of every component's config)
    closed_session_keep_s: int = 300  # a session whose page closed keeps its gradio state this long, then it is freed


LIMITS = Limits()
