"""Issue 24 #7: a model handle names one trained model, so an API client needs no session; handles are bounded."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch.nn as nn

from engine.transfer import handles, session as sessions


class _Result(SimpleNamespace):
    """A stand-in TrainResult: a weight-bearing model and a strategy."""


def _train(key: str, strategy: str = "feature_extraction"):
    session = sessions.get_session(key)
    result = _Result(model=nn.Linear(4, 1), strategy=strategy, metrics=SimpleNamespace(accuracy=0.9), train_seconds=1.0)
    session.results[strategy] = result
    return session, result


@pytest.fixture()
def store(monkeypatch):
    monkeypatch.setattr(sessions, "_sessions", type(sessions._sessions)())
    monkeypatch.setattr(sessions, "_expired", type(sessions._expired)())
    monkeypatch.setattr(sessions, "LIMITS", dataclasses.replace(sessions.LIMITS, session_idle_s=3600))
    monkeypatch.setattr(handles, "_handles", type(handles._handles)())
    monkeypatch.setattr(handles, "LIMITS", dataclasses.replace(handles.LIMITS, transfer_handles=3))


def test_a_handle_finds_its_model_from_anywhere(store):
    session, result = _train("trainer")
    handle = handles.issue("trainer", result)
    assert isinstance(handle, str) and 16 <= len(handle) <= 64
    assert handles.issue("trainer", result) != handle  # unguessable: every call issues a fresh one
    found_session, found = handles.resolve(f"  {handle} ")
    assert found_session is session and found is result


@pytest.mark.parametrize("bad", ["nope", "x" * 10_000, {"a": 1}, 7], ids=["unknown", "huge", "dict", "int"])
def test_an_unknown_handle_is_a_clear_error(store, bad):
    with pytest.raises(ValueError) as caught:
        handles.resolve(bad)
    message = str(caught.value)
    assert "unknown or expired" in message and "/transfer_train" in message and len(message) < 300


def test_a_handle_expires_with_its_session_or_when_its_model_is_replaced(store):
    _, result = _train("a")
    handle = handles.issue("a", result)
    _train("a")  # the same strategy trained again: a different model
    with pytest.raises(ValueError, match=r"Model handle '.*' is unknown or expired; train again with /transfer_train"):
        handles.resolve(handle)
    _, result = _train("b")
    handle = handles.issue("b", result)
    sessions.drop_session("b")  # freed (unload, idleness or the memory budget)
    with pytest.raises(ValueError, match="unknown or expired"):
        handles.resolve(handle)


def test_handles_are_bounded_the_oldest_is_forgotten_and_hold_no_model(store):
    issued = []
    for key in "pqrs":
        issued.append(handles.issue(key, _train(key)[1]))
    assert handles.count() == 3
    with pytest.raises(ValueError, match="unknown or expired"):
        handles.resolve(issued[0])
    assert handles.resolve(issued[-1])[1].strategy == "feature_extraction"
    # A handle keeps no model alive: the session's memory budget stays the only owner of the weights.
    sessions.get_session("s").results.clear()
    import gc

    gc.collect()
    with pytest.raises(ValueError, match="unknown or expired"):
        handles.resolve(issued[-1])


def test_using_a_handle_keeps_its_session_from_going_idle(store):
    session, result = _train("busy")
    handle = handles.issue("busy", result)
    session.last_used -= 1000
    handles.resolve(handle)
    assert session.last_used > sessions.time.monotonic() - 5
