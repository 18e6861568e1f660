"""The Autoencoder tab: denoise photos, find texture defects, find odd rows in a table, walk a digits latent space.

One module per view (:mod:`.denoise`, :mod:`.anomalies`, :mod:`.table`, :mod:`.latent`); :mod:`.shared` holds what
they share. Handlers call ``engine.autoencoder``'s topic modules (``denoise``, ``hub``, ``anomaly``, ``tabular``,
``latent``).
"""

from __future__ import annotations

import gradio as gr

from demos.autoencoder import anomalies, denoise, latent, table, variational
from demos.common.contract import TabHandles

INTRO = (
    "**Autoencoders** squeeze an image (or a table row) through a bottleneck and rebuild it, and learn from what comes back: "
    "**Denoise** cleans held-out photos with a convolutional autoencoder, against classical baselines; "
    "**Anomalies** shows how an autoencoder that only saw normal brick, grass and gravel cannot rebuild a scratch or a "
    "stain, so its reconstruction error points at the defect; **Anomalies in a table** trains one on your CSV (or "
    "card transactions) in seconds, flags the rows it cannot rebuild and says which columns made them odd, against "
    "Isolation Forest and PCA; **Latent space** squeezes digits into 2 numbers and shows how reconstruction error "
    "falls as the bottleneck widens; **Variational** encodes a digit as a Gaussian (μ, σ), samples new digits from "
    "the prior, and sets its latent space beside a plain autoencoder's."
)

# Small generated images (8x8 digits, 128 px textures) are enlarged with crisp pixels; presenter mode keeps each
# view's main result in view at 1280x720. Gradio also adds every rule again behind ".gradio-container... .contain",
# which outranks a "body.nd-presenter" rule, hence !important there.
CSS = """
#ae-heatmap img, #ae-mask img, #ae-draw-heatmap img, #ae-draw-mask img, #ae-decoded img, #ae-interp-strip img,
#ae-editor canvas { image-rendering: pixelated; }
#ae-heatmap .image-frame, #ae-mask .image-frame, #ae-draw-heatmap .image-frame, #ae-draw-mask .image-frame { width: 100%; }
#ae-heatmap img, #ae-mask img, #ae-draw-heatmap img, #ae-draw-mask img { width: 100%; height: auto; max-height: none;
  object-fit: contain; }
body.nd-presenter #ae-denoise-input, body.nd-presenter #ae-anomaly-input { height: 160px !important; }
body.nd-presenter #ae-denoise-examples, body.nd-presenter #ae-anomaly-examples { display: none !important; }
body.nd-presenter #ae-denoise-card .nd-cards, body.nd-presenter #ae-anomaly-card .nd-cards { display: none !important; }
body.nd-presenter #ae-heatmap .image-frame, body.nd-presenter #ae-mask .image-frame { width: auto !important; }
body.nd-presenter #ae-heatmap img, body.nd-presenter #ae-mask img { width: auto !important; min-width: 0 !important;
  max-width: 100% !important; height: 260px !important; }
body.nd-presenter #ae-table-file { height: 72px !important; }
body.nd-presenter #ae-table-normal, body.nd-presenter #ae-table-seed { display: none !important; }
body.nd-presenter #ae-table-card .nd-cards { display: none !important; }
body.nd-presenter #ae-table-hist { height: 270px !important; }
body.nd-presenter #ae-noisy img, body.nd-presenter #ae-denoised img, body.nd-presenter #ae-difference img {
  max-height: 240px !important; }
"""


def build(demo: gr.Blocks) -> TabHandles:
    """Add the Autoencoder tab to ``demo`` (inside the app's ``gr.Tabs``)."""
    with gr.Tab("Autoencoder", id="autoencoder", elem_id="ae-tab") as page:
        intro = gr.Markdown(INTRO, elem_classes=["nd-intro-text"])
        with gr.Tabs(elem_id="ae-subtabs") as subtabs:
            views = (denoise.build(demo), anomalies.build(demo), table.build(demo), latent.build(demo),
                     variational.build(demo))
    return TabHandles(tab="autoencoder", page=page, views=views, subtabs=subtabs, intro=intro)
