"""Drawing for Autoencoder > Variational: arrays in, RGB ``PIL.Image`` out, and the result cards' plain words.

Nothing here computes a metric; callers pass in what to draw.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.autoencoder.render import DIGIT_COLOURS
from engine.core.draw import KeyFigure, KeyFigures, figure_to_pil, new_figure

RECON_COLOUR, KL_COLOUR = "#2563eb", "#d97706"


def digit_big(image: np.ndarray, side: int = 192) -> Image.Image:
    """(H, W) in [0, 1] (ink = 1) -> white ink on black, enlarged with crisp pixels to ``side``."""
    pil = Image.fromarray((np.clip(np.asarray(image, np.float32), 0, 1) * 255).round().astype(np.uint8), mode="L")
    return pil.resize((side, side), Image.NEAREST).convert("RGB")


def digits_grid(images: np.ndarray, columns: int = 8, cell: int = 64, gap: int = 4,
                captions: list[str] | None = None) -> Image.Image:
    """(N, H, W) digits in a grid of ``cell``-px tiles; optional caption under each (>= 14 px)."""
    from PIL import ImageDraw

    from engine.core.draw import font

    count = len(images)
    rows = max(1, -(-count // columns))
    caption_h = 20 if captions else 0
    grid = Image.new("RGB", (columns * (cell + gap) + gap, rows * (cell + gap + caption_h) + gap), (40, 40, 40))
    draw = ImageDraw.Draw(grid)
    for i, item in enumerate(images):
        x, y = gap + (i % columns) * (cell + gap), gap + (i // columns) * (cell + gap + caption_h)
        grid.paste(digit_big(item, cell), (x, y))
        if captions:
            draw.text((x + cell // 2, y + cell + 2), captions[i], fill=(235, 235, 235), font=font(15), anchor="ma")
    return grid


def _scatter_panel(axes, points, labels, box, title):
    axes.scatter(points[:, 0], points[:, 1], c=[DIGIT_COLOURS(int(k)) for k in labels], s=9, alpha=0.8, linewidths=0)
    _class_labels(axes, points, labels)
    axes.set_xlim(*box[0])
    axes.set_ylim(*box[1])
    axes.set(xlabel="z1", ylabel="z2", title=title)


def _class_labels(axes, points, labels):
    for digit in range(10):
        chosen = points[labels == digit]
        if len(chosen):
            axes.text(*np.median(chosen, axis=0), str(digit), fontsize=13, weight="bold", color=DIGIT_COLOURS(digit),
                      ha="center", va="center", clip_on=True,
                      bbox={"boxstyle": "circle,pad=0.15", "fc": "white", "ec": DIGIT_COLOURS(digit), "alpha": 0.85})


def _ellipse_panel(axes, mu, sigma, labels, box, title, every: int = 2):
    from matplotlib.patches import Ellipse

    for m, s, k in zip(mu[::every], sigma[::every], labels[::every]):
        axes.add_patch(Ellipse(m, 2 * s[0], 2 * s[1], fc=DIGIT_COLOURS(int(k)), ec="none", alpha=0.12))
    axes.scatter(mu[:, 0], mu[:, 1], c=[DIGIT_COLOURS(int(k)) for k in labels], s=6, alpha=0.9, linewidths=0)
    _class_labels(axes, mu, labels)
    axes.set_xlim(*box[0])
    axes.set_ylim(*box[1])
    axes.set(xlabel="z1", ylabel="z2", title=title)


def maps_figure(maps, ae_marker=None, vae_marker=None, vae_marker_sigma=None, width: float = 11.0) -> Image.Image:
    """The plain autoencoder's map (left) beside the VAE's posteriors as ellipses (mean +- one sigma, right).

    ``ae_marker`` / ``vae_marker``: (K, 2) points to mark (an encoded digit, random points); ``vae_marker_sigma`` its
    one-sigma ellipse on the VAE map.
    """
    from matplotlib.patches import Ellipse

    figure = new_figure(width, width * 0.43)
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    _scatter_panel(left, maps.ae_points, maps.labels, maps.ae_box, "Plain autoencoder: a point per digit")
    _ellipse_panel(right, maps.vae_mu, maps.vae_sigma, maps.labels, maps.vae_box,
                   "VAE (β 16): a Gaussian per digit (±1σ)")
    for axes, marker in ((left, ae_marker), (right, vae_marker)):
        if marker is not None:
            marker = np.atleast_2d(marker)
            axes.plot(marker[:, 0], marker[:, 1], "X", color="black", ms=16, mec="white", mew=1.5, ls="none", zorder=10)
    if vae_marker is not None and vae_marker_sigma is not None:
        right.add_patch(Ellipse(np.ravel(vae_marker)[:2], 2 * vae_marker_sigma[0], 2 * vae_marker_sigma[1], fc="none",
                                ec="black", lw=2.5, zorder=9))
    figure.tight_layout()
    return figure_to_pil(figure)


def live_figure(frame, beta: float, box=None, width: float = 6.0) -> Image.Image:
    """One live beta-run frame: the test digits' posteriors (mean +- one sigma) on the 2-D map."""
    from matplotlib.patches import Circle

    figure = new_figure(width, width * 0.85)
    axes = figure.add_subplot()
    if box is None:  # symmetric, at least the prior's +-4, wide enough for every mean (beta 0 spreads them far)
        bound = max(4.0, 1.1 * float(np.abs(frame.mu).max()))
        box = ((-bound, bound), (-bound, bound))
    _ellipse_panel(axes, frame.mu, frame.sigma, frame.labels, box,
                   f"β = {beta:g}, epoch {frame.epoch}/{frame.epochs}", every=1)
    axes.add_patch(Circle((0, 0), 2, fc="none", ec="#555", ls="--", lw=1.5))  # the prior's 2-sigma circle
    axes.set_aspect("equal")
    figure.tight_layout()
    return figure_to_pil(figure)


