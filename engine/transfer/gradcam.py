"""Grad-CAM: which regions of an image raise one class's score (Selvaraju et al., 2017).

For a layer's activation maps A_k (k = channels) and a class score y_c, the channel weights are the
spatially averaged gradients w_k = mean_ij dy_c/dA_k[i, j], and the map is ReLU(sum_k w_k A_k),
upsampled to the input and scaled to [0, 1] (as pytorch-grad-cam does). Computing returns float
arrays; drawing them over a photo is the separate pure function :func:`overlay`.

Thread safety: no hooks are registered on the shared models. The forward pass runs without a graph up
to the chosen layer, the activation is detached and marked as requiring grad, and the rest of the
network is run from it, so ``torch.autograd.grad`` gives dy/dA for this request only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine.transfer.efficientnet import LAYERS, EfficientNetLite0

DEFAULT_LAYER = "head"


@dataclass(frozen=True)
class GradCam:
    maps: np.ndarray  # (K, H, W) float32 in [0, 1], one map per requested class, at the input's size
    class_indices: tuple[int, ...]  # the K classes, in the order of ``maps``
    logits: np.ndarray  # (num_classes,) float32 for the image
    layer: str  # the layer whose activations were weighted
    grid: tuple[int, int]  # that layer's spatial size (h, w) before upsampling


def cam_from(activation: torch.Tensor, gradient: torch.Tensor, size: tuple[int, int]) -> np.ndarray:
    """One Grad-CAM map from a (C, h, w) activation and its gradient: (H, W) float32 in [0, 1].

    An all-zero map (no channel pushes the class up) stays all zero rather than being divided by 0.
    """
    weights = gradient.mean(dim=(1, 2))  # (C,)
    cam = torch.relu((weights[:, None, None] * activation).sum(0))  # (h, w)
    cam = F.interpolate(cam[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    cam = cam - cam.min()
    top = float(cam.max())
    cam = cam / top if top > 0 else torch.zeros_like(cam)
    return cam.clamp(0, 1).detach().float().cpu().numpy().astype(np.float32)


def efficientnet_gradcam(model: EfficientNetLite0, pixels: torch.Tensor, classes=None, layer: str = DEFAULT_LAYER,
                         top: int = 1) -> GradCam:
    """Grad-CAM maps of ``model`` (eval mode, with a classifier) for one image.

    Args:
        pixels: (1, 3, H, W) float in [0, 1].
        classes: class indices to explain; default the ``top`` most probable.
        layer: one of :data:`engine.transfer.efficientnet.LAYERS` ("stem", "stage 1".."stage 7", "head").
    """
    if pixels.ndim != 4 or pixels.shape[0] != 1:
        raise ValueError("Grad-CAM explains one image at a time: pass pixels of shape (1, 3, H, W).")
    name = LAYERS[model.layer_index(layer)]
    with torch.no_grad():
        activation = model.features_at(pixels, name)
    activation = activation.detach().requires_grad_(True)
    with torch.enable_grad():
        logits = model.classify(model.pooled_from(activation, name))[0]
        if classes is None:
            classes = torch.topk(logits.detach(), max(1, int(top))).indices.tolist()
        classes = [int(c) for c in classes]
        for index in classes:
            if not 0 <= index < logits.shape[0]:
                raise ValueError(f"Class index {index} is outside 0..{logits.shape[0] - 1}.")
        maps = []
        for position, index in enumerate(classes):
            (gradient,) = torch.autograd.grad(logits[index], activation, retain_graph=position < len(classes) - 1)
            maps.append(cam_from(activation[0].detach(), gradient[0], tuple(pixels.shape[-2:])))
    return GradCam(
        maps=np.stack(maps), class_indices=tuple(classes), logits=logits.detach().float().numpy().astype(np.float32),
        layer=name, grid=tuple(activation.shape[-2:]),
    )


def overlay(image: Image.Image | np.ndarray, cam: np.ndarray, alpha: float = 0.45, colormap: str = "jet",
            size: int | None = None) -> Image.Image:
    """Draw a [0, 1] map over an RGB picture (pytorch-grad-cam's ``show_cam_on_image``, as a PIL image).

    Pure: returns a new RGB image the size of ``image`` (or ``size`` x ``size``), blending
    ``(1 - alpha) * image + alpha * colormap(cam)``; the map is resized to the picture bilinearly.
    """
    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    picture = picture.convert("RGB")
    if size is not None:
        picture = picture.resize((int(size), int(size)), Image.BICUBIC)
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim != 2 or not np.isfinite(cam).all():
        raise ValueError("The Grad-CAM map must be a finite 2-D array.")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (got {alpha}).")
    heat = Image.fromarray((np.clip(cam, 0, 1) * 255).round().astype(np.uint8)).resize(picture.size, Image.BILINEAR)
    heat.putpalette(_palette(colormap))  # "L" -> "P": PIL maps every level through the colour map in C
    return Image.blend(picture, heat.convert("RGB"), float(alpha))


@functools.lru_cache(maxsize=8)
def _palette(colormap: str) -> bytes:
    """A matplotlib colour map as a 256-entry RGB palette (per-pixel NumPy colouring and blending took
    ~25 ms at 448x448 on one busy core; the palette and ``Image.blend`` take ~2 ms)."""
    from matplotlib import colormaps

    try:
        table = colormaps[colormap](np.linspace(0.0, 1.0, 256))[:, :3] * 255.0
    except KeyError:
        raise ValueError(f"Unknown colour map {colormap!r}; use a matplotlib name such as 'jet' or 'inferno'.") from None
    return table.round().astype(np.uint8).tobytes()


# ------------------------------------------------------------------------------ ViT (Attention tab)

@dataclass(frozen=True)
class VitGradCam:
    cam: np.ndarray  # (gh, gw) float32 in [0, 1] over the patch grid
    label: str  # the explained (predicted) class
    probability: float
    model_input: Image.Image  # what the model saw (same picture as the attention overlays)


def vit_gradcam(image: Image.Image, model_id: str | None = None) -> VitGradCam:
    """Grad-CAM of the Attention tab's ViT for its predicted class, over the patch grid.

    The activations are the patch tokens entering the last encoder layer (the input of its attention,
    as pytorch-grad-cam does for ViTs; the last layer's own outputs cannot reach [CLS] any more), the
    gradient is taken of the top logit, and the tokens are reshaped to the (gh, gw) grid.
    """
    from engine.attention.image import _digits_input, load_image_model
    from engine.core.device import pick_device

    image_model = load_image_model(model_id)
    if image_model.processor is None:
        pixels, seen = _digits_input(image, image_model.model.config.image_size)
    else:
        pixels = image_model.processor(images=image.convert("RGB"), return_tensors="pt")["pixel_values"]
        seen = image.convert("RGB")
    gh, gw = image_model.grid_shape
    with torch.enable_grad():
        outputs = image_model.model(pixel_values=pixels.to(pick_device()), output_hidden_states=True)
        hidden = outputs.hidden_states[-2]  # (1, T, D): input of the last layer
        logits = outputs.logits[0]
        top = int(torch.argmax(logits))
        (gradient,) = torch.autograd.grad(logits[top], hidden)
    extra = hidden.shape[1] - gh * gw
    tokens = hidden[0, extra:].detach().float()  # (gh*gw, D)
    grads = gradient[0, extra:].float()
    activation = tokens.T.reshape(-1, gh, gw)
    cam = cam_from(activation, grads.T.reshape(-1, gh, gw), (gh, gw))
    probability = float(torch.softmax(logits.detach().float(), -1)[top])
    label = str(image_model.model.config.id2label.get(top, top))
    return VitGradCam(cam=cam, label=label, probability=probability, model_input=seen)


def vit_gradcam_view(image, model_id: str | None = None) -> tuple[Image.Image, str]:
    """The Attention tab's Grad-CAM panel: (overlay drawn like the attention overlays, one-line caption).

    ``image``: an upload (path / bytes / PIL / gradio payload) or a sketchpad value (``{"composite": ...}``).
    Drawn with :func:`engine.attention.render.overlay_heatmap` (square patches, same colours and size as
    the rollout beside it), so the two maps compare patch for patch.
    """
    from engine.attention.render import overlay_heatmap
    from engine.core.validation import load_image

    if isinstance(image, dict) and "composite" in image:
        image = image.get("composite")
        if image is None:
            raise ValueError("The sketchpad is empty: draw a digit first.")
    result = vit_gradcam(load_image(image), model_id)
    caption = f"Grad-CAM for '{result.label}' ({result.probability:.0%}), from the input of the last layer"
    return overlay_heatmap(result.model_input, result.cam), caption
