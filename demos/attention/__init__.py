"""Attention tab: what a transformer attends to: in a sentence, while writing text, in an image, translating.

One module per view (:mod:`.text`, :mod:`.decoder`, :mod:`.image`, :mod:`.seq2seq`), each with its own
``build(demo) -> ViewHandles``; :mod:`.shared` holds what they share.
"""

from __future__ import annotations

import gradio as gr

from demos.attention import decoder, image, seq2seq, text
from demos.common.contract import TabHandles

INTRO = (
    "**Attention lets every token look at every other token** and take a weighted mix of what it sees; the "
    "weights are what these views draw. **Text:** the real pre-trained all-MiniLM-L6-v2 (6 layers x 12 heads). "
    "**Decoder:** SmolLM2 writing one token at a time. **Image:** a Vision Transformer NeuroDeck trained on "
    "handwritten digits, where the tokens are 8x8 patches. **Encoder–decoder:** models that learned to translate dates."
)

CSS = """
/* The digit overlays are small images shown enlarged: crisp pixels, never blurred. */
#attn-image-rollout img, #attn-image-head img { image-rendering: pixelated; }
/* Dragging on the sketchpad draws; it never selects the editor's hint text. */
#attn-sketch, #attn-sketch * { -webkit-user-select: none; user-select: none; }
/* Presenter mode: the examples give their space to the results; the decoder's tokens read from afar. */
body.nd-presenter #attn-text-examples, body.nd-presenter #dec-examples { display: none !important; }
/* SVG charts (engine.attention.render.*_svg) keep their own type: the page's prose rules would set every text in
   an HTML block to its size, past the chart's margins. 14 px (titles 16), and 16 px (18) in presenter mode. */
svg.nd-chart text { font-size: 14px !important; }
svg.nd-chart text.nd-t { font-size: 16px !important; }
.nd-presenter svg.nd-chart text { font-size: 16px !important; }
.nd-presenter svg.nd-chart text.nd-t { font-size: 18px !important; }
body.nd-presenter #dec-tokens, body.nd-presenter #dec-tokens * { font-size: 22px !important; line-height: 1.5; }
/* The cards' captions (engine HTML, 14-16 px inline) at the presenter's smallest size. */
body.nd-presenter :is(#s2s-cards, #s2s-what-if-cards, #s2s-highlight, #dec-card, #dec-kv-card)
  :is([style*="font-size:14px"], [style*="font-size:15px"], [style*="font-size:16px"]) { font-size: 18px !important; }
"""


def build(demo: gr.Blocks) -> TabHandles:
    """The Attention tab and its four views."""
    with gr.Tab("Attention", id="attention", elem_id="tab-attention") as page:
        intro = gr.Markdown(INTRO, elem_id="attention-intro", elem_classes=["nd-intro-text"])
        with gr.Tabs(elem_id="attention-subtabs") as subtabs:
            views = (text.build(demo), decoder.build(demo), image.build(demo), seq2seq.build(demo))
    return TabHandles(tab="attention", page=page, views=views, subtabs=subtabs, intro=intro)
