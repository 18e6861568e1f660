"""Texture anomaly detection by reconstruction error, with a labelled synthetic-defect set.

Data layout (columns of each 512x512 scikit-image texture ``brick``, ``grass``, ``gravel``):

* ``[0, 256)``   training patches (normal only);
* ``[256, 384)`` calibration: normal crops that fix the dataset-wide scale and the default threshold;
* ``[384, 512)`` the held-out right quarter: the evaluation set, built by pasting
  synthetic defects (scratches, holes, stains, colour blobs, cuts) with ground-truth masks.

Scores (all from the autoencoder's reconstruction error ``image - reconstruction``):

* an isotropic map: the signed error Gaussian-smoothed per channel *before* squaring (texture misses
  flip sign and average out, blob-like defects do not);
* a line map: the grey signed error smoothed along 12 orientations with elongated Gaussians, squared,
  maximum over orientations (thin scratches and cuts keep one sign along their length);
* each map is divided by its 99.9th percentile on normal calibration crops *of the texture the image
  looks like*, identified by the autoencoder's own typical (median) error level, so the score measures
  *excess* error: grass and gravel reconstruct 10-40x worse than brick;
* heatmap = isotropic + line (each 1.0 = p99.9 of normal pixels); image score = mean of the TOP_K
  hottest pixels (steadier than the single maximum on busy textures).

Choices (line kernel, top-k, sum) were picked on a validation set built the same way from the
calibration columns (seed 777), never on the held-out evaluation set.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import fft as sfft
from scipy.ndimage import gaussian_filter, shift

from engine.autoencoder import render
from engine.autoencoder.assets import default_threshold
from engine.autoencoder.metrics import auroc, roc_curve, threshold_metrics
from engine.autoencoder.models import TextureAutoencoder
from engine.core.registry import load_once

TEXTURES = ("brick", "grass", "gravel")
TRAIN_COLUMNS = (0, 256)  # training region of each texture
CALIBRATION_COLUMNS = (256, 384)  # normal crops for the scale and default threshold
EVAL_COLUMNS = (384, 512)  # held-out right quarter
CROP = 128  # side of calibration / evaluation crops
DEFECT_KINDS = ("scratch", "hole", "stain", "colour_blob", "cut")
SMOOTH_SIGMA = 4.0  # Gaussian smoothing of the signed error (pixels): texture misses average out, defects do not
LINE_SIGMAS = (10.0, 1.0)  # line map kernel: Gaussian sigma along / across the line (pixels)
LINE_ORIENTATIONS = 12  # line map: orientations in [0, pi)
TOP_K = 50  # image score = mean of this many hottest heatmap pixels
SCALE_PERCENTILE = 99.9  # calibration pixel percentile that maps to 1.0
EVAL_SEED = 1234  # fixes the evaluation set's defects
VALIDATION_SEED = 777  # fixes the validation set's defects (built on the calibration columns)
MAX_SIDE = 512  # uploads are downscaled to this longest side
GALLERY_SIZE = 12  # evaluation images shown under the threshold slider


@functools.lru_cache(maxsize=None)
def load_texture(name: str) -> np.ndarray:
    """A scikit-image texture as a read-only (512, 512, 3) float32 array in [0, 1] (gray repeated to RGB)."""
    import skimage.data

    if name not in TEXTURES:
        raise ValueError(f"Unknown texture {name!r}; choose one of {TEXTURES}.")
    gray = getattr(skimage.data, name)().astype(np.float32) / 255.0
    texture = np.repeat(gray[..., None], 3, axis=-1)
    texture.setflags(write=False)
    return texture


def region_crops(columns: tuple[int, int]) -> list[tuple[str, np.ndarray]]:
    """Non-overlapping CROPxCROP crops of each texture's column band, in 4 rotations each."""
    crops = []
    for name in TEXTURES:
        band = load_texture(name)[:, columns[0] : columns[1]]
        for top in range(0, band.shape[0] - CROP + 1, CROP):
            for left in range(0, band.shape[1] - CROP + 1, CROP):
                crop = band[top : top + CROP, left : left + CROP]
                for k in range(4):
                    crops.append((name, np.ascontiguousarray(np.rot90(crop, k))))
    return crops


# ---------------------------------------------------------------- defects

def _polyline_mask(shape: tuple[int, int], points: list[tuple[float, float]], width: int) -> np.ndarray:
    canvas = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(canvas).line(points, fill=255, width=width, joint="curve")
    return np.asarray(canvas) > 0


