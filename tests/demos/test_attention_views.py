"""The Attention tab on the tab contract (fast tier, no server): its handles, its API surface, the package's
imports, the sketchpad's opening state and the handlers that need no model."""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import gradio as gr
import pytest
from PIL import Image

from demos import attention
from demos.attention import decoder, image, seq2seq, text
from demos.common.contract import OnOpen, TabHandles, ViewHandles

VIEWS = {"text", "decoder", "image", "seq2seq"}
PUBLIC = {"attention_text", "attention_generate", "attention_kv_cache", "attention_image", "attention_gradcam",
          "seq2seq_view", "seq2seq_translate", "seq2seq_what_if",
          "attention_qkv", "decoder_logit_lens", "decoder_ablate"}  # the last three: issue #21's X-ray
LINKS = {"text": {"text", "pair", "model", "layer", "head"},
         "decoder": {"prompt", "max_tokens", "temperature", "top_k", "top_p", "seed", "chat", "model"},
         "image": {"example", "model", "layer", "head"},
         "seq2seq": {"text", "model", "layer", "head"}}


@pytest.fixture(scope="module")
def built():
    with gr.Blocks() as demo:
        handles = attention.build(demo)
    return demo, handles


def _components(demo):
    return {id(block) for block in demo.blocks.values()}


def _specs(spec: OnOpen):
    yield spec
    for child in spec.then:
        yield from _specs(child)


def test_build_returns_the_tab_and_its_four_views(built):
    demo, handles = built
    assert isinstance(handles, TabHandles) and handles.tab == "attention"
    assert isinstance(handles.page, gr.Tab) and handles.page.id == "attention" and handles.page.elem_id == "tab-attention"
    assert isinstance(handles.subtabs, gr.Tabs) and handles.subtabs.elem_id == "attention-subtabs"
    assert "nd-intro-text" in handles.intro.elem_classes
    assert [view.sub for view in handles.views] == ["text", "decoder", "image", "seq2seq"]
    expected_ids = {"text": "attention-text", "decoder": "attention-decoder", "image": "attention-image",
                    "seq2seq": "attention-seq2seq"}
    for view in handles.views:
        assert isinstance(view, ViewHandles) and view.tab == "attention"
        assert isinstance(view.page, gr.Tab) and view.page.id == expected_ids[view.sub]
        assert view.page.elem_id == f"tab-{expected_ids[view.sub]}"
        assert id(view.result) in _components(demo)


def test_every_view_opens_with_a_result_computed_from_its_link_inputs(built):
    """The stage sets a link's (or a cross link's) values, then runs on_open: the opening must read them."""
    demo, handles = built
    known = _components(demo)
    for view in handles.views:
        assert view.on_open, view.sub
        for spec in (s for top in view.on_open for s in _specs(top)):
            assert callable(spec.fn) and spec.outputs
            assert all(id(c) in known for c in (*spec.inputs, *spec.outputs)), view.sub
        opening_inputs = {id(c) for c in view.on_open[0].inputs}
        for param in view.link:
            assert id(param.component) in opening_inputs, f"{view.sub}: ?{param.name}= is not read on open"
        assert view.result in view.on_open[0].outputs


def test_link_names_are_unique_and_name_the_main_inputs(built):
    demo, handles = built
    known = _components(demo)
    for view in handles.views:
        names = [param.name for param in view.link]
        assert len(names) == len(set(names)) and set(names) == LINKS[view.sub], view.sub
        assert all(id(param.component) in known for param in view.link)
    by_view = {view.sub: {p.name: p for p in view.link} for view in handles.views}
    example = by_view["image"]["example"]
    assert example.choices and set(example.choices) == {f"digit_{d}" for d in range(10)}
    assert all(Path(path).is_file() for path in example.choices.values())
    assert by_view["seq2seq"]["text"].component.elem_id == "s2s-text"  # ?sub=seq2seq&text=... fills the date
    for sub, name in (("decoder", "seed"), ("decoder", "top_k")):
        number = by_view[sub][name].component
        assert number.precision == 0 and number.minimum == 0 and number.maximum is not None
    # The Transfer tab's "Open in Attention" sets text and model "fine-tuned:<strategy>": a value the box offers.
    model = by_view["text"]["model"].component
    assert "fine-tuned:full_fine_tune" in [value for _, value in model.choices]


