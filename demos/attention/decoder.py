"""Attention › Decoder: a real GPT-style language model (SmolLM2-135M-Instruct) writes text one token at a
time, shows why it chose each token and what it attended to, and measures its KV cache.

Handlers call :mod:`engine.attention.decoder` (generation), :mod:`engine.attention.decoder_cache` (the
KV-cache timing) and draw with :mod:`engine.attention.decoder_render`; the defaults and limits come from
the torch-free :mod:`engine.attention.decoder_settings`.
"""

from __future__ import annotations

import gradio as gr

from demos.attention import lens_panel, qkv_panel
from demos.attention.shared import CAVEAT
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.payloads import plot
from engine.attention.decoder_settings import (
    BATCH_SIZE, DEFAULT_DECODER, DEFAULT_NEW_TOKENS, DEFAULT_PROMPT, DEFAULT_TOP_K, DEFAULT_TOP_P, HUB_ID, KV_DEFAULT_TOKENS,
    MAX_NEW_TOKENS, MAX_SEED,
)
from engine.core.imports import IMPORT_LOCK

GENERATION_S = 180  # the first request may wait for the model to load (a first start converts the GGUF)
MODEL_CHOICES = [
    ("SmolLM2-135M-Instruct (embedded 4-bit GGUF, offline)", DEFAULT_DECODER),
    (f"{HUB_ID} (Hub, full precision, online only)", HUB_ID),
]
DEFAULT_LAYER, DEFAULT_HEAD = 6, 1
MAX_TOP_K = 1000  # the box's range; 0 = off
# What the view opens with; these settings' continuation is computed once per process and kept.
OPENING = (DEFAULT_PROMPT, DEFAULT_NEW_TOKENS, 0.0, DEFAULT_TOP_K, DEFAULT_TOP_P, 0, False, DEFAULT_DECODER)
EXAMPLES = [
    [DEFAULT_PROMPT, 32, 0.0, False],
    ["Once upon a time, in a small village by the sea,", 48, 0.8, False],
    ["What is attention in a transformer? Answer in one sentence.", 64, 0.0, True],
    ["def fibonacci(n):", 48, 0.0, False],
    ["The animal didn't cross the street because it", 24, 0.0, False],
]
INTRO = (
    "A GPT-style **decoder** writes one token at a time: it scores all 49,152 tokens of its vocabulary, one is "
    "chosen and appended, and it runs again; each token sees only the tokens before it (a *causal* mask). "
    "Model: **SmolLM2-135M-Instruct** (30 layers x 9 heads), offline, a **4-bit approximation** of the original."
)
KV_SENTENCE = (
    "**Why:** without the cache, every new token re-runs the whole sequence through all 30 layers, so the time "
    "per token grows with the position (and the total with its square); with the cache, each step runs only the "
    "newest token and reuses the keys and values stored for the earlier ones, so the time per token stays "
    "nearly flat (the total grows linearly)."
)
API_SNIPPET = """```python
import base64, numpy as np
from gradio_client import Client
client = Client("http://127.0.0.1:7860/")
out = client.predict("The capital of France is", 32, 0.0, 50, 0.95, 0, False,
                     api_name="/attention_generate")  # prompt, max_new_tokens, temperature, top_k, top_p, seed, chat
out["generated_text"], out["steps"][0]["top_k"][:3]
a = out["attentions"]  # float16, base64: (layer, head, query, key)
attentions = np.frombuffer(base64.b64decode(a["base64"]), a["dtype"]).reshape(a["shape"])
```
Pass `attentions="lists"` for nested lists, `"none"` to leave them out.
`/attention_kv_cache` (prompt, new_tokens=48, chat=False) times the same text with and without the KV cache."""
# Generations from the page and the API share one limit: the engine decodes up to BATCH_SIZE of them in one
# batched loop, so they all run at once; the next waits in gradio's queue, which shows its position.
STREAMS = {"concurrency_limit": BATCH_SIZE, "concurrency_id": "decoder-stream"}
STREAM_OUTPUTS = 12  # state, card, tokens, candidates, notes, 5 attention views, layer, head
# What the viewer experienced, timed in the browser: the click (or Enter in the prompt) stores performance.now();
# each time the streamed tokens change, the number of generated tokens that have reached the page and their
# arrival times give the figures. Client-side only, so the server's clock and the queue cannot flatter them.
VIEWER_WAITING = (
    '<div style="font-size:18px">In this page: timing from your click to each token arriving (streaming included) '
    "appears after you press Generate.</div>"
)
CLICK_JS = """() => {
  const html = '<div style="font-size:18px">In this page: waiting for the first token… (timed from your click)</div>';
  window.__ndDecoderViewer = {click: performance.now(), first: null, last: null, count: 0, html: html};
  return html;
}"""
ARRIVAL_JS = """(tokens) => {
  const run = window.__ndDecoderViewer;
  if (!run) return %s;
  const generated = (tokens || []).filter((t) => {
    const kind = Array.isArray(t) ? t[1] : (t && (t.class_or_confidence ?? t.class));
    return kind !== null && kind !== undefined;
  }).length;
  if (generated > run.count) {
    const now = performance.now();
    if (run.first === null) run.first = now;
    run.last = now;
    run.count = generated;
    const first = (run.first - run.click) / 1000, total = (run.last - run.click) / 1000;
    const rate = total > 0 ? run.count / total : 0;
    run.figures = {first_s: first, tokens: run.count, seconds: total, tokens_per_s: rate};
    run.html = '<div style="font-size:18px"><b>In this page:</b> first token after ' + first.toFixed(1) + ' s, ' +
      run.count + (run.count === 1 ? ' token in ' : ' tokens in ') + total.toFixed(1) + ' s = <b>' + rate.toFixed(1) + ' tokens/s</b>, as this page ' +
      'received them (from your click, streaming included).</div>';
  }
  return run.html || %s;
}""" % ((repr(VIEWER_WAITING),) * 2)


