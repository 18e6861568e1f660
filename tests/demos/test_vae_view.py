"""Autoencoder > Variational on the tab contract, built without a server (fast tier: no model is loaded)."""

from __future__ import annotations

import inspect

import gradio as gr
import pytest

import demos.autoencoder as autoencoder
from demos.autoencoder import variational


@pytest.fixture(scope="module")
def view():
    with gr.Blocks() as demo:
        with gr.Tabs():
            handles = autoencoder.build(demo)
    return demo, next(v for v in handles.views if v.sub == "variational")


def _chain(spec):
    yield spec
    for child in spec.then:
        yield from _chain(child)


def test_view_ids_links_and_opening(view):
    demo, handles = view
    assert (handles.page.id, handles.page.elem_id) == ("ae-variational", "ae-variational-tab")
    assert handles.result.elem_id == "vae-encode-card"
    assert [p.name for p in handles.link] == ["example", "point_seed", "seed", "count", "beta"]
    example = handles.link[0]
    assert isinstance(example.component, gr.Image) and set(example.choices) == {f"digit_{d}" for d in range(10)}
    steps = [step.fn for step in _chain(handles.on_open[0])]
    assert steps == [variational.vae_encode, variational.vae_random_point, variational.vae_sample,
                     variational.vae_live_open]
    blocks = set(demo.blocks.values())
    assert all(c in blocks for step in _chain(handles.on_open[0]) for c in (*step.inputs, *step.outputs))


def test_public_endpoints_and_integer_inputs(view):
    demo, _ = view
    fns = {fn.api_name: fn for fn in demo.fns.values() if fn.fn and fn.api_name and "vae" in fn.api_name}
    public = {name for name, fn in fns.items() if fn.api_visibility == "public"}
    assert public == {"vae_encode", "vae_sample"}
    for name in public:
        handler = inspect.unwrap(fns[name].fn)
        assert "``" not in (handler.__doc__ or "")
        assert all(p.default is not inspect.Parameter.empty for p in list(inspect.signature(handler).parameters.values())[1:])
    live = next(fn for fn in demo.fns.values() if fn.fn and inspect.unwrap(fn.fn) is inspect.unwrap(variational.vae_live))
    assert live.concurrency_limit == variational.LIVE_CONCURRENCY and live.time_limit
    by_id = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    assert by_id["vae-seed"].precision == 0 and by_id["vae-point-seed"].precision == 0 and by_id["vae-count"].step == 1


def test_handlers_refuse_bad_input_clearly():
    with pytest.raises(gr.Error, match="No image given"):
        variational.vae_encode(None)
    with pytest.raises(gr.Error, match="sketchpad is empty"):
        variational.vae_encode_sketch({"background": None, "layers": [], "composite": None})
    with pytest.raises(gr.Error, match="beta must be a number from 0 to 8"):
        list(variational.vae_live("lots"))


def test_view_constants_match_the_engine():
    from engine.autoencoder import vae, vae_train

    assert (variational.MAX_SEED, variational.MAX_COUNT) == (vae.MAX_SEED, vae.MAX_COUNT)
    assert variational.BETA_RANGE == vae_train.BETA_RANGE and variational.LIVE_CONCURRENCY == vae_train.LIVE_MAX_RUNS
