"""Autoencoder > Variational: a VAE on the GAN's 32x32 digits. Encode a digit (mu, sigma, reconstruction, the two
loss terms), see the 2-D VAE's posteriors beside a plain autoencoder's points, sample the prior, decode a random point
in both spaces, and retrain a small 2-D VAE live at another beta."""

from __future__ import annotations

import gradio as gr

from demos.autoencoder.shared import output_image
from demos.common.cards import card_formatter, result_card, show_card
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.editors import editor_composite
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, QUICK_S, STANDARD_S
from demos.common.memo import memoised
from engine.core.imports import IMPORT_LOCK
from engine.core.registry import ASSETS_DIR, load_once
from engine.core.settings import LIMITS
from engine.core.validation import load_image

EXAMPLES = {f"digit_{d}": str(ASSETS_DIR / "examples" / f"digit_{d}.png") for d in range(10)}
MAX_SEED = LIMITS.seed_max  # one seed range everywhere (engine.autoencoder.vae.MAX_SEED)
MAX_COUNT = 64  # engine.autoencoder.vae.MAX_COUNT
BETA_RANGE = (0.0, 8.0)  # engine.autoencoder.vae_train.BETA_RANGE
SKETCH_SIDE = 256
LIVE_CONCURRENCY = 2  # engine.autoencoder.vae_train.LIVE_MAX_RUNS
ENCODE_HINT = "Upload or draw a digit and press Encode."
SAMPLE_HINT = "Press Sample the prior."
RANDOM_HINT = "Press Decode a random point."
LIVE_HINT = "Move β and press Train live."
EXPLAIN = (
    "A **variational autoencoder** encodes a digit not as a point but as a Gaussian: a mean **μ** and a spread **σ** per "
    "latent number. Training decodes a random z = μ + σ·ε from it, and pays two costs: the **reconstruction** loss "
    "(cross-entropy of the decoded pixels) and the **KL** divergence of the Gaussian from the prior N(0, I), "
    "0.5·Σ(μ² + σ² − 1 − log σ²). The KL term packs the digits' Gaussians together around the origin, so the prior "
    "says where to sample; a plain autoencoder spreads its points out with empty regions between them, and its "
    "decoder draws whatever it extrapolates there. The random-point figures measure what each space decodes to. "
    "All models share one architecture and the GAN tab's 1,437 training digits at 32x32; β weighs the KL term "
    "(the 2-D map's VAE uses β 16: its 1,024 pixels are 64 real ones upsampled, so that is β 1 per real pixel)."
)


def _summary(name):
    def summary(info):
        with IMPORT_LOCK:
            from engine.autoencoder import vae_render
        return getattr(vae_render, name)(info)

    return summary


vae_encode_card = card_formatter(_summary("encode_summary"), ENCODE_HINT, "vae_encode_card")
vae_sample_card = card_formatter(_summary("sample_summary"), SAMPLE_HINT, "vae_sample_card")
vae_random_card = card_formatter(_summary("random_summary"), RANDOM_HINT, "vae_random_card")
vae_live_card = card_formatter(_summary("live_summary"), LIVE_HINT, "vae_live_card")


def _encode_outputs(pil):
    with IMPORT_LOCK:
        from engine.autoencoder import vae, vae_render
    encoding = vae.encode_image(pil)
    info = encoding.info()
    sigma = [float(v) for v in info["sigma"]]
    maps = vae_render.maps_figure(vae.latent_maps(), ae_marker=encoding.map_ae, vae_marker=encoding.map_vae[0],
                                  vae_marker_sigma=encoding.map_vae[1])
    posterior = vae_render.digits_grid(vae.sample_posterior(encoding, seed=0, count=8), columns=4, cell=96)
    return (vae_render.digit_big(encoding.image, 160), vae_render.digit_big(encoding.reconstruction, 160),
            vae_render.loss_bars(encoding.reconstruction_error, encoding.kl),
            vae_render.mu_sigma_chart(encoding.mu, sigma), posterior, maps, info)