@user_errors
def attention_generate(
    prompt: str,
    max_new_tokens: int = DEFAULT_NEW_TOKENS,
    temperature: float = 0.0,
    top_k: int = DEFAULT_TOP_K,
    top_p: float = DEFAULT_TOP_P,
    seed: int = 0,
    chat: bool = False,
    model: str = DEFAULT_DECODER,
    attentions: str = "float16",
) -> dict:
    """Generate a continuation of the prompt token by token (temperature 0 = greedy).

    Streams one JSON dict per token with generated_text and tokens so far and step, the newest token's
    step. The last message holds generated_text, tokens (prompt and generated, as strings), steps (per
    token: token, token_id, top_k = the model's own top-10 next-token distribution and sampled_from = the
    distribution after temperature / top-k / top-p, each as {token, probability}), attentions of the whole
    sequence (layer, head, query, key) and notes (anything cut or clamped). model: "smollm2" (embedded) or
    a Hub id. attentions: "float16" sends them as {dtype: "<f2", shape, base64}, the little-endian
    float16 bytes in base64, "lists" as nested lists rounded to 4 decimals, "none" leaves them out.
    """
    with IMPORT_LOCK:
        from engine.attention import decoder
    yield from decoder.generate_payloads(prompt, max_new_tokens, temperature, top_k, top_p, seed, chat,
                                         model_id=model or None, attentions=attentions)


