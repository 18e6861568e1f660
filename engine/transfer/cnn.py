"""NeuroDeck's own small pre-trained image backbone (a 5-block CNN, ~1 M parameters).

It is pre-trained by ``scripts/pretrain_image_backbone.py`` on photos that ship with
scikit-image and scikit-learn (never on the textures or faces used for transfer), and
saved under ``assets/image_backbone/``. Input: (N, 3, 64, 64) float32 RGB in [0, 1];
output features: (N, feature_dim) float32.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config

IMAGE_SIZE = 64  # every image is resized to 64x64 RGB before the backbone
PIXEL_MEAN = 0.45  # fixed normalisation; grayscale inputs are replicated to 3 channels
PIXEL_STD = 0.25


class NeuroDeckCNN(ModelMixin, ConfigMixin):
    """Conv-BN-ReLU-MaxPool blocks, then global average pooling.

    ``blocks`` is an ``nn.ModuleList`` so transfer strategies can freeze or unfreeze
    the last N of them. Each block halves the spatial size (64 -> 2 after 5 blocks).
    ``widths`` is stored as a list in config.json.
    """

    @register_to_config
    def __init__(
        self,
        in_channels: int = 3,  # RGB; grayscale is replicated
        widths: tuple[int, ...] = (32, 48, 96, 192, 256),  # output channels of each block
        image_size: int = IMAGE_SIZE,  # expected input side, recorded for preprocessing
    ):
        super().__init__()
        blocks = []
        previous = in_channels
        for index, width in enumerate(widths):
            # The first block downsamples with a strided conv: full-resolution activations
            # dominated training time on CPU while adding little accuracy.
            stride = 2 if index == 0 else 1
            layers = [nn.Conv2d(previous, width, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            if index > 0:
                layers.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*layers))
            previous = width
        self.blocks = nn.ModuleList(blocks)
        self.feature_dim = previous

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, feature_dim) pooled features."""
        x = (pixels - PIXEL_MEAN) / PIXEL_STD
        for block in self.blocks:
            x = block(x)
        return x.mean(dim=(2, 3))
