"""Attention tab › Decoder: a real GPT-style language model (SmolLM2-135M-Instruct) writes text one
token at a time, shows why it chose each token and what it attended to, and measures its KV cache.

Handlers are thin: they call :mod:`engine.attention.decoder` (generation, loading, the KV-cache
timing) and draw with :mod:`engine.attention.decoder_render`. Both import torch, so they are
reached through :func:`demos.common.engine_module` and building this UI imports no torch.
"""

from __future__ import annotations

import json

import gradio as gr
from gradio.components.plot import PlotData

from demos.common.legacy import engine_module
from demos.common.errors import user_errors

DEFAULT_MODEL = "smollm2"
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
MODEL_CHOICES = [
    ("SmolLM2-135M-Instruct (embedded 4-bit GGUF, offline)", DEFAULT_MODEL),
    (f"{HUB_ID} (Hub, full precision, online only)", HUB_ID),
]
DEFAULT_PROMPT = "The capital of France is"
DEFAULT_LAYER, DEFAULT_HEAD = 6, 1
DEFAULTS = {"max_new_tokens": 32, "temperature": 0.0, "top_k": 50, "top_p": 0.95, "seed": 0}
EXAMPLES = [
    [DEFAULT_PROMPT, 32, 0.0, False],
    ["Once upon a time, in a small village by the sea,", 48, 0.8, False],
    ["What is attention in a transformer? Answer in one sentence.", 64, 0.0, True],
    ["def fibonacci(n):", 48, 0.0, False],
    ["The animal didn't cross the street because it", 24, 0.0, False],
]
KV_SENTENCE = (
    "**Why:** without the cache, every new token re-runs the whole sequence through all 30 layers, so the time "
    "per token grows with the position (and the total with its square); with the cache, each step runs only the "
    "newest token and reuses the keys and values stored for the earlier ones, so the time per token stays "
    "nearly flat (the total grows linearly)."
)
API_SNIPPET = """```python
from gradio_client import Client
client = Client("http://127.0.0.1:7860/")
out = client.predict("The capital of France is", 32, 0.0, 50, 0.95, 0, False,
                     api_name="/attention_generate")  # prompt, max_new_tokens, temperature, top_k, top_p, seed, chat
out["generated_text"], out["steps"][0]["top_k"][:3], len(out["attentions"])  # attentions[layer][head][query][key]
```
`/attention_kv_cache` (prompt, new_tokens=48, chat=False) times the same text with and without the KV cache."""


def _plot(figure: dict) -> PlotData:
    """A Plotly figure dict for gr.Plot as ready JSON (skips plotly's slow Figure validation)."""
    return PlotData(type="plotly", plot=json.dumps(figure))


def _decoder():
    return engine_module("attention.decoder")


def _render():
    return engine_module("attention.decoder_render")


# ------------------------------------------------------------------------------------------------
# API: the JSON of one generation, streamed
# ------------------------------------------------------------------------------------------------


@user_errors
def attention_generate(
    prompt: str,
    max_new_tokens: int = 32,
    temperature: float = 0.0,
    top_k: int = 50,
    top_p: float = 0.95,
    seed: int = 0,
    chat: bool = False,
    model: str = DEFAULT_MODEL,
) -> dict:
    """Generate a continuation of ``prompt`` token by token (temperature 0 = greedy).

    Streams one JSON dict per token; the last one holds ``generated_text``, ``tokens`` (prompt and
    generated, as strings), ``steps`` (per token: ``token``, ``token_id``, ``top_k`` = the model's own
    top-10 next-token distribution and ``sampled_from`` = the distribution after temperature / top-k /
    top-p, each as ``{token, probability}``), ``attentions`` [layer][head][query][key] of the whole
    sequence and ``notes`` (anything cut or clamped). ``model``: "smollm2" (embedded) or a Hub id.
    """
    yield from _decoder().generate_payloads(
        prompt, max_new_tokens, temperature, top_k, top_p, seed, chat, model_id=model or None
    )


# ------------------------------------------------------------------------------------------------
# UI: streaming tokens, candidates, attention views
# ------------------------------------------------------------------------------------------------


def _how(settings) -> str:
    return settings.describe()


def _views(generation, layer: int, head: int, query: int | None, hide_first: bool):
    """Heatmap, model view, newest-token plot, rollout heatmap and bars for a finished generation."""
    decoder, render = _decoder(), _render()
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
    return _plot(heatmap), grid, _plot(newest), _plot(rollout_map), _plot(bars)


