"""The example run the "Train your own" view opens with: trained once per process, copied into each session."""

from __future__ import annotations

import threading

import pytest

from engine.transfer import example, session as sessions
from engine.transfer.train import TrainConfig


@pytest.fixture()
def fresh_sessions(monkeypatch):
    monkeypatch.setattr(sessions, "_sessions", type(sessions._sessions)())
    monkeypatch.setattr(sessions, "_expired", type(sessions._expired)())


def test_concurrent_first_visitors_share_one_training(monkeypatch):
    calls = []
    real = example.train_transfer

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(example, "train_transfer", counted)
    example._train.cache_clear()
    runs = []
    threads = [threading.Thread(target=lambda: runs.append(example.example_run())) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(calls) == 1 and len(runs) == 3 and runs[0] is runs[1] is runs[2]
    run = runs[0]
    assert run.dataset.modality == "text" and run.result.strategy == "feature_extraction"
    assert run.result.metrics.accuracy >= 0.8 and run.result.stop_reason.startswith("converged")  # the linear head is fitted to convergence
    assert run.features, "the frozen features come with the run"


def test_each_session_gets_a_copy_that_its_own_training_replaces(fresh_sessions):
    run = example.example_run()
    mine, theirs = sessions.get_session("mine"), sessions.get_session("theirs")
    assert example.adopt(mine, run) and example.adopt(theirs, run)
    assert mine.results is not theirs.results and mine.results["feature_extraction"] is run.result
    assert example.is_example(mine) and mine.dataset is run.dataset
    # The shared model (MiniLM, ~91 MB) is not counted in each session's memory; its features (~200 kB) are.
    assert sessions.session_bytes(mine) < 2**20
    assert not example.adopt(mine, run)  # already has data: kept as it is

    sessions.wait_for_training(mine, ["feature_extraction"], TrainConfig(epochs=2))
    own = mine.results["feature_extraction"]
    assert own is not run.result and own.feature_seconds == 0.0  # the example's features were reused
    assert not example.is_example(mine) and example.is_example(theirs)
    assert theirs.results["feature_extraction"] is run.result  # another visitor's copy is untouched
    sessions.set_dataset(theirs, run.dataset)
    assert theirs.shared == () and not theirs.results


def test_a_session_with_its_own_data_keeps_it(fresh_sessions):
    run = example.example_run()
    session = sessions.get_session("own")
    from engine.transfer.data import load_builtin

    sessions.set_dataset(session, load_builtin("textures"))
    assert not example.adopt(session, run)
    assert session.dataset.modality == "image" and not session.results


def test_a_preview_holds_the_example_without_a_visitor_session(fresh_sessions):
    preview = example.preview()
    assert example.is_example(preview) and preview.result().strategy == "feature_extraction"
    assert sessions.session_count() == 0  # nobody's session was created for it
