"""Drawing for the GAN tab: pure functions from arrays to PIL images.

Everything is drawn with NumPy + PIL (no matplotlib figure per frame), so a GAN Lab
frame costs a few milliseconds and the live view can refresh several times a second.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
from PIL import Image, ImageDraw

from engine.core.draw import CHART_FONT_PX, KeyFigure, KeyFigures
from engine.core.draw import font as draw_font

if TYPE_CHECKING:  # the lab (and torch) is imported only by whoever makes a frame
    from engine.gan.lab import LabFrame

# Decision surface colours: fake-looking regions purple, real-looking regions green (GAN Lab's scheme).
_FAKE_RGB = np.array([150, 110, 200], np.float32)
_MID_RGB = np.array([245, 245, 245], np.float32)
_REAL_RGB = np.array([90, 180, 120], np.float32)
REAL_POINT = (20, 110, 40)
FAKE_POINT = (120, 30, 160)
ARROW = (60, 60, 60)
D_COLOUR = (30, 100, 200)
G_COLOUR = (220, 90, 30)
COVER_COLOUR = (20, 140, 60)
REALNESS_COLOUR = (200, 60, 60)
FIELD_SIDE = 480  # GAN Lab field image, px
CHART_WIDTH = 480  # line charts, px
# The tab shows these images at about 80% of their size (two side by side at 1280 px), so their text
# is drawn at 18 px to stay >= CHART_FONT_PX (14 px) on screen.
IMAGE_FONT_PX = max(CHART_FONT_PX, 18)


def surface_to_rgb(surface: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] -> (H, W, 3) uint8: 0 purple (fake), 0.5 white, 1 green (real)."""
    value = np.clip(surface, 0, 1)[..., None].astype(np.float32)
    low = _FAKE_RGB + (_MID_RGB - _FAKE_RGB) * np.clip(value * 2, 0, 1)
    high = _MID_RGB + (_REAL_RGB - _MID_RGB) * np.clip(value * 2 - 1, 0, 1)
    return np.where(value < 0.5, low, high).astype(np.uint8)


def _to_pixels(points: np.ndarray, bound: float, size: int) -> np.ndarray:
    """Map (N, 2) data coordinates in [-bound, bound] to integer pixel (col, row), y up."""
    scaled = (points + bound) / (2 * bound) * (size - 1)
    cols = np.clip(np.round(scaled[:, 0]), 0, size - 1).astype(np.int64)
    rows = np.clip(np.round(size - 1 - scaled[:, 1]), 0, size - 1).astype(np.int64)
    return np.stack([cols, rows], 1)


def _stamp(canvas: np.ndarray, pixels: np.ndarray, colour: tuple[int, int, int], radius: int) -> None:
    """Paint a (2r+1)^2 square at each pixel, vectorised (no per-point Python loop)."""
    size = canvas.shape[0]
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            cols = np.clip(pixels[:, 0] + dx, 0, size - 1)
            rows = np.clip(pixels[:, 1] + dy, 0, size - 1)
            canvas[rows, cols] = colour


def render_lab_field(frame: LabFrame, size: int = FIELD_SIDE, arrows: bool = True) -> Image.Image:
    """The main GAN Lab view: D's surface, real (green) and generated (purple) points, G's gradient arrows."""
    background = Image.fromarray(surface_to_rgb(frame.surface)).resize((size, size), Image.BILINEAR)
    canvas = np.array(background)
    _stamp(canvas, _to_pixels(frame.real, frame.bound, size), REAL_POINT, 1)
    _stamp(canvas, _to_pixels(frame.fake, frame.bound, size), FAKE_POINT, 1)
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    if arrows and len(frame.arrow_origins):
        start = _to_pixels(frame.arrow_origins, frame.bound, size)
        end = _to_pixels(frame.arrow_origins + frame.arrow_vectors, frame.bound, size)
        for (x0, y0), (x1, y1) in zip(start.tolist(), end.tolist()):
            draw.line([(x0, y0), (x1, y1)], fill=ARROW, width=1)
            draw.ellipse([x1 - 1, y1 - 1, x1 + 1, y1 + 1], fill=ARROW)
    font = draw_font(IMAGE_FONT_PX)
    band = IMAGE_FONT_PX + 8
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    shade = ImageDraw.Draw(overlay)
    shade.rectangle([0, 0, size, band], fill=(255, 255, 255, 200))
    shade.rectangle([0, size - band, size, size], fill=(255, 255, 255, 200))
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.text((6, 4), f"step {frame.step:,}   modes covered {frame.latest_coverage:.0%}", fill=(0, 0, 0), font=font)
    caption = f"background: {frame.surface_label}   green real, purple generated"
    if draw.textlength(caption, font=font) > size - 12:
        caption = f"background: {frame.surface_label}"
    draw.text((6, size - band + 4), caption, fill=(0, 0, 0), font=font)
    return image