def test_at_most_eleven_public_endpoints_each_with_defaults_after_the_first(built):
    demo, _ = built
    public = {fn.api_name: fn.fn for fn in demo.fns.values() if fn.fn is not None and fn.api_visibility == "public"}
    assert set(public) == PUBLIC
    for name, fn in public.items():
        parameters = [p for p in inspect.signature(inspect.unwrap(fn)).parameters.values()
                      if p.name not in {"request", "progress"}]
        assert all(p.default is not inspect.Parameter.empty for p in parameters[1:]), name
        assert "``" not in (inspect.getdoc(fn) or ""), name  # the API page shows docstrings as plain text


def test_the_sketchpad_opens_on_a_blank_canvas_with_the_pen(built):
    """A value with a background opens the editor with its brush selected (an empty editor opens on its
    image tool, where dragging selected the hint text); the hint is never selectable."""
    demo, _ = built
    sketch = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "attn-sketch")
    background = sketch.value["background"]
    path = background["path"] if isinstance(background, dict) else background.path
    with Image.open(path) as canvas:
        assert canvas.size == image.CANVAS and canvas.convert("L").getextrema() == (255, 255)
    assert sketch.brush.default_size == image.PEN_PX and sketch.brush.colors == ["#000000"]
    assert "#attn-sketch" in attention.CSS and "user-select: none" in attention.CSS


def test_each_classify_clears_the_previous_prediction_first(built):
    """An upload or a drawing that fails must not leave the previous input's prediction on screen."""
    demo, _ = built
    fns = {fn._id: fn for fn in demo.fns.values()}
    label = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "attn-image-label")
    for api_name in ("attention_image", "attention_sketch"):
        event = next(fn for fn in demo.fns.values() if fn.api_name == api_name)
        before = fns[event.trigger_after]
        assert before.fn is image.clear_result and label in before.outputs and not before.queue
    cleared = image.clear_result()
    assert cleared[:5] == (None,) * 5


def test_the_xray_panels_open_after_their_views_first_result_and_the_scan_waits_for_its_button(built):
    """Q/K/V (Text, Decoder), the lens and one ablation (Decoder) are steps chained after the view's own opening
    result, so they never delay it; the 270-head scan is never part of an opening."""
    from demos.attention import lens_panel, qkv_panel

    _, handles = built
    views = {view.sub: view for view in handles.views}
    text_steps = [spec.fn for spec in _specs(views["text"].on_open[0])]
    assert text_steps[0] is text.attention_text and text_steps[1] is qkv_panel.minilm_qkv_open
    decoder_steps = [spec.fn for spec in _specs(views["decoder"].on_open[0])]
    assert decoder_steps[:3] == [decoder.decoder_open, qkv_panel.smollm2_qkv_open, lens_panel.decoder_xray_open]
    assert decoder.decoder_kv_default in decoder_steps and lens_panel.decoder_ablation_scan not in decoder_steps


def test_presenter_css_makes_the_decoder_tokens_large():
    rule = next(line for line in attention.CSS.splitlines() if "#dec-tokens" in line and "font-size" in line)
    assert rule.startswith("body.nd-presenter") and int(rule.split("font-size:")[1].split("px")[0]) >= 18


@pytest.mark.parametrize("value, message", [
    ({"background": None, "layers": [], "composite": None}, "sketchpad is empty"),
    (None, "sketchpad is empty"),
])
def test_an_empty_sketch_is_refused_clearly(value, message):
    with pytest.raises(gr.Error, match=message):
        image.attention_sketch(value)


def test_bad_files_inside_a_sketch_get_readable_messages(tmp_path):
    from tests.support import png_header_only

    notes = tmp_path / "notes.png"
    notes.write_text("not an image at all")
    huge = tmp_path / "huge.png"
    huge.write_bytes(png_header_only(30000, 30000))
    for path, message in ((notes, "not an image"), (huge, "too many pixels|pixels")):
        with pytest.raises(gr.Error, match=message):
            image.attention_sketch({"background": None, "layers": [], "composite": {"path": str(path)}})
    with pytest.raises(gr.Error, match="Head fusion"):
        image.attention_image(image.DIGIT_EXAMPLES["digit_3"], head_fusion="median")


