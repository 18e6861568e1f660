"""Autoencoder > Denoise: add seeded noise to a photo, denoise it with the autoencoder and two classical
baselines, score each against the clean photo; optionally round-trip it through a Hub autoencoder."""

from __future__ import annotations

import gradio as gr

from demos.autoencoder.shared import card, choice, display_images, load, number, output_image
from demos.common.cards import result_card, show_card
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import STANDARD_S
from engine.autoencoder.assets import photo_examples
from engine.autoencoder.noise import NOISE_KINDS, NOISE_LEVELS
from engine.core.imports import IMPORT_LOCK
from engine.core.settings import LIMITS
from engine.core.validation import check_seed

HUB_DEFAULT = "madebyollin/taesd"
CLASSICAL = ("tv", "nl_means")
DENOISE_HINT = "Pick a photo, then press Add noise and denoise."
HUB_HINT = "Press Encode + decode (needs the app online)."
LEVEL_NOTE = ("**Noise level** means: " + "; ".join(f"{kind.replace('_', ' ')}: {meaning} (0 to {high:g})"
                                                     for kind, (_, high, _, meaning) in NOISE_LEVELS.items()) + ".")

ae_denoise_card = card("denoise_summary", DENOISE_HINT)
ae_hub_card = card("hub_summary", HUB_HINT)


@user_errors
def ae_denoise(image, noise="gaussian", level=0.1, seed=0, classical="tv"):
    """Add seeded noise to a photo, then denoise it with the autoencoder, a Gaussian blur and a classical method.

    noise is gaussian, salt_pepper, speckle or masking; level is its strength (its range depends on the noise);
    seed fixes the noise; classical is tv (total variation) or nl_means (non-local means). Returns the noisy
    image, the autoencoder's output, the difference to the clean photo (x4), the blur and classical baselines,
    and PSNR (dB) and SSIM of each against the clean photo.
    """
    photo = load(image)
    noise = choice(noise, "noise", NOISE_KINDS, "gaussian")
    level = number(level, "noise level", NOISE_LEVELS[noise][2])
    seed = check_seed(0 if seed in (None, "") else seed, "noise seed")
    classical = choice(classical, "classical", CLASSICAL, "tv")
    with IMPORT_LOCK:
        from engine.autoencoder import denoise
    *images, metrics = denoise.denoise_view(photo, noise, level, seed, classical)
    return (*display_images(images), metrics)


@user_errors
def ae_hub_roundtrip(image, model_id=HUB_DEFAULT,
                     progress=gr.Progress(track_tqdm=True)):  # the first download shows its bar
    """Encode and decode a photo with a pre-trained diffusers autoencoder from the Hugging Face Hub.

    model_id is a Hub id such as madebyollin/taesd (AutoencoderTiny) or stabilityai/sd-vae-ft-mse (AutoencoderKL);
    needs the app online. Returns the reconstruction, the latent channels and the compression and PSNR.
    """
    photo = load(image)
    with IMPORT_LOCK:
        from engine.autoencoder import hub
    return hub.hub_view(photo, str(model_id or ""))