def _views(generation, layer: int, head: int, query: int | None, hide_first: bool):
    """Heatmap, model view, newest-token plot, rollout heatmap and bars for a finished generation."""
    with IMPORT_LOCK:
        from engine.attention import decoder, decoder_render as render
    layer0 = min(max(int(layer), 1), generation.num_layers) - 1
    head0 = min(max(int(head), 1), generation.num_heads) - 1
    count = len(generation.tokens)
    query = count - 1 if query is None else min(max(int(query), 0), count - 1)
    kv_group = generation.num_heads // max(1, generation.num_kv_heads)
    heatmap = render.causal_heatmap(
        generation.attentions[layer0, head0], generation.tokens,
        f"Layer {layer0 + 1}, head {head0 + 1} (shares key/value head {head0 // kv_group + 1})", skip_first=hide_first,
    )
    grid, _ = render.model_view_image(
        generation.attentions, generation.num_kv_heads, selected=(layer0, head0), skip_first=hide_first
    )
    newest = render.newest_token_figure(
        decoder.newest_token_by_layer(generation.attentions, query), generation.tokens, query, skip_first=hide_first
    )
    rollout = decoder.causal_rollout(generation.attentions)
    rollout_map = render.causal_heatmap(
        decoder.without_first_token(rollout) if hide_first else rollout, generation.tokens,
        "Attention rollout (causal, heads averaged)",
        subtitle="row i: how much each earlier token flows into position i · grey: the masked future"
        + (" · token 0 set aside, rows renormalised" if hide_first else ""),
    )
    bars = render.rollout_bars(rollout[query], generation.tokens, query, hide_first)
    return plot(heatmap), grid, plot(newest), plot(rollout_map), plot(bars)


def _notes(model_name: str, notes) -> str:
    lines = [f"**{model_name}**"] + [f"⚠️ {note}" for note in notes]
    return "  \n".join(lines)


def _pad(*values):
    """The first values of a streamed update; the remaining outputs stay as they are."""
    return values + (gr.skip(),) * (STREAM_OUTPUTS - len(values))


def _stream(events, layer, head, hide_first, kept: bool = False):
    """Turn the engine's events into UI updates: load progress, streamed tokens, then every view.

    ``kept``: the events give the opening continuation computed once per process (its card says so)."""
    with IMPORT_LOCK:
        from engine.attention import decoder, decoder_load, decoder_render as render
    skip = gr.skip()
    prompt = None
    steps = []
    for event in events:
        if isinstance(event, decoder_load.LoadProgress):
            yield _pad(skip, render.loading_card(event))
        elif isinstance(event, decoder.PromptReady):
            prompt, steps = event, []
            card = render.generation_card(0, event.settings.max_new_tokens, 0.0, None, event.settings.describe(), done=False)
            tokens = render.highlight_tokens(event.tokens, len(event.tokens))
            yield _pad(None, card, tokens, skip, _notes(event.model_name, event.notes))  # clicks wait for this run
        elif isinstance(event, decoder.GenerationStep):
            steps.append(event)
            how = prompt.settings.describe()
            card = render.generation_card(len(steps), prompt.settings.max_new_tokens, event.elapsed, steps[0].elapsed, how,
                                          done=False)
            tokens = render.highlight_tokens(list(prompt.tokens) + [s.token for s in steps], len(prompt.tokens))
            yield _pad(skip, card, tokens, plot(render.candidates_figure(event, how=how)))
        elif isinstance(event, decoder.Generation):
            state = {"generation": event, "query": None, "step": len(event.steps) - 1}
            last, how = event.steps[-1], event.settings.describe()
            card = render.generation_card(
                len(event.steps), event.settings.max_new_tokens, event.total_seconds, event.first_token_seconds, how,
                done=True, stop_reason=event.stop_reason, kept=kept,
            )
            tokens = render.highlight_tokens(event.tokens, event.prompt_length, selected_step=last.index)
            views = _views(event, layer, head, None, hide_first)
            yield (
                state, card, tokens, plot(render.candidates_figure(last, how=how)),
                _notes(event.model_name, event.notes) + "  \n" + event.gqa_sentence(), *views,
                gr.update(maximum=event.num_layers), gr.update(maximum=event.num_heads),
            )