def render_curves(
    series: Sequence[tuple[np.ndarray, np.ndarray, tuple[int, int, int], str]],
    width: int = CHART_WIDTH,
    height: int = 190,
    title: str = "",
    y_range: tuple[float, float] | None = None,
    x_label: str = "step",
) -> Image.Image:
    """A line chart: each series is (xs, ys, colour, label). Axis range is printed, not ticked; text is 14 px."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = draw_font(IMAGE_FONT_PX)
    line = IMAGE_FONT_PX + 6
    legend_width = sum(draw.textlength(l, font=font) + 30 for *_, l in series)
    two_rows = draw.textlength(title, font=font) + legend_width + 60 > width
    left, right = 58, width - 10
    top, bottom = (2 * line + 4 if two_rows else line + 6), height - line - 2
    draw.rectangle([left, top, right, bottom], outline=(180, 180, 180))
    draw.text((6, 2), title, fill=(0, 0, 0), font=font)
    legend_y = line + 2 if two_rows else 2
    usable = [(np.asarray(x, float), np.asarray(y, float), c, l) for x, y, c, l in series if len(x) >= 1]
    if not usable:
        draw.text((left + 8, (top + bottom) // 2), "no data yet", fill=(120, 120, 120), font=font)
        return image
    all_x = np.concatenate([x for x, *_ in usable])
    all_y = np.concatenate([y[np.isfinite(y)] for _, y, *_ in usable] or [np.zeros(1)])
    x_low, x_high = float(all_x.min()), float(all_x.max())
    if y_range is None:
        y_low, y_high = (float(np.percentile(all_y, 1)), float(np.percentile(all_y, 99))) if len(all_y) else (0.0, 1.0)
    else:
        y_low, y_high = y_range
    if y_high - y_low < 1e-9:
        y_low, y_high = y_low - 0.5, y_high + 0.5
    if x_high - x_low < 1e-9:
        x_high = x_low + 1
    legend_x = right
    for xs, ys, colour, label in usable:
        px = left + (xs - x_low) / (x_high - x_low) * (right - left)
        py = bottom - (np.clip(ys, y_low, y_high) - y_low) / (y_high - y_low) * (bottom - top)
        if len(px) <= 2:
            for x_dot, y_dot in zip(px, py):
                draw.ellipse([x_dot - 3, y_dot - 3, x_dot + 3, y_dot + 3], fill=colour)
        if len(px) > 1:
            draw.line(list(zip(px.tolist(), py.tolist())), fill=colour, width=2)
        text_width = draw.textlength(label, font=font)
        legend_x -= text_width + 30
        draw.rectangle([legend_x, legend_y + 4, legend_x + 14, legend_y + 18], fill=colour)
        draw.text((legend_x + 18, legend_y), label, fill=(0, 0, 0), font=font)
    grey = (80, 80, 80)
    draw.text((4, top - 2), f"{y_high:.2g}", fill=grey, font=font)
    draw.text((4, bottom - IMAGE_FONT_PX), f"{y_low:.2g}", fill=grey, font=font)
    draw.text((left, bottom + 3), f"{x_low:.0f}", fill=grey, font=font)
    end_label = f"{x_high:.0f}"
    draw.text((right - draw.textlength(end_label, font=font), bottom + 3), end_label, fill=grey, font=font)
    if x_label:
        draw.text(((left + right - draw.textlength(x_label, font=font)) / 2, bottom + 3), x_label, fill=grey, font=font)
    return image


def render_lab_charts(frame: LabFrame, width: int = CHART_WIDTH) -> Image.Image:
    """Loss curves (top) and mode coverage (bottom) stacked in one image."""
    losses = render_curves(
        [(frame.loss_steps, frame.d_losses, D_COLOUR, "D loss"), (frame.loss_steps, frame.g_losses, G_COLOUR, "G loss")],
        width=width, height=FIELD_SIDE - 170, title="losses",
    )
    coverage = render_curves(
        [(frame.coverage_steps, frame.coverage, COVER_COLOUR, "covered")],
        width=width, height=170, title=f"share of the {len(frame.modes)} modes covered", y_range=(0.0, 1.0),
    )
    combined = Image.new("RGB", (width, losses.height + coverage.height), (255, 255, 255))
    combined.paste(losses, (0, 0))
    combined.paste(coverage, (0, losses.height))
    return combined


def digit_image(image: np.ndarray, scale: int = 1) -> Image.Image:
    """(H, W) or (1, H, W) float in [0, 1] (ink = 1) -> grayscale PIL, white ink on black, upscaled ``scale``x."""
    array = np.asarray(image, dtype=np.float32).squeeze()
    pil = Image.fromarray((np.clip(array, 0, 1) * 255).round().astype(np.uint8), mode="L")
    if scale != 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    return pil


def digits_grid(images: np.ndarray, columns: int, cell: int = 32, gap: int = 2) -> Image.Image:
    """(N, 1, H, W) or (N, H, W) in [0, 1] -> one grayscale grid image; each image resized to ``cell`` px."""
    array = np.asarray(images, dtype=np.float32)
    if array.ndim == 4:
        array = array[:, 0]
    count = len(array)
    rows = max(1, -(-count // columns))
    grid = Image.new("L", (columns * (cell + gap) + gap, rows * (cell + gap) + gap), 40)
    for i, item in enumerate(array):
        tile = digit_image(item).resize((cell, cell), Image.BILINEAR)
        grid.paste(tile, (gap + (i % columns) * (cell + gap), gap + (i // columns) * (cell + gap)))
    return grid


def frames_to_gif(frames: Sequence[Image.Image], duration_ms: int = 80) -> bytes:
    """Encode frames as a looping animated GIF (ping-pong: forward then back)."""
    sequence = list(frames) + list(frames[-2:0:-1])
    buffer = io.BytesIO()
    sequence[0].save(buffer, format="GIF", save_all=True, append_images=sequence[1:], duration=duration_ms, loop=0)
    return buffer.getvalue()


def lab_view(session, arrows: bool = True) -> tuple[Image.Image, Image.Image, dict]:
    """One GAN Lab frame for the tab and the API: (field image, loss/coverage charts, stats dict)."""
    from engine.gan.lab_config import UI_FIELDS

    frame = session.snapshot(arrows=bool(arrows))
    stats = {
        "step": frame.step,
        "mode_coverage": round(frame.latest_coverage, 3),
        "modes": int(len(frame.modes)),
        "d_loss": round(float(frame.d_losses[-1]), 4) if len(frame.d_losses) else None,
        "g_loss": round(float(frame.g_losses[-1]), 4) if len(frame.g_losses) else None,
        "steps_per_second": round(frame.steps_per_second, 1),
        "settings": {name: getattr(frame.config, name) for name in UI_FIELDS},
    }
    return render_lab_field(frame, arrows=bool(arrows)), render_lab_charts(frame), stats


# ----------------------------------------------------------------------------------------- result cards
# Plain-words summaries of the tab's JSON payloads (the API's outputs), for the on-screen cards.
def _class_word(digit) -> str:
    return "an 8" if str(digit) == "8" else f"a {digit}"


def generate_summary(info: dict) -> KeyFigures:
    """What /gan_generate made: count, classes, seed, ψ, model."""
    count, seed, psi = int(info["count"]), info["seed"], float(info["psi"])
    classes = list(info.get("classes") or [])
    if info["class"] == "random":
        what = f"{count} digit{'s' if count != 1 else ''} of random classes"
        class_value, class_note = "random", f"{len(set(classes))} different classes in this batch"
    else:
        what = f"{count} × the digit {info['class']}"
        class_value, class_note = str(info["class"]), "the class the generator was asked for"
    psi_note = "1 = the plain model; lower = more typical, less varied" if psi != 0 else "0 = the average digit of each class"
    return KeyFigures(
        headline=f"{what}, from seed {seed} at ψ = {psi:g}. Each caption is the class that image was asked to be.",
        figures=(
            KeyFigure("Images", f"{count}", f"{info.get('image_size', '')} px each, shown enlarged" if info.get("image_size") else ""),
            KeyFigure("Class asked for", class_value, class_note),
            KeyFigure("Seed", f"{seed}", "same seed, same digits"),
            KeyFigure("Truncation ψ", f"{psi:g}", psi_note),
            KeyFigure("Generator", "embedded" if str(info.get("model") or "").startswith("embedded") else "from the Hub",
                      str(info.get("model") or "")),
        ),
    )


def interpolation_summary(info: dict) -> KeyFigures:
    """What /gan_interpolate made: frames from (seed A, class A) to (seed B, class B)."""
    frames = int(info["frames"])
    return KeyFigures(
        headline=(f"{frames} frames from {_class_word(info['class_a'])} (seed {info['seed_a']}) to "
                  f"{_class_word(info['class_b'])} (seed {info['seed_b']}), ψ = {float(info['psi']):g}: "
                  "the noise moves along a great circle while the class blends."),
        figures=(
            KeyFigure("Frames", f"{frames}", "first and last are exactly the two seeds' digits"),
            KeyFigure("From", f"{info['class_a']}", f"seed {info['seed_a']}"),
            KeyFigure("To", f"{info['class_b']}", f"seed {info['seed_b']}"),
        ),
    )


def realness_summary(info: dict, reference=None) -> KeyFigures:
    """D's score for one image (a /gan_score or /gan_score_sketch payload), in words.

    D outputs no class: it scores "a real digit of class c?" for the class it is given. So the card
    names only that class (labelled as the user's choice or the judge's reading) and the judge's own
    reading (labelled as the judge's); no other digit is ever named. ``reference`` (optional, an
    ``inference.RealnessReference``) gives the yardstick: D's realness on real digits and on noise, and,
    when measured, how well this D separates real digits from generated and scribbled ones (AUROC). The
    words follow the displayed numbers: "within real digits' range" only when the rounded score is inside
    the rounded real range, and with a D that cannot tell real from generated digits, the card says so.
    """
    realness, digit, source = float(info["realness"]), int(info["class"]), info["class_from"]
    judge_reads, judge_confidence = int(info["judge_reads"]), float(info["judge_confidence"])
    per_class = [float(v) for v in info.get("realness_per_class") or []]
    given = "the judge's reading" if source == "judge" else "the class you chose"
    if reference is not None:
        yardstick, verdict, tone = _against_real_range(realness, reference)
    else:
        yardstick, verdict, tone = "about 50% = D can't tell; far lower = looks fake", "", ""
    narrow = reference is not None and reference.real_high - reference.real_low < 0.1
    figures = [
        KeyFigure(f"D's realness as {_class_word(digit)}", _percent(realness, narrow), yardstick, tone),
        KeyFigure("Class D was told", f"{digit}", given),
        KeyFigure("The judge reads", f"{judge_reads}",
                  f"a separate digit classifier, {judge_confidence:.0%} sure; D itself outputs no class"),
    ]
    if per_class:
        figures.append(KeyFigure("D's realness for each of the 10 classes", f"{min(per_class):.0%}–{max(per_class):.0%}",
                                 "D scores realness for the class it is given; it does not pick one"))
    headline = f"The discriminator rates this {_percent(realness, narrow)} real as {_class_word(digit)} ({given})"
    return KeyFigures(headline=headline + (f": it {verdict}." if verdict else "."), figures=tuple(figures), tone=tone)


def _percent(value: float, narrow: bool = False) -> str:
    """A share as the card shows it: whole percent, or one decimal where the scores are squeezed together."""
    return f"{_rounded(value, narrow) * 100:.1f}%" if narrow else f"{_rounded(value) * 100:.0f}%"


def _rounded(value, narrow: bool = False):
    """The value(s) as shown by :func:`_percent`, so words compare what the reader sees."""
    return np.round(np.asarray(value, float) * (1000 if narrow else 100)) / (1000 if narrow else 100)


def _against_real_range(realness: float, reference) -> tuple[str, str, str]:
    """(yardstick note, verdict, tone) for a realness against the same D's measured scores on real digits.

    With ``reference.real_scores`` the verdict is the share of real digits scoring lower; without, the 5-95%
    range. "Like a real digit" is said only when at least a quarter of real digits score lower, and never
    without a caveat when this D cannot tell real from generated digits (AUROC below 0.6).
    """
    low, high, noise = reference.real_low, reference.real_high, reference.noise
    narrow = high - low < 0.1  # a D near equilibrium: whole percents would hide the differences
    shown = lambda value: _percent(value, narrow)  # noqa: E731
    auroc_generated = getattr(reference, "auroc_generated", None)
    auroc_scribbled = getattr(reference, "auroc_scribbled", None)
    scribbled = getattr(reference, "scribbled_median", None)
    yardstick = f"real digits score {shown(low)}–{shown(high)} (5th–95th percentile), random noise {shown(noise)}"
    if scribbled is not None:
        yardstick += f", scribbled digits about {shown(scribbled)}"
    scores = np.asarray(getattr(reference, "real_scores", ()) or (), float)
    value = _rounded(realness, narrow)
    if len(scores):  # the shares of real digits whose shown score is lower / higher
        below, above = float((_rounded(scores, narrow) < value).mean()), float((_rounded(scores, narrow) > value).mean())
    else:  # only the range is known: inside it counts as typical
        below = 0.5 if _rounded(low, narrow) <= value <= _rounded(high, narrow) else (1.0 if value > high else 0.0)
    blind = auroc_generated is not None and math.isfinite(auroc_generated) and auroc_generated < 0.6
    caveat = (f"; but this D cannot tell real from generated digits (AUROC {auroc_generated:.2f}), "
              "so a real-looking score does not show the digit is real") if blind else ""
    if below >= 0.25:
        if len(scores):
            verdict = f"scores like a typical real digit (higher than {below:.0%} of real digits)"
        elif value > _rounded(high, narrow):
            verdict = f"scores above the range real digits score ({shown(low)}–{shown(high)})"
        else:
            verdict = f"is within the range real digits score ({shown(low)}–{shown(high)})"
        return yardstick, verdict + caveat, "" if blind else "good"
    if below >= 0.05:
        verdict = f"scores at the low end of real digits: only {below:.0%} of them score lower"
        return yardstick, verdict + caveat, ""
    if realness <= noise + 0.05:
        return yardstick, "scores as low as random noise: D calls it fake", "bad"
    lower = ("lower than every real digit" if above == 1.0 else f"lower than {above:.0%} of real digits") if len(scores) else f"below real digits ({shown(low)}–{shown(high)})"
    verdict = f"scores {lower}: D leans towards fake"
    if auroc_scribbled is not None and math.isfinite(auroc_scribbled) and auroc_scribbled >= 0.75 and narrow:
        verdict += (f". This D's scores are squeezed near 50%, yet it still ranks scribbled digits below real ones "
                    f"(AUROC {auroc_scribbled:.2f}), so a few points lower is a real signal")
    return yardstick, verdict, ""


def lab_summary(stats: dict) -> KeyFigures:
    """GAN Lab's status (a /gan_lab_* frame), or the summary of an uploaded CSV (/gan_lab_csv)."""
    if "points" in stats and "step" not in stats:
        return KeyFigures(
            headline=f"Your CSV: {stats['points']:,} points, {stats['modes']} clusters found. Press Play to train on it.",
            figures=(
                KeyFigure("Points", f"{stats['points']:,}"),
                KeyFigure("Clusters (modes)", f"{stats['modes']}"),
                KeyFigure("x range", f"{stats['x_range'][0]:.3g} to {stats['x_range'][1]:.3g}"),
                KeyFigure("y range", f"{stats['y_range'][0]:.3g} to {stats['y_range'][1]:.3g}"),
            ),
        )
    step, modes, coverage = int(stats["step"]), int(stats["modes"]), float(stats["mode_coverage"])
    covered = int(round(coverage * modes))
    settings = stats.get("settings") or {}
    if step == 0:
        headline, tone = "Step 0: fresh networks. Press Play (or Step) to train.", ""
    elif coverage >= 0.999:
        headline, tone = f"Step {step:,}: the generator covers all {modes} modes.", "good"
    elif coverage < 0.5 and step >= 500:
        headline, tone = f"Step {step:,}: only {covered} of {modes} modes covered: mode collapse.", "bad"
    else:
        headline, tone = f"Step {step:,}: the generator covers {covered} of {modes} modes.", ""

    def loss(value):
        return "–" if value is None else f"{float(value):.3f}"

    setting_note = ""
    if settings:
        setting_note = (f"{settings.get('loss')} loss, {settings.get('optimizer')}, G lr {settings.get('g_lr')}, "
                        f"D lr {settings.get('d_lr')}, {settings.get('d_steps')} D step(s) per G step")
    return KeyFigures(
        headline=headline,
        figures=(
            KeyFigure("Step", f"{step:,}", "generator updates so far"),
            KeyFigure("Modes covered", f"{covered} / {modes}", f"{coverage:.0%} of the real clusters", tone),
            KeyFigure("Losses, D / G", f"{loss(stats.get('d_loss'))} / {loss(stats.get('g_loss'))}", setting_note),
            KeyFigure("Speed", f"{float(stats.get('steps_per_second') or 0):,.0f} steps/s", ""),
        ),
        tone=tone,
    )


