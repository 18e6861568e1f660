"""Pictures and result cards for the diffusion model (and the generator comparison). No gradio.

Digits are white ink on black, like the GAN's; the predicted noise ε̂ is shown with 0 as mid-grey
(ε̂ = ±2 reaches black/white). The schedule chart draws ᾱ_t and the signal-to-noise ratio
SNR = ᾱ_t / (1 - ᾱ_t) over the 1,000 training steps, the sampler's steps as dots and the shown step as a line.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.core.draw import KeyFigure, KeyFigures, figure_to_pil, new_figure
from engine.gan.render import digit_image

DISPLAY_SCALE = 8  # 32 px digits shown at 256 px
NOISE_COLOUR_RANGE = 2.0  # ε̂ values shown from -2 (black) to +2 (white)


def digit(image: np.ndarray, scale: int = DISPLAY_SCALE) -> Image.Image:
    return digit_image(image, scale)


def noise_image(eps: np.ndarray, scale: int = DISPLAY_SCALE) -> Image.Image:
    return digit_image(0.5 + np.asarray(eps, np.float32) / (2 * NOISE_COLOUR_RANGE), scale)


def schedule_chart(alphas_cumprod: np.ndarray, timesteps, current: int | None = None,
                   width_in: float = 6.4, height_in: float = 2.6) -> Image.Image:
    """ᾱ_t (left axis, linear) and SNR (right axis, log) against t; sampled steps as dots, ``current`` as a line."""
    alphas = np.asarray(alphas_cumprod, np.float64)
    t = np.arange(len(alphas))
    snr = alphas / np.maximum(1 - alphas, 1e-12)
    figure = new_figure(width_in, height_in)
    axes = figure.add_subplot(1, 1, 1)
    axes.plot(t, alphas, color="#2563eb", linewidth=2, label="ᾱ_t (signal kept)")
    axes.set_xlabel("timestep t (0 = clean, 999 = pure noise)")
    axes.set_ylabel("ᾱ_t", color="#2563eb")
    axes.set_ylim(0, 1.02)
    steps = [int(s) for s in timesteps]
    axes.plot(steps, alphas[steps], "o", color="#2563eb", markersize=5)
    right = axes.twinx()
    right.semilogy(t, np.clip(snr, 1e-4, 1e4), color="#dc2626", linewidth=2, label="SNR")
    right.set_ylabel("SNR (log)", color="#dc2626")
    if current is not None:
        axes.axvline(int(current), color="#111827", linewidth=1.5, linestyle="--")
        axes.set_title(f"t = {int(current)}: ᾱ = {alphas[int(current)]:.3f}, SNR = {snr[int(current)]:.3g}")
    figure.tight_layout()
    return figure_to_pil(figure)


# ----------------------------------------------------------------------------------------- result cards
def generate_summary(info: dict) -> KeyFigures:
    """What /diffusion_generate made."""
    count, guidance = int(info["count"]), float(info["guidance"])
    what = (f"{count} digit{'s' if count != 1 else ''} of random classes" if info["class"] == "random"
            else f"{count} × the digit {info['class']}")
    guide_note = {0.0: "0 = the class is ignored", 1.0: "1 = the plain conditional model"}.get(
        guidance, "above 1 exaggerates the class")
    figures = [
        KeyFigure("Images", f"{count}", "32 px each, shown enlarged"),
        KeyFigure("Denoising steps", f"{info['steps']}", "DPM-Solver++, one network pass each"),
        KeyFigure("Guidance", f"{guidance:g}", guide_note),
        KeyFigure("Seed", f"{info['seed']}", "same seed, same starting noise"),
    ]
    if info.get("judge_agreement") is not None:
        agreement = float(info["judge_agreement"])
        figures.append(KeyFigure("Judge agrees", f"{agreement:.0%}", "the GAN's judge reads the requested class",
                                 "good" if agreement >= 0.95 else ""))
    if info.get("seconds") is not None:
        figures.append(KeyFigure("Time", f"{float(info['seconds']):.2f} s", "on this server, just now"))
    return KeyFigures(headline=f"{what}, from seed {info['seed']}: noise denoised in {info['steps']} steps at "
                               f"guidance {guidance:g}. Each caption is the class asked for.", figures=tuple(figures))


def step_summary(info: dict) -> KeyFigures:
    """One step of the denoising trace (the step-through's card)."""
    step, steps = int(info["step"]), int(info["steps"])
    if step >= steps:
        return KeyFigures(headline=f"Done: after {steps} steps x_0 is the finished digit (asked for a {info['class']}).",
                          figures=(KeyFigure("Step", f"{steps} / {steps}", "t = 0: clean"),))
    alpha = float(info["alpha_bar"])
    return KeyFigures(
        headline=(f"Step {step + 1} of {steps} at t = {info['timestep']}: the network predicts the noise ε̂ in x_t; "
                  "removing it gives its guess x̂0 of the finished digit."),
        figures=(
            KeyFigure("Timestep t", f"{info['timestep']}", "of 1,000 training steps"),
            KeyFigure("ᾱ_t", f"{alpha:.3f}", f"x_t = {alpha ** 0.5:.2f}·x0 + {(1 - alpha) ** 0.5:.2f}·noise"),
            KeyFigure("SNR", f"{alpha / max(1 - alpha, 1e-12):.3g}", "signal power / noise power"),
        ),
    )


def sdedit_summary(info: dict) -> KeyFigures:
    towards = "no class (the model keeps what it sees)" if info["class"] == "none" else f"the digit {info['class']}"
    return KeyFigures(
        headline=(f"Your sketch noised to t = {info['start_timestep']} (strength {float(info['strength']):.2f}), then "
                  f"denoised back in {info['steps_run']} steps towards {towards}."),
        figures=(
            KeyFigure("Strength", f"{float(info['strength']):.2f}", "0 = keep the sketch, 1 = start from pure noise"),
            KeyFigure("ᾱ at the start", f"{float(info['alpha_bar']):.3f}", "share of the sketch's signal kept"),
            KeyFigure("Judge reads", f"{info.get('judge_reads', '?')}", "the result, by the GAN's judge"),
        ),
    )


def guidance_summary(info: dict) -> KeyFigures:
    rows = info["rows"]
    return KeyFigures(
        headline="Same starting noise, same classes, four guidance scales: 0 ignores the class, higher pushes harder.",
        figures=tuple(KeyFigure(f"Guidance {row['guidance']:g}", f"{row['judge_agreement']:.0%}",
                                "judge agrees with the class asked for") for row in rows),
    )
