"""The classifier that transfer learning trains and exports: a backbone plus a linear head.

One ``ModelMixin`` class covers every backbone, so an exported folder always loads with
``TransferClassifier.from_pretrained(folder)``. The backbone is rebuilt from the config
it was saved with (BERT/MiniLM, NeuroDeck's CNN, or any Hugging Face image model), then
the saved weights are loaded over it.

Inputs are dicts of tensors: text ``{"input_ids", "attention_mask"}`` (N, T) int64 (or ``inputs_embeds``
(N, T, D) word embeddings in place of the ids);
images ``{"pixel_values"}`` (N, 3, S, S) float32 in [0, 1] (normalisation is inside).
"""

from __future__ import annotations

import torch
import torch.nn as nn
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

from engine.transfer.cnn import NeuroDeckCNN

BACKBONE_TYPES = ("bert", "neurodeck_cnn", "efficientnet_lite", "hf_image")


def build_backbone(backbone_type: str, backbone_config: dict) -> nn.Module:
    """A randomly initialised backbone of the given type (pre-trained weights are loaded later)."""
    if backbone_type == "bert":
        from transformers import BertConfig, BertModel

        config = BertConfig(**backbone_config)
        config._attn_implementation = "eager"  # attention maps must be returned for the before/after view
        return BertModel(config, add_pooling_layer=False)
    if backbone_type == "neurodeck_cnn":
        return NeuroDeckCNN(**backbone_config)
    if backbone_type == "efficientnet_lite":
        from engine.transfer.efficientnet import EfficientNetLite0

        return EfficientNetLite0(**backbone_config)
    if backbone_type == "hf_image":
        from transformers import AutoConfig, AutoModel

        settings = dict(backbone_config)
        config = AutoConfig.for_model(settings.pop("model_type"), **settings)
        return AutoModel.from_config(config)
    raise ValueError(f"Unknown backbone type {backbone_type!r}; expected one of {BACKBONE_TYPES}.")


def backbone_blocks(backbone_type: str, backbone: nn.Module) -> list[nn.Module]:
    """The backbone's stacked blocks, input side first (what "fine-tune the last N" counts)."""
    if backbone_type == "bert":
        return list(backbone.encoder.layer)
    if backbone_type == "neurodeck_cnn":
        return list(backbone.blocks)
    if backbone_type == "efficientnet_lite":
        return backbone.stages()  # 7 stages (stem with the first, 1x1 head conv with the last)
    # transformers 5 moved some blocks (ViT: model.layers); older layouts keep model.encoder.layer.
    for owner in (backbone, getattr(backbone, "encoder", None)):
        for attribute in ("layers", "layer", "stages", "block"):
            blocks = getattr(owner, attribute, None)
            if isinstance(blocks, nn.ModuleList) and len(blocks) > 0:
                return list(blocks)
    raise ValueError(f"Cannot find the blocks of {type(backbone).__name__}; use feature extraction or full fine-tuning.")


class TransferClassifier(ModelMixin, ConfigMixin):
    """Backbone -> pooled features (N, D) -> dropout -> linear head -> logits (N, C)."""

    @register_to_config
    def __init__(
        self,
        backbone_type: str = "neurodeck_cnn",  # one of BACKBONE_TYPES
        backbone_config: dict | None = None,  # kwargs that rebuild the backbone architecture
        feature_dim: int = 256,  # width of the pooled features the head reads
        labels: tuple[str, ...] = ("a", "b"),  # class names; index = logit position
        dropout: float = 0.1,  # on the features, before the head (regularisation)
        image_size: int = 64,  # images are resized to image_size x image_size
        pixel_mean: tuple[float, ...] = (0.0, 0.0, 0.0),  # hf_image normalisation (others normalise inside)
        pixel_std: tuple[float, ...] = (1.0, 1.0, 1.0),
        backbone_name: str = "",  # human-readable source, e.g. "all-MiniLM-L6-v2"
    ):
        super().__init__()
        self.backbone = build_backbone(backbone_type, dict(backbone_config or {}))
        self.feature_dropout = nn.Dropout(dropout)  # not "dropout": ConfigMixin owns that name
        self.head = nn.Linear(feature_dim, len(labels))
        self.register_buffer("_mean", torch.tensor(pixel_mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("_std", torch.tensor(pixel_std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)

    @property
    def blocks(self) -> list[nn.Module]:
        return backbone_blocks(self.config.backbone_type, self.backbone)

    def encode(self, **inputs: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features, (N, feature_dim) float32."""
        kind = self.config.backbone_type
        if kind == "bert":
            mask = inputs["attention_mask"]
            # inputs_embeds (word embeddings) instead of input_ids: integrated gradients integrates over them.
            hidden = self.backbone(input_ids=inputs.get("input_ids"), inputs_embeds=inputs.get("inputs_embeds"),
                                   attention_mask=mask).last_hidden_state
            # Mean over real tokens, as all-MiniLM-L6-v2 was trained to be used.
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        pixels = inputs["pixel_values"]
        if kind == "neurodeck_cnn":
            return self.backbone(pixels)
        if kind == "efficientnet_lite":  # normalises inside; channels-last runs its depthwise convs faster on CPU
            return self.backbone.encode(pixels.contiguous(memory_format=torch.channels_last))
        outputs = self.backbone(pixel_values=(pixels - self._mean) / self._std)
        pooled = getattr(outputs, "pooler_output", None)
        if pooled is None:
            return outputs.last_hidden_state[:, 0]
        return pooled.flatten(1)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """(N, feature_dim) -> logits (N, C)."""
        return self.head(self.feature_dropout(features))

    def forward(self, **inputs: torch.Tensor) -> torch.Tensor:
        return self.classify(self.encode(**inputs))
