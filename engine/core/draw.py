"""One drawing toolkit for every tab: arrays in, ``PIL.Image`` or Plotly dicts out.

No ``matplotlib.pyplot``: its global figure state is not safe in server threads. Figures are
``matplotlib.figure.Figure`` objects rendered with the Agg canvas; colour maps come from
``matplotlib.colormaps``. Chart text is at least :data:`CHART_FONT_PX` so it reads from the back of a room.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFont

CHART_FONT_PX = 14  # smallest text on any chart
CHART_FONT_PT = 11  # the same for matplotlib figures at 100 dpi (11 pt = 15 px)


@dataclass(frozen=True)
class KeyFigure:
    """One number as it is shown on a result card: what it is, the number, and a line of context."""

    label: str  # what the number is, in plain words ("Autoencoder PSNR")
    value: str  # the number, formatted with its unit ("+9.9 dB")
    note: str = ""  # one line of context ("noisy input: 20.1 dB")
    tone: str = ""  # "good", "bad" or "" (neutral): colours the value


@dataclass(frozen=True)
class KeyFigures:
    """A result in plain words: a one-sentence headline and the key figures behind it."""

    headline: str
    figures: tuple[KeyFigure, ...] = ()
    tone: str = ""  # "good", "bad" or "": colours the headline


def to_pil(image: np.ndarray) -> Image.Image:
    """(H, W, 3) or (H, W) float in [0, 1] -> 8-bit PIL image."""
    return Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8))


@functools.lru_cache(maxsize=16)
def colour_lut(name: str = "viridis") -> np.ndarray:
    """(256, 3) uint8 lookup table for a matplotlib colour map (cached; read-only)."""
    from matplotlib import colormaps

    table = (colormaps[name](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)
    table.setflags(write=False)
    return table


def colour_map(values: np.ndarray, name: str) -> np.ndarray:
    """Float array in [0, 1] (any shape) -> (..., 3) float RGB in [0, 1] through colour map ``name``."""
    from matplotlib import colormaps

    return colormaps[name](np.clip(values, 0, 1))[..., :3]


def colourise(values: np.ndarray, vmax: float | None = None, cmap: str = "viridis") -> np.ndarray:
    """Map a 2-D float array (>= 0) to an (H, W, 3) uint8 image, scaled to ``vmax`` (default: its max)."""
    top = float(values.max()) if vmax is None else vmax
    scaled = np.clip(values / (top if top > 0 else 1.0), 0, 1)
    return colour_lut(cmap)[(scaled * 255).astype(np.int64)]


@functools.lru_cache(maxsize=8)
def font(size: int = CHART_FONT_PX) -> ImageFont.ImageFont:
    """PIL's default font, FreeType at ``size`` px (default: :data:`CHART_FONT_PX`); loaded once, reused by every frame."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def new_figure(width_in: float, height_in: float, dpi: int = 100, **kwargs):
    """A matplotlib ``Figure`` not registered with pyplot (thread-safe), with readable default text."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=dpi, **kwargs)
    return figure


def readable_text(figure, min_pt: float = CHART_FONT_PT):
    """Raise every text in a matplotlib ``Figure`` (titles, labels, ticks, legends, annotations) to at least ``min_pt``."""
    from matplotlib.text import Text

    for axes in figure.axes:  # tick labels are made at draw time: set their size on the axes
        axes.tick_params(which="both", labelsize=max(min_pt, _tick_size(axes)))
    for text in figure.findobj(Text):
        if text.get_text() and text.get_fontsize() < min_pt:
            text.set_fontsize(min_pt)
    return figure


def _tick_size(axes) -> float:
    labels = axes.get_xticklabels() + axes.get_yticklabels()
    return max((label.get_fontsize() for label in labels), default=0.0)


def figure_to_pil(figure) -> Image.Image:
    """Render a matplotlib ``Figure`` (its text raised to :data:`CHART_FONT_PT`) with the Agg canvas to an RGB PIL image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    readable_text(figure)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")