@user_errors
def vae_encode(image):
    """Encode a digit image with the 16-number VAE.

    Returns the digit as the model sees it (32x32), its reconstruction, the two loss terms, mu and sigma per latent
    number, 8 decodes of z = mu + sigma * eps, the digit on the 2-D maps, and a summary with mu, log_var, kl (nats,
    0.5 * sum(mu^2 + exp(log_var) - 1 - log_var)) and reconstruction_error (cross-entropy over the 1,024 pixels, nats).
    """
    if image is None or image == "" or (isinstance(image, dict) and not (image.get("path") or image.get("url"))):
        raise ValueError("No image given: upload a digit image (PNG, JPEG, WebP, BMP, GIF or TIFF) or draw one.")
    if isinstance(image, dict):
        image = image.get("path") or image.get("url")
    example = _example_named(image)
    if example is not None:
        # An example (the view opens on one): encoded and drawn once per process (~1 s of CPU per new visitor).
        return load_once(f"vae-encode:{example}", lambda: _encode_outputs(
            load_image(EXAMPLES[example], max_pixels=LIMITS.digit_image_pixels)))
    return _encode_outputs(load_image(image, max_pixels=LIMITS.digit_image_pixels))


_EXAMPLE_DIGESTS: dict[str, str] = {}  # sha256 of an example file's bytes -> its name


def _example_named(path) -> str | None:
    """The example ``path`` holds (gradio serves a copy under its own cache folder), or None."""
    import hashlib
    from pathlib import Path

    try:
        data = Path(str(path)).read_bytes() if path and Path(str(path)).stat().st_size < 1_000_000 else None
    except (OSError, ValueError):
        return None
    if data is None:
        return None
    if not _EXAMPLE_DIGESTS:
        _EXAMPLE_DIGESTS.update({hashlib.sha256(Path(file).read_bytes()).hexdigest(): name
                                 for name, file in EXAMPLES.items()})
    return _EXAMPLE_DIGESTS.get(hashlib.sha256(data).hexdigest())


@user_errors
def vae_encode_sketch(editor):
    """The sketchpad's drawing (white ink on black), encoded like an upload."""
    composite = editor_composite(editor, "vae-sketch")
    if composite is None:
        raise ValueError("The sketchpad is empty: draw a digit (white ink on the black canvas).")
    return _encode_outputs(load_image(composite, max_pixels=LIMITS.digit_image_pixels, background=(0, 0, 0)))


@user_errors
def vae_sample(seed=0, count=16):
    """Decode count draws z ~ N(0, I) (count 1 to 64) with the 16-number VAE; sample i of a seed is the same whatever
    the count. Returns the digits (captioned with the GAN tab's judge's reading) and {seed, z, judge_reads}."""
    with IMPORT_LOCK:
        from engine.autoencoder import vae, vae_render
    samples = vae.sample_prior(seed, count)
    readings, confidence = vae.judge_readings(samples.images)
    gallery = [(vae_render.digit_big(image, 96), f"judge: {int(r)} ({c:.0%})")
               for image, r, c in zip(samples.images, readings, confidence)]
    info = {"seed": samples.seed, "z": [[round(float(v), 5) for v in row] for row in samples.z],
            "judge_reads": [int(r) for r in readings]}
    return gallery, info


