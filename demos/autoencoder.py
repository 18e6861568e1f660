"""Autoencoder tab: denoise photos, highlight texture defects, walk a digits latent space.

Thin gradio shell over ``engine.autoencoder.service``. Image events use ``preprocess=False``
so every upload (corrupt, CMYK, 16-bit, huge) reaches ``engine.core.validation.load_image``,
which refuses bad files with a clear message instead of a gradio stack trace.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr

from demos.common.limits import STANDARD_S
from demos.common.cards import card_formatter, result_card, show_card
from demos.common.legacy import engine_module
from demos.common.errors import user_errors
from engine.autoencoder.noise import NOISE_KINDS, NOISE_LEVELS
from engine.core.registry import ASSETS_DIR
from engine.core.settings import LIMITS
from engine.core.validation import check_seed, load_image

service = engine_module("autoencoder.service")  # imported on first use (numpy/PIL only; torch when a model runs)

EXAMPLES_DIR = ASSETS_DIR / "examples" / "autoencoder"  # committed; rebuilt by scripts/make_autoencoder_examples.py
HUB_DEFAULT = "madebyollin/taesd"

INTRO = """
### Autoencoders: squeeze an image through a bottleneck, rebuild it, and learn from what comes back
* **Denoise** - a fully convolutional autoencoder (x4 spatial downsampling, no skip connections) trained by
  NeuroDeck on patches of the photos that ship with scikit-image / scikit-learn. The examples are held-out photos.
* **Anomalies** - an autoencoder that only ever saw *normal* brick, grass and gravel cannot rebuild a scratch or
  a stain: the reconstruction error points at the defect.