@pytest.fixture()
def fake_decoder(monkeypatch):
    """engine.attention.decoder (and what the view imports with it) replaced by stand-ins that record calls."""
    import engine.attention

    calls = []
    fake = types.SimpleNamespace(open_default=lambda: calls.append(("open_default",)) or iter(()),
                                 generate_stream=lambda *args, **kwargs: calls.append(("generate_stream", args)) or iter(()))
    for name, module in (("decoder", fake), ("decoder_load", types.SimpleNamespace()),
                         ("decoder_render", types.SimpleNamespace())):
        monkeypatch.setitem(sys.modules, f"engine.attention.{name}", module)
        monkeypatch.setattr(engine.attention, name, module, raising=False)
    return calls


def test_the_decoder_opens_on_the_kept_default_or_on_a_linked_prompt(fake_decoder):
    list(decoder.decoder_open(*decoder.OPENING))
    assert fake_decoder == [("open_default",)]
    list(decoder.decoder_open("Once upon a time", 16, 0.0, 50, 0.95, 0, False, "smollm2"))
    assert fake_decoder[1] == ("generate_stream", ("Once upon a time", 16, 0.0, 50, 0.95, 0, False))


def test_text_on_open_passes_the_session_for_a_fine_tuned_model():
    """The Transfer tab's sentence opens with model "fine-tuned:<strategy>", read from the caller's session."""
    assert "request" in inspect.signature(text.attention_text).parameters
    with pytest.raises(gr.Error, match="no session"):
        text.attention_text("A sentence.", "", "fine-tuned:full_fine_tune", request=None)


@pytest.mark.parametrize("args, message", [
    ((0, "transformer", 0.5), "The training time in seconds must be a number from 1 to 90; got 0.5"),
    ((0, "transformer", "nan"), "The training time in seconds must be a number from 1 to 90; got 'nan'"),
    ((-1, "transformer", 5), "The seed must be a whole number from 0 to 4,294,967,295; got -1"),
    ((1e30, "transformer", 5), r"The seed must be a whole number .*; got 1e\+30"),  # was "Overflow when unpacking long long"
    (("x", "transformer", 5), "The seed must be a whole number"),
])
def test_train_live_refuses_bad_settings(args, message):
    with pytest.raises(gr.Error, match=message):
        list(seq2seq.seq2seq_train_live(*args))


def test_train_live_streams_and_a_third_session_waits_in_line_then_starts():
    """Two sessions train at once; a third waits in line, sees its place, and starts when a slot frees (it was
    refused with "press Train live again", issue #24)."""
    from engine.attention.seq2seq import live

    frames = list(seq2seq.seq2seq_train_live(0, "transformer", 1))
    loss, cross, status, session = frames[-1]
    assert loss is not None and "step" in status and session.step > 0
    assert 'class="nd-chart"' in cross and f"step {session.step}" in cross  # the live cross-attention, as SVG
    first, second = live.wait_for_slot(0.01), live.wait_for_slot(0.01)
    assert list(first) == [] and list(second) == [] and live.active_runs() == 2
    third = seq2seq.seq2seq_train_live(0, "transformer", 1)
    waiting = next(third)
    assert "number 1** in line" in waiting[2] and live.waiting() == 1
    fourth = seq2seq.seq2seq_train_live(1, "transformer", 1)
    assert "number 2** in line" in next(fourth)[2]
    fourth.close()  # left the page while waiting: leaves the line
    assert live.waiting() == 1
    live.release_slot()
    rest = list(third)
    assert rest and rest[-1][3].step > 0 and live.active_runs() == 1
    live.release_slot()
    assert live.active_runs() == 0 and live.waiting() == 0


# ----------------------------------------------------------------- the Decoder's timing: what the viewer saw (issue #23)
def _listeners(demo, component, event):
    return [fn for fn in demo.fns.values() if (component._id, event) in fn.targets]


