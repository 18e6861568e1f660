"""Attention rollout (Abnar & Zuidema, 2020, "Quantifying Attention Flow in Transformers").

Per layer, heads are fused (mean, max or min), the residual connection is modelled
as ``0.5 * A + 0.5 * I``, rows are renormalised, and the layers are multiplied
from the bottom up: ``R = A_L @ ... @ A_2 @ A_1``. ``R[i, j]`` is how much input
token ``j`` flows into position ``i`` at the top of the network.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

HeadFusion = Literal["mean", "max", "min"]
HEAD_FUSIONS: tuple[str, ...] = ("mean", "max", "min")


def fuse_heads(attentions: np.ndarray, head_fusion: HeadFusion = "mean") -> np.ndarray:
    """Fuse heads: (L, H, T, T) -> (L, T, T)."""
    if head_fusion == "mean":
        return attentions.mean(axis=1)
    if head_fusion == "max":
        return attentions.max(axis=1)
    if head_fusion == "min":
        return attentions.min(axis=1)
    raise ValueError(f"Unknown head fusion {head_fusion!r}; choose one of {', '.join(HEAD_FUSIONS)}.")


def attention_rollout(
    attentions: np.ndarray, head_fusion: HeadFusion = "mean", residual_weight: float = 0.5
) -> np.ndarray:
    """Roll attention out through all layers.

    Args:
        attentions: (L, H, T, T) float array, each row a distribution over keys.
        head_fusion: how to combine the H heads of a layer.
        residual_weight: weight of the identity (skip connection); 0.5 as in the paper.

    Returns:
        (T, T) float64 array whose rows sum to 1; row i = input-token contributions to position i.
    """
    attentions = np.asarray(attentions, dtype=np.float64)
    if attentions.ndim != 4 or attentions.shape[-1] != attentions.shape[-2]:
        raise ValueError(f"attentions must have shape (layers, heads, T, T); got {attentions.shape}.")
    fused = fuse_heads(attentions, head_fusion)
    identity = np.eye(fused.shape[-1])
    rollout = identity
    for layer in fused:
        mixed = (1 - residual_weight) * layer + residual_weight * identity
        mixed = mixed / mixed.sum(axis=-1, keepdims=True)
        rollout = mixed @ rollout
    return rollout


class AttentionDims:
    """Mixin for results holding ``attentions`` of shape (L, H, T, T)."""

    attentions: np.ndarray

    @property
    def num_layers(self) -> int:
        return self.attentions.shape[0]

    @property
    def num_heads(self) -> int:
        return self.attentions.shape[1]