def _notes(model_name: str, notes) -> str:
    lines = [f"**{model_name}**"] + [f"⚠️ {note}" for note in notes]
    return "  \n".join(lines)


STREAM_OUTPUTS = 12  # state, card, tokens, candidates, notes, 5 attention views, layer, head


def _pad(*values):
    """The first values of a streamed update; the remaining outputs stay as they are."""
    return values + (gr.skip(),) * (STREAM_OUTPUTS - len(values))


def _stream(events, layer, head, hide_first):
    """Turn the engine's events into UI updates: load progress, streamed tokens, then every view."""
    decoder, render = _decoder(), _render()
    skip = gr.skip()
    state = None
    prompt = None
    steps = []
    for event in events:
        if isinstance(event, decoder.LoadProgress):
            yield _pad(skip, render.loading_card(event))
        elif isinstance(event, decoder.PromptReady):
            prompt, steps = event, []
            card = render.generation_card(0, event.settings.max_new_tokens, 0.0, None, _how(event.settings), done=False)
            tokens = render.highlight_tokens(event.tokens, len(event.tokens))
            yield _pad(None, card, tokens, skip, _notes(event.model_name, event.notes))  # clicks wait for this run
        elif isinstance(event, decoder.GenerationStep):
            steps.append(event)
            card = render.generation_card(
                len(steps), prompt.settings.max_new_tokens, event.elapsed, steps[0].elapsed, _how(prompt.settings), done=False
            )
            tokens = render.highlight_tokens(list(prompt.tokens) + [s.token for s in steps], len(prompt.tokens))
            figure = render.candidates_figure(event, how=_how(prompt.settings))
            yield _pad(skip, card, tokens, _plot(figure))
        elif isinstance(event, decoder.Generation):
            state = {"generation": event, "query": None, "step": len(event.steps) - 1}
            last = event.steps[-1]
            card = render.generation_card(
                len(event.steps), event.settings.max_new_tokens, event.total_seconds, event.first_token_seconds,
                _how(event.settings), done=True, stop_reason=event.stop_reason,
            )
            tokens = render.highlight_tokens(event.tokens, event.prompt_length, selected_step=last.index)
            figure = render.candidates_figure(last, how=_how(event.settings))
            views = _views(event, layer, head, None, hide_first)
            yield (
                state, card, tokens, _plot(figure), _notes(event.model_name, event.notes) + "  \n" + event.gqa_sentence(), *views,
                gr.update(maximum=event.num_layers), gr.update(maximum=event.num_heads),
            )


@user_errors
def decoder_generate(
    prompt: str,
    max_new_tokens: int = 32,
    temperature: float = 0.0,
    top_k: int = 50,
    top_p: float = 0.95,
    seed: int = 0,
    chat: bool = False,
    model: str = DEFAULT_MODEL,
    layer: int = DEFAULT_LAYER,
    head: int = DEFAULT_HEAD,
    hide_first: bool = True,
):
    """The Generate button: streams tokens and candidate charts, then draws every attention view."""
    events = _decoder().generate_stream(prompt, max_new_tokens, temperature, top_k, top_p, seed, chat, model_id=model or None)
    yield from _stream(events, layer, head, hide_first)


@user_errors
def decoder_open(layer: int = DEFAULT_LAYER, head: int = DEFAULT_HEAD, hide_first: bool = True):
    """When the page opens: load progress, then the default prompt's greedy continuation (computed once)."""
    yield from _stream(_decoder().open_default(), layer, head, hide_first)


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
    render, decoder = _render(), _decoder()
    generation = state["generation"]
    index = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
    if not isinstance(index, int) or not 0 <= index < len(generation.tokens):
        return (gr.skip(),) * 5
    state = {**state, "query": index}
    step = index - generation.prompt_length
    candidates = gr.skip()
    if step >= 0:
        state["step"] = step
        candidates = _plot(render.candidates_figure(generation.steps[step], how=_how(generation.settings)))
    tokens = render.highlight_tokens(generation.tokens, generation.prompt_length, selected_step=max(step, -1) if step >= 0 else None)
    newest = render.newest_token_figure(
        decoder.newest_token_by_layer(generation.attentions, index), generation.tokens, index, skip_first=hide_first
    )
    bars = render.rollout_bars(decoder.causal_rollout(generation.attentions)[index], generation.tokens, index, hide_first)
    return state, candidates, tokens, _plot(newest), _plot(bars)


