"""Retraining checks (slow: run with `pytest -m slow`)."""

import pytest
import torch

from engine.attention.train_vit import DigitsViTConfig, train_digits_vit

pytestmark = pytest.mark.slow


def test_digits_vit_training_is_seeded_and_learns():
    torch.set_num_threads(1)
    short = DigitsViTConfig(epochs=2)
    first, _ = train_digits_vit(short)
    second, _ = train_digits_vit(short)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name  # same seed, same weights
    _, metrics = train_digits_vit(DigitsViTConfig(epochs=15))
    assert metrics["test_accuracy"] >= 0.85, metrics
