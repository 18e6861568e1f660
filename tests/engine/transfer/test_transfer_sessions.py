"""Transfer sessions sized to memory (issue 14 #4, #8, #12): idle ones go first, their users are told, settings checked."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch.nn as nn

from engine.transfer import checks, session as sessions


def _fake_result(strategy: str, parameters: int):
    model = nn.Linear(parameters, 1, bias=False)  # `parameters` float32 weights
    metrics = SimpleNamespace(accuracy=0.9)
    return SimpleNamespace(model=model, strategy=strategy, metrics=metrics, train_seconds=1.0)


@pytest.fixture()
def small_budget(monkeypatch):
    """Room for two sessions holding a 1 MB model each; forget every session afterwards."""
    limits = dataclasses.replace(sessions.LIMITS, transfer_session_bytes=int(2.5 * 2**20), session_idle_s=3600)
    monkeypatch.setattr(sessions, "LIMITS", limits)
    monkeypatch.setattr(sessions, "_sessions", type(sessions._sessions)())
    monkeypatch.setattr(sessions, "_expired", type(sessions._expired)())
    return limits


def test_the_session_idle_longest_is_evicted_and_its_user_is_told(small_budget):
    first, second = sessions.get_session("first"), sessions.get_session("second")
    for session in (first, second):
        session.results["feature_extraction"] = _fake_result("feature_extraction", 2**18)  # 1 MB
    assert sessions.session_bytes(first) == 2**20
    sessions.get_session("first")  # the first user comes back: now "second" is idle longest
    third = sessions.get_session("third")
    third.results["feature_extraction"] = _fake_result("feature_extraction", 2**18)
    assert sessions.enforce_budget() == ["second"]
    assert not second.work_dir.exists()  # its folder is gone too
    with pytest.raises(ValueError, match="Your session expired.*Train again"):
        sessions.get_session("second").result()
    with pytest.raises(ValueError, match="press Train first"):
        sessions.get_session("never-seen").result()
    assert sessions.get_session("first").result().strategy == "feature_extraction"


def test_a_training_session_is_never_evicted_and_idle_ones_are_freed(small_budget, monkeypatch):
    busy = sessions.get_session("busy")
    busy.results["full_fine_tune"] = _fake_result("full_fine_tune", 2**20)  # 4 MB, over the whole budget
    busy.lock.acquire()
    try:
        assert sessions.enforce_budget() == []
    finally:
        busy.lock.release()
    api_only = sessions.get_session("api-only")  # an API client never fires unload
    api_only.last_used -= 2 * small_budget.session_idle_s
    sessions.get_session("someone-else")
    assert sessions.find_session("api-only") is None and not api_only.work_dir.exists()


def test_each_model_is_exported_once(small_budget, tmp_path):
    session = sessions.get_session("exporter")
    result, writes = _fake_result("feature_extraction", 4), []

    def make():
        writes.append(1)
        path = tmp_path / f"export-{len(writes)}.zip"
        path.write_bytes(b"zip")
        return path

    assert sessions.export_once(session, result, make) == sessions.export_once(session, result, make)
    assert len(writes) == 1
    sessions.export_once(session, _fake_result("feature_extraction", 4), make)  # a retrained model: new file
    assert len(writes) == 2


@pytest.mark.parametrize(
    "field, value, message",
    [("learning_rate", 1e30, "learning rate"), ("batch_size", 1e9, "batch size"), ("epochs", 1e6, "epochs"),
     ("seed", -1, "seed"), ("seed", 2**70, "seed"), ("epochs", "abc", "epochs"), ("strategy", "magic", "Unknown strategy")],
)
def test_training_settings_are_checked_with_readable_messages(field, value, message):
    with pytest.raises(ValueError, match=message):
        checks.config_values(**{field: value})


def test_good_settings_pass_and_strategies_are_ordered():
    values = checks.config_values(learning_rate="0.001", epochs=3.0, seed="7")
    assert values["learning_rate"] == 0.001 and values["epochs"] == 3 and values["seed"] == 7
    assert checks.config_values(learning_rate=0)["learning_rate"] is None  # 0 = the strategy's default
    assert checks.check_strategies(["from_scratch", "feature_extraction"]) == ["feature_extraction", "from_scratch"]
    with pytest.raises(ValueError, match="Tick at least one strategy"):
        checks.check_strategies(None)
    with pytest.raises(ValueError, match="at least 2 folds"):
        checks.check_kfold(1)
