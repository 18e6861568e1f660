"""The Transfer-learning tab: what a pre-trained model already knows, then training it on your own data.

Views: :mod:`.imagenet` ("Meet the pre-trained model") and :mod:`.train` ("Train your own"). :mod:`.results`
draws a training session for the train view.
"""

from __future__ import annotations

import gradio as gr

from demos.common.contract import TabHandles
from demos.transfer import imagenet, train

INTRO = (
    "**Transfer learning** starts from a model pre-trained on millions of examples and adapts it to a small "
    "dataset of your own. *Meet the pre-trained model* shows what EfficientNet-Lite0 already knows (ImageNet's "
    "1,000 classes); *Train your own* compares five strategies on the same split, on text (all-MiniLM-L6-v2) or "
    "images: feature extraction, logistic regression on the frozen features (scikit-learn), fine-tuning the last "
    "blocks, full fine-tuning, and the same architecture trained from scratch."
)

CSS = """
/* The ImageNet top-5 list is the view's main result: large enough to read from the back of a room. */
body.nd-presenter #imagenet-label .confidence-set, body.nd-presenter #imagenet-label .confidence-set * { font-size: 20px !important; }
body.nd-presenter #imagenet-label .output-class { font-size: 32px !important; }
body.nd-presenter #imagenet-input, body.nd-presenter #imagenet-input img { max-height: 240px; }
body.nd-presenter #transfer-prediction .confidence-set, body.nd-presenter #transfer-prediction .confidence-set * { font-size: 20px !important; }
"""


def build(demo: gr.Blocks) -> TabHandles:
    with gr.Tab("Transfer learning", id="transfer", elem_id="transfer-tab") as page:
        intro = gr.Markdown(INTRO, elem_classes=["nd-intro-text"])
        with gr.Tabs(elem_id="transfer-subtabs") as subtabs:
            views = (imagenet.build(demo), train.build(demo))
    return TabHandles(tab="transfer", page=page, views=views, subtabs=subtabs, intro=intro)
