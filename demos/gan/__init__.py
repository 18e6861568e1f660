"""GAN tab: photoreal faces from a real StyleGAN2, a trained conditional DCGAN to explore, GANs learning live, and
a diffusion model beside them.

Views (one module each): Faces, Generate, Latent space, Discriminator score, GAN Lab (2-D, live), Train live,
Quality, Diffusion, GAN vs VAE vs diffusion. Per-user runs live in ``gr.State`` (one per browser session).
"""

from __future__ import annotations

import gradio as gr

from demos.common.contract import TabHandles
from demos.gan import compare, diffusion, faces, generate, lab, latent, live, quality, score

INTRO = (
    "**A generative adversarial network is two networks in a contest.** The *generator* turns random noise into "
    "an image; the *discriminator* tries to tell its images from real ones. Each learns by beating the other, until "
    "the fakes are hard to tell apart. *Truncation ψ* trades variety for quality: ψ < 1 pulls samples towards the "
    "average, ψ = 0 gives the average itself."
)

VIEWS = (faces, generate, latent, score, lab, live, quality, diffusion, compare)  # in the sub-tab bar's order; Faces opens first

# Presenter mode (body.nd-presenter): the result cards' own type (scoped CSS, rem-based) and the Faces
# comparison's HTML read at 18 px or more; the Discriminator score's upload and its card take the whole
# width, so the card is in view at 1280x720 (the sketchpad follows below).
CSS = """
body.nd-presenter #gan-score-columns > div { flex: 1 1 100% !important; }
body.nd-presenter #tab-gan .nd-card-label, body.nd-presenter #tab-gan .nd-card-note,
body.nd-presenter #tab-gan .nd-empty { font-size: 18px; }
body.nd-presenter #tab-gan .nd-headline { font-size: 24px; }
body.nd-presenter #gan-faces-compare-figures .nd-fig-label,
body.nd-presenter #gan-faces-compare-figures p { font-size: 18px !important; }
body.nd-presenter #gan-faces-compare-figures h4 { font-size: 22px !important; }
body.nd-presenter #gan-faces-size label, body.nd-presenter #gan-faces-size label span { font-size: 18px !important; }
"""


def build(demo: gr.Blocks) -> TabHandles:
    """Add the GAN tab to ``demo``: its intro, then its views as sub-tabs."""
    with gr.Tab("GAN", id="gan", elem_id="tab-gan") as page:
        intro = gr.Markdown(INTRO, elem_classes=["nd-intro-text"])
        with gr.Tabs(elem_id="gan-subtabs") as subtabs:
            views = tuple(view.build(demo) for view in VIEWS)
    return TabHandles(tab="gan", page=page, views=views, subtabs=subtabs, intro=intro)
