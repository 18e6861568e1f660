"""Stratified, seeded splits: one validation split, and k folds for cross-validation."""

from __future__ import annotations

import numpy as np


def stratified_split(labels: np.ndarray, val_fraction: float = 0.25, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per class, put ``round(val_fraction * n)`` examples (at least 1, at most n - 1) in validation.

    Returns sorted (train_index, val_index) int64 arrays; they are disjoint and cover every example.
    """
    labels = np.asarray(labels)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"The validation fraction must be between 0 and 1 (got {val_fraction}).")
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        if len(members) < 2:
            raise ValueError(f"Class {label} has {len(members)} example(s); every class needs at least 2 for a validation split.")
        count = int(np.clip(round(val_fraction * len(members)), 1, len(members) - 1))
        val.extend(members[:count])
        train.extend(members[count:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(val, dtype=np.int64))


def few_shot_split(labels: np.ndarray, train_per_class: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per class, ``train_per_class`` seeded picks train and the rest are held out (sorted index arrays)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, held_out = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        if len(members) <= train_per_class:
            raise ValueError(f"Class {label} has {len(members)} examples; a {train_per_class}-shot split needs more.")
        train.extend(members[:train_per_class])
        held_out.extend(members[train_per_class:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(held_out, dtype=np.int64))


def stratified_kfold(labels: np.ndarray, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train_index, val_index) pairs; validation folds are disjoint, cover every example,
    and each holds every class in proportion (members are dealt round-robin after a seeded shuffle)."""
    labels = np.asarray(labels)
    k = int(k)
    classes, counts = np.unique(labels, return_counts=True)
    if k < 2:
        raise ValueError("k-fold cross-validation needs k >= 2 folds.")
    if counts.min() < k:
        raise ValueError(
            f"The smallest class has {counts.min()} examples, fewer than k={k} folds; lower k to {max(2, counts.min())} or add data."
        )
    rng = np.random.default_rng(seed)
    fold_of = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for label in classes:
        members = rng.permutation(np.flatnonzero(labels == label))
        # Continue the round-robin across classes so fold sizes differ by at most one.
        fold_of[members] = (np.arange(len(members)) + offset) % k
        offset += len(members)
    everything = np.arange(len(labels))
    return [(everything[fold_of != fold], everything[fold_of == fold]) for fold in range(k)]
