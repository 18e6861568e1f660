"""Pre-trained backbones for transfer learning, and the preprocessing each one needs.

* ``minilm``: the real pre-trained all-MiniLM-L6-v2 text encoder (embedded, offline).
* ``efficientnet-lite0`` (the image default): EfficientNet-Lite0 pre-trained on ImageNet-1k, from a pip package.
* ``neurodeck-cnn``: NeuroDeck's own CNN pre-trained on packaged photos (``assets/image_backbone``).
* any Hugging Face image model id (or local ``save_pretrained`` folder), loaded with the Auto
  classes when online; offline it fails with a clear message.

:func:`new_classifier` returns a fresh :class:`TransferClassifier` per training run (the
cached pre-trained weights are copied, never trained in place), so sessions cannot
corrupt each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from engine.core.registry import load_pretrained
from engine.transfer.cnn import IMAGE_SIZE, NeuroDeckCNN
from engine.core import registry
from engine.transfer.model import TransferClassifier
from engine.transfer.options import (  # noqa: F401  (re-exported)
    DEFAULT_IMAGE_BACKBONE,
    DEFAULT_TEXT_BACKBONE,
    HUB_IMAGE_IDS,
    image_backbone_choices,
)

TEXT_MAX_TOKENS = 64  # topic sentences are short; longer texts are cut


@dataclass(frozen=True)
class Backbone:
    key: str  # "minilm", "neurodeck-cnn", or a Hub id / local folder
    name: str  # shown in the UI and the model card
    modality: str  # "text" or "image"
    backbone_type: str  # TransferClassifier backbone_type
    backbone_config: dict  # rebuilds the architecture
    feature_dim: int
    state_dict: dict  # pre-trained weights (shared, read-only; copied into each classifier)
    image_size: int = IMAGE_SIZE
    pixel_mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    pixel_std: tuple[float, ...] = (1.0, 1.0, 1.0)
    tokenizer: object | None = None  # text backbones only

    @property
    def num_blocks(self) -> int:
        return len(new_classifier(self, ("a", "b"), pretrained=False).blocks)


def build_minilm(source, folder) -> Backbone:
    """Registry builder: the embedded MiniLM as a text backbone.

    Its weights are the Attention tab's MiniLM's own tensors (the same package folder, loaded the same way), not a
    copy: the process holds MiniLM once (a clone was 87 MB more, for good). They are never written: every
    classifier copies them (``load_state_dict``). The tokenizer is its own (fast tokenizers are not shared
    between threads that pad and truncate differently).
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = registry.load("text-attention").model  # built once per process from this same folder
    config = {k: v for k, v in model.config.to_dict().items() if k in _BERT_KEYS}
    return Backbone(
        key="minilm", name="all-MiniLM-L6-v2 (pre-trained, embedded)", modality="text", backbone_type="bert",
        backbone_config=config, feature_dim=model.config.hidden_size,
        # The pooler is unused (mean pooling, as all-MiniLM-L6-v2 was trained) and not rebuilt.
        state_dict={k: v.detach() for k, v in model.state_dict().items() if not k.startswith("pooler.")},
        tokenizer=tokenizer,
    )


_BERT_KEYS = {
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
    "initializer_range", "layer_norm_eps", "pad_token_id",
}


def build_registered_image(source, folder) -> Backbone:
    """Registry builder: a registered image backbone (EfficientNet-Lite0 or NeuroDeck CNN) from its verified folder."""
    if source.name == "efficientnet-lite0":
        return _efficientnet_backbone()
    model = NeuroDeckCNN.from_pretrained(folder, use_safetensors=True)
    return Backbone(
        key="neurodeck-cnn", name="NeuroDeck CNN (pre-trained on packaged photos)", modality="image",
        backbone_type="neurodeck_cnn", backbone_config={k: (list(v) if isinstance(v, tuple) else v)
                                                        for k, v in model.config.items() if not k.startswith("_")},
        feature_dim=model.feature_dim, state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
    )


def _efficientnet_backbone() -> Backbone:
    """EfficientNet-Lite0's ImageNet feature extractor (the classifier ``_fc`` is dropped)."""
    from engine.transfer import efficientnet

    pretrained = efficientnet.imagenet_model()  # shared with the ImageNet classifier: loaded once
    config = {"num_classes": 0, "dropout": 0.0}
    return Backbone(
        key="efficientnet-lite0", name="EfficientNet-Lite0 (pre-trained on ImageNet-1k)", modality="image",
        backbone_type="efficientnet_lite", backbone_config=config, feature_dim=efficientnet.FEATURE_DIM,
        state_dict=efficientnet.backbone_state_dict(pretrained), image_size=efficientnet.IMAGE_SIZE,
    )