def _layout():
    photos = photo_examples()
    with gr.Tab("Denoise", id="ae-denoise", elem_id="ae-denoise-tab") as page:
        with gr.Row(elem_classes=["nd-inputs"]):
            with gr.Column(scale=1, min_width=200):
                image = gr.Image(value=next(iter(photos.values()), None), type="filepath", label="Photo", height=220,
                                 elem_id="ae-denoise-input", sources=["upload", "clipboard"])
                gr.Examples(list(photos.values()), inputs=[image], label="Held-out photos (never trained on)",
                            elem_id="ae-denoise-examples", api_visibility="private")
            with gr.Column(scale=4):
                with gr.Row(equal_height=True):
                    noise = gr.Dropdown(list(NOISE_KINDS), value="gaussian", label="Noise", elem_id="ae-noise",
                                        scale=2, min_width=140)
                    level = gr.Slider(0.0, 1.0, value=0.1, step=0.01, label="Noise level", elem_id="ae-noise-level",
                                      scale=3, min_width=160)
                    seed = gr.Number(value=0, precision=0, minimum=0, maximum=LIMITS.seed_max, label="Noise seed",
                                     elem_id="ae-noise-seed", scale=1, min_width=110)
                    classical = gr.Dropdown(list(CLASSICAL), value="tv", label="Baseline", elem_id="ae-classical",
                                            scale=2, min_width=120)
                    button = gr.Button("Add noise and denoise", variant="primary", elem_id="ae-denoise-btn",
                                       scale=2, min_width=160)
                with gr.Row():
                    with gr.Column(min_width=200):
                        noisy = output_image("Noisy input", "ae-noisy")
                    with gr.Column(min_width=200):
                        denoised = output_image("Autoencoder output", "ae-denoised")
                    with gr.Column(min_width=200):
                        difference = output_image("|output − clean| x4", "ae-difference")
                denoise_card = result_card("ae-denoise-card", DENOISE_HINT)
                with gr.Row():
                    with gr.Column(min_width=200):
                        blur = output_image("Baseline: Gaussian blur (sigma from a per-noise-level table)", "ae-blur")
                    with gr.Column(min_width=200):
                        classic = output_image("Baseline: TV / non-local means", "ae-classic")
                with gr.Accordion("Details (JSON)", open=False, elem_id="ae-denoise-details", elem_classes=["nd-dev"]):
                    metrics = gr.JSON(label="PSNR (dB) and SSIM against the clean photo", elem_id="ae-denoise-metrics")
                gr.Markdown(
                    "The autoencoder is fully convolutional (x4 spatial downsampling, no skip connections), trained by "
                    "NeuroDeck on patches of the photos that ship with scikit-image / scikit-learn; the example photos "
                    "were held out. The baselines: a Gaussian blur, and total variation (tv, Chambolle) or non-local "
                    "means (nl_means). "
                    + LEVEL_NOTE, elem_classes=["nd-explain"])
        with gr.Accordion("Hub autoencoders (online only): Tiny AutoEncoder / SD VAE", open=False,
                          elem_id="ae-hub", elem_classes=["nd-dev"]):
            gr.Markdown(
                "Encode and decode the photo above with a pre-trained diffusers autoencoder, e.g. `madebyollin/taesd` "
                "(AutoencoderTiny) or `stabilityai/sd-vae-ft-mse` (AutoencoderKL). Offline this fails with a clear message.",
                elem_classes=["nd-explain"])
            with gr.Row():
                model_id = gr.Textbox(HUB_DEFAULT, label="Hub id or local folder", elem_id="ae-hub-id", scale=3)
                hub_button = gr.Button("Encode + decode", elem_id="ae-hub-btn", scale=1)
            hub_card = result_card("ae-hub-card", HUB_HINT)
            with gr.Row():
                with gr.Column():
                    hub_recon = output_image("Reconstruction", "ae-hub-recon")
                with gr.Column():
                    hub_latents = output_image("Latent channels", "ae-hub-latents")
            with gr.Accordion("Details (JSON)", open=False, elem_id="ae-hub-details"):
                hub_info = gr.JSON(label="Latent shape and reconstruction PSNR", elem_id="ae-hub-info")
    return dict(page=page, image=image, noise=noise, level=level, seed=seed, classical=classical, button=button,
                denoise_card=denoise_card, noisy=noisy, denoised=denoised, difference=difference, blur=blur,
                classic=classic, metrics=metrics, model_id=model_id, hub_button=hub_button, hub_card=hub_card,
                hub_recon=hub_recon, hub_latents=hub_latents, hub_info=hub_info), photos


def _wire(w: dict, photos: dict[str, str]) -> ViewHandles:
    inputs = (w["image"], w["noise"], w["level"], w["seed"], w["classical"])
    outputs = (w["noisy"], w["denoised"], w["difference"], w["blur"], w["classic"], w["metrics"])
    w["button"].click(ae_denoise, inputs, outputs, api_name="ae_denoise", preprocess=False, time_limit=STANDARD_S)
    show_card(w["metrics"], w["denoise_card"], ae_denoise_card)
    w["hub_button"].click(ae_hub_roundtrip, [w["image"], w["model_id"]], [w["hub_recon"], w["hub_latents"], w["hub_info"]],
                          api_name="ae_hub_roundtrip", preprocess=False, time_limit=3 * STANDARD_S, concurrency_limit=1)
    show_card(w["hub_info"], w["hub_card"], ae_hub_card)
    return ViewHandles(
        tab="autoencoder", sub="denoise", page=w["page"], result=w["denoised"],
        on_open=(OnOpen(ae_denoise, inputs, outputs, preprocess=False, time_limit=STANDARD_S),),
        link=(LinkParam("example", w["image"], choices=photos), LinkParam("noise", w["noise"]),
              LinkParam("level", w["level"]), LinkParam("seed", w["seed"]), LinkParam("classical", w["classical"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Denoise view (inside the Autoencoder tab's ``gr.Tabs``)."""
    widgets, photos = _layout()
    return _wire(widgets, photos)
