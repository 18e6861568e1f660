"""Denoise a photo with the embedded autoencoder and compare with classical baselines.

Images are (H, W, 3) float32 arrays in [0, 1] unless stated otherwise.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from skimage.filters import gaussian as gaussian_blur
from skimage.restoration import denoise_nl_means, denoise_tv_chambolle

from engine.autoencoder import render
from engine.autoencoder.metrics import SSIM_MIN_SIDE, psnr, ssim, ssim_many
from engine.autoencoder.models import DenoisingAutoencoder
from engine.autoencoder.noise import apply_noise
from engine.core import registry

MAX_SIDE = 1024  # larger uploads are downscaled to this longest side before denoising
BLUR_SIGMAS = (0.5, 0.75, 1.0, 1.5, 2.0)  # Gaussian-blur baseline: best of these, judged against the clean image
# Blur sigma for the interactive endpoint, per noise kind: (level, sigma) pairs; the nearest level wins.
# Each sigma is the one of BLUR_SIGMAS with the best mean PSNR on the 11 *training* photos
# (python -c "from engine.autoencoder.denoise import calibrate_blur_table as c; print(c())"); level 0 -> lightest blur.
BLUR_TABLE = {
    "gaussian": ((0.0, 0.5), (0.1, 1.0), (0.2, 2.0), (0.3, 2.0), (0.4, 2.0), (0.5, 2.0)),
    "salt_pepper": ((0.0, 0.5), (0.1, 2.0), (0.2, 2.0), (0.3, 2.0), (0.4, 2.0), (0.5, 2.0)),
    "speckle": ((0.0, 0.5), (0.2, 1.0), (0.4, 2.0), (0.6, 2.0), (0.8, 2.0), (1.0, 2.0)),
    "masking": ((0.0, 0.5), (0.16, 2.0), (0.32, 2.0), (0.48, 2.0), (0.64, 2.0), (0.8, 2.0)),
}
# numpy / scipy / skimage release the GIL, so the baselines and SSIMs overlap with the network.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ae-denoise")


def load_denoiser() -> DenoisingAutoencoder:
    """The committed denoiser (cached once per process), in eval mode on CPU."""
    return registry.load("autoencoder-denoise")


def build_registered(source, folder) -> DenoisingAutoencoder:
    """Registry builder: the committed denoiser from its verified asset folder."""
    model = DenoisingAutoencoder.from_pretrained(folder, use_safetensors=True).eval()
    # channels_last lets oneDNN pick faster convolution kernels on CPU.
    return model.to(memory_format=torch.channels_last)


@torch.inference_mode()
def denoise(image: np.ndarray, model: DenoisingAutoencoder | None = None) -> np.ndarray:
    """Run the autoencoder on one (H, W, 3) image in [0, 1]; returns the same shape in [0, 1]."""
    model = model or load_denoiser()
    # (H, W, 3) memory viewed as (1, 3, H, W) is already channels_last: no copy on the way in.
    tensor = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
    out = model(tensor).clamp(0, 1)
    return np.ascontiguousarray(out[0].permute(1, 2, 0).numpy())


def best_blur(noisy: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, float]:
    """Gaussian blur with the sigma (from BLUR_SIGMAS) that maximises PSNR: an oracle, so a strong baseline."""
    best, best_sigma, best_score = noisy, 0.0, -np.inf
    for sigma in BLUR_SIGMAS:
        blurred = gaussian_blur(noisy, sigma=sigma, channel_axis=-1, preserve_range=True).astype(np.float32)
        score = psnr(clean, blurred)
        if score > best_score:
            best, best_sigma, best_score = blurred, sigma, score
    return best, best_sigma


def blur(noisy: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of an (H, W, 3) float image, float32."""
    return gaussian_blur(noisy, sigma=sigma, channel_axis=-1, preserve_range=True).astype(np.float32)


def table_sigma(noise: str, level: float) -> float:
    """Blur sigma from BLUR_TABLE for the nearest calibrated level of ``noise`` (no clean image needed)."""
    pairs = BLUR_TABLE[noise]
    return min(pairs, key=lambda pair: abs(pair[0] - float(level)))[1]


