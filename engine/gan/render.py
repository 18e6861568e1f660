"""Drawing for the GAN tab: pure functions from arrays to PIL images.

Everything is drawn with NumPy + PIL (no matplotlib figure per frame), so a GAN Lab
frame costs a few milliseconds and the live view can refresh several times a second.
"""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from engine.core.draw import font as draw_font

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


def render_lab_field(frame: LabFrame, size: int = 420, arrows: bool = True) -> Image.Image:
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
    font = draw_font()
    draw.text((6, 4), f"step {frame.step}   coverage {frame.latest_coverage:.0%}", fill=(0, 0, 0), font=font)
    draw.text((6, size - 14), f"background: {frame.surface_label}   green = real, purple = generated", fill=(0, 0, 0), font=font)
    return image


def render_curves(
    series: Sequence[tuple[np.ndarray, np.ndarray, tuple[int, int, int], str]],
    width: int = 420,
    height: int = 150,
    title: str = "",
    y_range: tuple[float, float] | None = None,
) -> Image.Image:
    """A small line chart: each series is (xs, ys, colour, label). Axis range is printed, not ticked."""
    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = draw_font()
    left, right, top, bottom = 40, width - 8, 18, height - 16
    draw.rectangle([left, top, right, bottom], outline=(180, 180, 180))
    draw.text((left, 2), title, fill=(0, 0, 0), font=font)
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
    legend_x = right - 4
    for xs, ys, colour, label in usable:
        px = left + (xs - x_low) / (x_high - x_low) * (right - left)
        py = bottom - (np.clip(ys, y_low, y_high) - y_low) / (y_high - y_low) * (bottom - top)
        if len(px) == 1:
            draw.ellipse([px[0] - 2, py[0] - 2, px[0] + 2, py[0] + 2], fill=colour)
        else:
            draw.line(list(zip(px.tolist(), py.tolist())), fill=colour, width=2)
        text_width = draw.textlength(label, font=font)
        legend_x -= text_width + 14
        draw.rectangle([legend_x, 5, legend_x + 8, 13], fill=colour)
        draw.text((legend_x + 10, 3), label, fill=(0, 0, 0), font=font)
    draw.text((2, top - 2), f"{y_high:.2g}", fill=(90, 90, 90), font=font)
    draw.text((2, bottom - 10), f"{y_low:.2g}", fill=(90, 90, 90), font=font)
    draw.text((left, bottom + 2), f"{x_low:.0f}", fill=(90, 90, 90), font=font)
    end_label = f"{x_high:.0f}"
    draw.text((right - draw.textlength(end_label, font=font), bottom + 2), end_label, fill=(90, 90, 90), font=font)
    return image


def render_lab_charts(frame: LabFrame, width: int = 420) -> Image.Image:
    """Loss curves (top) and mode coverage (bottom) stacked in one image."""
    losses = render_curves(
        [(frame.loss_steps, frame.d_losses, D_COLOUR, "D loss"), (frame.loss_steps, frame.g_losses, G_COLOUR, "G loss")],
        width=width, title="losses",
    )
    coverage = render_curves(
        [(frame.coverage_steps, frame.coverage, COVER_COLOUR, "modes covered")],
        width=width, height=120, title=f"mode coverage ({len(frame.modes)} modes)", y_range=(0.0, 1.0),
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