def live_summary(status: dict) -> KeyFigures:
    """The live digits GAN's status (a /gan_live_train frame)."""
    step, seconds = int(status["step"]), float(status.get("seconds_trained") or 0.0)
    speed = float(status.get("steps_per_second") or 0.0)
    if step == 0:
        headline = (f"Step 0: an untrained generator (seed {status.get('seed')}) draws noise for every digit. "
                    "Press Start to train it here, live; rows are the digits 0-9.")
    else:
        headline = f"Step {step:,} after {seconds:.0f} s of training (seed {status.get('seed')}). Rows are the digits 0-9."
    return KeyFigures(
        headline=headline,
        figures=(
            KeyFigure("Step", f"{step:,}", "generator updates so far"),
            KeyFigure("Trained for", f"{seconds:.1f} s", "on this server's CPU"),
            KeyFigure("Speed", f"{speed:,.0f} steps/s", ""),
        ),
    )


FID_SAMPLE_NOTE = ("FID shrinks as the number of samples n grows (it is biased upwards on small samples), so compare "
                   "FIDs only at the same n; KID is unbiased, so its value does not depend on n.")


def _kid(figures: dict, key: str) -> str:
    value, std = figures.get(key), figures.get(key + "_std")
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"{float(value):.4f} ± {float(std):.4f}" if std is not None else f"{float(value):.4f}"


