"""Class-conditional DCGAN networks for 32x32 digits, in NeuroDeck's save format.

Both networks are diffusers ``ModelMixin`` + ``ConfigMixin`` models, so
``save_pretrained(folder)`` writes ``config.json`` + ``diffusion_pytorch_model.safetensors``
and ``from_pretrained(folder_or_hub_id, use_safetensors=True)`` reads them back.
A NeuroDeck GAN repo holds a ``generator/`` and (optionally) a ``discriminator/`` subfolder.
"""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

GENERATOR_SUBFOLDER = "generator"
DISCRIMINATOR_SUBFOLDER = "discriminator"


class ConditionalGenerator(ModelMixin, ConfigMixin):
    """z (N, latent_dim) float32 ~ N(0, 1) + class (N,) int64 -> images (N, 1, S, S) float32 in [0, 1].

    DCGAN layout: a linear layer makes a 4x4 feature map, then stride-2 transposed
    convolutions double the side until it reaches ``image_size`` (ink = 1, background = 0).
    """

    @register_to_config
    def __init__(
        self,
        latent_dim: int = 64,  # size of the noise vector z
        num_classes: int = 10,  # digits 0..9
        embed_dim: int = 32,  # class embedding concatenated to z
        base_channels: int = 32,  # channels of the last hidden layer; earlier layers double it
        image_size: int = 32,  # output side; must be 4 * 2**k
    ):
        super().__init__()
        if image_size < 8 or image_size & (image_size - 1):
            raise ValueError(f"image_size must be a power of two >= 8, got {image_size}.")
        ups = (image_size // 4).bit_length() - 1  # number of x2 upsamplings from 4x4
        widths = [base_channels * 2 ** (ups - 1 - i) for i in range(ups)]  # e.g. [128, 64, 32]
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.project = nn.Sequential(
            nn.Linear(latent_dim + embed_dim, widths[0] * 16, bias=False),
            nn.BatchNorm1d(widths[0] * 16),
            nn.ReLU(inplace=True),
        )
        layers: list[nn.Module] = []
        for i in range(ups - 1):
            layers += [
                nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=False),
                nn.BatchNorm2d(widths[i + 1]),
                nn.ReLU(inplace=True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], 1, 4, 2, 1), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)
        self._first_width = widths[0]

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.from_embedding(z, self.embed(labels))

    def from_embedding(self, z: torch.Tensor, class_embedding: torch.Tensor) -> torch.Tensor:
        """Generate from z (N, latent_dim) and class vectors (N, embed_dim), e.g. a blend of two classes."""
        hidden = self.project(torch.cat([z, class_embedding], dim=1))
        return self.body(hidden.view(len(z), self._first_width, 4, 4))


class ConditionalDiscriminator(ModelMixin, ConfigMixin):
    """images (N, 1, S, S) in [0, 1] + class (N,) int64 -> realness logits (N,) float32.

    A projection discriminator (Miyato & Koyama, 2018): logit = w.h + embed(class).h,
    where h is the conv feature vector, so the class enters as "does h look like this class".
    """

    @register_to_config
    def __init__(
        self,
        num_classes: int = 10,  # digits 0..9
        base_channels: int = 32,  # channels after the first conv; each later conv doubles them
        image_size: int = 32,  # input side; must be a power of two >= 8
        dropout: float = 0.0,  # dropout on the feature vector, slows D's memorising of 1.4k digits
    ):
        super().__init__()
        downs = (image_size // 4).bit_length() - 1
        layers: list[nn.Module] = []
        channels_in = 1
        for i in range(downs):
            channels_out = base_channels * 2**i
            layers += [nn.Conv2d(channels_in, channels_out, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            channels_in = channels_out
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Dropout(dropout))
        features = channels_in * 16
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, std=0.02)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        # Centre pixels on 0 so the first conv sees signed input.
        hidden = self.body(images * 2 - 1)
        return self.linear(hidden).squeeze(1) + (self.embed(labels) * hidden).sum(1)