@user_errors
def decoder_generate(
    prompt: str,
    max_new_tokens: int = DEFAULT_NEW_TOKENS,
    temperature: float = 0.0,
    top_k: int = DEFAULT_TOP_K,
    top_p: float = DEFAULT_TOP_P,
    seed: int = 0,
    chat: bool = False,
    model: str = DEFAULT_DECODER,
    layer: int = DEFAULT_LAYER,
    head: int = DEFAULT_HEAD,
    hide_first: bool = True,
):
    """The Generate button: streams tokens and candidate charts, then draws every attention view."""
    with IMPORT_LOCK:
        from engine.attention import decoder
    events = decoder.generate_stream(prompt, max_new_tokens, temperature, top_k, top_p, seed, chat, model_id=model or None)
    yield from _stream(events, layer, head, hide_first)


@user_errors
def decoder_open(
    prompt: str = DEFAULT_PROMPT,
    max_new_tokens: int = DEFAULT_NEW_TOKENS,
    temperature: float = 0.0,
    top_k: int = DEFAULT_TOP_K,
    top_p: float = DEFAULT_TOP_P,
    seed: int = 0,
    chat: bool = False,
    model: str = DEFAULT_DECODER,
    layer: int = DEFAULT_LAYER,
    head: int = DEFAULT_HEAD,
    hide_first: bool = True,
):
    """When the view opens: load progress, then the continuation of the prompt in the inputs (the default
    prompt's is computed once per process; a deep link's prompt or settings are generated as Generate would)."""
    with IMPORT_LOCK:
        from engine.attention import decoder
    settings = (prompt, max_new_tokens, temperature, top_k, top_p, seed, chat, model or DEFAULT_DECODER)
    kept = settings == OPENING
    if kept:
        events = decoder.open_default()
    else:
        events = decoder.generate_stream(prompt, max_new_tokens, temperature, top_k, top_p, seed, chat,
                                         model_id=model or None)
    yield from _stream(events, layer, head, hide_first, kept=kept)


@user_errors
def decoder_views(state, layer: int = DEFAULT_LAYER, head: int = DEFAULT_HEAD, hide_first: bool = True):
    """Layer / head / first-token switches: redraw the attention views from the session's last generation."""
    if not state:
        raise ValueError("Generate some text first.")
    return _views(state["generation"], layer, head, state.get("query"), hide_first)


@user_errors
def decoder_pick_token(state, hide_first: bool = True, event: gr.SelectData = None):
    """A click on a token: a generated one shows its step's candidates again; any token becomes the query
    of the 'attends to' and rollout charts."""
    if not state or event is None:
        return (gr.skip(),) * 5
    with IMPORT_LOCK:
        from engine.attention import decoder, decoder_render as render
    generation = state["generation"]
    index = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
    if not isinstance(index, int) or not 0 <= index < len(generation.tokens):
        return (gr.skip(),) * 5
    state = {**state, "query": index}
    step = index - generation.prompt_length
    candidates = gr.skip()
    if step >= 0:
        state["step"] = step
        candidates = plot(render.candidates_figure(generation.steps[step], how=generation.settings.describe()))
    tokens = render.highlight_tokens(generation.tokens, generation.prompt_length, selected_step=step if step >= 0 else None)
    newest = render.newest_token_figure(
        decoder.newest_token_by_layer(generation.attentions, index), generation.tokens, index, skip_first=hide_first
    )
    bars = render.rollout_bars(decoder.causal_rollout(generation.attentions)[index], generation.tokens, index, hide_first)
    return state, candidates, tokens, plot(newest), plot(bars)


@user_errors
def decoder_pick_head(state, hide_first: bool = True, event: gr.SelectData = None):
    """A click on the model view opens that layer / head in the heatmap."""
    if not state or event is None:
        return (gr.skip(),) * 7
    with IMPORT_LOCK:
        from engine.attention import decoder_render as render
    generation = state["generation"]
    grid = render.head_grid(generation.num_layers, generation.num_heads, generation.num_kv_heads)
    picked = grid.cell_at(*event.index)
    if picked is None:
        return (gr.skip(),) * 7
    layer, head = picked[0] + 1, picked[1] + 1
    return (layer, head, *_views(generation, layer, head, state.get("query"), hide_first))