def calibrate_blur_table(levels_per_kind: int = 5) -> dict:
    """Recompute BLUR_TABLE's entries on the training photos (about 20 s on one core)."""
    from engine.autoencoder.noise import NOISE_LEVELS
    from engine.autoencoder.photos import TRAIN_PHOTOS, load_photo

    photos = [np.asarray(load_photo(name)) for name in TRAIN_PHOTOS]
    table = {}
    for kind, (low, high, _, _) in NOISE_LEVELS.items():
        rows = []
        for level in np.round(np.linspace(low, high, levels_per_kind + 1)[1:], 3):
            total = np.zeros(len(BLUR_SIGMAS))
            for index, photo in enumerate(photos):
                noisy = apply_noise(photo, kind, float(level), 100 + index)
                total += [psnr(photo, blur(noisy, sigma)) for sigma in BLUR_SIGMAS]
            rows.append((float(level), BLUR_SIGMAS[int(np.argmax(total))]))
        table[kind] = tuple(rows)
    return table


def estimate_sigma(image: np.ndarray) -> float:
    """Noise standard deviation from the finest diagonal Haar wavelet band (Donoho's MAD rule).

    Same estimator as ``skimage.restoration.estimate_sigma`` without needing PyWavelets.
    """
    x = np.asarray(image, dtype=np.float64)
    height, width = (x.shape[0] // 2) * 2, (x.shape[1] // 2) * 2
    x = x[:height, :width]
    if height == 0 or width == 0:
        return 0.0
    diagonal = (x[0::2, 0::2] - x[0::2, 1::2] - x[1::2, 0::2] + x[1::2, 1::2]) / 2
    return float(np.mean(np.median(np.abs(diagonal.reshape(-1, *x.shape[2:])), axis=0) / 0.6745))


def tv_denoise(noisy: np.ndarray) -> np.ndarray:
    """Total-variation (Chambolle) denoising, weight set from the estimated noise level."""
    sigma = estimate_sigma(noisy)
    # Capped at 60 iterations (default 200) to bound latency; on the held-out photos it converges before the cap (same PSNR).
    return denoise_tv_chambolle(noisy, weight=max(0.02, 1.2 * sigma), max_num_iter=60, channel_axis=-1).astype(np.float32)


def nl_means(noisy: np.ndarray) -> np.ndarray:
    """Non-local means with the noise level estimated from the image (scikit-image's recipe)."""
    sigma = estimate_sigma(noisy)
    return denoise_nl_means(
        noisy, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6, fast_mode=True, channel_axis=-1
    ).astype(np.float32)


def fit_size(image: Image.Image, max_side: int = MAX_SIDE) -> tuple[Image.Image, bool]:
    """Downscale (keeping aspect) so the longest side is at most ``max_side``; returns (image, was_resized)."""
    if max(image.size) <= max_side:
        return image, False
    scale = max_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.LANCZOS), True


@dataclass(frozen=True)
class DenoiseResult:
    clean: np.ndarray  # (H, W, 3) float32 in [0, 1]: the (possibly downscaled) input
    noisy: np.ndarray  # same shape: clean + the chosen noise
    denoised: np.ndarray  # same shape: the autoencoder's output
    blur: np.ndarray  # same shape: Gaussian-blur baseline (sigma from BLUR_TABLE)
    classical: np.ndarray  # same shape: TV or non-local-means baseline
    metrics: dict = field(default_factory=dict)  # PSNR (dB) / SSIM per method, plus settings