# The opening's seeded point and the live run's final map are the same for every visitor (~0.3-0.4 s of drawing
# each): kept per process (see demos.common.memo), 4 seeds and 4 betas (1.7 MB and 0.9 MB of pixels each).
@user_errors
@memoised(capacity=4)
def vae_random_point(point_seed=0):
    """One uniform random point in each 2-D map's box (the same relative place), decoded by the plain autoencoder and
    by the VAE, each read by the judge; with the share of clear digits over 256 such points."""
    with IMPORT_LOCK:
        from engine.autoencoder import vae, vae_render
    points = vae.random_points(point_seed, 1)
    maps = vae_render.maps_figure(vae.latent_maps(), ae_marker=points.ae_points, vae_marker=points.vae_points)
    info = {"seed": points.seed,
            "autoencoder": {"point": [round(float(v), 4) for v in points.ae_points[0]],
                            "judge_reads": int(points.ae_reading[0]),
                            "judge_confidence": round(float(points.ae_confidence[0]), 4)},
            "vae": {"point": [round(float(v), 4) for v in points.vae_points[0]], "judge_reads": int(points.vae_reading[0]),
                    "judge_confidence": round(float(points.vae_confidence[0]), 4)},
            "holes": vae.holes_figure()}
    return (vae_render.digit_big(points.ae_images[0], 160), vae_render.digit_big(points.vae_images[0], 160), maps, info)


def _live_info(frame, beta):
    return {"beta": beta, "epoch": frame.epoch, "epochs": frame.epochs, "reconstruction": round(frame.reconstruction, 3),
            "kl": round(frame.kl, 4), "seconds": round(frame.seconds, 2)}


@user_errors
def vae_live(beta=1.0, progress=gr.Progress()):
    """Train a small 2-D VAE on the 8x8 training digits for a few seconds with weight beta on the KL term, streaming
    its test digits' posteriors on the map."""
    with IMPORT_LOCK:
        from engine.autoencoder import vae_render, vae_train
    beta = vae_train.check_beta(beta)
    for frame in vae_train.live_run(beta, seed=0, time_limit_s=LONG_S / 2):
        progress(frame.epoch / frame.epochs, desc=f"epoch {frame.epoch}/{frame.epochs}")
        yield vae_render.live_figure(frame, beta), _live_info(frame, beta)


@user_errors
@memoised(capacity=4)
def vae_live_open(beta=1.0):
    """The live run's final map for the opening beta (trained once per beta, then shown at once)."""
    with IMPORT_LOCK:
        from engine.autoencoder import vae_render, vae_train
    beta = vae_train.check_beta(beta)
    frame = vae_train.final_frame(beta, seed=0)
    return vae_render.live_figure(frame, beta), _live_info(frame, beta)


def _black_value():
    """A black canvas with an empty layer to draw on (white ink on black, like the training digits)."""
    from PIL import Image  # noqa: PLC0415

    black = Image.new("RGB", (SKETCH_SIDE, SKETCH_SIDE), (0, 0, 0))
    return {"background": black, "layers": [Image.new("RGBA", (SKETCH_SIDE, SKETCH_SIDE), (0, 0, 0, 0))],
            "composite": None}


