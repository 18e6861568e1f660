"""GAN Lab settings: the option lists, the field order shown in the UI and the API, and validation.

No torch here: the GAN tab builds its widgets from this module at start-up. The training itself is
in :mod:`engine.gan.lab`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

DATASETS = ("ring", "grid", "moons", "spiral", "line", "custom")
LOSSES = ("non-saturating", "least-squares", "wgan-gp")
OPTIMIZERS = ("adam", "sgd", "rmsprop")

# The settings a user controls, in the order of the widgets and of the API parameters.
UI_FIELDS = ("dataset", "noise_dim", "g_width", "g_depth", "d_width", "d_depth", "g_lr", "d_lr",
             "optimizer", "loss", "d_steps", "seed")
# Hyper-parameters that apply to a running session on its next step (the rest restart the run).
LIVE_FIELDS = ("g_lr", "d_lr", "optimizer", "loss", "d_steps")


@dataclass(frozen=True)
class LabConfig:
    dataset: str = "ring"  # one of DATASETS; "custom" uses points from a CSV
    noise_dim: int = 2  # size of G's input noise
    g_width: int = 64  # hidden units per G layer
    g_depth: int = 2  # hidden layers in G
    d_width: int = 64  # hidden units per D layer
    d_depth: int = 2  # hidden layers in D
    g_lr: float = 1e-3  # generator learning rate
    d_lr: float = 1e-3  # discriminator learning rate
    optimizer: str = "adam"  # one of OPTIMIZERS (Adam uses GAN-style betas (0.5, 0.9))
    loss: str = "non-saturating"  # one of LOSSES
    d_steps: int = 1  # discriminator updates per generator update
    batch_size: int = 256  # real and fake points per update
    gp_weight: float = 0.1  # WGAN-GP penalty weight (0.1 as in the WGAN-GP paper's toy experiments)
    seed: int = 0  # seeds data, initialisation and noise

    def validated(self) -> "LabConfig":
        """Return self, or raise ``ValueError`` naming the bad field and its allowed range."""
        if self.dataset not in DATASETS:
            raise ValueError(f"Unknown dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}.")
        if self.loss not in LOSSES:
            raise ValueError(f"Unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}.")
        for name, low, high in [
            ("noise_dim", 1, 64), ("g_width", 2, 512), ("d_width", 2, 512), ("g_depth", 1, 6),
            ("d_depth", 1, 6), ("d_steps", 1, 10), ("batch_size", 8, 2048),
        ]:
            value = getattr(self, name)
            if int(value) != value or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value}.")
        for name in ("g_lr", "d_lr"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 < value <= 1):
                raise ValueError(f"{name} must be a number in (0, 1], got {value}.")
        return self


# A reproducible mode collapse: the defaults with a generator learning rate 5x the discriminator's.
# G overshoots onto whatever D currently calls "real", piles its points on one or two modes and
# hops between them. Fixes: G lr back to 1e-3 (Defaults), or the WGAN-GP loss, or 3 D steps per G step.
COLLAPSE_PRESET = LabConfig(g_lr=5e-3, seed=0)

# Structural fields: changing one of these rebuilds the networks (hyper-parameters apply live).
STRUCTURAL = ("dataset", "noise_dim", "g_width", "g_depth", "d_width", "d_depth", "seed")


def config_from_values(**values) -> LabConfig:
    """Build a LabConfig from UI values (numbers may arrive as floats or strings); raises ``ValueError``."""
    fields = {f.name: f for f in dataclasses.fields(LabConfig)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"Unknown GAN Lab settings: {sorted(unknown)}.")
    cleaned = {}
    for name, value in values.items():
        if value is None:
            continue
        kind = type(getattr(LabConfig(), name))
        try:
            if kind is int:
                number = float(value)
                if number != int(number):
                    raise ValueError
                cleaned[name] = int(number)
            elif kind is float:
                cleaned[name] = float(value)
            else:
                cleaned[name] = str(value).strip().lower()
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a {'whole number' if kind is int else kind.__name__}, got {value!r}.") from None
    return LabConfig(**cleaned).validated()