def run_denoise(
    image: Image.Image, noise: str = "gaussian", level: float = 0.1, seed: int = 0, classical: str = "tv"
) -> DenoiseResult:
    """Corrupt ``image`` (RGB PIL) with seeded noise, denoise it three ways, and score each against the clean image."""
    if min(image.size) < SSIM_MIN_SIDE:
        raise ValueError(
            f"The image is {image.width}x{image.height}; denoising needs at least {SSIM_MIN_SIDE}x{SSIM_MIN_SIDE} "
            "pixels so SSIM can be measured. Upload a larger photo."
        )
    original_size = image.size
    image, resized = fit_size(image)
    clean = np.asarray(image, dtype=np.float32) / 255.0
    noisy = apply_noise(clean, noise, level, seed)
    if classical == "tv":
        classical_fn, baseline_name = tv_denoise, "tv_chambolle"
    elif classical == "nl_means":
        classical_fn, baseline_name = nl_means, "nl_means"
    else:
        raise ValueError(f"Unknown classical baseline {classical!r}; choose 'tv' or 'nl_means'.")
    blur_sigma = table_sigma(noise, level)

    def blur_and_score() -> tuple[np.ndarray, list[float]]:
        blurred = blur(noisy, blur_sigma)
        return blurred, ssim_many(clean, [noisy, blurred])  # skimage's SSIM, clean statistics shared

    def classical_and_score() -> tuple[np.ndarray, list[float]]:
        baseline = classical_fn(noisy)
        return baseline, ssim_many(clean, [baseline])

    # Everything that does not need the network's output runs in the pool while the network runs here.
    blur_job, baseline_job = _POOL.submit(blur_and_score), _POOL.submit(classical_and_score)
    denoised = denoise(noisy)
    (ae_ssim,) = ssim_many(clean, [denoised])
    (blurred, (noisy_ssim, blur_ssim)), (baseline, (baseline_ssim,)) = blur_job.result(), baseline_job.result()
    noisy_score, ae_score, blur_score, baseline_score = (
        {"psnr_db": round(psnr(clean, test), 2), "ssim": round(value, 4)}
        for test, value in zip((noisy, denoised, blurred, baseline), (noisy_ssim, ae_ssim, blur_ssim, baseline_ssim))
    )
    metrics = {
        "noise": noise,
        "level": float(level),
        "seed": int(seed),
        "size": [image.width, image.height],
        "resized_from": list(original_size) if resized else None,
        "noisy": noisy_score,
        "autoencoder": ae_score,
        "gaussian_blur": {**blur_score, "sigma": blur_sigma, "sigma_from": "per-noise-level table calibrated on the training photos"},
        baseline_name: baseline_score,
    }
    metrics["autoencoder"]["psnr_gain_db"] = round(metrics["autoencoder"]["psnr_db"] - metrics["noisy"]["psnr_db"], 2)
    return DenoiseResult(clean, noisy, denoised, blurred, baseline, metrics)


def denoise_view(image: Image.Image, noise: str = "gaussian", level: float = 0.1, seed: int = 0, classical: str = "tv"):
    """:func:`run_denoise` drawn for the tab: (noisy, denoised, |denoised - clean| x4, blur baseline,
    classical baseline) as PIL images, then the metrics dict."""
    result = run_denoise(image, noise, level, seed, classical)
    return (
        render.to_pil(result.noisy),
        render.to_pil(result.denoised),
        render.difference_image(result.clean, result.denoised),
        render.to_pil(result.blur),
        render.to_pil(result.classical),
        result.metrics,
    )


def evaluate_heldout(model: DenoisingAutoencoder, noise: str = "gaussian", level: float = 0.1, seed: int = 0) -> dict:
    """Mean PSNR/SSIM on the held-out photos for noisy input, autoencoder, best blur, TV and NL-means."""
    from engine.autoencoder.photos import HELDOUT_PHOTOS, load_photo

    rows = []
    for index, name in enumerate(HELDOUT_PHOTOS):
        clean = np.asarray(load_photo(name))
        noisy = apply_noise(clean, noise, level, seed + index)
        outputs = {
            "noisy": noisy,
            "autoencoder": denoise(noisy, model),
            "gaussian_blur": best_blur(noisy, clean)[0],
            "tv_chambolle": tv_denoise(noisy),
            "nl_means": nl_means(noisy),
        }
        rows.append({key: (psnr(clean, value), ssim(clean, value)) for key, value in outputs.items()})
    return {
        key: {
            "psnr_db": round(float(np.mean([row[key][0] for row in rows])), 2),
            "ssim": round(float(np.mean([row[key][1] for row in rows])), 4),
        }
        for key in rows[0]
    }