def _layout():
    with gr.Tab("Variational", id="ae-variational", elem_id="ae-variational-tab") as page:
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=260):
                # Upload | Draw: the drawing canvas (WebGL, drawn in software where there is no GPU: ~1 s of CPU
                # per visitor in headless Chromium) is only built when its tab is opened.
                with gr.Tabs(elem_id="vae-input-tabs"):
                    with gr.Tab("Upload", elem_id="vae-upload-tab"):
                        upload = gr.Image(value=EXAMPLES["digit_3"], type="filepath", label="Upload a digit",
                                          elem_id="vae-image", height=180)
                        encode_button = gr.Button("Encode upload", variant="primary", elem_id="vae-encode-btn")
                    with gr.Tab("Draw", elem_id="vae-draw-tab"):
                        sketch = gr.Sketchpad(value=_black_value(), type="numpy",
                                              image_mode="RGB", canvas_size=(SKETCH_SIDE, SKETCH_SIDE),
                                              brush=gr.Brush(colors=["#ffffff", "#000000"], default_color="#ffffff",
                                                             default_size=14),
                                              format="png", label="Draw a digit (white on black)", elem_id="vae-sketch",
                                              height=180)
                        sketch_button = gr.Button("Encode drawing", variant="primary", elem_id="vae-sketch-btn")
            with gr.Column(scale=3, min_width=420):
                encode_card = result_card("vae-encode-card", ENCODE_HINT)
                with gr.Row():
                    with gr.Column(min_width=160):
                        seen = output_image("What the VAE sees (32x32)", "vae-seen", height=170)
                    with gr.Column(min_width=160):
                        recon = output_image("Reconstruction (decoded μ)", "vae-recon", height=170)
                bars = gr.Image(label="The two loss terms", show_label=False, elem_id="vae-bars", format="png",
                                buttons=[], interactive=False)
        with gr.Row():
            with gr.Column():
                mu_sigma = output_image("μ ± σ per latent number", "vae-mu-sigma")
            with gr.Column():
                posterior = output_image("8 decodes of z = μ + σ·ε (seed 0)", "vae-posterior")
        maps = output_image("2-D latent maps of the 360 test digits: plain autoencoder vs VAE", "vae-maps")
        with gr.Accordion("Details (JSON)", open=False, elem_id="vae-encode-details", elem_classes=["nd-dev"]):
            encode_info = gr.JSON(label="μ, log σ², KL, reconstruction error", elem_id="vae-encode-info")
        gr.Markdown("#### Decode a random point in each map: the autoencoder's empty regions vs the VAE's packed space")
        with gr.Row(equal_height=True):
            point_seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Point seed",
                                   elem_id="vae-point-seed", min_width=140)
            random_button = gr.Button("Decode a random point", variant="primary", elem_id="vae-random-btn")
        random_card = result_card("vae-random-card", RANDOM_HINT)
        with gr.Row():
            with gr.Column():
                ae_decoded = output_image("Plain autoencoder decodes", "vae-random-ae", height=170)
            with gr.Column():
                vae_decoded = output_image("VAE decodes", "vae-random-vae", height=170)
        random_maps = gr.Image(label="The random point (X) in each map", show_label=False, elem_id="vae-random-maps",
                               format="png", buttons=[], interactive=False)
        with gr.Accordion("Details (JSON)", open=False, elem_id="vae-random-details", elem_classes=["nd-dev"]):
            random_info = gr.JSON(label="The points and the judge's readings", elem_id="vae-random-info")
        gr.Markdown("#### Sample the prior: decode z ~ N(0, I)")
        with gr.Row(equal_height=True):
            seed = gr.Number(value=0, precision=0, minimum=0, maximum=MAX_SEED, label="Seed", elem_id="vae-seed",
                             min_width=140)
            count = gr.Slider(1, MAX_COUNT, value=16, step=1, precision=0, label="Count", elem_id="vae-count")
            sample_button = gr.Button("Sample the prior", variant="primary", elem_id="vae-sample-btn")
        sample_card = result_card("vae-sample-card", SAMPLE_HINT)
        gallery = gr.Gallery(label="Prior samples", columns=8, height="auto", elem_id="vae-gallery", object_fit="contain")
        with gr.Accordion("Details (JSON)", open=False, elem_id="vae-sample-details", elem_classes=["nd-dev"]):
            sample_info = gr.JSON(label="Seed and latents", elem_id="vae-sample-info")
        gr.Markdown("#### β live: retrain a small 2-D VAE (8x8 digits, 40 epochs, a few seconds)")
        with gr.Row(equal_height=True):
            beta = gr.Slider(BETA_RANGE[0], BETA_RANGE[1], value=1.0, step=0.1, label="β (weight of the KL term)",
                             elem_id="vae-beta")
            live_button = gr.Button("Train live", variant="primary", elem_id="vae-live-btn")
        live_card = result_card("vae-live-card", LIVE_HINT)
        live_map = gr.Image(label="Test digits' posteriors during training", show_label=False, elem_id="vae-live-map",
                            format="png", buttons=[], interactive=False, height=460)
        with gr.Accordion("Details (JSON)", open=False, elem_id="vae-live-details", elem_classes=["nd-dev"]):
            live_info = gr.JSON(label="Losses", elem_id="vae-live-info")
        gr.Markdown(EXPLAIN + " β = 0 gives an autoencoder's spread with gaps; β near 1 fills the prior's disc (dashed: "
                    "2σ); a large β collapses every digit onto the prior, and the code carries nothing.",
                    elem_classes=["nd-explain"])
    return dict(page=page, upload=upload, sketch=sketch, encode_button=encode_button, sketch_button=sketch_button,
                encode_card=encode_card, seen=seen, recon=recon, bars=bars, mu_sigma=mu_sigma, posterior=posterior,
                maps=maps, encode_info=encode_info, point_seed=point_seed, random_button=random_button,
                random_card=random_card, ae_decoded=ae_decoded, vae_decoded=vae_decoded, random_maps=random_maps, random_info=random_info,
                seed=seed, count=count, sample_button=sample_button, sample_card=sample_card, gallery=gallery,
                sample_info=sample_info, beta=beta, live_button=live_button, live_card=live_card, live_map=live_map,
                live_info=live_info)


