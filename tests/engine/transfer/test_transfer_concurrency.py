"""Same seed, same model, even when several users train at once (threads share torch's global RNG)."""

from __future__ import annotations

import threading

import torch

from engine.transfer.train import TrainConfig, train_transfer
from tests.support import tiny_bert_backbone, words_dataset


def _state(result) -> list[torch.Tensor]:
    return [t.detach().clone() for t in result.model.state_dict().values()]


def test_concurrent_same_seed_trainings_match_the_serial_one():
    dataset, backbone = words_dataset(), tiny_bert_backbone()
    # full fine-tuning: initialisation, the head's dropout and the backbone's dropout all draw randomness
    config = TrainConfig(strategy="full_fine_tune", epochs=2, patience=0, batch_size=4, seed=0)
    serial = _state(train_transfer(dataset, backbone, config))
    results: list = [None] * 3
    start = threading.Barrier(3)

    def train(slot: int, seed: int) -> None:
        start.wait()
        results[slot] = _state(train_transfer(dataset, backbone, TrainConfig(**{**config.__dict__, "seed": seed})))

    threads = [threading.Thread(target=train, args=(0, 0)), threading.Thread(target=train, args=(1, 0)),
               threading.Thread(target=train, args=(2, 7))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for same in results[:2]:
        assert all(torch.equal(a, b) for a, b in zip(same, serial))
    assert not all(torch.equal(a, b) for a, b in zip(results[2], serial))


def test_sessions_have_no_shared_fallback_key():
    import pytest

    from engine.transfer import session as sessions

    for missing in (None, ""):
        with pytest.raises(ValueError, match="no session"):
            sessions.get_session(missing)
    assert sessions.get_session("a") is not sessions.get_session("b")
    sessions.drop_session("a")
    sessions.drop_session("b")
    sessions.drop_session(None)  # a no-op, never another user's data
