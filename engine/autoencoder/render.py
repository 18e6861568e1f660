"""Pure drawing functions for the Autoencoder tab: arrays in, RGB ``PIL.Image`` out.

Nothing here computes a metric; callers pass in what to draw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.core.draw import KeyFigure, KeyFigures, colour_map, figure_to_pil, new_figure, to_pil


def DIGIT_COLOURS(digit: int) -> tuple[float, float, float, float]:
    """The 'tab10' colour of class ``digit`` (RGBA floats)."""
    from matplotlib import colormaps

    return colormaps["tab10"](digit)


def difference_image(reference: np.ndarray, test: np.ndarray, gain: float = 4.0) -> Image.Image:
    """|test - reference| averaged over channels, multiplied by ``gain``, in the 'magma' colour map."""
    diff = np.clip(np.abs(np.asarray(test) - np.asarray(reference)).mean(axis=-1) * gain, 0, 1)
    return to_pil(colour_map(diff, "magma"))


# How an anomaly heatmap's colour scale is set: dataset-wide divides by the error level of normal images (only
# real outliers light up); per-image stretches each heatmap to its own hottest pixel (a flawless image looks hot).
NORMALISATIONS = ("dataset-wide", "per-image")


def heatmap_overlay(image: np.ndarray, heatmap: np.ndarray, vmax: float, alpha: float = 0.55) -> Image.Image:
    """Blend ``heatmap / vmax`` (clipped to [0, 1], 'inferno' colours) over an (H, W, 3) image in [0, 1]."""
    level = np.clip(np.asarray(heatmap) / max(float(vmax), 1e-12), 0, 1)
    colour = colour_map(level, "inferno")
    weight = alpha * (0.25 + 0.75 * level)[..., None]  # cool pixels stay mostly see-through
    return to_pil((1 - weight) * image + weight * colour)


def mask_overlay(image: np.ndarray, predicted: np.ndarray, truth: np.ndarray | None = None) -> Image.Image:
    """Tint predicted-anomalous pixels red; draw the ground-truth outline (if given) in cyan."""
    out = np.array(image, dtype=np.float32)
    out[predicted] = 0.45 * out[predicted] + 0.55 * np.array([1.0, 0.1, 0.1])
    if truth is not None and truth.any():
        from scipy.ndimage import binary_dilation  # scipy is slow to import: only when a mask is drawn

        edge = binary_dilation(truth, iterations=1) & ~truth
        out[edge] = np.array([0.0, 1.0, 1.0])
    return to_pil(out)


def image_grid(tiles: list[Image.Image], columns: int, gap: int = 2, background: int = 255) -> Image.Image:
    """Paste equally sized tiles into a grid, row by row."""
    if not tiles:
        raise ValueError("Nothing to draw.")
    width, height = tiles[0].size
    rows = -(-len(tiles) // columns)
    grid = Image.new("RGB", (columns * width + (columns - 1) * gap, rows * height + (rows - 1) * gap), (background,) * 3)
    for i, tile in enumerate(tiles):
        grid.paste(tile.convert("RGB"), ((i % columns) * (width + gap), (i // columns) * (height + gap)))
    return grid


def digit_tiles(digits: np.ndarray, scale: int = 16) -> list[Image.Image]:
    """(N, 8, 8) digits in [0, 1] (ink = 1) -> dark-ink-on-white tiles, upscaled by ``scale`` (nearest)."""
    return [to_pil(1 - np.asarray(d)).resize((8 * scale, 8 * scale), Image.NEAREST).convert("RGB") for d in digits]


def roc_plot(curves: dict, operating_point: tuple[float, float] | None = None) -> Image.Image:
    """ROC curves. ``curves`` maps a name to (fpr, tpr, auroc); the optional point is (fpr, tpr) at the threshold."""
    figure = new_figure(4.6, 4.0)
    axes = figure.add_subplot()
    for name, (fpr, tpr, area) in curves.items():
        axes.plot(fpr, tpr, label=f"{name} AUROC = {area:.3f}")
    if operating_point is not None:
        axes.plot(*operating_point, "ko", label="image level @ threshold")
    axes.plot([0, 1], [0, 1], ":", color="grey")
    axes.set(xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1.01), title="ROC on held-out defects")
    axes.legend(loc="lower right", fontsize=11)
    figure.tight_layout()
    return figure_to_pil(figure)


def bottleneck_plot(sizes: list[int], ae_mse: list[float], pca_mse: list[float]) -> Image.Image:
    """Reconstruction MSE against latent size, autoencoder vs PCA (log y axis)."""
    figure = new_figure(5.0, 3.6)
    axes = figure.add_subplot()
    axes.plot(sizes, ae_mse, "o-", label="autoencoder")
    axes.plot(sizes, pca_mse, "s--", label="PCA")
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xticks(sizes, [str(s) for s in sizes])
    axes.set(xlabel="latent size", ylabel="test MSE per pixel", title="Bottleneck width vs reconstruction error")
    axes.legend()
    axes.grid(alpha=0.3, which="both")
    figure.tight_layout()
    return figure_to_pil(figure)


@dataclass(frozen=True)
class PlotFrame:
    """Where the data area sits in a rendered scatter, to turn a click (pixels) into latent coordinates."""

    left: float  # pixel x of the axes' left edge
    right: float  # pixel x of the right edge
    top: float  # pixel y of the top edge (image rows grow downward)
    bottom: float  # pixel y of the bottom edge
    x_range: tuple[float, float]  # data limits shown
    y_range: tuple[float, float]

    def to_data(self, px: float, py: float) -> tuple[float, float]:
        """Pixel (x, y) in the image -> data (x, y); points outside the axes are clipped to its edge."""
        fx = np.clip((px - self.left) / (self.right - self.left), 0, 1)
        fy = np.clip((self.bottom - py) / (self.bottom - self.top), 0, 1)
        return (
            float(self.x_range[0] + fx * (self.x_range[1] - self.x_range[0])),
            float(self.y_range[0] + fy * (self.y_range[1] - self.y_range[0])),
        )


MAP_SIZE_PX = (560, 480)  # rendered latent map size (width, height)
_MAP_AXES = (0.13, 0.11, 0.72, 0.8)  # axes rectangle in figure fractions (left, bottom, width, height)


def map_frame(x_range: tuple[float, float], y_range: tuple[float, float]) -> PlotFrame:
    """The pixel frame that :func:`latent_scatter` uses for these limits."""
    width, height = MAP_SIZE_PX
    left, bottom, w, h = _MAP_AXES
    return PlotFrame(left * width, (left + w) * width, (1 - bottom - h) * height, (1 - bottom) * height, x_range, y_range)


def latent_scatter(
    points: np.ndarray,
    labels: np.ndarray,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    marker: tuple[float, float] | None = None,
    path: np.ndarray | None = None,
) -> Image.Image:
    """Scatter of (N, 2) latent points coloured by class (0..9), with an optional marker and path."""
    width, height = MAP_SIZE_PX
    figure = new_figure(width / 100, height / 100)
    axes = figure.add_axes(_MAP_AXES)
    axes.scatter(points[:, 0], points[:, 1], c=[DIGIT_COLOURS(int(k)) for k in labels], s=9, alpha=0.8, linewidths=0)
    for digit in range(10):
        chosen = points[labels == digit]
        if len(chosen):
            centre = np.median(chosen, axis=0)
            axes.text(*centre, str(digit), fontsize=13, weight="bold", color=DIGIT_COLOURS(digit), ha="center", va="center",
                      bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": DIGIT_COLOURS(digit), "alpha": 0.85})
    if path is not None:
        axes.plot(path[:, 0], path[:, 1], "k.-", lw=1.5, ms=6)
    if marker is not None:
        axes.plot(*marker, marker="X", color="black", ms=14, mec="white", mew=1.5)
    axes.set_xlim(*x_range)
    axes.set_ylim(*y_range)
    axes.set_xlabel("latent z1")
    axes.set_ylabel("latent z2")
    axes.set_title("Test digits in the 2-D latent space (click to decode)", fontsize=12)
    return figure_to_pil(figure)


def latent_channels_grid(latents: np.ndarray, tile: int = 128) -> Image.Image:
    """(C, h, w) latent channels -> one grey tile per channel, each min-max scaled, side by side."""
    tiles = []
    for channel in np.asarray(latents, dtype=np.float32):
        span = float(channel.max() - channel.min()) or 1.0
        tiles.append(to_pil((channel - channel.min()) / span).resize((tile, tile), Image.NEAREST))
    return image_grid(tiles, columns=len(tiles))


# ------------------------------------------------------------------ result cards
# Plain-words summaries of the tab's JSON payloads (the API's outputs), for the on-screen cards.
_BASELINE_NAMES = {"gaussian_blur": "Gaussian blur", "tv_chambolle": "TV denoising", "nl_means": "non-local means"}


def denoise_summary(metrics: dict) -> KeyFigures:
    """/ae_denoise's metrics: the autoencoder's PSNR gain over the noisy image, against the baselines."""
    noisy = metrics["noisy"]
    autoencoder = metrics["autoencoder"]
    gain = float(autoencoder["psnr_db"]) - float(noisy["psnr_db"])
    baselines = {key: metrics[key] for key in _BASELINE_NAMES if isinstance(metrics.get(key), dict)}
    best_key = max(baselines, key=lambda key: float(baselines[key]["psnr_db"])) if baselines else None
    verb = "Denoised" if gain > 0 else "Not denoised"
    headline = f"{verb}: {gain:+.1f} dB over the noisy image"
    tone = "good" if gain > 0 else "bad"
    if best_key is not None:
        best = baselines[best_key]
        best_gain = float(best["psnr_db"]) - float(noisy["psnr_db"])
        margin = float(autoencoder["psnr_db"]) - float(best["psnr_db"])
        relation = "better than" if margin > 0 else "not as good as"
        headline += f", {relation} the best baseline ({_BASELINE_NAMES[best_key]}: {best_gain:+.1f} dB)"
    headline += "."
    figures = [
        KeyFigure("Autoencoder", f"{gain:+.1f} dB", f"PSNR {float(autoencoder['psnr_db']):.1f} dB vs noisy {float(noisy['psnr_db']):.1f} dB",
                  tone),
        KeyFigure("Structure kept (SSIM)", f"{float(autoencoder['ssim']):.2f}",
                  f"1 = identical to the clean photo; noisy input: {float(noisy['ssim']):.2f}"),
    ]
    for key, scores in baselines.items():
        note = f"PSNR {float(scores['psnr_db']):.1f} dB, SSIM {float(scores['ssim']):.2f}"
        if key == "gaussian_blur" and "sigma" in scores:
            note += f", sigma {float(scores['sigma']):g}"
        figures.append(KeyFigure(_BASELINE_NAMES[key], f"{float(scores['psnr_db']) - float(noisy['psnr_db']):+.1f} dB", note))
    if metrics.get("resized_from"):
        width, height = metrics["resized_from"]
        figures.append(KeyFigure("Photo size", "{} x {}".format(*metrics["size"]), f"scaled down from {width} x {height}"))
    return KeyFigures(headline=headline, figures=tuple(figures), tone=tone)


def hub_summary(info: dict) -> KeyFigures:
    """/ae_hub_roundtrip's info: compression and reconstruction quality of a Hub autoencoder."""
    shape = " x ".join(str(v) for v in info["latent_shape"])
    return KeyFigures(
        headline=(f"{info['model']} squeezes the photo {float(info['compression']):g}x into a {shape} latent and "
                  f"rebuilds it at {float(info['psnr_db']):.1f} dB PSNR."),
        figures=(
            KeyFigure("Compression", f"{float(info['compression']):g}x", "input numbers per latent number"),
            KeyFigure("Latent", shape, str(info.get("class", ""))),
            KeyFigure("Reconstruction PSNR", f"{float(info['psnr_db']):.1f} dB", "higher = closer to the input"),
        ),
    )