def loss_bars(reconstruction: float, kl: float, width: float = 6.0) -> Image.Image:
    """Two horizontal bars: reconstruction loss and KL (both nats), the two terms of the negative ELBO."""
    figure = new_figure(width, 2.2)
    axes = figure.add_subplot()
    values = [reconstruction, kl]
    bars = axes.barh(["reconstruction", "KL"], values, color=[RECON_COLOUR, KL_COLOUR])
    for bar, value in zip(bars, values):
        axes.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {value:.1f}", va="center", fontsize=14)
    axes.set_xlim(0, max(values) * 1.25 + 1e-9)
    axes.invert_yaxis()
    axes.set_xlabel("nats (negative ELBO = the sum)")
    figure.tight_layout()
    return figure_to_pil(figure)


def mu_sigma_chart(mu: np.ndarray, sigma: np.ndarray, width: float = 6.0) -> Image.Image:
    """Each latent dimension's posterior mean with a +- one sigma bar, against the prior's N(0, 1) band."""
    figure = new_figure(width, 2.8)
    axes = figure.add_subplot()
    dims = np.arange(1, len(mu) + 1)
    axes.axhspan(-1, 1, color="#e5e7eb", zorder=0, label="prior ±1")
    axes.errorbar(dims, mu, yerr=sigma, fmt="o", color=RECON_COLOUR, ecolor=KL_COLOUR, elinewidth=3, capsize=0,
                  label="μ ± σ")
    axes.set_xticks(dims[:: max(1, len(dims) // 8)])
    axes.set(xlabel="latent dimension", ylabel="z")
    axes.legend(loc="upper right", fontsize=11, ncols=2)
    figure.tight_layout()
    return figure_to_pil(figure)


# --------------------------------------------------------------------------------------- result cards
def encode_summary(info: dict) -> KeyFigures:
    """/vae_encode's info: KL and reconstruction loss, the posterior's spread."""
    kl, recon = float(info["kl"]), float(info["reconstruction_error"])
    sigma = np.asarray(info["sigma"], float)
    return KeyFigures(
        headline=(f"Negative ELBO {recon + kl:.1f} nats: reconstruction {recon:.1f} + KL {kl:.2f}. "
                  f"{int((sigma < 0.5).sum())} of {len(sigma)} dimensions are pinned down (σ < 0.5)."),
        figures=(KeyFigure("Reconstruction loss", f"{recon:.1f} nats",
                           f"cross-entropy, 1,024 pixels; a perfect copy pays {float(info['reconstruction_floor']):.1f}"),
                 KeyFigure("KL to the prior", f"{kl:.2f} nats", "0.5·Σ(μ² + σ² − 1 − log σ²)"),
                 KeyFigure("Pixel MSE", f"{float(info['reconstruction_mse']):.4f}", "reconstruction vs input")),
    )


def sample_summary(info: dict) -> KeyFigures:
    """/vae_sample's info (with the judge's readings added by the view)."""
    readings = info.get("judge_reads") or []
    classes = len(set(readings))
    return KeyFigures(
        headline=f"{len(info['z'])} digits decoded from z ~ N(0, I); the judge reads {classes} different classes.",
        figures=(KeyFigure("Samples", str(len(info["z"])), f"seed {info['seed']}"),
                 KeyFigure("Classes read", f"{classes} of 10", "by the GAN tab's judge"),
                 KeyFigure("Latent size", str(len(info["z"][0])) if info["z"] else "-", "numbers per digit")),
    )


def random_summary(info: dict) -> KeyFigures:
    """The random-point decode: the judge's reading of each side, and what many random points decode to."""
    ae, vae, holes = info["autoencoder"], info["vae"], info["holes"]
    h_ae, h_vae, n = holes["ae"], holes["vae"], holes["points"]
    closer = "VAE's" if h_vae["fid"] < h_ae["fid"] else "autoencoder's"
    return KeyFigures(
        headline=(f"Of {n} random points per map, the {closer} decodes are closer to real digits (Fréchet distance "
                  f"{h_ae['fid']:.0f} AE vs {h_vae['fid']:.0f} VAE); the most common class is "
                  f"{h_ae['top_class_share']:.0%} of the AE's decodes, {h_vae['top_class_share']:.0%} of the VAE's."),
        figures=(KeyFigure("Autoencoder's decode", f"{ae['judge_reads']} ({ae['judge_confidence']:.0%})",
                           "judge's reading (probability)"),
                 KeyFigure("VAE's decode", f"{vae['judge_reads']} ({vae['judge_confidence']:.0%})",
                           "judge's reading (probability)"),
                 KeyFigure("Fréchet distance, AE / VAE", f"{h_ae['fid']:.0f} / {h_vae['fid']:.0f}",
                           f"{n} random decodes vs {holes['heldout_count']} held-out digits; lower = more real"),
                 KeyFigure("Most common class, AE / VAE", f"{h_ae['top_class_share']:.0%} / {h_vae['top_class_share']:.0%}",
                           f"the AE's {h_ae['top_class']}s, the VAE's {h_vae['top_class']}s; 10% = even"),
                 KeyFigure("Read clearly, AE / VAE", f"{h_ae['clear_share']:.0%} / {h_vae['clear_share']:.0%}",
                           f"judge probability > {holes['threshold']:.0%}")),
    )


def live_summary(info: dict) -> KeyFigures:
    """The live beta run's latest frame."""
    kl = float(info["kl"])
    state = ("collapsed: the code carries almost nothing" if kl < 0.5 else
             "spread out, AE-like: gaps between the classes" if float(info["beta"]) < 0.3 else "filling the prior")
    return KeyFigures(
        headline=f"β = {float(info['beta']):g}, epoch {info['epoch']}/{info['epochs']}: {state}.",
        figures=(KeyFigure("Reconstruction", f"{float(info['reconstruction']):.1f} nats", "test digits, 64 pixels"),
                 KeyFigure("KL", f"{kl:.2f} nats", "test digits, mean"),
                 KeyFigure("Time", f"{float(info['seconds']):.1f} s", "training so far")),
    )