def _kv_outputs(timing):
    with IMPORT_LOCK:
        from engine.attention import decoder_render as render
    payload = {
        "positions": list(timing.positions),
        "ms_with_cache": [round(1000 * s, 3) for s in timing.seconds_with_cache],
        "ms_without_cache": [round(1000 * s, 3) for s in timing.seconds_without_cache],
        "tokens": list(timing.tokens),
        "same_tokens": timing.same_tokens,
        "notes": list(timing.notes),
    }
    return plot(render.kv_cache_figure(timing)), render.kv_card(timing), payload


@user_errors
def attention_kv_cache(
    prompt: str = DEFAULT_PROMPT, new_tokens: int = KV_DEFAULT_TOKENS, chat: bool = False, model: str = DEFAULT_DECODER,
    progress=gr.Progress(),
):
    """Generate the same greedy text with and without the KV cache; time per token against position.

    Returns the chart, its summary card and the JSON {positions, ms_with_cache, ms_without_cache, tokens,
    same_tokens, notes}.
    """
    with IMPORT_LOCK:
        from engine.attention import decoder_cache

    def report(fraction: float, what: str) -> None:
        progress(fraction, desc=f"Timing {what}, with and without the cache")

    return _kv_outputs(decoder_cache.kv_cache_timing(prompt, new_tokens, chat, model_id=model or None, on_progress=report))


@user_errors
def decoder_kv_default():
    """The KV-cache chart shown when the view opens (measured once per process on the default prompt)."""
    with IMPORT_LOCK:
        from engine.attention import decoder_cache
    return _kv_outputs(decoder_cache.default_kv_cache_timing())