def quality_summary(figures: dict) -> KeyFigures:
    """/gan_quality's figures (engine.gan.judge.GanQuality.as_dict) against the quality bar, with the sample
    count n beside every Fréchet distance, KID beside it, and one sentence on FID's sample-size bias."""
    agreement, produced = float(figures["agreement"]), int(figures["classes_produced"])
    diversity, passes = float(figures["min_diversity_ratio"]), bool(figures.get("passes_bar"))
    n_generated = int(figures.get("n_generated") or figures["samples"])
    n_heldout, n_train = figures.get("n_heldout"), figures.get("n_real_train")
    verdict = "Passes the bar" if passes else "Below the bar"
    against = f" vs {int(n_heldout):,} held-out real" if n_heldout else ""
    floor_n = f"n = {int(n_train):,} train vs {int(n_heldout):,} held-out" if n_train and n_heldout else ""
    items = [
        KeyFigure("Judge agrees with the class asked for", f"{agreement:.1%}", "bar: at least 90%",
                  "good" if agreement >= 0.9 else "bad"),
        KeyFigure("Classes produced", f"{produced} / 10", "bar: all 10", "good" if produced == 10 else "bad"),
        KeyFigure("Variety, worst class", f"{diversity:.0%}", "generated vs real spread; bar: at least 50%",
                  "good" if diversity >= 0.5 else "bad"),
        KeyFigure(f"Fréchet distance (FID), n = {n_generated:,}", f"{float(figures['fid_generated_vs_heldout']):.2f}",
                  f"{n_generated:,} generated{against}; judge features, lower is better; real digits at the same n: "
                  f"{float(figures.get('fid_real_same_n_vs_heldout', float('nan'))):.2f}, all real: "
                  f"{float(figures['fid_real_train_vs_heldout']):.2f}" + (f" ({floor_n})" if floor_n else "")),
    ]
    if "kid_generated_vs_heldout" in figures:
        items.append(KeyFigure(f"Kernel distance (KID), n = {n_generated:,}", _kid(figures, "kid_generated_vs_heldout"),
                               f"unbiased: 0 = indistinguishable (chance can take it below 0); ± its std over "
                               f"{figures.get('kid_subsets', '')} subsets; real vs real: "
                               f"{_kid(figures, 'kid_real_train_vs_heldout')}"))
    items.append(KeyFigure("Judge accuracy on real digits", f"{float(figures['judge_test_accuracy']):.1%}", "held-out digits"))
    return KeyFigures(
        headline=(f"{verdict}: on {n_generated:,} new digits the judge reads {agreement:.0%} as the class asked for, "
                  f"{produced} of 10 classes appear, and the least varied class keeps {diversity:.0%} of real digits' variety. "
                  + FID_SAMPLE_NOTE),
        figures=tuple(items),
        tone="good" if passes else "bad",
    )


