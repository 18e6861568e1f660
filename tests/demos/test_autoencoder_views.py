"""The Autoencoder tab on the tab contract, built without a server (fast tier: no model is loaded)."""

from __future__ import annotations

import inspect
from pathlib import Path

import gradio as gr
import pytest

import demos.autoencoder as autoencoder
from demos.autoencoder import anomalies, denoise, latent, table
from demos.common.contract import OnOpen, TabHandles, ViewHandles
from demos.common.opening import wire_on_open

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "demos" / "autoencoder"
VIEWS = ("denoise", "anomalies", "table", "latent", "variational")
PUBLIC = {"ae_denoise", "ae_hub_roundtrip", "ae_anomaly", "ae_anomaly_drawn", "ae_anomaly_threshold",
          "ae_decode_latent", "ae_interpolate", "vae_encode", "vae_sample", "ae_tabular"}


@pytest.fixture(scope="module")
def built():
    with gr.Blocks() as demo:
        with gr.Tabs():
            handles = autoencoder.build(demo)
    return demo, handles


def _chain(spec: OnOpen):
    yield spec
    for child in spec.then:
        yield from _chain(child)


def test_build_returns_tab_handles_with_todays_ids(built):
    demo, handles = built
    assert isinstance(handles, TabHandles) and handles.tab == "autoencoder"
    assert isinstance(handles.page, gr.Tab) and (handles.page.id, handles.page.elem_id) == ("autoencoder", "ae-tab")
    assert isinstance(handles.subtabs, gr.Tabs) and handles.subtabs.elem_id == "ae-subtabs"
    assert isinstance(handles.intro, gr.Markdown) and "nd-intro-text" in handles.intro.elem_classes
    assert [view.sub for view in handles.views][:4] == ["denoise", "anomalies", "table", "latent"]  # more follow
    assert [(view.page.id, view.page.elem_id) for view in handles.views[:4]] == [
        ("ae-denoise", "ae-denoise-tab"), ("ae-anomalies", "ae-anomaly-tab"), ("ae-table", "ae-table-tab"),
        ("ae-latent", "ae-latent-tab")]


def test_every_view_keeps_the_contract(built):
    demo, handles = built
    blocks = set(demo.blocks.values())
    for view in handles.views:
        assert isinstance(view, ViewHandles) and view.tab == "autoencoder", view
        assert isinstance(view.page, gr.Tab) and view.result in blocks, view.key
        assert view.on_open and all(isinstance(spec, OnOpen) for spec in view.on_open), view.key
        names = [param.name for param in view.link]
        assert names and len(names) == len(set(names)), view.key
        assert all(param.component in blocks for param in view.link), view.key
        for spec in view.on_open:
            for step in _chain(spec):
                assert all(component in blocks for component in (*step.inputs, *step.outputs)), (view.key, step.fn)
    links = {view.sub: [param.name for param in view.link] for view in handles.views[:4]}
    assert links == {"denoise": ["example", "noise", "level", "seed", "classical"],
                     "anomalies": ["example", "threshold", "normalisation"],
                     "table": ["alert", "seed", "label"],
                     "latent": ["x", "y", "from", "to", "steps"]}


def test_main_results_and_openings(built):
    _, handles = built
    views = {view.sub: view for view in handles.views}
    assert [v.result.elem_id for v in handles.views[:4]] == ["ae-denoised", "ae-heatmap", "ae-table-hist", "ae-latent-map"]
    assert [step.fn for step in _chain(views["table"].on_open[0])] == [table.ae_tabular_ui]
    assert views["denoise"].on_open[0].fn is denoise.ae_denoise
    anomaly_steps = [step.fn for step in _chain(views["anomalies"].on_open[0])]
    assert anomaly_steps == [anomalies.ae_anomaly, anomalies.load_for_drawing, anomalies.ae_anomaly_threshold]
    # The latent view opens one step after another: two of them draw on the same map.
    spec, order = views["latent"].on_open[0], []
    while spec is not None:
        order.append(spec.fn)
        assert len(spec.then) <= 1
        spec = spec.then[0] if spec.then else None
    assert order == [latent.ae_latent_map, latent.ae_decode_latent, latent.ae_interpolate, latent.ae_bottleneck]


def test_on_open_specs_wire_on_a_tab_select():
    with gr.Blocks() as demo:
        with gr.Tabs():
            handles = autoencoder.build(demo)
        before = len(demo.fns)
        for view in handles.views:
            for spec in view.on_open:
                wire_on_open(spec, lambda **kw: view.page.select(**kw))
    assert len(demo.fns) - before == sum(len(list(_chain(s))) for v in handles.views for s in v.on_open)
    assert all(fn.api_visibility == "private" for fn in list(demo.fns.values())[before:])


def test_image_links_name_committed_examples(built):
    _, handles = built
    for view in handles.views:
        for param in view.link:
            if isinstance(param.component, gr.Image):
                assert param.choices, (view.key, param.name)
                assert all(Path(path).is_file() and Path(path).stem == name for name, path in param.choices.items())
    textures = next(p for p in handles.views[1].link if p.name == "example").choices
    for texture in ("brick", "grass", "gravel"):  # every texture the anomaly model knows, normal and defective
        assert f"{texture}_normal" in textures, texture
        assert any(name.startswith(f"{texture}_") and not name.endswith("_normal") for name in textures), texture


def test_at_most_ten_public_endpoints_with_defaults_and_integer_inputs(built):
    demo, _ = built
    public = {fn.api_name: fn for fn in demo.fns.values() if fn.fn and fn.api_visibility == "public"}
    assert set(public) == PUBLIC
    for name, fn in public.items():
        handler = inspect.unwrap(fn.fn)
        params = list(inspect.signature(handler).parameters.values())
        assert all(p.default is not inspect.Parameter.empty for p in params[1:]), name
        assert "``" not in (handler.__doc__ or ""), name
    seed = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "ae-noise-seed")
    steps = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "ae-interp-steps")
    table_seed = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "ae-table-seed")
    assert seed.precision == 0 and steps.precision == 0 and table_seed.precision == 0
    # /ae_tabular's own hidden inputs hold the API's defaults (gradio_client fills omitted arguments from them).
    fn = next(fn for fn in demo.fns.values() if fn.api_name == "ae_tabular")
    assert [getattr(block, "value", None) for block in fn.inputs[1:]] == ["", "", 1.0, 0]
    assert fn.inputs[4].precision == 0


def test_the_drawing_editor_opens_on_a_thin_brush(built):
    demo, _ = built
    editor = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "ae-editor")
    assert isinstance(editor, gr.ImageEditor)
    assert editor.brush.default_size <= 3  # a thin scratch on a 128-pixel texture, not a 50-pixel smear
    assert not editor.sources and not editor.transforms  # brush and eraser are the only tools


def test_drawing_handlers_refuse_bad_input_clearly():
    with pytest.raises(gr.Error, match="normal textures"):
        anomalies.load_for_drawing("../../etc/passwd")
    with pytest.raises(gr.Error, match="Nothing to score"):
        anomalies.ae_anomaly_drawn({"background": None, "layers": [], "composite": None})
    update = anomalies.load_for_drawing("grass_normal")
    value = update["value"]
    assert update["visible"] is True  # the editor is built hidden and shown by its first texture
    assert value["background"].size == (128, 128) and value["layers"] == []


def test_files_stay_short():
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) < 600, path.name