def anomaly_summary(info: dict) -> KeyFigures:
    """/ae_anomaly's info: the verdict, the score against the threshold, how much of the image is flagged."""
    score, threshold, flagged = float(info["score"]), float(info["threshold"]), float(info["anomalous_pixel_fraction"])
    if info["is_anomaly"]:
        headline, verdict, tone = f"Defect found: score {score:.2f} is above the threshold {threshold:.2f}.", "Defect", "bad"
    else:
        headline, verdict, tone = f"Looks normal: score {score:.2f} is below the threshold {threshold:.2f}.", "Normal", "good"
    figures = [
        KeyFigure("Verdict", verdict, "red in the mask = pixels over the threshold", tone),
        KeyFigure("Anomaly score", f"{score:.2f}", f"threshold {threshold:.2f}; normal crops score up to about 3"),
        KeyFigure("Pixels flagged", f"{flagged:.1%}", "share of the image over the threshold"),
    ]
    if info.get("texture_calibration"):
        figures.append(KeyFigure("Compared with normal", str(info["texture_calibration"]), "the texture it looks like"))
    return KeyFigures(headline=headline, figures=tuple(figures), tone=tone)


def evaluation_summary(metrics: dict) -> KeyFigures:
    """/ae_anomaly_threshold's metrics: image- and pixel-level precision / recall / F1 at one threshold."""
    image, pixel = metrics["image"], metrics["pixel"]
    return KeyFigures(
        headline=(f"At threshold {float(metrics['threshold']):.2f}: {float(image['recall']):.0%} of the defective images "
                  f"are caught, and {float(image['precision']):.0%} of the flagged images really are defective."),
        figures=(
            KeyFigure("Images: recall", f"{float(image['recall']):.0%}", "defective images caught"),
            KeyFigure("Images: precision", f"{float(image['precision']):.0%}", "flagged images that are defective"),
            KeyFigure("Images: F1", f"{float(image['f1']):.2f}", ""),
            KeyFigure("Pixels: F1", f"{float(pixel['f1']):.2f}",
                      f"precision {float(pixel['precision']):.0%}, recall {float(pixel['recall']):.0%}"),
            KeyFigure("AUROC (image / pixel)", f"{float(metrics['image_auroc']):.2f} / {float(metrics['pixel_auroc']):.2f}",
                      f"1 = perfect ranking; on {int(metrics['eval_images'])} held-out images"),
        ),
    )


