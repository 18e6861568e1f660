"""Optional Hub autoencoders (diffusers ``AutoencoderTiny`` / ``AutoencoderKL``): encode and decode a photo.

Works online with ids such as ``madebyollin/taesd``; offline, or for a bad id,
``engine.core.registry.load_pretrained`` raises a clear ``ValueError``. A local folder
written by ``save_pretrained`` also works (the tests use a tiny one).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.autoencoder import render
from engine.autoencoder.metrics import psnr
from engine.core import registry
from engine.core.registry import check_model_id, load_pretrained

HUB_MAX_SIDE = 512  # photos are downscaled to this longest side (and to a multiple of 8) before encoding


def _autoencoder_class(model_id: str):
    """Pick AutoencoderTiny or AutoencoderKL from a local config, or from the id's name when remote."""
    from diffusers import AutoencoderKL, AutoencoderTiny

    config_path = Path(model_id) / "config.json"
    if config_path.is_file():
        class_name = json.loads(config_path.read_text()).get("_class_name", "")
        return AutoencoderTiny if class_name == "AutoencoderTiny" else AutoencoderKL
    return AutoencoderTiny if "tae" in model_id.lower() or "tiny" in model_id.lower() else AutoencoderKL


def load_hub_autoencoder(model_id: str):
    """Load (once per process) a diffusers autoencoder by Hub id or local folder; ``ValueError`` if impossible."""
    model_id = check_model_id(model_id)
    if model_id in registry.SOURCES:  # a Hub id field: registered names are not Hub autoencoders
        raise ValueError(f"{model_id!r} is NeuroDeck's own model, not a Hub autoencoder id; type one such as 'madebyollin/taesd'.")
    return registry.load("autoencoder-denoise", model_id)


def build_hub(model_id: str):
    """Registry builder: a diffusers AutoencoderTiny / AutoencoderKL by Hub id (or an allowed local folder)."""
    return load_pretrained(_autoencoder_class(model_id).from_pretrained, model_id).eval()


@dataclass(frozen=True)
class HubRoundTrip:
    image: np.ndarray  # (H, W, 3) float32 in [0, 1]: the input after resizing to a multiple of 8
    reconstruction: np.ndarray  # same shape: decode(encode(image))
    latents: np.ndarray  # (C, h, w) float32 latent channels (h = H / downsampling factor)
    model_class: str  # "AutoencoderTiny" or "AutoencoderKL"


@torch.inference_mode()
def hub_roundtrip(image: np.ndarray, model_id: str) -> HubRoundTrip:
    """Encode and decode an (H, W, 3) float image in [0, 1] with a Hub/local diffusers autoencoder."""
    from PIL import Image

    model = load_hub_autoencoder(model_id)
    pil = Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8))
    scale = min(1.0, HUB_MAX_SIDE / max(pil.size))
    size = (max(8, int(pil.width * scale) // 8 * 8), max(8, int(pil.height * scale) // 8 * 8))
    pil = pil.resize(size, Image.LANCZOS)
    array = np.asarray(pil, dtype=np.float32) / 255.0
    x = torch.from_numpy(array).permute(2, 0, 1)[None] * 2 - 1  # diffusers autoencoders take [-1, 1]
    dtype = next(model.parameters()).dtype
    encoded = model.encode(x.to(dtype))
    latents = encoded.latents if hasattr(encoded, "latents") else encoded.latent_dist.mode()
    decoded = model.decode(latents).sample
    reconstruction = ((decoded[0].float().permute(1, 2, 0).numpy() + 1) / 2).clip(0, 1)
    return HubRoundTrip(array, reconstruction, latents[0].float().numpy(), type(model).__name__)


def hub_view(image, model_id: str):
    """A PIL photo through a Hub autoencoder, drawn for the tab: (reconstruction, latent-channel strip, info dict)."""
    result = hub_roundtrip(np.asarray(image, dtype=np.float32) / 255.0, model_id)
    info = {
        "model": model_id,
        "class": result.model_class,
        "input_size": [int(result.image.shape[1]), int(result.image.shape[0])],
        "latent_shape": list(result.latents.shape),
        "compression": round(result.image.size / result.latents.size, 1),
        "psnr_db": round(psnr(result.image, result.reconstruction), 2),
    }
    return render.to_pil(result.reconstruction), render.latent_channels_grid(result.latents), info
