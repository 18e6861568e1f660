"""The Autoencoder tab's networks (diffusers ``ModelMixin`` + ``ConfigMixin``).

* :class:`DenoisingAutoencoder` - fully convolutional, no skip connections: every
  pixel passes through a bottleneck at 1/4 of the input resolution (x4 spatial
  downsampling), so the network must re-synthesise the image from a compressed code.
* :class:`TextureAutoencoder` - a tighter bottleneck (x8 downsampling, few channels)
  for reconstruction-error anomaly detection on textures.
* :class:`DigitsAutoencoder` - an MLP on 8x8 digits with a configurable latent size
  (2, 4, 8, 16 or 32), used for the latent map and the bottleneck comparison.
* :class:`DigitsVAE` - a convolutional VAE (or, with ``variational=False``, a plain
  autoencoder of the same shape) on the GAN's 32x32 digits; :class:`TinyDigitsVAE` - an
  MLP VAE on 8x8 digits for the Variational view's live beta run.

Images are float32 tensors in [0, 1], shaped (N, 3, H, W) unless stated otherwise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a residual add (stays inside one resolution level)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.silu(self.conv1(F.silu(x))))


def pad_to_multiple(images: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad (N, C, H, W) on the bottom/right so H and W divide ``multiple``.

    Returns the padded tensor and the original (H, W) to crop back to. Reflection
    needs at least 2 pixels, so tiny inputs fall back to replicate padding.
    """
    height, width = images.shape[-2:]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        images = F.pad(images, (0, pad_w, 0, pad_h), mode=mode)
    return images, (height, width)