* **Latent space** - digits squeezed into 2 numbers, and how reconstruction error falls as the bottleneck widens.
"""


OUTPUT_DIR = Path(tempfile.gettempdir()) / "neurodeck_autoencoder_outputs"
OUTPUT_MAX_AGE_S = 600  # our temporary output images older than this are deleted
_ENCODER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ae-encode")  # PIL encoders release the GIL


_last_cleanup = [0.0]  # time of the last sweep of OUTPUT_DIR


def _remove_old_outputs() -> None:
    """Delete our output images older than OUTPUT_MAX_AGE_S, at most once a minute.

    gradio copies each returned file into its own cache, so ours can go once they are a few minutes
    old. Sweeping on every call cost ~25 ms (a glob and a stat per file) once a busy server had
    written a thousand files.
    """
    now = time.time()
    if now - _last_cleanup[0] < 60:
        return
    _last_cleanup[0] = now
    for old in [*OUTPUT_DIR.glob("*.png"), *OUTPUT_DIR.glob("*.jpg")]:
        try:
            if old.stat().st_mtime < now - OUTPUT_MAX_AGE_S:
                old.unlink()
        except OSError:
            pass  # another worker removed it first


def _fast_image(image):
    """Save a PIL output as a JPEG (quality 90, no chroma subsampling) and return its path.

    Display only: every PSNR / SSIM is computed on the exact float arrays before encoding.
    gradio would re-encode at PNG level 6 (~100 ms per noisy 512x512 image, ~700 KB that the
    client then downloads); this JPEG takes ~3 ms and is 2-10x smaller, which is most of the
    round trip saved.
    """
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    _remove_old_outputs()
    path = OUTPUT_DIR / f"{uuid.uuid4().hex}.jpg"
    image.convert("RGB").save(path, format="JPEG", quality=90, subsampling=0)
    return str(path)


def _load(image):
    """``load_image``, plus a clear message for files PIL rejects while opening (e.g. a PNG signature then junk)."""
    try:
        return load_image(image, max_pixels=LIMITS.photo_image_pixels)
    except (OSError, SyntaxError) as error:
        raise ValueError(f"The image file is corrupt or not an image NeuroDeck can read ({error}); upload a PNG or JPEG.") from None


def _number(value, name: str, default: float) -> float:
    """preprocess=False passes raw JSON: accept numbers and numeric strings, refuse anything else clearly."""
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a number; got {value!r}.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    return number


def _choice(value, name: str, options, default: str) -> str:
    value = default if value in (None, "") else value
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}; got {value!r}.")
    return value


# ------------------------------------------------------------------ handlers

@user_errors
def denoise(image, noise="gaussian", level=0.1, seed=0, classical="tv"):
    pil = _load(image)
    noise = _choice(noise, "noise", NOISE_KINDS, "gaussian")
    *images, metrics = service.denoise_view(
        pil,
        noise,
        _number(level, "level", NOISE_LEVELS[noise][2]),
        check_seed(_number(seed, "noise seed", 0), "noise seed"),
        _choice(classical, "classical", ("tv", "nl_means"), "tv"),
    )
    return (*_ENCODER.map(_fast_image, images), metrics)


@user_errors
def hub_roundtrip(image, model_id=HUB_DEFAULT):
    return service.hub_view(_load(image), str(model_id or ""))


@user_errors
def anomaly(image, threshold=None, normalisation="dataset-wide"):
    threshold = None if threshold in (None, "") else _number(threshold, "threshold", 1.0)
    normalisation = _choice(normalisation, "normalisation", service.NORMALISATIONS, "dataset-wide")
    heatmap, mask, info = service.anomaly_view(_load(image), threshold, normalisation)
    return (*_ENCODER.map(_fast_image, (heatmap, mask)), info)


@user_errors
def anomaly_drawn(editor, threshold=None, normalisation="dataset-wide"):
    composite = editor.get("composite") if isinstance(editor, dict) else editor
    if composite is None:
        raise ValueError("Nothing to score: load a normal texture into the editor, draw a defect, then press the button.")
    return anomaly.__wrapped__(composite, threshold, normalisation)


@user_errors
def anomaly_threshold(threshold):
    return service.threshold_view(_number(threshold, "threshold", service.anomaly_default_threshold()))


@user_errors
def load_for_drawing(path):
    if not path:
        raise ValueError("Pick a normal texture first.")
    return {"background": _load(path), "layers": [], "composite": None}


@user_errors
def latent_map():
    image, frame = service.latent_map_view()
    x_low, x_high = frame["x_range"]
    y_low, y_high = frame["y_range"]
    return (
        image,
        gr.update(minimum=round(x_low, 3), maximum=round(x_high, 3), value=round((x_low + x_high) / 2, 3)),
        gr.update(minimum=round(y_low, 3), maximum=round(y_high, 3), value=round((y_low + y_high) / 2, 3)),
        frame,
    )


@user_errors
def decode_latent(x=0.0, y=0.0):
    return service.decode_view(_number(x, "x", 0.0), _number(y, "y", 0.0))


@user_errors
def map_clicked(evt: gr.SelectData):
    px, py = evt.index
    x, y = service.click_to_latent(px, py)
    digit, image, info = service.decode_view(x, y)
    return round(x, 3), round(y, 3), digit, image, info


@user_errors
def interpolate_digits(class_a=0, class_b=1, steps=8):
    return service.interpolate_view(int(_number(class_a, "from digit", 0)), int(_number(class_b, "to digit", 1)), int(_number(steps, "steps", 8)))


@user_errors
def bottleneck():
    return service.bottleneck_view()


# ------------------------------------------------------------------ cards
def _card(summary: str, hint: str):
    """A card formatter through ``engine.autoencoder.render.<summary>``."""
    return card_formatter(lambda *args: getattr(engine_module("autoencoder.render"), summary)(*args), hint, f"ae_{summary}_card")


ae_denoise_card = _card("denoise_summary", "Pick a photo, then press Add noise and denoise.")
ae_hub_card = _card("hub_summary", "Press Encode + decode (needs the app online).")
ae_anomaly_card = _card("anomaly_summary", "Pick a texture, then press Find anomalies.")
ae_eval_card = _card("evaluation_summary", "Computing the evaluation set...")
ae_decode_card = _card("decode_summary", "Click the map, or press Decode this point.")
ae_bottleneck_card = _card("bottleneck_summary", "Press Compute bottleneck comparison.")


def _image(label: str, elem_id: str, **kwargs) -> gr.Image:
    """An output image under its own caption (a label badge would cover the picture's top-left corner)."""
    gr.Markdown(f"**{label}**", elem_classes=["nd-caption"])
    return gr.Image(label=label, show_label=False, elem_id=elem_id, format="png", buttons=[], **kwargs)


# ------------------------------------------------------------------ layout

def _denoise_tab() -> None:
    with gr.Tab("Denoise", id="ae-denoise", elem_id="ae-denoise-tab"):
        with gr.Row():
            with gr.Column(scale=1):
                first_photo = sorted((EXAMPLES_DIR / "photos").glob("*.png"))[:1]  # the opening result's photo
                image = gr.Image(value=str(first_photo[0]) if first_photo else None, type="filepath", label="Photo",
                                 elem_id="ae-denoise-input", sources=["upload", "clipboard"])
                noise = gr.Dropdown(list(NOISE_KINDS), value="gaussian", label="Noise", elem_id="ae-noise")
                level = gr.Slider(0.0, 1.0, value=0.1, step=0.01, label="Level (Gaussian: sigma; salt & pepper: fraction; speckle: sigma; masking: fraction of 8x8 blocks)", elem_id="ae-noise-level")
                seed = gr.Number(value=0, precision=0, label="Noise seed", elem_id="ae-noise-seed")
                classical = gr.Radio(["tv", "nl_means"], value="tv", label="Classical baseline (total variation or non-local means)", elem_id="ae-classical")
                button = gr.Button("Add noise and denoise", variant="primary", elem_id="ae-denoise-btn")
                gr.Examples(service.denoise_examples(EXAMPLES_DIR / "photos"), inputs=[image], label="Held-out photos (never trained on)",
                            api_name="ae_denoise_example", api_visibility="private")
            with gr.Column(scale=2):
                denoise_card = result_card("ae-denoise-card", "Pick a photo, then press Add noise and denoise.")
                with gr.Row():
                    with gr.Column(min_width=200):
                        noisy = _image("Noisy input", "ae-noisy")
                    with gr.Column(min_width=200):
                        denoised = _image("Autoencoder output", "ae-denoised")
                    with gr.Column(min_width=200):
                        difference = _image("|output − clean| x4", "ae-difference")
                with gr.Row():
                    with gr.Column(min_width=200):
                        blur = _image("Baseline: Gaussian blur (sigma from a per-noise-level table)", "ae-blur")
                    with gr.Column(min_width=200):
                        classic = _image("Baseline: TV / non-local means", "ae-classic")
                with gr.Accordion("Details (JSON)", open=False, elem_id="ae-denoise-details"):
                    metrics = gr.JSON(label="PSNR (dB) and SSIM against the clean photo", elem_id="ae-denoise-metrics")
                show_card(metrics, denoise_card, ae_denoise_card)
        button.click(
            denoise,
            [image, noise, level, seed, classical],
            [noisy, denoised, difference, blur, classic, metrics],
            api_name="ae_denoise",
            preprocess=False,
            time_limit=STANDARD_S,
        )
        with gr.Accordion("Hub autoencoders (online only): Tiny AutoEncoder / SD VAE", open=False):
            gr.Markdown(
                "Encode and decode the photo above with a pre-trained diffusers autoencoder, e.g. `madebyollin/taesd` "
                "(AutoencoderTiny) or `stabilityai/sd-vae-ft-mse` (AutoencoderKL). Offline this fails with a clear message."
            )
            with gr.Row():
                model_id = gr.Textbox(HUB_DEFAULT, label="Hub id or local folder", elem_id="ae-hub-id")
                hub_button = gr.Button("Encode + decode", elem_id="ae-hub-btn")
            hub_card = result_card("ae-hub-card", "Press Encode + decode (needs the app online).")
            with gr.Row():
                with gr.Column():
                    hub_recon = _image("Reconstruction", "ae-hub-recon")
                with gr.Column():
                    hub_latents = _image("Latent channels", "ae-hub-latents")
            with gr.Accordion("Details (JSON)", open=False, elem_id="ae-hub-details"):
                hub_info = gr.JSON(label="Latent shape and reconstruction PSNR", elem_id="ae-hub-info")
            show_card(hub_info, hub_card, ae_hub_card)
        hub_button.click(
            hub_roundtrip, [image, model_id], [hub_recon, hub_latents, hub_info], api_name="ae_hub_roundtrip",
            preprocess=False, time_limit=3 * STANDARD_S, concurrency_limit=1,
        )


def _anomaly_tab() -> None:
    default_threshold = service.anomaly_default_threshold()
    examples = service.example_images(EXAMPLES_DIR / "textures", count=6)
    with gr.Tab("Anomalies", id="ae-anomalies", elem_id="ae-anomaly-tab"):
        with gr.Row():
            with gr.Column(scale=1):
                # Starts with a scratched example, analysed when the view opens (after the evaluation set).
                scratched = next((p for p in examples if "scratch" in Path(p).name), None)
                image = gr.Image(value=scratched, type="filepath", label="Texture image", elem_id="ae-anomaly-input",
                                 sources=["upload", "clipboard"])
                gr.Examples(examples, inputs=[image], label="Held-out crops (right quarter): normal and with synthetic defects",
                            api_name="ae_anomaly_example", api_visibility="private")
                threshold = gr.Slider(0.5, 12.0, value=round(default_threshold, 2), step=0.05, label="Threshold on the excess-error score (normal crops score up to ~3)", elem_id="ae-threshold")
                normalisation = gr.Radio(list(service.NORMALISATIONS), value="dataset-wide", label="Heatmap normalisation", elem_id="ae-normalisation")
                gr.Markdown(f"*{service.NORMALISATION_NOTE}*", elem_id="ae-normalisation-note")
                button = gr.Button("Find anomalies", variant="primary", elem_id="ae-anomaly-btn")
            with gr.Column(scale=2):
                anomaly_card = result_card("ae-anomaly-card", "Pick a texture, then press Find anomalies.")
                with gr.Row():
                    with gr.Column(min_width=384):
                        heatmap = _image("Reconstruction-error heatmap", "ae-heatmap", height=400)
                    with gr.Column(min_width=384):
                        mask = _image("Predicted defect mask (red)", "ae-mask", height=400)
                with gr.Accordion("Details (JSON)", open=False, elem_id="ae-anomaly-details"):
                    info = gr.JSON(label="Score, threshold, decision", elem_id="ae-anomaly-info")
                show_card(info, anomaly_card, ae_anomaly_card)
        with gr.Accordion("Draw your own defect on a normal texture", open=False):
            with gr.Row():
                # Names on screen, the example's path as the value (a server path is never shown).
                pick = gr.Dropdown([(Path(p).stem, p) for p in examples if "normal" in Path(p).name],
                                   label="Normal texture to draw on", elem_id="ae-draw-pick")
                load_button = gr.Button("Load into editor", elem_id="ae-draw-load")
            editor = gr.ImageEditor(type="pil", label="Draw a scratch or blob, then score it", elem_id="ae-editor", canvas_size=(256, 256))
            draw_button = gr.Button("Score my drawing", elem_id="ae-draw-btn")
        gr.Markdown("#### Labelled evaluation set: synthetic defects on the held-out right quarter (moving the threshold updates everything live)")
        eval_card = result_card("ae-eval-card", "Computing the evaluation set...")
        with gr.Row():
            with gr.Column(scale=3):
                gr.Markdown("**Predicted mask (red) vs the true defect's outline (cyan)**", elem_classes=["nd-caption"])
                gallery = gr.Gallery(label="Predicted mask (red) vs ground truth outline (cyan)", show_label=False, columns=4,
                                     height=440, elem_id="ae-eval-gallery")
            with gr.Column(scale=2):
                roc = gr.Image(label="ROC", show_label=False, elem_id="ae-roc", format="png", buttons=[])
        with gr.Accordion("Details (JSON)", open=False, elem_id="ae-eval-details"):
            eval_metrics = gr.JSON(label="Precision / recall / F1 at this threshold", elem_id="ae-eval-metrics")
        show_card(eval_metrics, eval_card, ae_eval_card)
        inputs = [image, threshold, normalisation]
        outputs = [heatmap, mask, info]
        button.click(anomaly, inputs, outputs, api_name="ae_anomaly", preprocess=False, time_limit=STANDARD_S)
        draw_button.click(anomaly_drawn, [editor, threshold, normalisation], outputs, api_name="ae_anomaly_drawn", time_limit=STANDARD_S,
                          preprocess=False)  # the editor's raw files: load_image checks them
        load_button.click(load_for_drawing, [pick], [editor], api_name="ae_load_for_drawing")
        threshold.change(anomaly_threshold, [threshold], [gallery, eval_metrics, roc], api_name="ae_anomaly_threshold", trigger_mode="always_last",
                         preprocess=False)
        threshold.release(anomaly, inputs, outputs, api_visibility="private", preprocess=False, trigger_mode="always_last")
        normalisation.change(anomaly, inputs, outputs, api_visibility="private", preprocess=False)
        opening = [(anomaly, inputs, outputs)]
        return threshold, gallery, eval_metrics, roc, opening


def _latent_tab():
    with gr.Tab("Latent space", id="ae-latent", elem_id="ae-latent-tab"):
        with gr.Row():
            with gr.Column(scale=3):
                map_image = gr.Image(label="2-D latent map of the test digits (click a point)", show_label=False,
                                     elem_id="ae-latent-map", interactive=False, format="png", buttons=[])
            with gr.Column(scale=2):
                x = gr.Slider(-5, 5, value=0, step=0.01, label="latent z1", elem_id="ae-latent-x")
                y = gr.Slider(-5, 5, value=0, step=0.01, label="latent z2", elem_id="ae-latent-y")
                decode_button = gr.Button("Decode this point", variant="primary", elem_id="ae-decode-btn")
                decoded = _image("Decoded digit", "ae-decoded", height=220)
                decode_card = result_card("ae-decode-card", "Click the map, or press Decode this point.")
                with gr.Accordion("Details (JSON)", open=False, elem_id="ae-decode-details"):
                    decode_info = gr.JSON(label="Point and nearest test digit", elem_id="ae-decode-info")
                show_card(decode_info, decode_card, ae_decode_card)
        frame = gr.JSON(visible=False)
        with gr.Row():
            class_a = gr.Dropdown(list(range(10)), value=0, label="From digit", elem_id="ae-interp-a")
            class_b = gr.Dropdown(list(range(10)), value=1, label="To digit", elem_id="ae-interp-b")
            steps = gr.Slider(2, 16, value=8, step=1, label="Steps", elem_id="ae-interp-steps")
            interp_button = gr.Button("Interpolate", elem_id="ae-interp-btn")
        strip = _image("Start digit, decoded path, end digit", "ae-interp-strip")
        interp_info = gr.JSON(visible=False)
        gr.Markdown("#### Bottleneck width vs reconstruction error (test digits), autoencoder vs PCA at the same size")
        bottleneck_button = gr.Button("Compute bottleneck comparison", elem_id="ae-bottleneck-btn")
        bottleneck_card = result_card("ae-bottleneck-card", "Press Compute bottleneck comparison.")
        with gr.Row():
            bottleneck_plot = gr.Image(label="Reconstruction MSE vs latent size", show_label=False, elem_id="ae-bottleneck-plot",
                                       format="png", buttons=[], height=380)
        with gr.Accordion("Details (JSON)", open=False, elem_id="ae-bottleneck-details"):
            bottleneck_table = gr.JSON(label="MSE per latent size", elem_id="ae-bottleneck-table")
        show_card(bottleneck_table, bottleneck_card, ae_bottleneck_card)
        map_image.select(map_clicked, None, [x, y, decoded, map_image, decode_info], api_visibility="private")
        decode_button.click(decode_latent, [x, y], [decoded, map_image, decode_info], api_name="ae_decode_latent", preprocess=False)
        interp_button.click(interpolate_digits, [class_a, class_b, steps], [strip, map_image, interp_info], api_name="ae_interpolate", preprocess=False)
        bottleneck_button.click(bottleneck, None, [bottleneck_plot, bottleneck_table], api_name="ae_bottleneck")
        # When the view opens, after the map: the map's centre decoded, the 0 -> 1 path, the bottleneck chart.
        opening = [(decode_latent, [x, y], [decoded, map_image, decode_info]),
                   (interpolate_digits, [class_a, class_b, steps], [strip, map_image, interp_info]),
                   (bottleneck, None, [bottleneck_plot, bottleneck_table])]
        return map_image, x, y, frame, opening


def build_tab(demo: gr.Blocks) -> None:
    """Add the Autoencoder tab to ``demo`` (inside ``gr.Tabs``)."""
    with gr.Tab("Autoencoder", id="autoencoder", elem_id="ae-tab"):
        gr.Markdown(INTRO)
        with gr.Tabs(elem_id="ae-subtabs"):
            _denoise_tab()
            threshold, gallery, eval_metrics, roc, anomaly_opening = _anomaly_tab()
            map_image, x, y, frame, latent_opening = _latent_tab()
    # Each view's opening results (lazy: no model loads at start-up). demos.stage.wire runs each chain once,
    # when its view is first opened, instead of on page load.
    _chain(demo.load(latent_map, None, [map_image, x, y, frame], api_name="ae_latent_map"), latent_opening)
    _chain(demo.load(anomaly_threshold, [threshold], [gallery, eval_metrics, roc], api_visibility="private"), anomaly_opening)


def _chain(event, steps) -> None:
    """Run ``steps`` ((fn, inputs, outputs), ...) one after another once ``event`` has finished."""
    for fn, inputs, outputs in steps:
        event = event.then(fn, inputs, outputs, api_visibility="private", preprocess=False, show_progress="minimal")