def quality_table_markdown(record: dict) -> str:
    """The committed figures (``record.committed_quality()``, plus ``sample_size_check`` when recorded) as a
    Markdown table with n beside every distance and the FID bias explained under it."""
    q = record.get("quality") or {}
    if not q:
        return "Quality figures were not recorded for this model."
    n = int(q.get("n_generated") or q["samples"])
    n_heldout, n_train = q.get("n_heldout", 360), q.get("n_real_train", 1437)
    rows = [
        f"| measured on {n:,} generated digits ({n // 10} per class) | value | n | bar |",
        "|---|---|---|---|",
        f"| judge accuracy on held-out real digits | {q['judge_test_accuracy']:.1%} | {n_heldout} | ≥ 97% |",
        f"| judge agrees with the requested class | {q['agreement']:.1%} | {n:,} | ≥ 90% |",
        f"| classes produced | {q['classes_produced']} / 10 | {n:,} | 10 |",
        f"| diversity, worst class (generated / real mean pairwise distance) | {q['min_diversity_ratio']:.0%} | {n:,} | ≥ 50% |",
        f"| FID on judge features, generated vs held-out real | {q['fid_generated_vs_heldout']:.2f} | {n:,} vs {n_heldout} | lower is better |",
        f"| same, real training digits vs held-out real (floor) | {q['fid_real_train_vs_heldout']:.2f} | {n_train:,} vs {n_heldout} | |",
    ]
    if "fid_real_same_n_vs_heldout" in q:
        rows.append(f"| same, {min(n, n_train):,} real training digits (floor at the same n) | "
                    f"{q['fid_real_same_n_vs_heldout']:.2f} | {min(n, n_train):,} vs {n_heldout} | |")
    if "kid_generated_vs_heldout" in q:
        rows += [
            f"| KID on judge features, generated vs held-out real | {_kid(q, 'kid_generated_vs_heldout')} | {n:,} vs {n_heldout} | lower is better |",
            f"| same, real training digits vs held-out real (floor) | {_kid(q, 'kid_real_train_vs_heldout')} | {n_train:,} vs {n_heldout} | |",
        ]
    check = record.get("sample_size_check") or {}
    notes = [FID_SAMPLE_NOTE]
    if check:
        by_n = "; ".join(
            f"n = {int(c['n_generated']):,}: FID {c['fid_generated_vs_heldout']:.1f}"
            + (f" (real digits at that n: {c['fid_real_same_n_vs_heldout']:.1f})" if "fid_real_same_n_vs_heldout" in c else "")
            + f", KID {_kid(c, 'kid_generated_vs_heldout')}"
            for c in sorted(check.values(), key=lambda c: c["n_generated"]))
        notes.append(f"The same generator measured on two sample sizes: {by_n}.")
    if record.get("train_seconds") is not None:
        notes.append(f"Trained in {record['train_seconds']} s on CPU by `scripts/train_gan_digits.py`.")
    return "\n".join(rows) + "\n\n" + " ".join(notes)


def __getattr__(name: str):
    """The D snapshot cards live in engine/gan/snapshot_cards.py; reachable here like every other GAN card."""
    if name in ("separation_phrase", "snapshot_summary", "snapshot_scores_summary"):
        from engine.gan import snapshot_cards

        return getattr(snapshot_cards, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
