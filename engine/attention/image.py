"""What a Vision Transformer attends to: prediction, per-head attention and rollout over patches.

The embedded default is NeuroDeck's digits ViT (``assets/digits_vit``, trained by
``scripts/train_digits_vit.py``). Any Hub ViT-style image classifier can be named
by id when online.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, PreTrainedModel

from engine.core.datasets import upscale_digits
from engine.core.device import gpu_task, pick_device
from engine.core.digit_input import image_to_digit8
from engine.core.registry import load_pretrained
from engine.core import registry
from engine.attention.rollout import AttentionDims, HeadFusion, attention_rollout

DEFAULT_IMAGE_MODEL = "digits-vit"
TOP_K = 5


@dataclass(frozen=True)
class ImageModel:
    name: str
    model: PreTrainedModel  # eager attention, eval mode
    processor: object | None  # Hub image processor; None for the embedded digits model
    grid_shape: tuple[int, int]  # patches per column, per row


@dataclass(frozen=True)
class ImageAttention(AttentionDims):
    label: str  # predicted class name
    probabilities: dict[str, float]  # every class -> softmax probability, most likely first
    attentions: np.ndarray  # (L, H, T, T) float32; T = extra tokens ([CLS], ...) + gh * gw patches
    grid_shape: tuple[int, int]  # (gh, gw) patch grid
    model_input: Image.Image  # RGB picture of what the model actually saw
    model_name: str

    @property
    def num_extra_tokens(self) -> int:
        return self.attentions.shape[-1] - self.grid_shape[0] * self.grid_shape[1]

    def cls_to_patches(self, layer: int, head: int) -> np.ndarray:
        """(gh, gw) attention of the [CLS] query on each patch, for one layer and head (0-based)."""
        row = self.attentions[layer, head, 0, self.num_extra_tokens :]
        return row.reshape(self.grid_shape)

    def rollout_grid(self, head_fusion: HeadFusion = "mean") -> np.ndarray:
        """(gh, gw) rollout flow from each patch into [CLS], renormalised to sum to 1."""
        flow = attention_rollout(self.attentions, head_fusion)[0, self.num_extra_tokens :]
        return (flow / flow.sum()).reshape(self.grid_shape)


def _grid_from_config(config) -> tuple[int, int]:
    image_size = config.image_size if isinstance(config.image_size, (list, tuple)) else (config.image_size,) * 2
    patch = config.patch_size if isinstance(config.patch_size, (list, tuple)) else (config.patch_size,) * 2
    return image_size[0] // patch[0], image_size[1] // patch[1]


def load_image_model(model_id: str | None = None) -> ImageModel:
    """Load (once per process) the embedded digits ViT, or a Hub id / local ``save_pretrained`` folder."""
    return registry.load("image-attention", model_id)


def build_registered(source, folder) -> ImageModel:
    """Registry builder: the embedded digits ViT from its verified asset folder."""
    model = AutoModelForImageClassification.from_pretrained(folder, attn_implementation="eager", use_safetensors=True)
    model.eval().to(pick_device())
    return ImageModel("NeuroDeck digits ViT", model, None, _grid_from_config(model.config))


def build_hub(model_id: str) -> ImageModel:
    """Registry builder for a Hub ViT-style classifier (or an allowed local folder)."""
    processor = load_pretrained(AutoImageProcessor.from_pretrained, model_id, has_weights=False)
    model = load_pretrained(AutoModelForImageClassification.from_pretrained, model_id, attn_implementation="eager")
    if not hasattr(model.config, "patch_size") or not hasattr(model.config, "image_size"):
        raise ValueError(f"{model_id!r} is not a ViT-style model with patches; pick a ViT/DeiT/BEiT classifier.")
    model.eval().to(pick_device())
    return ImageModel(model_id, model, processor, _grid_from_config(model.config))


def _digits_input(image: Image.Image, image_size: int) -> tuple[torch.Tensor, Image.Image]:
    digit = image_to_digit8(image)
    pixels = upscale_digits(digit[None], image_size)
    # Shown dark-on-light like the user's drawing, nearest-upscaled so patch borders are honest.
    seen = Image.fromarray(((1 - pixels[0, 0].numpy()) * 255).astype(np.uint8)).convert("RGB")
    return pixels, seen


@gpu_task
@torch.no_grad()
def image_attention(image: Image.Image, model_id: str | None = None) -> ImageAttention:
    """Classify ``image`` (RGB PIL, any size) and return its attention maps.

    Raises ``ValueError`` for blank images (embedded digits model) and unloadable model ids.
    """
    image_model = load_image_model(model_id)
    if image_model.processor is None:
        pixels, seen = _digits_input(image, image_model.model.config.image_size)
    else:
        pixels = image_model.processor(images=image.convert("RGB"), return_tensors="pt")["pixel_values"]
        seen = image.convert("RGB")
    outputs = image_model.model(pixel_values=pixels.to(pick_device()), output_attentions=True)
    if not outputs.attentions:
        raise ValueError(f"{image_model.name} did not return attention weights; pick a ViT-style model.")
    attentions = torch.stack([layer[0] for layer in outputs.attentions]).float().cpu().numpy()
    probabilities = torch.softmax(outputs.logits[0].float(), dim=-1).cpu().numpy()
    id2label = image_model.model.config.id2label
    order = np.argsort(-probabilities)
    ranked = {str(id2label.get(int(i), i)): float(probabilities[i]) for i in order}
    return ImageAttention(
        label=next(iter(ranked)),
        probabilities=ranked,
        attentions=attentions,
        grid_shape=image_model.grid_shape,
        model_input=seen,
        model_name=image_model.name,
    )