def decode_summary(info: dict) -> KeyFigures:
    """/ae_decode_latent's info: the point decoded and the nearest real test digit."""
    nearest = info["nearest_test_digit"]
    return KeyFigures(
        headline=(f"Decoded the point ({float(info['x']):.2f}, {float(info['y']):.2f}); the nearest test digit in the map is "
                  f"a {nearest['label']}."),
        figures=(
            KeyFigure("Point (z1, z2)", f"{float(info['x']):.2f}, {float(info['y']):.2f}"),
            KeyFigure("Nearest test digit", f"{nearest['label']}", f"distance {float(nearest['distance']):.2f} in the latent map"),
        ),
    )


def bottleneck_summary(table: dict) -> KeyFigures:
    """/ae_bottleneck's table: reconstruction error per latent size, autoencoder vs PCA."""
    sizes = sorted(table, key=int)
    figures = []
    for size in sizes:
        row = table[size]
        ae, pca = float(row["autoencoder_mse"]), float(row["pca_mse"])
        figures.append(KeyFigure(f"{size} number{'s' if int(size) != 1 else ''}", f"{ae:.4f}",
                                 f"PCA {pca:.4f}: autoencoder {'better' if ae < pca else 'worse'}", "good" if ae < pca else ""))
    wins = [size for size in sizes if table[size]["autoencoder_beats_pca"]]
    headline = (f"Test error per pixel (lower is better): the autoencoder beats PCA at {len(wins)} of {len(sizes)} "
                "bottleneck sizes.")
    return KeyFigures(headline=headline, figures=tuple(figures))
