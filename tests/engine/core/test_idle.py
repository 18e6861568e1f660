"""Models hand back buffers they rebuild on next use when the app is idle (engine.core.idle)."""

from __future__ import annotations

import gc

import pytest

from engine.core import idle


class _Model:
    def __init__(self, result=True, fail=False) -> None:
        self.calls, self.result, self.fail = 0, result, fail

    def release(self):
        self.calls += 1
        if self.fail:
            raise RuntimeError("boom")
        return self.result


@pytest.fixture(autouse=True)
def no_other_models(monkeypatch):  # models other tests loaded (the face generator) stay out of these counts
    monkeypatch.setattr(idle, "_releasers", [])


def test_release_all_calls_every_live_releaser_and_survives_a_failure():
    freed, busy, broken = _Model(), _Model(result=False), _Model(fail=True)
    for model in (broken, freed, busy):
        idle.register(model.release)
    assert idle.release_all() == 1  # only `freed` released something; `broken` raised and did not stop the rest
    assert (freed.calls, busy.calls, broken.calls) == (1, 1, 1)


def test_registering_keeps_no_model_alive():
    model = _Model()
    idle.register(model.release)
    del model  # no cycles: gone at once (a gc.collect() of the test process's heap costs ~0.8 s)
    assert idle.release_all() == 0  # the dead entry is skipped, not called
    kept = _Model()
    idle.register(kept.release)  # registering prunes dead entries
    assert len(idle._releasers) == 1 and idle.release_all() == 1
