"""What a real ImageNet model already knows: EfficientNet-Lite0's top-k classes for any photo, with Grad-CAM.

Preprocessing (as the TF-Lite weights were evaluated): the shorter side is resized to 256 with bicubic
resampling, the centre 224x224 is cropped, pixels are scaled to [0, 1] and the model normalises them
to [-1, 1] inside. The crop is taken as a box of the original picture and resampled once, so a very
wide or tall picture costs no more than a square one.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from engine.core.registry import ASSETS_DIR
from engine.core.settings import LIMITS
from engine.core.validation import check_image_side, load_photo
from engine.transfer.efficientnet import IMAGE_SIZE, LAYERS, RESIZE_SHORTER, imagenet_model
from engine.transfer.gradcam import DEFAULT_LAYER, efficientnet_gradcam, overlay

LABELS_FILE = ASSETS_DIR / "imagenet_labels" / "imagenet_labels.json"
MIN_SIDE = LIMITS.photo_min_side  # smaller pictures hold too little for a 224x224 model (shared with Transfer)
MAX_TOP_K = 20
DISPLAY_SIDE = 448  # the overlay is drawn at this size (the crop the model saw, upsampled or downsampled)
CAT_CLASSES = ("tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat")  # ImageNet's domestic cats


@functools.lru_cache(maxsize=1)
def imagenet_classes() -> tuple[dict, ...]:
    """The 1000 classes in index order: ``{"index", "synset", "label", "lemmas"}`` each."""
    try:
        classes = json.loads(LABELS_FILE.read_text(encoding="utf-8"))["classes"]
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"The ImageNet labels asset is missing or unreadable ({error}); rebuild it with "
                         "`python -m scripts.make_imagenet_labels`.") from None
    if len(classes) != 1000:
        raise ValueError(f"{LABELS_FILE} holds {len(classes)} classes, not 1000; rebuild it.")
    return tuple(classes)


def imagenet_labels() -> tuple[str, ...]:
    return tuple(entry["label"] for entry in imagenet_classes())


def centre_crop_box(width: int, height: int, crop: int = IMAGE_SIZE, shorter: int = RESIZE_SHORTER) -> tuple[float, float, float, float]:
    """The box of the original picture that "resize shorter side to 256, centre-crop 224" keeps."""
    side = min(width, height) * crop / shorter
    left, top = (width - side) / 2, (height - side) / 2
    return left, top, left + side, top + side


def preprocess(image: Image.Image) -> tuple[torch.Tensor, Image.Image]:
    """RGB PIL -> ((1, 3, 224, 224) float32 in [0, 1], the 224x224 crop the model sees)."""
    width, height = image.size
    check_image_side(width, height, MIN_SIDE)
    crop = image.convert("RGB").resize((IMAGE_SIZE, IMAGE_SIZE), Image.BICUBIC, box=centre_crop_box(width, height))
    pixels = torch.from_numpy(np.asarray(crop, dtype=np.float32) / 255.0).permute(2, 0, 1)[None].contiguous()
    return pixels, crop


def display_crop(image: Image.Image, side: int = DISPLAY_SIDE) -> Image.Image:
    """The same centre region as the model's crop, at ``side`` pixels for drawing the overlay on."""
    return image.convert("RGB").resize((side, side), Image.BICUBIC, box=centre_crop_box(*image.size))


@dataclass(frozen=True)
class ImagenetPrediction:
    labels: tuple[str, ...]  # top-k class names, most probable first
    probabilities: tuple[float, ...]  # softmax probabilities over all 1000 classes, matching ``labels``
    class_indices: tuple[int, ...]  # ImageNet class indices of ``labels``
    cam: np.ndarray  # (224, 224) float32 in [0, 1]: Grad-CAM of the top class
    layer: str  # Grad-CAM layer
    overlay: Image.Image  # the cam over the centre crop, DISPLAY_SIDE x DISPLAY_SIDE RGB
    model_input: Image.Image  # the 224x224 crop the model saw

    def label_scores(self) -> dict[str, float]:
        """``{label: probability}`` for a gr.Label."""
        return dict(zip(self.labels, self.probabilities))

    def payload(self) -> dict:
        """The API's JSON: ``{"top_k": [{"label", "probability"}, ...], "gradcam": {...}}``, highest first."""
        return {
            "top_k": [{"label": label, "probability": round(float(p), 6)} for label, p in zip(self.labels, self.probabilities)],
            "gradcam": {"label": self.labels[0], "layer": self.layer},
        }


def check_top_k(top_k) -> int:
    try:
        value = int(top_k)
    except (TypeError, ValueError):
        raise ValueError(f"top_k must be a whole number between 1 and {MAX_TOP_K} (got {top_k!r}).") from None
    if not 1 <= value <= MAX_TOP_K:
        raise ValueError(f"top_k must be between 1 and {MAX_TOP_K} (got {value}).")
    return value


def classify(image, top_k: int = 5, layer: str = DEFAULT_LAYER) -> ImagenetPrediction:
    """Top-k ImageNet classes of one picture and the Grad-CAM of the top class, in one forward pass.

    ``image``: a path, bytes, PIL image, numpy array or gradio file payload (grayscale, RGBA, CMYK,
    palette and 16-bit pictures are converted to RGB). Raises ``ValueError`` for non-images,
    oversized or tiny pictures, an unknown layer or a ``top_k`` outside 1..20.
    """
    k = check_top_k(top_k)
    if (layer or DEFAULT_LAYER).strip().lower() not in LAYERS:
        raise ValueError(f"Unknown Grad-CAM layer {layer!r}; choose one of {', '.join(LAYERS)}.")
    picture = load_photo(image)
    pixels, crop = preprocess(picture)
    model = imagenet_model()
    gradcam = efficientnet_gradcam(model, pixels.contiguous(memory_format=torch.channels_last), layer=layer or DEFAULT_LAYER)
    probabilities = torch.softmax(torch.from_numpy(gradcam.logits), -1).numpy()
    order = np.argsort(-probabilities)[:k]
    labels = imagenet_labels()
    cam = gradcam.maps[0]
    return ImagenetPrediction(
        labels=tuple(labels[i] for i in order), probabilities=tuple(float(probabilities[i]) for i in order),
        class_indices=tuple(int(i) for i in order), cam=cam, layer=gradcam.layer,
        overlay=overlay(display_crop(picture), cam), model_input=crop,
    )


def predict_logits(images) -> np.ndarray:
    """(N, 1000) logits for already-preprocessed (N, 3, 224, 224) pixels or a list of PIL pictures."""
    model = imagenet_model()
    if isinstance(images, torch.Tensor):
        pixels = images
    else:
        pixels = torch.cat([preprocess(load_photo(image))[0] for image in images])
    with torch.inference_mode():
        return model(pixels.contiguous(memory_format=torch.channels_last)).float().numpy()