def decoder_pick_head(state, hide_first: bool = True, event: gr.SelectData = None):
    """A click on the model view opens that layer / head in the heatmap."""
    if not state or event is None:
        return (gr.skip(),) * 7
    generation = state["generation"]
    grid = _render().head_grid(generation.num_layers, generation.num_heads, generation.num_kv_heads)
    picked = grid.cell_at(*event.index)
    if picked is None:
        return (gr.skip(),) * 7
    layer, head = picked[0] + 1, picked[1] + 1
    return (layer, head, *_views(generation, layer, head, state.get("query"), hide_first))


# ------------------------------------------------------------------------------------------------
# The KV cache, measured
# ------------------------------------------------------------------------------------------------


def _kv_outputs(timing):
    render = _render()
    payload = {
        "positions": list(timing.positions),
        "ms_with_cache": [round(1000 * s, 3) for s in timing.seconds_with_cache],
        "ms_without_cache": [round(1000 * s, 3) for s in timing.seconds_without_cache],
        "tokens": list(timing.tokens),
        "same_tokens": timing.same_tokens,
        "notes": list(timing.notes),
    }
    return _plot(render.kv_cache_figure(timing)), render.kv_card(timing), payload


@user_errors
def attention_kv_cache(
    prompt: str = DEFAULT_PROMPT, new_tokens: int = 48, chat: bool = False, model: str = DEFAULT_MODEL,
    progress=gr.Progress(),
):
    """Generate the same greedy text with and without the KV cache; time per token against position."""

    def report(fraction: float, what: str) -> None:
        progress(fraction, desc=f"Timing {what}, with and without the cache")

    timing = _decoder().kv_cache_timing(prompt, new_tokens, chat, model_id=model or None, on_progress=report)
    return _kv_outputs(timing)


@user_errors
def decoder_kv_default():
    """The KV-cache chart shown when the page opens (measured once per process on the default prompt)."""
    return _kv_outputs(_decoder().default_kv_cache_timing())


# ------------------------------------------------------------------------------------------------
# Layout
# ------------------------------------------------------------------------------------------------