def test_decoder_times_tokens_in_the_page_from_the_generate_click(built):
    demo, _ = built
    viewer = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "dec-viewer-speed")
    assert "appears after you press Generate" in viewer.value
    run = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "dec-run")
    tokens = next(block for block in demo.blocks.values() if getattr(block, "elem_id", None) == "dec-tokens")
    clicks = _listeners(demo, run, "click")
    stamp = next(fn for fn in clicks if fn.js and "performance.now()" in fn.js)
    generate = next(fn for fn in clicks if fn.fn is not None and fn.fn.__name__ == "decoder_generate")
    assert stamp.fn is None and stamp.api_visibility == "private" and not stamp.queue
    assert [c._id for c in stamp.outputs] == [viewer._id]
    assert clicks.index(stamp) < clicks.index(generate)  # the time is taken before the request leaves
    (arrival,) = [fn for fn in _listeners(demo, tokens, "change") if fn.js]
    assert arrival.fn is None and arrival.api_visibility == "private"
    assert [c._id for c in arrival.inputs] == [tokens._id] and [c._id for c in arrival.outputs] == [viewer._id]


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_the_page_figures_count_generated_tokens_from_the_click():
    # The two browser functions run in node with a fake clock: click at 1.0 s, the prompt at 1.5 s, a token at
    # 2.0 s, three at 3.0 s, a re-render of the same tokens at 9.0 s (not an arrival).
    script = f"""
    let now = 0; globalThis.performance = {{now: () => now}}; globalThis.window = globalThis;
    const click = {decoder.CLICK_JS}, arrive = {decoder.ARRIVAL_JS};
    const out = [arrive([{{token: "a", class_or_confidence: "generated"}}])];  // no click yet: the waiting text
    now = 1000; out.push(click());
    now = 1500; out.push(arrive([{{token: "Hi", class_or_confidence: null}}]));
    now = 2000; out.push(arrive([["Hi", null], ["x", "generated"]]));
    now = 3000; out.push(arrive([["Hi", null], ["x", "generated"], ["y", "generated"], ["z", "selected step"]]));
    now = 9000; out.push(arrive([["Hi", null], ["x", "generated"], ["y", "selected step"], ["z", "generated"]]));
    console.log(JSON.stringify({{out, figures: window.__ndDecoderViewer.figures}}));
    """
    result = json.loads(subprocess.run([NODE, "-e", script], capture_output=True, text=True, check=True).stdout)
    out = [re.sub("<[^>]+>", "", html) for html in result["out"]]
    figures = result["figures"]
    assert "appears after you press Generate" in out[0] and "waiting for the first token" in out[1]
    assert out[2] == out[1]  # the prompt alone is no token
    assert "first token after 1.0 s, 1 token in 1.0 s = 1.0 tokens/s, as this page received them" in out[3]
    assert "first token after 1.0 s, 3 tokens in 2.0 s = 1.5 tokens/s" in out[4] and out[5] == out[4]
    assert figures == {"first_s": 1.0, "tokens": 3, "seconds": 2.0, "tokens_per_s": 1.5}


def test_the_decoder_card_labels_the_engine_figures_as_engine_only():
    from engine.attention import decoder_render as render

    card = render.generation_card(32, 32, 5.0, 0.226, "greedy", done=True, stop_reason="token limit")
    assert "6.4" in card and "226 ms" in card
    assert card.count("engine only (model time, without streaming)") == 2
    assert "Press Generate" not in card
    kept = render.generation_card(32, 32, 5.0, 0.226, "greedy", done=True, stop_reason="token limit", kept=True)
    assert "no click timed it" in kept and "Press Generate" in kept


def test_the_opening_continuation_gets_the_kept_card_and_a_click_does_not(fake_decoder, monkeypatch):
    calls = []
    monkeypatch.setattr(decoder, "_stream", lambda events, *args, kept=False: calls.append(kept) or iter(()))
    list(decoder.decoder_open(*decoder.OPENING))
    list(decoder.decoder_open("Once upon a time", 16))
    list(decoder.decoder_generate(*decoder.OPENING))
    assert calls == [True, False, False]

