"""SVG charts drawn by the browser itself: heatmaps, bars, a grid of small heatmaps and lines, as HTML strings.

A view that shows these needs no charting library: the page draws a chart as soon as its HTML arrives (Plotly's
script is ~3.5 MB to fetch and compile first, per visitor). Every chart is :data:`SVG_WIDTH` viewBox units wide,
shown at that many pixels (a phone scrolls it sideways instead of shrinking the 14 px text), with class
``nd-chart``; hovering a cell, bar or point shows its numbers (an SVG ``<title>``). Pure functions: arrays and
strings in, a string out.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np

from engine.core.draw import CHART_FONT_PX, colour_lut

SVG_WIDTH = 680  # viewBox units and least width (px): 14 px text stays 14 px (a phone scrolls sideways)
LABEL_CHARS = 14  # tick labels longer than this are cut (the hover keeps the whole label)
MAX_TICK_LABELS = 40  # beyond this many, label every 2nd (3rd, ...) one so 14 px labels don't overlap
CHAR_PX = 0.62 * (CHART_FONT_PX + 2)  # monospace advance at presenter mode's 16 px: room for the labels
HIGHLIGHT = "#ff2d55"
HEATMAP_SUBTITLE = "rows: query (attending) · columns: key (attended to) · hover a cell for its weight"


def tick_positions(count: int) -> list[int]:
    """Which of ``count`` labels to write: all up to :data:`MAX_TICK_LABELS`, else every n-th."""
    step = max(1, -(-count // MAX_TICK_LABELS))
    return list(range(0, count, step))


def cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def room_below(labels: list[str]) -> float:
    """Room under an axis for ``labels`` (cut) written at -60 degrees."""
    return 16 + 0.87 * CHAR_PX * max((len(cut(label)) for label in labels), default=1)


def box(height: float, label: str, parts: list[str], width: int = SVG_WIDTH) -> str:
    """``parts`` in an ``nd-chart`` SVG of ``width`` x ``height`` (shown that many pixels wide), in a box that
    scrolls sideways."""
    return (f'<div class="nd-heatmap" style="overflow-x:auto"><svg class="nd-chart" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height:.0f}" width="100%" style="min-width:{width}px;max-width:{width}px;'
            f'background:#fff;font-family:monospace;font-size:{CHART_FONT_PX}px" role="img" '
            f'aria-label="{html.escape(label)}">{"".join(parts)}</svg></div>')


def title(text: str, y: int, width: int = SVG_WIDTH) -> str:
    return (f'<text class="nd-t" x="{width / 2:.0f}" y="{y}" text-anchor="middle" '
            f'font-size="{CHART_FONT_PX + 2}" font-family="sans-serif" font-weight="bold">{html.escape(text)}</text>')


def subtitle(text: str, y: int, width: int = SVG_WIDTH) -> str:
    return (f'<text x="{width / 2:.0f}" y="{y}" text-anchor="middle" font-family="sans-serif">'
            f"{html.escape(text)}</text>")


def y_title(text: str, middle: float) -> str:
    """An axis title written upwards along the left edge, centred on ``middle``."""
    return (f'<text x="16" y="{middle:.0f}" text-anchor="middle" font-family="sans-serif" '
            f'transform="rotate(-90 16 {middle:.0f})">{html.escape(text)}</text>')


def rotated_labels(labels: list[str], x_of, y: float) -> list[str]:
    """Every n-th of ``labels`` (cut, escaped) under an axis at -60 degrees, ending at ``x_of(i)``."""
    out = []
    for i in tick_positions(len(labels)):
        x = x_of(i)
        out.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="end" transform="rotate(-60 {x:.1f} {y:.1f})">'
                   f"{html.escape(cut(labels[i]))}</text>")
    return out


def _hex(rgb) -> str:
    return f"#{int(rgb[0]):02x}{int(rgb[1]):02x}{int(rgb[2]):02x}"


def colour_bar(x: float, top: float, height: float, peak: float, steps: int = 32) -> list[str]:
    """A vertical viridis bar from 0 (bottom) to ``peak`` (top), with three tick labels. Drawn as ``steps``
    rectangles, not a gradient: a gradient is found by id, and an id inside a hidden tab draws nothing."""
    lut = colour_lut("viridis")
    band = height / steps
    parts = ['<g shape-rendering="crispEdges">']
    for k in range(steps):
        colour = _hex(lut[int(round(255 * (k + 0.5) / steps))])
        parts.append(f'<rect x="{x:.1f}" y="{top + height - (k + 1) * band:.1f}" width="14" height="{band + 0.3:.1f}" '
                     f'fill="{colour}"/>')
    parts.append("</g>")
    for fraction in (0.0, 0.5, 1.0):
        y = top + height * (1 - fraction)
        parts.append(f'<text x="{x + 18:.1f}" y="{y + 5:.1f}">{fraction * peak:.2g}</text>')
    return parts


def heatmap(
    matrix: np.ndarray, row_labels: list[str], col_labels: list[str], chart_title: str, *,
    zmax: float | None = None, caption: str = HEATMAP_SUBTITLE, names: tuple[str, str] = ("query", "key"),
    highlight_row: int | None = None, width: int = SVG_WIDTH,
) -> str:
    """A (rows, cols) matrix as a viridis heatmap from 0 to ``zmax`` (default: its max), with a colour bar.

    Rows are labelled on the left, columns underneath at -60 degrees (every n-th beyond :data:`MAX_TICK_LABELS`);
    hovering a cell shows "<names[0]> i: row / <names[1]> j: column / weight". ``highlight_row`` is outlined.

    Args:
        matrix: (rows, cols) weights, >= 0.
    """
    matrix = np.asarray(matrix, dtype=np.float64)
    rows, cols = matrix.shape
    top_value = zmax if zmax is not None else (float(matrix.max()) or 1.0)
    left = 12 + CHAR_PX * max((len(cut(label)) for label in row_labels), default=1)
    bar_width = 70  # colour bar and its tick labels
    cell = max(4.0, min(40.0, (width - left - bar_width - 10) / max(cols, 1)))
    top = 58  # title and subtitle
    grid_w, grid_h = cell * cols, cell * rows
    lut = colour_lut("viridis")
    levels = (np.clip(matrix / (top_value if top_value > 0 else 1.0), 0, 1) * 255).astype(np.int64)
    row_names = [html.escape(f"{i}: {label}") for i, label in enumerate(row_labels)]
    col_names = [html.escape(f"{j}: {label}") for j, label in enumerate(col_labels)]
    parts = [title(chart_title, 20, width), subtitle(caption, 42, width), '<g shape-rendering="crispEdges">']
    for i in range(rows):
        y = top + i * cell
        for j in range(cols):
            parts.append(f'<rect x="{left + j * cell:.1f}" y="{y:.1f}" width="{cell + 0.3:.1f}" height="{cell + 0.3:.1f}" '
                         f'fill="{_hex(lut[levels[i, j]])}"><title>{names[0]} {row_names[i]}\n{names[1]} {col_names[j]}\n'
                         f"weight {matrix[i, j]:.4f}</title></rect>")
    parts.append("</g>")
    if highlight_row is not None and 0 <= highlight_row < rows:
        parts.append(f'<rect x="{left - 1.5:.1f}" y="{top + highlight_row * cell - 1.5:.1f}" width="{grid_w + 3:.1f}" '
                     f'height="{cell + 3:.1f}" fill="none" stroke="{HIGHLIGHT}" stroke-width="3"/>')
    for i in tick_positions(rows):
        parts.append(f'<text x="{left - 6:.1f}" y="{top + (i + 0.5) * cell + 5:.1f}" text-anchor="end">'
                     f"{html.escape(cut(row_labels[i]))}</text>")
    parts += rotated_labels(col_labels, lambda j: left + (j + 0.5) * cell + 4, top + grid_h + 8)
    parts += colour_bar(left + grid_w + 14, top, grid_h, top_value)
    return box(top + grid_h + room_below(col_labels), chart_title, parts, width)


def _png_uri(rgb: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).save(buffer, format="PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def heatmap_grid(stack: np.ndarray, chart_title: str, selected: tuple[int, int] | None = None,
                 zmax: float = 1.0, width: int = SVG_WIDTH) -> str:
    """Every (layer, head) of an (L, H, rows, cols) stack as a small viridis heatmap (rows: layers, columns: heads),
    each labelled "L1 H1" and drawn as one pixel-sharp PNG (the grid has thousands of cells: hovering a thumbnail
    names it, the big heatmap shows the weights); ``selected`` (0-based) is outlined.

    Args:
        stack: (L, H, rows, cols) weights in [0, ``zmax``].
    """
    stack = np.asarray(stack, dtype=np.float64)
    layers, heads, rows, cols = stack.shape
    lut = colour_lut("viridis")
    gap, label_h, top = 12, 24, 44
    thumb_w = (width - 20 - gap * (heads - 1)) / heads
    thumb_h = min(thumb_w, max(60.0, thumb_w * rows / max(cols, 1)))
    parts = [title(chart_title, 22, width)]
    for layer in range(layers):
        for head in range(heads):
            x = 10 + head * (thumb_w + gap)
            y = top + layer * (thumb_h + label_h + gap) + label_h
            levels = (np.clip(stack[layer, head] / (zmax or 1.0), 0, 1) * 255).astype(np.int64)
            parts.append(f'<g><title>layer {layer + 1}, head {head + 1}</title>'
                         f'<text x="{x + thumb_w / 2:.1f}" y="{y - 7:.1f}" text-anchor="middle" font-family="sans-serif">'
                         f"L{layer + 1} H{head + 1}</text>"
                         f'<image x="{x:.1f}" y="{y:.1f}" width="{thumb_w:.1f}" height="{thumb_h:.1f}" '
                         f'preserveAspectRatio="none" style="image-rendering:pixelated" href="{_png_uri(lut[levels])}"/>')
            if selected == (layer, head):
                parts.append(f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="{thumb_w + 6:.1f}" height="{thumb_h + 6:.1f}" '
                             f'fill="none" stroke="{HIGHLIGHT}" stroke-width="3"/>')
            parts.append("</g>")
    return box(top + layers * (thumb_h + label_h + gap) + 4, chart_title, parts, width)


def bars(values: np.ndarray, labels: list[str], chart_title: str, axis_title: str, hover_name: str = "share",
         colour: str = "#4c78a8") -> str:
    """One bar per label (values >= 0), labels underneath at -60 degrees; hovering a bar shows its label and value."""
    values = np.asarray(values, dtype=np.float64)
    count = len(values)
    left, top, plot_h = 76, 48, 240
    peak = float(values.max()) if count and values.max() > 0 else 1.0
    slot = (SVG_WIDTH - left - 10) / max(count, 1)
    parts = [
        title(chart_title, 22),
        f'<line x1="{left}" y1="{top + plot_h}" x2="{SVG_WIDTH - 10}" y2="{top + plot_h}" stroke="#555"/>',
        y_title(axis_title, top + plot_h / 2),
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<text x="{left - 6}" y="{y + 5:.1f}" text-anchor="end">{fraction * peak:.2g}</text>')
        if fraction:
            parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{SVG_WIDTH - 10}" y2="{y:.1f}" stroke="#ddd"/>')
    for i, value in enumerate(values):
        bar_h = plot_h * max(float(value), 0.0) / peak
        x = left + i * slot + 0.1 * slot
        parts.append(f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{0.8 * slot:.1f}" height="{bar_h:.1f}" '
                     f'fill="{colour}"><title>{html.escape(f"{i}: {labels[i]}")}\n{hover_name} {value:.4f}</title></rect>')
    parts += rotated_labels(labels, lambda i: left + (i + 0.5) * slot + 4, top + plot_h + 10)
    return box(top + plot_h + room_below(labels), chart_title, parts)


MARKER_SHAPES = ("circle", "square", "diamond")


def _marker(shape: str, x: float, y: float, size: float, colour: str, hover: str) -> str:
    half = size / 2
    tip = f"<title>{html.escape(hover)}</title>"
    if shape == "square":
        return f'<rect x="{x - half:.1f}" y="{y - half:.1f}" width="{size:.1f}" height="{size:.1f}" fill="{colour}">{tip}</rect>'
    if shape == "diamond":
        return (f'<polygon points="{x:.1f},{y - half:.1f} {x + half:.1f},{y:.1f} {x:.1f},{y + half:.1f} '
                f'{x - half:.1f},{y:.1f}" fill="{colour}">{tip}</polygon>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{half:.1f}" fill="{colour}">{tip}</circle>'


def lines(x_labels: list[str], series: list[dict], chart_title: str, x_title: str, axis_title: str, *,
          note: str = "", y_range: tuple[float, float] = (0.0, 100.0), unit: str = "%", width: int = SVG_WIDTH) -> str:
    """Lines over categorical x (``x_labels``), one per series {"name", "values", "colour", "size", "shape"}
    (values in ``y_range``; None leaves a gap), with markers of different sizes and shapes so lines that coincide
    stay visible, a legend underneath, and a hover on each point."""
    left, top, plot_h = 70, 58 if note else 44, 260
    plot_w = width - left - 16
    low, high = y_range
    slot = plot_w / max(len(x_labels), 1)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value - low) / ((high - low) or 1.0))

    parts = [title(chart_title, 22, width)]
    if note:
        parts.append(subtitle(note, 44, width))
    for fraction in (0.0, 0.25, 0.5, 0.75, 1.0):
        value = low + fraction * (high - low)
        y = y_of(value)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                     f'<text x="{left - 6}" y="{y + 5:.1f}" text-anchor="end">{value:g}</text>')
    parts.append(y_title(axis_title, top + plot_h / 2))
    for i in tick_positions(len(x_labels)):
        parts.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{top + plot_h + 20:.1f}" text-anchor="middle">'
                     f"{html.escape(cut(x_labels[i]))}</text>")
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h + 44:.0f}" text-anchor="middle" '
                 f'font-family="sans-serif">{html.escape(x_title)}</text>')
    styles = [(line.get("colour", "#1f77b4"), line.get("size", 9), line.get("shape", MARKER_SHAPES[n % len(MARKER_SHAPES)]))
              for n, line in enumerate(series)]
    for line, (colour, size, shape) in zip(series, styles):
        points = [(left + (i + 0.5) * slot, y_of(v), x_labels[i], v) for i, v in enumerate(line["values"]) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="3"/>')
        parts += [_marker(shape, x, y, size, colour, f"{line['name']}: {label} → {v:.1f}{unit}") for x, y, label, v in points]
    legend_y, x = top + plot_h + 74, float(left)
    for line, (colour, _, shape) in zip(series, styles):
        parts.append(_marker(shape, x + 6, legend_y - 5, 11, colour, line["name"]))
        parts.append(f'<text x="{x + 18:.1f}" y="{legend_y:.1f}" font-family="sans-serif">{html.escape(line["name"])}</text>')
        x += 40 + CHAR_PX * len(line["name"])
    return box(legend_y + 14, chart_title, parts, width)