def build_hub_image(model_id: str) -> Backbone:
    """Registry builder: a Hub image model (ViT, DINOv2, ResNet...) as a backbone."""
    from transformers import AutoImageProcessor, AutoModel

    model = load_pretrained(AutoModel.from_pretrained, model_id)
    try:
        processor = AutoImageProcessor.from_pretrained(model_id)
        mean, std = tuple(processor.image_mean), tuple(processor.image_std)
        size = processor.size.get("shortest_edge") or processor.size.get("height") or 224
    except Exception:  # noqa: BLE001  (no processor saved: fall back to the config)
        mean, std, size = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), getattr(model.config, "image_size", 224)
    config = model.config.to_dict()
    for key in ("architectures", "transformers_version", "_name_or_path", "torch_dtype", "dtype", "id2label", "label2id"):
        config.pop(key, None)
    with torch.no_grad():
        probe = torch.zeros(1, 3, int(size), int(size))
        classifier = TransferClassifier("hf_image", config, 1, ("a", "b"), 0.0, int(size), mean, std)
        classifier.backbone.load_state_dict(model.state_dict())
        feature_dim = classifier.encode(pixel_values=probe).shape[-1]
    return Backbone(
        key=model_id, name=f"{model_id} (Hugging Face Hub)", modality="image", backbone_type="hf_image",
        backbone_config=config, feature_dim=int(feature_dim),
        state_dict={k: v.detach().clone() for k, v in model.state_dict().items()},
        image_size=int(size), pixel_mean=mean, pixel_std=std,
    )


def load_backbone(key: str | None, modality: str) -> Backbone:
    """Load a backbone once per process. ``key`` None/"" means the modality's embedded default."""
    key = (key or "").strip() or (DEFAULT_TEXT_BACKBONE if modality == "text" else DEFAULT_IMAGE_BACKBONE)
    if modality == "text":
        if key != "minilm":
            raise ValueError("Text transfer uses the embedded MiniLM backbone ('minilm').")
        return registry.load("transfer-text", key)
    if key == "minilm":
        raise ValueError("MiniLM is a text model; pick 'efficientnet-lite0', 'neurodeck-cnn' or a Hub image id for images.")
    return registry.load("transfer-image", key)


def new_classifier(backbone: Backbone, labels: tuple[str, ...], dropout: float = 0.1, pretrained: bool = True) -> TransferClassifier:
    """A fresh classifier; ``pretrained=False`` keeps the same architecture with random init.

    Built under ``registry.MODEL_BUILD_LOCK``: a model loading in another thread must not hand this one
    meta-device or uninitialised parameters.
    """
    with registry.MODEL_BUILD_LOCK:
        return _new_classifier(backbone, labels, dropout, pretrained)


def _new_classifier(backbone: Backbone, labels: tuple[str, ...], dropout: float, pretrained: bool) -> TransferClassifier:
    model = TransferClassifier(
        backbone_type=backbone.backbone_type, backbone_config=backbone.backbone_config,
        feature_dim=backbone.feature_dim, labels=tuple(labels), dropout=float(dropout),
        image_size=backbone.image_size, pixel_mean=tuple(backbone.pixel_mean), pixel_std=tuple(backbone.pixel_std),
        backbone_name=backbone.name,
    )
    if pretrained:
        model.backbone.load_state_dict(backbone.state_dict)
    return model


def prepare_inputs(backbone: Backbone, items) -> dict[str, torch.Tensor]:
    """Texts -> token tensors (N, T); images ((H, W, 3) uint8) -> (N, 3, S, S) float32 in [0, 1]."""
    if backbone.modality == "text":
        encoding = backbone.tokenizer(
            list(items), padding=True, truncation=True, max_length=TEXT_MAX_TOKENS, return_tensors="pt"
        )
        return {"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"]}
    side = backbone.image_size
    resized = []
    for image in items:
        tensor = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255.0
        if tensor.shape[-2:] == (side, side):  # already the backbone's size (e.g. the built-in few-shot pictures)
            resized.append(tensor[0])
            continue
        resized.append(F.interpolate(tensor, size=(side, side), mode="bilinear", antialias=True, align_corners=False)[0])
    return {"pixel_values": torch.stack(resized).clamp(0, 1)}


def slice_inputs(inputs: dict[str, torch.Tensor], index) -> dict[str, torch.Tensor]:
    return {key: value[index] for key, value in inputs.items()}