def _layout() -> dict:
    """Widgets only, inside the view's tab: the prompt and its settings beside the streamed tokens; the
    attention views and the KV cache below."""
    ui = {"state": gr.State(None, time_to_live=3600)}
    gr.Markdown(INTRO, elem_classes=["nd-explain"])
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            ui["prompt"] = gr.Textbox(label="Prompt", value=DEFAULT_PROMPT, lines=2, max_lines=6, elem_id="dec-prompt")
            with gr.Row():
                ui["model"] = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_DECODER, allow_custom_value=True,
                                          show_label=False, elem_id="dec-model", container=False, scale=3,
                                          elem_classes=["nd-dev"])
                ui["chat"] = gr.Checkbox(False, label="Chat template", elem_id="dec-chat", container=False, scale=2)
            with gr.Row():
                ui["max_new_tokens"] = gr.Slider(1, MAX_NEW_TOKENS, value=DEFAULT_NEW_TOKENS, step=1,
                                                 label="New tokens (max)", elem_id="dec-max-tokens", buttons=[], scale=2)
                ui["temperature"] = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature (0 = greedy)",
                                              elem_id="dec-temperature", buttons=[], scale=3)
            with gr.Row():
                ui["top_p"] = gr.Slider(0.05, 1, value=DEFAULT_TOP_P, step=0.05, label="Top-p (1 = off)",
                                        elem_id="dec-top-p", scale=2, buttons=[])
                ui["top_k"] = gr.Number(DEFAULT_TOP_K, label="Top-k (0 = off)", precision=0, minimum=0,
                                        maximum=MAX_TOP_K, elem_id="dec-top-k", min_width=100)
                ui["seed"] = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, elem_id="dec-seed",
                                       min_width=100)
            with gr.Row():
                ui["run"] = gr.Button("Generate", variant="primary", elem_id="dec-run", scale=3)
                ui["stop"] = gr.Button("Stop", variant="stop", elem_id="dec-stop", scale=1, min_width=60)
            ui["card"] = gr.HTML(elem_id="dec-card")
            ui["viewer_speed"] = gr.HTML(VIEWER_WAITING, elem_id="dec-viewer-speed")
            ui["notes"] = gr.Markdown(elem_id="dec-notes")
        with gr.Column(scale=6):
            ui["tokens"] = gr.HighlightedText(
                label="The text, token by token: click a generated (blue) token to see its step again",
                combine_adjacent=False, show_inline_category=False, show_legend=False,
                color_map={"generated": "#b9d4f0", "selected step": "#f58518"}, elem_id="dec-tokens",
            )
            ui["candidates"] = gr.Plot(show_label=False, elem_id="dec-candidates")
    gr.Examples(EXAMPLES, inputs=[ui["prompt"], ui["max_new_tokens"], ui["temperature"], ui["chat"]], label="Examples",
                api_name="decoder_example", api_visibility="private", elem_id="dec-examples")
    gr.Markdown("### What it attended to (the whole sequence, captured as it was generated)")
    with gr.Row():
        ui["layer"] = gr.Slider(1, 30, value=DEFAULT_LAYER, step=1, label="Layer", elem_id="dec-layer")
        ui["head"] = gr.Slider(1, 9, value=DEFAULT_HEAD, step=1, label="Head", elem_id="dec-head")
        ui["hide_first"] = gr.Checkbox(
            True, label="Set token 0 aside: decoders park much of their attention on the first token (an 'attention "
            "sink'); colours and rollout bars then scale to the other tokens", elem_id="dec-hide-first",
        )
    with gr.Row(equal_height=False):
        ui["heatmap"] = gr.Plot(show_label=False, elem_id="dec-heatmap")
        ui["newest"] = gr.Plot(show_label=False, elem_id="dec-newest")
    gr.Markdown("**Model view:** every layer (columns) x head (rows), future masked grey; heads sharing a key/value "
                "head are grouped (KV1-KV3). Click one to open it above.", elem_classes=["nd-explain"])
    ui["model_view"] = gr.Image(show_label=False, interactive=False, elem_id="dec-model-view", buttons=[], format="jpeg")
    with gr.Row(equal_height=False):
        ui["rollout_map"] = gr.Plot(show_label=False, elem_id="dec-rollout")
        ui["rollout_bars"] = gr.Plot(show_label=False, elem_id="dec-rollout-bars")
    gr.Markdown("### X-ray: inside the model, on the prompt as typed (no chat template)")
    ui["qkv"] = qkv_panel.add("smollm2", ui["prompt"], ui["layer"], ui["head"])
    ui["lens"] = lens_panel.add(ui["prompt"])
    gr.Markdown(CAVEAT, elem_classes=["nd-explain"])

    gr.Markdown("### The KV cache, measured")
    with gr.Row():
        ui["kv_tokens"] = gr.Slider(8, MAX_NEW_TOKENS, value=KV_DEFAULT_TOKENS, step=1, label="Tokens to time",
                                    elem_id="dec-kv-tokens", buttons=[])
        ui["kv_run"] = gr.Button("Measure with and without the cache", elem_id="dec-kv-run")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            ui["kv_plot"] = gr.Plot(show_label=False, elem_id="dec-kv-plot")
        with gr.Column(scale=2):
            ui["kv_summary"] = gr.HTML(elem_id="dec-kv-card")
            gr.Markdown(KV_SENTENCE, elem_classes=["nd-explain"])
    ui["kv_raw"] = gr.JSON(visible=False)
    with gr.Accordion("Use it from Python (gradio_client)", open=False, elem_classes=["nd-dev"]):
        gr.Markdown(API_SNIPPET)
    return ui