def build(demo: gr.Blocks) -> None:
    """The Decoder sub-tab's widgets and events (called inside its gr.Tab)."""
    from demos.attention import CAVEAT  # the encoder view's caveat, word for word (imported here: no import cycle)

    gr.Markdown(
        "A GPT-style **decoder** writes one token at a time: it scores all 49,152 tokens of its vocabulary, one is "
        "chosen and appended, and it runs again; each token sees only the tokens before it (a *causal* mask). "
        "Model: **SmolLM2-135M-Instruct** (30 layers x 9 heads), offline, a **4-bit approximation** of the original."
    )
    state = gr.State(None, time_to_live=3600)
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            prompt = gr.Textbox(label="Prompt", value=DEFAULT_PROMPT, lines=2, max_lines=6, elem_id="dec-prompt")
            with gr.Row():
                model = gr.Dropdown(MODEL_CHOICES, value=DEFAULT_MODEL, allow_custom_value=True, show_label=False,
                                    elem_id="dec-model", container=False, scale=3)
                chat = gr.Checkbox(False, label="Chat template", elem_id="dec-chat", container=False, scale=2)
            with gr.Row():
                max_new_tokens = gr.Slider(1, 128, value=32, step=1, label="New tokens (max)", elem_id="dec-max-tokens",
                                           buttons=[], scale=2)
                temperature = gr.Slider(0, 2, value=0.0, step=0.05, label="Temperature (0 = greedy)",
                                        elem_id="dec-temperature", buttons=[], scale=3)
            with gr.Row():
                top_p = gr.Slider(0.05, 1, value=0.95, step=0.05, label="Top-p (1 = off)", elem_id="dec-top-p", scale=2,
                                  buttons=[])
                top_k = gr.Number(50, label="Top-k (0 = off)", precision=0, minimum=0, elem_id="dec-top-k", min_width=100)
                seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="dec-seed", min_width=100)
            with gr.Row():
                run = gr.Button("Generate", variant="primary", elem_id="dec-run", scale=3)
                stop = gr.Button("Stop", variant="stop", elem_id="dec-stop", scale=1, min_width=60)
            card = gr.HTML(elem_id="dec-card")
            notes = gr.Markdown(elem_id="dec-notes")
        with gr.Column(scale=6):
            tokens = gr.HighlightedText(
                label="The text, token by token: click a generated (blue) token to see its step again",
                combine_adjacent=False, show_inline_category=False, show_legend=False,
                color_map={"generated": "#b9d4f0", "selected step": "#f58518"}, elem_id="dec-tokens",
            )
            candidates = gr.Plot(show_label=False, elem_id="dec-candidates")
    gr.Examples(EXAMPLES, inputs=[prompt, max_new_tokens, temperature, chat], label="Examples",
                api_name="decoder_example", api_visibility="private")
    gr.Markdown("### What it attended to (the whole sequence, one extra forward pass)")
    with gr.Row():
        layer = gr.Slider(1, 30, value=DEFAULT_LAYER, step=1, label="Layer", elem_id="dec-layer")
        head = gr.Slider(1, 9, value=DEFAULT_HEAD, step=1, label="Head", elem_id="dec-head")
        hide_first = gr.Checkbox(
            True, label="Set token 0 aside: decoders park much of their attention on the first token (an 'attention "
            "sink'); colours and rollout bars then scale to the other tokens", elem_id="dec-hide-first",
        )
    with gr.Row(equal_height=False):
        with gr.Column():
            heatmap = gr.Plot(show_label=False, elem_id="dec-heatmap")
        with gr.Column():
            newest = gr.Plot(show_label=False, elem_id="dec-newest")
    gr.Markdown("**Model view:** every layer (columns) x head (rows), future masked grey; heads sharing a key/value "
                "head are grouped (KV1-KV3). Click one to open it above.")
    model_view = gr.Image(show_label=False, interactive=False, elem_id="dec-model-view", buttons=[], format="jpeg")
    with gr.Row(equal_height=False):
        with gr.Column():
            rollout_map = gr.Plot(show_label=False, elem_id="dec-rollout")
        with gr.Column():
            rollout_bars = gr.Plot(show_label=False, elem_id="dec-rollout-bars")
    gr.Markdown(CAVEAT)

    gr.Markdown("### The KV cache, measured")
    with gr.Row():
        kv_tokens = gr.Slider(8, 128, value=48, step=1, label="Tokens to time", elem_id="dec-kv-tokens", buttons=[])
        kv_run = gr.Button("Measure with and without the cache", elem_id="dec-kv-run")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            kv_plot = gr.Plot(show_label=False, elem_id="dec-kv-plot")
        with gr.Column(scale=2):
            kv_summary = gr.HTML(elem_id="dec-kv-card")
            gr.Markdown(KV_SENTENCE)
    kv_raw = gr.JSON(visible=False)
    with gr.Accordion("Use it from Python (gradio_client)", open=False):
        gr.Markdown(API_SNIPPET)

    views = [heatmap, model_view, newest, rollout_map, rollout_bars]
    outputs = [state, card, tokens, candidates, notes, *views, layer, head]
    generation = gr.on(
        [run.click, prompt.submit],
        decoder_generate,
        inputs=[prompt, max_new_tokens, temperature, top_k, top_p, seed, chat, model, layer, head, hide_first],
        outputs=outputs,
        api_name="attention_generate_view",
        api_visibility="private",
        time_limit=180,
    )
    stop.click(None, cancels=[generation], api_visibility="private")
    gr.api(attention_generate, api_name="attention_generate", time_limit=180)
    opened = demo.load(
        decoder_open, inputs=[layer, head, hide_first], outputs=outputs, api_name="attention_decoder_open",
        api_visibility="private", time_limit=180,
    )
    opened.then(decoder_kv_default, None, [kv_plot, kv_summary, kv_raw], api_name="attention_kv_default",
                api_visibility="private", time_limit=180)
    gr.on(
        [layer.release, head.release, hide_first.input],
        decoder_views,
        inputs=[state, layer, head, hide_first],
        outputs=views,
        api_name="attention_decoder_views",
        api_visibility="private",
    )
    tokens.select(
        decoder_pick_token, inputs=[state, hide_first], outputs=[state, candidates, tokens, newest, rollout_bars],
        api_name="attention_decoder_pick_token", api_visibility="private",
    )
    model_view.select(
        decoder_pick_head, inputs=[state, hide_first], outputs=[layer, head, *views],
        api_name="attention_decoder_pick_head", api_visibility="private",
    )
    kv_run.click(
        attention_kv_cache, inputs=[prompt, kv_tokens, chat, model], outputs=[kv_plot, kv_summary, kv_raw],
        api_name="attention_kv_cache", time_limit=180,
    )
