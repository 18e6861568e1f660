"""The Decoder view's logit lens and head ablation panels (not a view), and their public endpoints.

Both read the Decoder view's prompt as typed (no chat template) with the embedded SmolLM2:
:mod:`engine.attention.lens` passes each block's output through the final norm and LM head;
:mod:`engine.attention.ablation` zeroes one head's slice before ``o_proj``, or, behind a button, every head
in turn (the scan). Each call runs the model again (a fraction of a second on a quiet CPU); the scan is
the only long one, and says what it cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from demos.common.cards import figure_cards, result_card
from demos.common.contract import OnOpen
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, STANDARD_S
from demos.common.memo import memoised
from demos.common.payloads import plot
from engine.core.imports import IMPORT_LOCK

DEFAULT_ABLATE_LAYER, DEFAULT_ABLATE_HEAD = 24, 5  # for the default prompt, the head that matters most (scan)
LENS_EXPLAIN = (
    "**The logit lens.** After every block, the model's running representation of the chosen token is passed "
    "through its own final norm and LM head, as if the model stopped there: what would it predict next? The last "
    "row is the model's real prediction; the bars show how the final answer's probability builds up layer by layer. "
    "Early layers are not trained to be read this way, so their guesses are rough (nostalgebraist 2020). "
    "Click a token to read the lens there."
)
ABLATION_EXPLAIN = (
    "**Head ablation.** Switch one attention head off (its output set to zero before the output projection, so it "
    "adds nothing to the token's representation), or a whole layer (head 0), and compare the next-token "
    "probabilities. The scan switches off each of the 270 heads in turn, one prompt per batch row, and maps how "
    "much each one mattered to the top token *for this prompt*. A head that matters here may do nothing elsewhere, "
    "and heads can stand in for each other, so a small change does not prove a head is useless."
)


@dataclass(frozen=True)
class LensPanels:
    inputs: tuple
    outputs: tuple

    def on_open(self, then: tuple = ()) -> OnOpen:
        return OnOpen(decoder_xray_open, self.inputs, self.outputs, then=then, time_limit=STANDARD_S)

    def refresh_after(self, dependency):
        """Recompute when ``dependency`` (the view's Generate) has finished; returns the new step."""
        return dependency.then(decoder_xray_open, list(self.inputs), list(self.outputs), api_visibility="private",
                               time_limit=STANDARD_S, show_progress="minimal")


def _lens_outputs(result):
    with IMPORT_LOCK:
        from engine.attention import xray_render
        from engine.attention.decoder_render import display_token
    choices = [(f"{i}: {display_token(t)}", i) for i, t in enumerate(result.tokens)]
    card = figure_cards([
        ("final answer", display_token(result.final.token), f"p = {result.final.probability:.1%} after the last layer"),
        ("first layer where it is top-1", next((str(i + 1) for i, top in enumerate(result.top)
                                                if top[0].token_id == result.final.token_id), "never"), ""),
        ("max |last layer − model's softmax|", f"{result.max_difference:.1e}", "the lens's last row is the model's own"),
    ])
    return gr.update(choices=choices, value=result.position), plot(xray_render.lens_figure(result)), card


def _ablation_outputs(result):
    with IMPORT_LOCK:
        from engine.attention import xray_render
        from engine.attention.decoder_render import display_token
    change = result.probability_after - result.token.probability
    what = f"layer {result.layer}, " + ("every head" if result.head == 0 else f"head {result.head}")
    new_top = result.top_after[0]
    card = figure_cards([
        (f"p({display_token(result.token.token)}) with every head on", f"{result.token.probability:.1%}", "the top next token"),
        (f"with {what} off", f"{result.probability_after:.1%}", f"{100 * change:+.1f} percentage points",
         "bad" if change < -0.05 else ""),
        ("top token then", display_token(new_top.token), f"p = {new_top.probability:.1%}"),
    ])
    return plot(xray_render.ablation_figure(result)), card


# Every visitor opens the panels on the view's default prompt (a lens and an ablation, ~250 ms of CPU): kept per
# process (see demos.common.memo), 4 prompts / settings (figures as JSON text, well under 1 MB each).
@user_errors
@memoised(capacity=4)
def decoder_xray_open(prompt: str, position: int | None = None, layer: int = DEFAULT_ABLATE_LAYER,
                      head: int = DEFAULT_ABLATE_HEAD):
    """The lens and one ablation for the Decoder's prompt (the panels' opening result, and after Generate)."""
    with IMPORT_LOCK:
        from engine.attention import ablation, lens
    try:
        result = lens.logit_lens(prompt, position if position is not None else -1)
    except ValueError as error:
        if "position" not in str(error):
            raise
        result = lens.logit_lens(prompt, -1)  # a new, shorter prompt: back to its last token
    return (*_lens_outputs(result), *_ablation_outputs(ablation.ablate(prompt, layer, head)))


@user_errors
def decoder_lens_view(prompt: str, position: int | None = None):
    """A token was clicked: the lens at that position."""
    with IMPORT_LOCK:
        from engine.attention import lens
    return _lens_outputs(lens.logit_lens(prompt, -1 if position is None else position))


@user_errors
def decoder_ablate_view(prompt: str, layer: int = DEFAULT_ABLATE_LAYER, head: int = DEFAULT_ABLATE_HEAD):
    """Switch one head (or layer) off and draw the change."""
    with IMPORT_LOCK:
        from engine.attention import ablation
    return _ablation_outputs(ablation.ablate(prompt, layer, head))


@user_errors
def decoder_ablation_scan(prompt: str, progress=gr.Progress()):
    """Every head switched off in turn: the heatmap and what it cost."""
    with IMPORT_LOCK:
        from engine.attention import ablation, xray_render
        from engine.attention.decoder_render import display_token

    def report(fraction: float, what: str) -> None:
        progress(fraction, desc=f"Switching heads off: {what}")

    scan = ablation.scan(prompt, on_progress=report)
    change = scan.change
    worst = divmod(int(change.argmin()), change.shape[1])
    flips = int((scan.new_top_ids != scan.token.token_id).sum())
    card = figure_cards([
        ("cost of the scan", f"{scan.seconds:.1f} s", f"{scan.rows} prompts in {scan.batches} forward passes on this machine"),
        ("head that matters most", f"L{worst[0] + 1} H{worst[1] + 1}",
         f"p({display_token(scan.token.token)}) {100 * change[worst]:+.1f} points when off"),
        ("heads that change the top token", str(flips), f"of {change.size}"),
    ])
    return plot(xray_render.scan_figure(scan, 3)), card


@user_errors
def decoder_logit_lens(prompt: str, position: int = -1, top_k: int = 5) -> dict:
    """The logit lens on SmolLM2: each layer's output at one position of the prompt (0-based; -1 = the last token)
    through the model's final norm and LM head. Returns {tokens, position, layers: [{layer: 1..30, top_k: [{token,
    token_id, probability}]}], final_token, max_abs_difference_last_layer, notes}; the last layer is the model's
    own next-token distribution."""
    with IMPORT_LOCK:
        from engine.attention import lens
    return lens.logit_lens(prompt, position, top_k).as_json()


@user_errors
def decoder_ablate(prompt: str, layer: int = 1, head: int = 1) -> dict:
    """Switch off one attention head of SmolLM2 (zero its slice of the attention output before o_proj) and compare
    the next-token distribution. layer is 1..30; head is 1..9, or 0 for every head of the layer. Returns {token,
    token_id (the top token before), probability_before, probability_after, top_k_before, top_k_after, ...}."""
    with IMPORT_LOCK:
        from engine.attention import ablation
    return ablation.ablate(prompt, layer, head).as_json()


def add(prompt: gr.Textbox) -> LensPanels:
    """Lay out both panels (accordions) where it is called, wire them, and register the public endpoints."""
    with gr.Accordion("The logit lens: what each layer would predict", open=True, elem_id="dec-lens"):
        gr.Markdown(LENS_EXPLAIN, elem_classes=["nd-explain"])
        position = gr.Radio([], value=None, label="Read the lens after token", elem_id="dec-lens-position")
        lens_card = result_card("dec-lens-card")
        lens_figure = gr.Plot(show_label=False, elem_id="dec-lens-figure")
    with gr.Accordion("Head ablation: switch heads off", open=True, elem_id="dec-ablation"):
        gr.Markdown(ABLATION_EXPLAIN, elem_classes=["nd-explain"])
        with gr.Row(equal_height=True):
            layer = gr.Slider(1, 30, value=DEFAULT_ABLATE_LAYER, step=1, label="Layer", elem_id="dec-ablate-layer", scale=3)
            head = gr.Slider(0, 9, value=DEFAULT_ABLATE_HEAD, step=1, label="Head (0 = the whole layer)",
                             elem_id="dec-ablate-head", scale=3)
            scan_button = gr.Button("Scan all 270 heads", elem_id="dec-ablate-scan", scale=2)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                ablation_card = result_card("dec-ablate-card")
                ablation_figure = gr.Plot(show_label=False, elem_id="dec-ablate-figure")
            with gr.Column(scale=1):
                scan_card = result_card("dec-scan-card", "Press 'Scan all 270 heads': every head switched off in turn "
                                                         "(tens of seconds on a busy CPU; the time is shown).")
                scan_figure = gr.Plot(show_label=False, elem_id="dec-scan-figure")
    position.input(decoder_lens_view, inputs=[prompt, position], outputs=[position, lens_figure, lens_card],
                   api_visibility="private", time_limit=STANDARD_S, show_progress="minimal")
    gr.on([layer.release, head.release], decoder_ablate_view, inputs=[prompt, layer, head],
          outputs=[ablation_figure, ablation_card], api_visibility="private", time_limit=STANDARD_S,
          show_progress="minimal")
    # one scan at a time on the shared CPU (270 ablations); the next ones wait in gradio's queue, shown their place
    scan_button.click(decoder_ablation_scan, inputs=[prompt], outputs=[scan_figure, scan_card],
                      api_name="decoder_ablation_scan", api_visibility="private", time_limit=LONG_S,
                      concurrency_limit=1, concurrency_id="decoder-scan")
    gr.api(decoder_logit_lens, api_name="decoder_logit_lens", time_limit=STANDARD_S)
    gr.api(decoder_ablate, api_name="decoder_ablate", time_limit=STANDARD_S)
    return LensPanels((prompt, position, layer, head),
                      (position, lens_figure, lens_card, ablation_figure, ablation_card))