def _wire(w: dict) -> ViewHandles:
    encoded = (w["seen"], w["recon"], w["bars"], w["mu_sigma"], w["posterior"], w["maps"], w["encode_info"])
    sampled = (w["gallery"], w["sample_info"])
    randomed = (w["ae_decoded"], w["vae_decoded"], w["random_maps"], w["random_info"])
    lived = (w["live_map"], w["live_info"])
    w["encode_button"].click(vae_encode, [w["upload"]], list(encoded), api_name="vae_encode", preprocess=False,
                             time_limit=STANDARD_S)
    w["sketch_button"].click(vae_encode_sketch, [w["sketch"]], list(encoded), api_visibility="private",
                             preprocess=False, time_limit=STANDARD_S)  # raw files: load_image checks them
    w["sample_button"].click(vae_sample, [w["seed"], w["count"]], list(sampled), api_name="vae_sample",
                             preprocess=False, time_limit=STANDARD_S)
    w["random_button"].click(vae_random_point, [w["point_seed"]], list(randomed), api_visibility="private",
                             preprocess=False, time_limit=STANDARD_S)
    w["live_button"].click(vae_live, [w["beta"]], list(lived), api_visibility="private", preprocess=False,
                           time_limit=LONG_S, concurrency_limit=LIVE_CONCURRENCY, concurrency_id="vae-live")
    show_card(w["encode_info"], w["encode_card"], vae_encode_card)
    show_card(w["sample_info"], w["sample_card"], vae_sample_card)
    show_card(w["random_info"], w["random_card"], vae_random_card)
    show_card(w["live_info"], w["live_card"], vae_live_card)
    live_open = OnOpen(vae_live_open, (w["beta"],), lived, preprocess=False, time_limit=LONG_S)
    sample_open = OnOpen(vae_sample, (w["seed"], w["count"]), sampled, preprocess=False, time_limit=STANDARD_S,
                         then=(live_open,))
    random_open = OnOpen(vae_random_point, (w["point_seed"],), randomed, preprocess=False, time_limit=STANDARD_S,
                         then=(sample_open,))
    on_open = OnOpen(vae_encode, (w["upload"],), encoded, preprocess=False, time_limit=STANDARD_S, then=(random_open,))
    return ViewHandles(
        tab="autoencoder", sub="variational", page=w["page"], result=w["encode_card"], on_open=(on_open,),
        link=(LinkParam("example", w["upload"], choices=EXAMPLES), LinkParam("point_seed", w["point_seed"]),
              LinkParam("seed", w["seed"]), LinkParam("count", w["count"]), LinkParam("beta", w["beta"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Variational view (inside the Autoencoder tab's ``gr.Tabs``)."""
    return _wire(_layout())
