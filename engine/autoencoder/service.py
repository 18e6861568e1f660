"""What the Autoencoder tab's handlers call: compute with the engine, then draw with ``ae_render``.

Each function takes plain values (a PIL image, numbers, strings) and returns PIL
images plus JSON-ready dicts, so the gradio layer stays a thin shell.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from engine.autoencoder import render
from engine.core.imports import import_engine  # first imports of the torch parts under one lock
from engine.core.registry import ASSETS_DIR

ANOMALY_GALLERY_SIZE = 12  # evaluation images shown under the threshold slider
NORMALISATIONS = ("dataset-wide", "per-image")
NORMALISATION_NOTE = (
    "Per-image scaling stretches every heatmap so its hottest pixel is bright, so even a flawless image "
    "looks defective; dataset-wide scaling divides by the error level of normal images, so only real outliers light up."
)


# ------------------------------------------------------------------ denoising

def denoise_view(image: Image.Image, noise: str, level: float, seed: int, classical: str = "tv"):
    """Returns (noisy, denoised, |denoised - clean| x4, blur baseline, classical baseline, metrics dict)."""
    run_denoise = import_engine("engine.autoencoder.denoise").run_denoise

    result = run_denoise(image, noise, level, seed, classical)
    return (
        render.to_pil(result.noisy),
        render.to_pil(result.denoised),
        render.difference_image(result.clean, result.denoised),
        render.to_pil(result.blur),
        render.to_pil(result.classical),
        result.metrics,
    )


def hub_view(image: Image.Image, model_id: str):
    """Returns (reconstruction, latent-channel strip, info dict) for a diffusers autoencoder."""
    hub_roundtrip = import_engine("engine.autoencoder.hub").hub_roundtrip
    psnr = import_engine("engine.autoencoder.metrics").psnr

    result = hub_roundtrip(np.asarray(image, dtype=np.float32) / 255.0, model_id)
    info = {
        "model": model_id,
        "class": result.model_class,
        "input_size": [int(result.image.shape[1]), int(result.image.shape[0])],
        "latent_shape": list(result.latents.shape),
        "compression": round(result.image.size / result.latents.size, 1),
        "psnr_db": round(psnr(result.image, result.reconstruction), 2),
    }
    return render.to_pil(result.reconstruction), render.latent_channels_grid(result.latents), info


# ------------------------------------------------------------------ anomaly

def anomaly_default_threshold() -> float:
    """The calibrated default threshold, read from the committed calibration file (no model load)."""
    path = ASSETS_DIR / "ae_anomaly" / "calibration.json"
    if not path.is_file():
        return 1.0
    return float(json.loads(path.read_text())["default_threshold"])


def _check_threshold(threshold) -> float | None:
    if threshold is None:
        return None
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"The threshold must be a positive number (the default is {anomaly_default_threshold()}); got {threshold}.")
    return threshold


def anomaly_view(image: Image.Image, threshold: float | None = None, normalisation: str = "dataset-wide"):
    """Returns (heatmap overlay, predicted-mask overlay, info dict with score/threshold/is_anomaly)."""
    _module = import_engine("engine.autoencoder.anomaly")
    MAX_SIDE, score_image = _module.MAX_SIDE, _module.score_image

    if normalisation not in NORMALISATIONS:
        raise ValueError(f"Normalisation must be one of {NORMALISATIONS}; got {normalisation!r}.")
    if min(image.size) < 8:
        raise ValueError(f"The image is {image.width}x{image.height}; anomaly scoring needs at least 8x8 pixels.")
    original = image.size
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        image = image.resize((max(8, round(image.width * scale)), max(8, round(image.height * scale))), Image.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0
    result = score_image(array, _check_threshold(threshold))
    vmax = result.score if normalisation == "per-image" else max(result.threshold, 1e-6) * 1.5
    info = {
        "score": round(result.score, 4),
        "threshold": round(result.threshold, 4),
        "is_anomaly": bool(result.is_anomaly),
        "anomalous_pixel_fraction": round(float((result.heatmap >= result.threshold).mean()), 5),
        "normalisation": normalisation,
        "size": [image.width, image.height],
        "resized_from": list(original) if original != image.size else None,
        "texture_calibration": result.texture,
        "units": "heatmap = blob map + line map, each 1.0 = 99.9th percentile of normal calibration pixels of the "
        "texture the image looks like; score = mean of the 50 hottest pixels",
    }
    return (
        render.heatmap_overlay(array, result.heatmap, vmax),
        render.mask_overlay(array, result.heatmap >= result.threshold),
        info,
    )


def threshold_view(threshold: float):
    """Eval-set view at one threshold: (gallery of mask overlays, P/R/F1 dict, ROC plot)."""
    _module = import_engine("engine.autoencoder.anomaly")
    eval_scores, metrics_at, roc_data = _module.eval_scores, _module.metrics_at, _module.roc_data
    threshold_metrics = import_engine("engine.autoencoder.metrics").threshold_metrics
    from engine.core.registry import load_once

    threshold = _check_threshold(threshold)
    scores = eval_scores()
    metrics = metrics_at(scores, threshold)
    eval_set = scores.eval_set
    # Show defective and normal images alternately (the set interleaves them).
    tiles = [
        render.mask_overlay(eval_set.images[i], scores.heatmaps[i] >= threshold, eval_set.masks[i])
        for i in range(0, min(len(eval_set.labels), 4 * ANOMALY_GALLERY_SIZE), 4)
    ][:ANOMALY_GALLERY_SIZE]
    captions = [
        f"{eval_set.kinds[i]} ({eval_set.textures[i]}) score {scores.image_scores[i]:.2f}"
        for i in range(0, min(len(eval_set.labels), 4 * ANOMALY_GALLERY_SIZE), 4)
    ][:ANOMALY_GALLERY_SIZE]
    curves = load_once("ae-anomaly-roc", lambda: roc_data(scores))  # independent of the threshold
    point = threshold_metrics(scores.image_scores, eval_set.labels, threshold)
    fpr = float(np.mean(scores.image_scores[~eval_set.labels] >= threshold))
    plot = render.roc_plot(
        {"image": curves["image"], "pixel": curves["pixel"]}, operating_point=(fpr, point.recall)
    )
    metrics["image_auroc"] = round(curves["image"][2], 4)
    metrics["pixel_auroc"] = round(curves["pixel"][2], 4)
    metrics["eval_images"] = int(len(eval_set.labels))
    return list(zip(tiles, captions)), metrics, plot


def example_images(folder: Path, count: int = 4) -> list[str]:
    """Write a few held-out evaluation crops (normal and defective) as PNGs; returns their paths.

    Files already in ``folder`` (the committed assets/examples/autoencoder/) are reused without
    building the evaluation set, so the tab builds without importing torch.
    """
    existing = sorted(folder.glob("texture_*.png"))
    if len(existing) >= count:
        return [str(path) for path in existing[:count]]
    build_eval_set = import_engine("engine.autoencoder.anomaly").build_eval_set

    folder.mkdir(parents=True, exist_ok=True)
    eval_set = build_eval_set()
    paths = []
    picks = [0, 1, 17, 19, 35, 33][:count] if count <= 6 else range(count)
    for index in picks:
        path = folder / f"texture_{index:02d}_{eval_set.kinds[index]}.png"
        if not path.exists():
            render.to_pil(eval_set.images[index]).save(path)
        paths.append(str(path))
    return paths


def denoise_examples(folder: Path) -> list[str]:
    """Write the held-out photos (never trained on) as PNGs; returns their paths (existing files are reused)."""
    existing = sorted(folder.glob("*.png"))
    if existing:
        return [str(path) for path in existing]
    _module = import_engine("engine.autoencoder.photos")
    HELDOUT_PHOTOS, load_photo = _module.HELDOUT_PHOTOS, _module.load_photo

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in HELDOUT_PHOTOS:
        path = folder / f"{name.replace('sklearn:', '').split('.')[0]}.png"
        if not path.exists():
            render.to_pil(load_photo(name)).save(path)
        paths.append(str(path))
    return paths


# ------------------------------------------------------------------ latent space

def latent_map_view(marker: tuple[float, float] | None = None, path: np.ndarray | None = None):
    """Returns (map image, frame info dict with the axis limits)."""
    latent_map = import_engine("engine.autoencoder.latent").latent_map

    lm = latent_map()
    image = render.latent_scatter(lm.points, lm.labels, lm.x_range, lm.y_range, marker=marker, path=path)
    return image, {"x_range": list(lm.x_range), "y_range": list(lm.y_range), "points": int(len(lm.points))}


def click_to_latent(px: float, py: float) -> tuple[float, float]:
    """Pixel position of a click on the map image -> latent (x, y)."""
    latent_map = import_engine("engine.autoencoder.latent").latent_map

    lm = latent_map()
    return render.map_frame(lm.x_range, lm.y_range).to_data(px, py)


def decode_view(x: float, y: float):
    """Returns (decoded digit image, map with a marker, info dict)."""
    _module = import_engine("engine.autoencoder.latent")
    decode_points, nearest_test_digit = _module.decode_points, _module.nearest_test_digit

    x, y = float(x), float(y)
    digit = decode_points(np.array([[x, y]]))[0]
    index, label, distance = nearest_test_digit(x, y)
    image, _ = latent_map_view(marker=(x, y))
    info = {"x": round(x, 4), "y": round(y, 4), "nearest_test_digit": {"index": index, "label": label, "distance": round(distance, 4)}}
    return render.digit_tiles(digit[None], scale=24)[0], image, info


def interpolate_view(class_a: int, class_b: int, steps: int = 8):
    """Returns (strip: digit A, decoded path, digit B; map with the path; info dict)."""
    _module = import_engine("engine.autoencoder.latent")
    first_index_of, interpolate, latent_map = _module.first_index_of, _module.interpolate, _module.latent_map

    index_a, index_b = first_index_of(int(class_a)), first_index_of(int(class_b), occurrence=1 if int(class_a) == int(class_b) else 0)
    path, decoded = interpolate(index_a, index_b, int(steps))
    lm = latent_map()
    tiles = render.digit_tiles(np.concatenate([lm.digits[index_a][None], decoded, lm.digits[index_b][None]]), scale=10)
    strip = render.image_grid(tiles, columns=len(tiles), gap=4, background=200)
    image, _ = latent_map_view(path=path)
    info = {"from_index": index_a, "to_index": index_b, "steps": int(steps), "path": np.round(path, 4).tolist()}
    return strip, image, info


def bottleneck_view():
    """Returns (plot, table dict latent size -> {autoencoder_mse, pca_mse, autoencoder_beats_pca})."""
    bottleneck_curve = import_engine("engine.autoencoder.latent").bottleneck_curve

    curve = bottleneck_curve()
    sizes = sorted(curve)
    plot = render.bottleneck_plot(sizes, [curve[s]["autoencoder_mse"] for s in sizes], [curve[s]["pca_mse"] for s in sizes])
    table = {
        str(s): {
            "autoencoder_mse": round(curve[s]["autoencoder_mse"], 6),
            "pca_mse": round(curve[s]["pca_mse"], 6),
            "autoencoder_beats_pca": curve[s]["autoencoder_mse"] < curve[s]["pca_mse"],
        }
        for s in sizes
    }
    return plot, table
