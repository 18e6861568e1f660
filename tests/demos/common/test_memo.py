"""Opening results kept per process (demos.common.memo): computed once for the same inputs, other inputs computed as
asked, bounded, never shared through containers gradio changes, and never for a session's own model."""

from __future__ import annotations

import importlib
import sys
import threading
import time
import types

import pytest
from PIL import Image

from demos.common.memo import memoised


def _fake_engine_module(monkeypatch, name: str, **attributes) -> None:
    """An engine module the handler imports, replaced by a stand-in (no torch to import for a fast test)."""
    package, _, leaf = name.rpartition(".")
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(importlib.import_module(package), leaf, module, raising=False)


def test_the_same_arguments_compute_once_and_others_compute_as_asked():
    calls = []

    @memoised(capacity=2)
    def square(x, progress=None):
        calls.append(x)
        return {"value": x * x}

    assert square(3) == square(3, progress=object()) == {"value": 9}  # progress is not part of the key
    assert calls == [3]
    assert square(4) == {"value": 16} and calls == [3, 4]
    square(5)  # capacity 2: 3, the least recently used, leaves
    assert len(square.memo) == 2
    square(3)
    assert calls == [3, 4, 5, 3]


def test_equal_looking_inputs_of_other_types_are_kept_apart():
    @memoised()
    def describe(value):
        return repr(value)

    assert [describe(v) for v in (0, 0.0, False, "0")] == ["0", "0.0", "False", "'0'"]


def test_each_caller_gets_its_own_containers():
    @memoised()
    def opening():
        return {"value": 1, "visible": True}, [1, 2]

    first = opening()
    first[0].pop("value")  # what gradio does to a gr.update dict
    first[1].append(3)
    assert opening() == ({"value": 1, "visible": True}, [1, 2])


def test_errors_files_and_long_text_are_not_kept():
    calls = []

    @memoised()
    def handler(value):
        calls.append(value)
        if value == "bad":
            raise ValueError("bad input")
        return value

    for _ in range(2):
        with pytest.raises(ValueError):
            handler("bad")
        handler({"path": "/tmp/upload.png"})
        handler("x" * 1000)
    assert len(calls) == 6 and len(handler.memo) == 0


def test_concurrent_callers_with_the_same_inputs_wait_for_one_computation():
    calls = []

    @memoised()
    def slow(x):
        calls.append(x)
        time.sleep(0.05)
        return x

    threads = [threading.Thread(target=slow, args=(7,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [7]


def test_streaming_handlers_are_refused():
    with pytest.raises(TypeError):
        @memoised()
        def stream():
            yield 1


def test_the_faces_truncation_row_is_drawn_once_for_its_default_seed(monkeypatch):
    from demos.gan import faces

    calls = []

    def grid(seed, rows=3, on_progress=None):
        calls.append(seed)
        return [[Image.new("RGB", (8, 8), (seed * 40 % 256, 0, 0))] * 4 for _ in range(rows)]

    monkeypatch.setattr(faces.face_engine, "truncation_grid", grid)
    first, second = faces.gan_faces_truncation(), faces.gan_faces_truncation(faces.TRUNCATION_SEED)
    assert first.tobytes() == second.tobytes() and calls == [faces.TRUNCATION_SEED]
    faces.gan_faces_truncation(1)
    assert calls == [faces.TRUNCATION_SEED, 1]


def test_the_faces_interpolation_is_drawn_once_and_its_gif_published_each_time(monkeypatch, tmp_path):
    from demos.gan import faces

    calls, published = [], []

    class Result:
        frames, space = [Image.new("RGB", (8, 8))] * 2, "w"

        def payload(self):
            return {"space": "w", "seed_a": 0, "seed_b": 1, "frames": 2, "psi": 0.7, "w_path_detour": 1.0,
                    "step_unevenness": 1.0}

    monkeypatch.setattr(faces.faces_interpolate, "interpolate_faces", lambda *a, **k: calls.append(a) or Result())
    monkeypatch.setattr(faces, "_cache_file", lambda key, suffix, data: published.append(data) or str(tmp_path / "x.gif"))
    first = faces.gan_faces_interpolate(0, 1, 2, "w", 0.7)
    second = faces.gan_faces_interpolate(0, 1, 2, "w", 0.7)
    assert first[2:] == second[2:] and len(calls) == 1 and len(published) == 2


def test_the_latent_map_opening_is_drawn_once_and_its_updates_stay_whole(monkeypatch):
    from demos.autoencoder.latent import ae_latent_map

    calls = []
    _fake_engine_module(monkeypatch, "engine.autoencoder.latent", map_view=lambda: calls.append(1) or (
        Image.new("RGB", (4, 4)), (-1.0, 1.0), (-2.0, 2.0)))
    first = ae_latent_map()
    first[1].clear()
    second = ae_latent_map()
    assert len(calls) == 1 and second[1] == {"__type__": "update", "minimum": -1.0, "maximum": 1.0}


def test_the_text_view_keeps_the_embedded_models_opening_never_a_sessions_fine_tuned_one(monkeypatch):
    from demos.attention import text

    computed = []
    monkeypatch.setattr(text, "_finetuned_attention", lambda *a: computed.append("fine-tuned") or "fine-tuned result")
    monkeypatch.setattr(text, "_shown", lambda result, *rest: (result, *rest))
    _fake_engine_module(monkeypatch, "engine.attention.text",
                        text_attention=lambda *a, **k: computed.append("minilm") or "minilm result")
    for _ in range(2):
        assert text.attention_text("A cat sat.")[0] == "minilm result"
        assert text.attention_text("A cat sat.", "", "fine-tuned")[0] == "fine-tuned result"
    assert computed == ["minilm", "fine-tuned", "fine-tuned"]
    text.attention_text("Another sentence.")
    assert computed[-1] == "minilm"


def test_a_handler_that_returns_none_is_computed_once():
    calls = []

    @memoised(capacity=2)
    def nothing(seed=0):
        calls.append(seed)

    assert nothing(1) is None and nothing(1) is None and calls == [1]