def _ellipse_mask(shape: tuple[int, int], rng: np.random.Generator, r_min: float, r_max: float) -> np.ndarray:
    h, w = shape
    cy, cx = rng.uniform(r_max, h - r_max), rng.uniform(r_max, w - r_max)
    ry, rx = rng.uniform(r_min, r_max, size=2)
    angle = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    y, x = yy - cy, xx - cx
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    # A wobbly edge so blobs are not perfect ellipses.
    theta = np.arctan2(v, u)
    wobble = 1 + 0.15 * np.sin(3 * theta + rng.uniform(0, 6.28)) + 0.1 * np.sin(5 * theta + rng.uniform(0, 6.28))
    return (u / rx) ** 2 + (v / ry) ** 2 <= wobble**2


def make_defect(image: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Paste one synthetic defect on an (H, W, 3) float image in [0, 1].

    Returns (defective image float32 in [0, 1], ground-truth mask bool (H, W)).
    """
    image = np.asarray(image, dtype=np.float32).copy()
    h, w = image.shape[:2]
    if kind == "scratch":
        start = rng.uniform([0.1 * w, 0.1 * h], [0.9 * w, 0.9 * h])
        angle = rng.uniform(0, 2 * np.pi)
        length = rng.uniform(0.3, 0.6) * min(h, w)
        bend = rng.normal(0, 0.3)
        points = [
            tuple(start + t * length * np.array([np.cos(angle + bend * t), np.sin(angle + bend * t)]))
            for t in np.linspace(0, 1, 12)
        ]
        mask = _polyline_mask((h, w), points, width=int(rng.integers(2, 4)))
        value = 1.0 if rng.random() < 0.5 else 0.0
        image[mask] = 0.25 * image[mask] + 0.75 * value
    elif kind == "hole":
        mask = _ellipse_mask((h, w), rng, 0.04 * min(h, w), 0.09 * min(h, w))
        yy, xx = np.nonzero(mask)
        depth = 0.05 + 0.1 * rng.random()
        image[mask] = depth + 0.05 * image[mask]
        # a lit rim on one side, as on a real hole
        rim = gaussian_filter(mask.astype(np.float32), 1.0) > 0.05
        rim &= ~mask
        image[rim] = np.clip(image[rim] + 0.25, 0, 1)
        mask = mask | rim
    elif kind == "stain":
        blob = _ellipse_mask((h, w), rng, 0.08 * min(h, w), 0.16 * min(h, w)).astype(np.float32)
        alpha = gaussian_filter(blob, 2.0) * rng.uniform(0.6, 0.85)
        tint = np.array([0.45, 0.3, 0.15], dtype=np.float32) * rng.uniform(0.6, 1.0)
        image = image * (1 - alpha[..., None]) + (image * tint * 0.6 + tint * 0.2) * alpha[..., None]
        mask = alpha > 0.25
    elif kind == "colour_blob":
        mask = _ellipse_mask((h, w), rng, 0.05 * min(h, w), 0.11 * min(h, w))
        hue = rng.integers(6)
        colour = np.array([[1, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.3, 1], [1, 0.9, 0.1], [1, 0.2, 0.9], [0.1, 0.9, 0.9]][hue])
        alpha = rng.uniform(0.6, 0.85)
        image[mask] = (1 - alpha) * image[mask] + alpha * colour
    elif kind == "cut":
        # A straight slit: the material on one side is displaced, and the gap is dark.
        angle = rng.uniform(0, np.pi)
        normal = np.array([np.cos(angle), np.sin(angle)])
        centre = rng.uniform([0.3 * w, 0.3 * h], [0.7 * w, 0.7 * h])
        yy, xx = np.mgrid[:h, :w].astype(np.float32)
        distance = (xx - centre[0]) * normal[0] + (yy - centre[1]) * normal[1]
        along = -(xx - centre[0]) * normal[1] + (yy - centre[1]) * normal[0]
        half_length = rng.uniform(0.25, 0.45) * min(h, w)
        inside = np.abs(along) <= half_length
        moved = shift(image, (4 * normal[1], 4 * normal[0], 0), mode="reflect", order=1)
        side = (distance > 0) & inside & (np.abs(distance) < 10)
        image[side] = moved[side]
        gap = (np.abs(distance) <= rng.uniform(1.0, 2.0)) & inside
        image[gap] = 0.05
        mask = (np.abs(distance) <= 3) & inside
    else:
        raise ValueError(f"Unknown defect {kind!r}; choose one of {', '.join(DEFECT_KINDS)}.")
    return np.clip(image, 0, 1).astype(np.float32), mask


@dataclass(frozen=True)
class EvalSet:
    images: np.ndarray  # (N, CROP, CROP, 3) float32 in [0, 1]
    masks: np.ndarray  # (N, CROP, CROP) bool ground truth; all False for normal images
    labels: np.ndarray  # (N,) bool, True = has a defect
    kinds: tuple[str, ...]  # defect kind per image, "normal" for normal ones
    textures: tuple[str, ...]  # source texture per image


@functools.lru_cache(maxsize=1)
def build_eval_set(seed: int = EVAL_SEED) -> EvalSet:
    """Every held-out crop once as normal and once with a defect (kinds cycle), fixed by ``seed``."""
    return build_defect_set(EVAL_COLUMNS, seed)


def build_validation_set() -> EvalSet:
    """The same construction on the calibration columns: model and scoring choices are made here,
    so the held-out evaluation set is only ever used to report."""
    return build_defect_set(CALIBRATION_COLUMNS, VALIDATION_SEED)


def build_defect_set(columns: tuple[int, int], seed: int) -> EvalSet:
    """Every crop of the column band once as normal and once with a defect (kinds cycle)."""
    rng = np.random.default_rng(seed)
    images, masks, labels, kinds, textures = [], [], [], [], []
    for index, (texture, crop) in enumerate(region_crops(columns)):
        images.append(crop)
        masks.append(np.zeros(crop.shape[:2], dtype=bool))
        labels.append(False)
        kinds.append("normal")
        textures.append(texture)
        kind = DEFECT_KINDS[index % len(DEFECT_KINDS)]
        defective, mask = make_defect(crop, kind, rng)
        images.append(defective)
        masks.append(mask)
        labels.append(True)
        kinds.append(kind)
        textures.append(texture)
    return EvalSet(np.stack(images), np.stack(masks), np.array(labels), tuple(kinds), tuple(textures))


# ---------------------------------------------------------------- scoring

@torch.inference_mode()
def reconstruct(model: TextureAutoencoder, images: np.ndarray, batch: int = 16) -> np.ndarray:
    """(N, H, W, 3) or (H, W, 3) float images in [0, 1] -> reconstructions of the same shape."""
    single = images.ndim == 3
    stack = images[None] if single else images
    outputs = []
    for start in range(0, len(stack), batch):
        tensor = torch.from_numpy(np.ascontiguousarray(stack[start : start + batch], dtype=np.float32)).permute(0, 3, 1, 2)
        outputs.append(model(tensor).permute(0, 2, 3, 1).numpy())
    out = np.concatenate(outputs)
    return out[0] if single else out


def raw_error_map(image: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Per-pixel anomaly map, (H, W) float32 >= 0 (not yet divided by the calibration scale).

    The *signed* error of each channel is Gaussian-smoothed before squaring: the
    model's misses on fine texture flip sign from pixel to pixel and average out,
    while a defect pushes the error one way over a whole area and survives.
    """
    error = np.asarray(image, np.float32) - np.asarray(reconstruction, np.float32)
    smoothed = np.stack([gaussian_filter(error[..., c], SMOOTH_SIGMA) for c in range(error.shape[-1])], axis=-1)
    return np.sum(smoothed**2, axis=-1).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _line_kernels() -> np.ndarray:
    """(LINE_ORIENTATIONS, 2R+1, 2R+1) float64 elongated Gaussians, each summing to 1."""
    along, across = LINE_SIGMAS
    radius = int(3 * along)
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    kernels = []
    for angle in np.arange(LINE_ORIENTATIONS) * np.pi / LINE_ORIENTATIONS:
        u = xx * np.cos(angle) + yy * np.sin(angle)
        v = -xx * np.sin(angle) + yy * np.cos(angle)
        kernel = np.exp(-0.5 * (u / along) ** 2 - 0.5 * (v / across) ** 2)
        kernels.append(kernel / kernel.sum())
    return np.stack(kernels)


@functools.lru_cache(maxsize=8)
def _line_kernel_spectra(shape: tuple[int, int]) -> np.ndarray:
    """Real FFTs (complex64) of the line kernels, zero-padded to ``shape`` and centred at the origin."""
    kernels = _line_kernels()
    radius = kernels.shape[-1] // 2
    padded = np.zeros((len(kernels), *shape), dtype=np.float32)
    padded[:, : kernels.shape[1], : kernels.shape[2]] = kernels
    padded = np.roll(padded, (-radius, -radius), axis=(1, 2))
    return sfft.rfft2(padded, axes=(1, 2))


def line_error_map(image: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Oriented line map, (H, W) float32 >= 0 (not yet divided by the calibration scale).

    The grey signed error is smoothed along each of LINE_ORIENTATIONS directions with an
    elongated Gaussian, squared, and the maximum over directions kept: a scratch or cut keeps
    one sign along its length and survives, while the texture's pixel-to-pixel misses average out.
    The convolution is one batched single-precision FFT of a reflect-padded copy, zero-padded on
    to a fast FFT size; the wrap-around only reaches the padding, which is cropped.
    """
    error = (np.asarray(image, np.float32) - np.asarray(reconstruction, np.float32)).mean(axis=-1)
    radius = _line_kernels().shape[-1] // 2
    padded = np.pad(error, radius, mode="reflect")
    shape = (sfft.next_fast_len(padded.shape[0], real=True), sfft.next_fast_len(padded.shape[1], real=True))
    spectra = _line_kernel_spectra(shape)
    filtered = sfft.irfft2(sfft.rfft2(padded, s=shape)[None] * spectra, s=shape, axes=(1, 2))
    h, w = error.shape
    filtered = filtered[:, radius : radius + h, radius : radius + w]
    return np.max(filtered**2, axis=0).astype(np.float32)


def error_level(image: np.ndarray, reconstruction: np.ndarray) -> float:
    """The autoencoder's typical error on this image: median over pixels of the RGB squared error.

    A median ignores a small defect, so it says which texture the image looks like to the model.
    """
    error = np.asarray(image, np.float32) - np.asarray(reconstruction, np.float32)
    return float(np.median(np.sum(error**2, axis=-1)))


def top_k_mean(heatmap: np.ndarray, k: int = TOP_K) -> float:
    """Mean of the ``k`` largest values of a map (all of them for maps with fewer pixels)."""
    flat = np.asarray(heatmap, np.float32).ravel()
    k = min(k, flat.size)
    return float(np.partition(flat, flat.size - k)[flat.size - k :].mean())


@dataclass(frozen=True)
class Calibration:
    iso_scale: dict  # texture -> SCALE_PERCENTILE of the isotropic map on its normal calibration crops
    line_scale: dict  # texture -> SCALE_PERCENTILE of the line map on its normal calibration crops
    error_level: dict  # texture -> geometric mean over crops of the median squared error (identifies the texture)
    default_threshold: float  # image-score threshold: 5% above the worst normal calibration image
    normal_image_scores: list  # scores of the calibration images (for the record)


def nearest_texture(level: float, calibration: Calibration) -> str:
    """The calibration texture whose typical error level is closest (in log) to ``level``."""
    level = max(level, 1e-12)
    return min(calibration.error_level, key=lambda name: abs(np.log(level) - np.log(calibration.error_level[name])))


def anomaly_map(image: np.ndarray, reconstruction: np.ndarray, calibration: Calibration) -> tuple[np.ndarray, str]:
    """(heatmap (H, W) float32 >= 0 in calibrated units, identified texture name)."""
    texture = nearest_texture(error_level(image, reconstruction), calibration)
    heatmap = raw_error_map(image, reconstruction) / calibration.iso_scale[texture]
    heatmap += line_error_map(image, reconstruction) / calibration.line_scale[texture]
    return heatmap.astype(np.float32), texture


def calibrate(model: TextureAutoencoder) -> Calibration:
    """Fix per-texture scales and the default threshold from normal calibration crops only."""
    named = region_crops(CALIBRATION_COLUMNS)
    crops = np.stack([crop for _, crop in named])
    names = np.array([name for name, _ in named])
    recon = reconstruct(model, crops)
    iso = np.stack([raw_error_map(x, r) for x, r in zip(crops, recon)])
    line = np.stack([line_error_map(x, r) for x, r in zip(crops, recon)])
    levels = np.array([error_level(x, r) for x, r in zip(crops, recon)])
    partial = Calibration(
        iso_scale={t: float(np.percentile(iso[names == t], SCALE_PERCENTILE)) for t in TEXTURES},
        line_scale={t: float(np.percentile(line[names == t], SCALE_PERCENTILE)) for t in TEXTURES},
        error_level={t: float(np.exp(np.mean(np.log(levels[names == t])))) for t in TEXTURES},
        default_threshold=0.0,
        normal_image_scores=[],
    )
    scores = [top_k_mean(anomaly_map(x, r, partial)[0]) for x, r in zip(crops, recon)]
    return dataclasses.replace(
        partial,
        # 5% headroom over the worst normal crop: no false alarm on the calibration images.
        default_threshold=round(float(max(scores)) * 1.05, 3),
        normal_image_scores=[round(s, 3) for s in scores],
    )


def build_registered(source, folder) -> tuple[TextureAutoencoder, Calibration]:
    """Registry builder (task ``autoencoder-anomaly``): the texture autoencoder and its calibration."""
    import json

    model = TextureAutoencoder.from_pretrained(folder, use_safetensors=True).eval()
    model = model.to(memory_format=torch.channels_last)  # faster oneDNN convolutions on CPU
    calibration = Calibration(**json.loads((folder / "calibration.json").read_text()))
    return model, calibration


def load_anomaly_model() -> tuple[TextureAutoencoder, Calibration]:
    """The committed texture autoencoder and its calibration (built once per process by the registry)."""
    from engine.core import registry

    return registry.load("autoencoder-anomaly")


@dataclass(frozen=True)
class AnomalyResult:
    image: np.ndarray  # (H, W, 3) float32 in [0, 1], the scored image
    reconstruction: np.ndarray  # same shape
    heatmap: np.ndarray  # (H, W) float32: isotropic + line map, each / its texture's p99.9 on normal pixels
    score: float  # image score = mean of the TOP_K hottest heatmap pixels
    threshold: float  # threshold used for the mask and the decision
    is_anomaly: bool  # score >= threshold
    texture: str  # calibration texture the image was standardised against


def score_image(image: np.ndarray, threshold: float | None = None) -> AnomalyResult:
    """Score one (H, W, 3) float image in [0, 1] with the committed model."""
    model, calibration = load_anomaly_model()
    threshold = calibration.default_threshold if threshold is None else float(threshold)
    reconstruction = reconstruct(model, image)
    heatmap, texture = anomaly_map(image, reconstruction, calibration)
    score = top_k_mean(heatmap)
    return AnomalyResult(image, reconstruction, heatmap, score, threshold, score >= threshold, texture)


@dataclass(frozen=True)
class EvalScores:
    heatmaps: np.ndarray  # (N, H, W) float32 in dataset-wide units
    image_scores: np.ndarray  # (N,) float, top-k mean of each heatmap
    eval_set: EvalSet


def score_eval_set(model: TextureAutoencoder, calibration: Calibration, eval_set: EvalSet | None = None) -> EvalScores:
    """Heatmaps and image scores of a labelled set (default: the held-out evaluation set)."""
    eval_set = build_eval_set() if eval_set is None else eval_set
    recon = reconstruct(model, eval_set.images)
    maps = np.stack([anomaly_map(x, r, calibration)[0] for x, r in zip(eval_set.images, recon)])
    return EvalScores(maps.astype(np.float32), np.array([top_k_mean(m) for m in maps]), eval_set)


def eval_scores() -> EvalScores:
    """Scores of the committed model on the evaluation set (cached once per process)."""
    return load_once("ae-anomaly-eval", lambda: score_eval_set(*load_anomaly_model()))


def metrics_at(scores: EvalScores, threshold: float) -> dict:
    """Image- and pixel-level precision/recall/F1 on the evaluation set when flagging ``>= threshold``."""
    image = threshold_metrics(scores.image_scores, scores.eval_set.labels, threshold)
    pixel = threshold_metrics(scores.heatmaps, scores.eval_set.masks, threshold)
    as_dict = lambda m: {"precision": round(m.precision, 4), "recall": round(m.recall, 4), "f1": round(m.f1, 4)}  # noqa: E731
    return {"threshold": round(float(threshold), 4), "image": as_dict(image), "pixel": as_dict(pixel)}


def roc_data(scores: EvalScores) -> dict:
    """ROC curves (fpr, tpr arrays) and AUROC at image and pixel level."""
    image_fpr, image_tpr, _ = roc_curve(scores.image_scores, scores.eval_set.labels)
    pixel_fpr, pixel_tpr, _ = roc_curve(scores.heatmaps, scores.eval_set.masks)
    # Thin the pixel curve (hundreds of thousands of points) for plotting; AUROC uses all points.
    keep = np.unique(np.linspace(0, len(pixel_fpr) - 1, 400).astype(int))
    return {
        "image": (image_fpr, image_tpr, auroc(scores.image_scores, scores.eval_set.labels)),
        "pixel": (pixel_fpr[keep], pixel_tpr[keep], auroc(scores.heatmaps, scores.eval_set.masks)),
    }


def evaluate_anomaly(model: TextureAutoencoder, calibration: Calibration, eval_set: EvalSet | None = None) -> dict:
    """The quality-bar figures: image/pixel AUROC, per-kind image AUROC, F1 at the default threshold.

    ``eval_set`` defaults to the held-out evaluation set; pass :func:`build_validation_set` to choose models.
    """
    scores = score_eval_set(model, calibration, eval_set)
    labels = scores.eval_set.labels
    kinds = np.array(scores.eval_set.kinds)
    per_kind = {}
    for kind in DEFECT_KINDS:
        subset = (kinds == kind) | ~labels
        per_kind[kind] = round(auroc(scores.image_scores[subset], labels[subset]), 4)
    textures = np.array(scores.eval_set.textures)
    per_texture = {
        name: round(auroc(scores.image_scores[textures == name], labels[textures == name]), 4) for name in TEXTURES
    }
    return {
        "images": int(len(labels)),
        "defective": int(labels.sum()),
        "image_auroc": round(auroc(scores.image_scores, labels), 4),
        "pixel_auroc": round(auroc(scores.heatmaps, scores.eval_set.masks), 4),
        "image_auroc_per_kind": per_kind,
        "image_auroc_per_texture": per_texture,
        "at_default_threshold": metrics_at(scores, calibration.default_threshold),
    }


# ---------------------------------------------------------------- drawn for the tab

def check_threshold(threshold) -> float | None:
    """``None`` (the calibrated default) or a positive finite threshold; ``ValueError`` otherwise."""
    if threshold is None:
        return None
    threshold = float(threshold)
    if not np.isfinite(threshold) or threshold <= 0:
        raise ValueError(f"The threshold must be a positive number (the default is {default_threshold()}); got {threshold}.")
    return threshold


def anomaly_view(image: Image.Image, threshold: float | None = None, normalisation: str = "dataset-wide"):
    """Score an RGB PIL image: (heatmap overlay, predicted-mask overlay, info dict with score / threshold / is_anomaly)."""
    if normalisation not in render.NORMALISATIONS:
        raise ValueError(f"Normalisation must be one of {render.NORMALISATIONS}; got {normalisation!r}.")
    if min(image.size) < 8:
        raise ValueError(f"The image is {image.width}x{image.height}; anomaly scoring needs at least 8x8 pixels.")
    original = image.size
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        image = image.resize((max(8, round(image.width * scale)), max(8, round(image.height * scale))), Image.LANCZOS)
    array = np.asarray(image, dtype=np.float32) / 255.0
    result = score_image(array, check_threshold(threshold))
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


def gallery_indices(eval_set: EvalSet, count: int = GALLERY_SIZE) -> list[int]:
    """``count`` images spread evenly over the set, normal and defective alternately.

    The set holds each crop as normal (even index) then defective (odd index), texture after texture.
    """
    pairs = len(eval_set.labels) // 2
    return [2 * (k * pairs // count) + k % 2 for k in range(min(count, pairs))]


def threshold_view(threshold: float):
    """The evaluation set at one threshold: (gallery of (mask overlay, caption), P/R/F1 + AUROC dict, ROC plot)."""
    threshold = check_threshold(threshold)
    scores = eval_scores()
    metrics = metrics_at(scores, threshold)
    eval_set = scores.eval_set
    gallery = [
        (render.mask_overlay(eval_set.images[i], scores.heatmaps[i] >= threshold, eval_set.masks[i]),
         f"{eval_set.kinds[i]} ({eval_set.textures[i]}) score {scores.image_scores[i]:.2f}")
        for i in gallery_indices(eval_set)
    ]
    curves = load_once("ae-anomaly-roc", lambda: roc_data(scores))  # independent of the threshold
    point = threshold_metrics(scores.image_scores, eval_set.labels, threshold)
    fpr = float(np.mean(scores.image_scores[~eval_set.labels] >= threshold))
    plot = render.roc_plot({"image": curves["image"], "pixel": curves["pixel"]}, operating_point=(fpr, point.recall))
    metrics["image_auroc"] = round(curves["image"][2], 4)
    metrics["pixel_auroc"] = round(curves["pixel"][2], 4)
    metrics["eval_images"] = int(len(eval_set.labels))
    return gallery, metrics, plot