def _wire(ui: dict, page: gr.Tab) -> ViewHandles:
    """Events only: Generate (streamed), Stop, the redraws and clicks, the KV-cache timing and the API."""
    views = [ui["heatmap"], ui["model_view"], ui["newest"], ui["rollout_map"], ui["rollout_bars"]]
    outputs = [ui["state"], ui["card"], ui["tokens"], ui["candidates"], ui["notes"], *views, ui["layer"], ui["head"]]
    settings = [ui["prompt"], ui["max_new_tokens"], ui["temperature"], ui["top_k"], ui["top_p"], ui["seed"], ui["chat"],
                ui["model"]]
    inputs = [*settings, ui["layer"], ui["head"], ui["hide_first"]]
    # The click's time, recorded in the page before the request leaves; the figures follow the tokens' arrival.
    gr.on([ui["run"].click, ui["prompt"].submit], None, outputs=[ui["viewer_speed"]], js=CLICK_JS, queue=False,
          api_visibility="private")
    ui["tokens"].change(None, inputs=[ui["tokens"]], outputs=[ui["viewer_speed"]], js=ARRIVAL_JS, queue=False,
                        api_visibility="private")
    generation = gr.on([ui["run"].click, ui["prompt"].submit], decoder_generate, inputs=inputs, outputs=outputs,
                       api_name="attention_generate_view", api_visibility="private", time_limit=GENERATION_S,
                       **STREAMS)
    ui["stop"].click(None, cancels=[generation], api_visibility="private")
    ui["lens"].refresh_after(ui["qkv"].refresh_after(generation))
    gr.api(attention_generate, api_name="attention_generate", time_limit=GENERATION_S, **STREAMS)
    gr.on([ui["layer"].release, ui["head"].release, ui["hide_first"].input], decoder_views,
          inputs=[ui["state"], ui["layer"], ui["head"], ui["hide_first"]], outputs=views,
          api_name="attention_decoder_views", api_visibility="private")
    ui["tokens"].select(decoder_pick_token, inputs=[ui["state"], ui["hide_first"]],
                        outputs=[ui["state"], ui["candidates"], ui["tokens"], ui["newest"], ui["rollout_bars"]],
                        api_name="attention_decoder_pick_token", api_visibility="private")
    ui["model_view"].select(decoder_pick_head, inputs=[ui["state"], ui["hide_first"]], outputs=[ui["layer"], ui["head"], *views],
                            api_name="attention_decoder_pick_head", api_visibility="private")
    kv_outputs = [ui["kv_plot"], ui["kv_summary"], ui["kv_raw"]]
    ui["kv_run"].click(attention_kv_cache, inputs=[ui["prompt"], ui["kv_tokens"], ui["chat"], ui["model"]], outputs=kv_outputs,
                       api_name="attention_kv_cache", time_limit=GENERATION_S)
    kv_open = OnOpen(decoder_kv_default, (), tuple(kv_outputs), time_limit=GENERATION_S)
    # After the first result: the X-ray panels (a few forward passes), then the KV-cache chart.
    xray_open = ui["qkv"].on_open(then=(ui["lens"].on_open(then=(kv_open,)),))
    on_open = OnOpen(decoder_open, tuple(inputs), tuple(outputs), time_limit=GENERATION_S, then=(xray_open,))
    return ViewHandles(
        tab="attention", sub="decoder", page=page, result=ui["tokens"], on_open=(on_open,),
        link=(LinkParam("prompt", ui["prompt"]), LinkParam("max_tokens", ui["max_new_tokens"]),
              LinkParam("temperature", ui["temperature"]), LinkParam("top_k", ui["top_k"]), LinkParam("top_p", ui["top_p"]),
              LinkParam("seed", ui["seed"]), LinkParam("chat", ui["chat"]), LinkParam("model", ui["model"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Decoder view (inside the Attention tab's sub-tabs)."""
    with gr.Tab("Decoder", id="attention-decoder", elem_id="tab-attention-decoder") as page:
        handles = _wire(_layout(), page)
    return handles