class DenoisingAutoencoder(ModelMixin, ConfigMixin):
    """Photo denoiser: encoder to 1/``stride`` resolution, decoder back, no skip connections.

    Input/output: (N, 3, H, W) float32 in [0, 1], any H, W >= 1 (padded to a
    multiple of the stride internally and cropped back).
    """

    @register_to_config
    def __init__(self, channels: int = 32, bottleneck_channels: int = 64, num_res_blocks: int = 3):
        super().__init__()
        c1, c2 = channels, bottleneck_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c1, 4, stride=2, padding=1),  # -> H/2
            nn.SiLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1),  # -> H/4: the bottleneck resolution
            *[ResBlock(c2) for _ in range(num_res_blocks)],
        )
        # Pixel-shuffle upsampling: far cheaper than transposed convs at full resolution.
        self.decoder = nn.Sequential(
            nn.SiLU(),
            nn.Conv2d(c2, c1 * 4, 3, padding=1),
            nn.PixelShuffle(2),  # -> H/2
            nn.SiLU(),
            nn.Conv2d(c1, c1, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(c1, 3 * 4, 3, padding=1),
            nn.PixelShuffle(2),  # -> H
        )

    @property
    def stride(self) -> int:
        return 4

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) with H, W multiples of 4 -> (N, bottleneck_channels, H/4, W/4)."""
        return self.encoder(images * 2 - 1)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return (self.decoder(code) + 1) / 2

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        padded, (height, width) = pad_to_multiple(images, self.stride)
        out = self.decode(self.encode(padded))
        return out[..., :height, :width]


class TextureAutoencoder(ModelMixin, ConfigMixin):
    """Texture model for anomaly detection: x8 downsampling to a narrow code.

    Input/output: (N, 3, H, W) float32 in [0, 1]; padded to a multiple of 8 and
    cropped back. A narrow bottleneck means it can only rebuild the normal
    texture, so defects show up as reconstruction error.
    """

    @register_to_config
    def __init__(self, channels: int = 32, latent_channels: int = 16, num_res_blocks: int = 0):
        super().__init__()
        c = channels
        # Residual blocks at 1/8 resolution widen the receptive field cheaply (32x32 maps for a 256 input).
        self.encoder = nn.Sequential(
            nn.Conv2d(3, c, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(2 * c, 2 * c, 4, stride=2, padding=1),  # -> H/8
            *[ResBlock(2 * c) for _ in range(num_res_blocks)],
            nn.SiLU(),
            nn.Conv2d(2 * c, latent_channels, 1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, 2 * c, 3, padding=1),
            *[ResBlock(2 * c) for _ in range(num_res_blocks)],
            nn.SiLU(),
            nn.ConvTranspose2d(2 * c, 2 * c, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.ConvTranspose2d(c, c, 4, stride=2, padding=1),
            nn.SiLU(),
            nn.Conv2d(c, 3, 3, padding=1),
        )

    @property
    def stride(self) -> int:
        return 8

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        padded, (height, width) = pad_to_multiple(images, self.stride)
        out = torch.sigmoid(self.decoder(self.encoder(padded * 2 - 1)))
        return out[..., :height, :width]


class DigitsAutoencoder(ModelMixin, ConfigMixin):
    """MLP autoencoder on flattened 8x8 digits.

    ``encode``: (N, 64) float32 in [0, 1] -> (N, latent_dim).
    ``decode``: (N, latent_dim) -> (N, 64) in [0, 1].
    """

    @register_to_config
    def __init__(self, latent_dim: int = 2, hidden: int = 256):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(64, hidden), nn.SiLU(), nn.Linear(hidden, hidden // 2), nn.SiLU(), nn.Linear(hidden // 2, latent_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden // 2), nn.SiLU(), nn.Linear(hidden // 2, hidden), nn.SiLU(), nn.Linear(hidden, 64)
        )

    def encode(self, digits: torch.Tensor) -> torch.Tensor:
        return self.encoder(digits.reshape(len(digits), 64))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(latent))

    def forward(self, digits: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(digits))


class DigitsVAE(ModelMixin, ConfigMixin):
    """Convolutional (variational) autoencoder on 32x32 digits, ink = 1.

    ``encode``: (N, 1, 32, 32) in [0, 1] -> (mu, log_var), each (N, latent_dim). With ``variational=False`` it is a
    plain autoencoder of the same architecture: the head outputs mu only and log_var is returned as None.
    ``decode``: (N, latent_dim) -> logits (N, 1, 32, 32); ``decode_images`` applies the sigmoid.
    """

    @register_to_config
    def __init__(self, latent_dim: int = 16, channels: int = 32, variational: bool = True, image_size: int = 32):
        super().__init__()
        c = channels
        side = image_size // 8  # three stride-2 convolutions
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 4, stride=2, padding=1), nn.SiLU(),  # -> 16
            nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.SiLU(),  # -> 8
            nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1), nn.SiLU(),  # -> 4
            nn.Flatten(),
        )
        self.head = nn.Linear(4 * c * side * side, latent_dim * (2 if variational else 1))
        self.expand = nn.Linear(latent_dim, 4 * c * side * side)
        self.decoder = nn.Sequential(
            nn.Unflatten(1, (4 * c, side, side)), nn.SiLU(),
            nn.ConvTranspose2d(4 * c, 2 * c, 4, stride=2, padding=1), nn.SiLU(),  # -> 8
            nn.ConvTranspose2d(2 * c, c, 4, stride=2, padding=1), nn.SiLU(),  # -> 16
            nn.ConvTranspose2d(c, 1, 4, stride=2, padding=1),  # -> 32, logits
        )

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.head(self.encoder(images * 2 - 1))
        if not self.config.variational:
            return out, None
        mu, log_var = out.chunk(2, dim=1)
        return mu, log_var

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.expand(z))

    def decode_images(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode(z))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The deterministic reconstruction (decodes mu)."""
        return self.decode_images(self.encode(images)[0])


class TinyDigitsVAE(ModelMixin, ConfigMixin):
    """An MLP VAE on flattened 8x8 digits, small enough to train in seconds (the live beta run).

    Same interface as :class:`DigitsVAE`: ``encode`` -> (mu, log_var), ``decode`` -> logits (N, 64).
    """

    @register_to_config
    def __init__(self, latent_dim: int = 2, hidden: int = 128):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.SiLU(), nn.Linear(hidden, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.SiLU(), nn.Linear(hidden, 64))

    def encode(self, digits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_var = self.encoder(digits.reshape(len(digits), 64)).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)
