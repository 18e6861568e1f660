"""One drawing toolkit for every tab: arrays in, ``PIL.Image`` or Plotly dicts out.

No ``matplotlib.pyplot``: its global figure state is not safe in server threads. Figures are
``matplotlib.figure.Figure`` objects rendered with the Agg canvas; colour maps come from
``matplotlib.colormaps``. Chart text is at least :data:`CHART_FONT_PX` so it reads from the back of a room.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image, ImageFont

CHART_FONT_PX = 14  # smallest text on any chart


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


@functools.lru_cache(maxsize=4)
def font(size: int | None = None) -> ImageFont.ImageFont:
    """PIL's default font (FreeType at ``size`` px when available); loaded once, reused by every frame."""
    if size is None:
        return ImageFont.load_default()
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def new_figure(width_in: float, height_in: float, dpi: int = 100, **kwargs):
    """A matplotlib ``Figure`` not registered with pyplot (thread-safe), with readable default text."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=dpi, **kwargs)
    return figure


def figure_to_pil(figure) -> Image.Image:
    """Render a matplotlib ``Figure`` with the Agg canvas to an RGB PIL image."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")
