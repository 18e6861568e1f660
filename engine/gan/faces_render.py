"""Drawing for the Faces view: face images in, labelled sheets, GIFs and HTML cards out (PIL only)."""

from __future__ import annotations

import functools
import html
import importlib.util
import io
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

TEXT = (20, 20, 20)
MUTED = (90, 90, 90)
BACKGROUND = (255, 255, 255)
BOX_COLOURS = ((230, 60, 60), (40, 140, 230), (250, 170, 20))
TITLE_PX = 20  # text on images reads from the back of a room


def _font_file() -> str | None:
    """DejaVu Sans (has ψ, ×, σ; PIL's built-in font does not): matplotlib's copy, else the system's."""
    spec = importlib.util.find_spec("matplotlib")  # located, not imported
    candidates = [Path(spec.origin).parent / "mpl-data/fonts/ttf/DejaVuSans.ttf"] if spec and spec.origin else []
    candidates.append(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"))
    return next((str(path) for path in candidates if path.is_file()), None)


@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont:
    path = _font_file()
    if path:
        return ImageFont.truetype(path, size)
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def _centred(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str, size: int = TITLE_PX,
             fill=TEXT) -> None:
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = box[0] + (box[2] - box[0] - (right - left)) // 2
    y = box[1] + (box[3] - box[1] - (bottom - top)) // 2 - top
    draw.text((x, y), text, fill=fill, font=font)


def labelled_grid(rows: Sequence[Sequence[Image.Image]], column_titles: Sequence[str] = (),
                  row_titles: Sequence[str] = (), cell: int = 192, gap: int = 6, title: str = "") -> Image.Image:
    """Images in rows and columns, each ``cell`` px, with optional titles above columns and left of rows."""
    n_rows, n_cols = len(rows), max(len(row) for row in rows)
    title_h = 34 if title else 0
    head = 32 if column_titles else 0
    side = 104 if row_titles else 0
    width = side + n_cols * (cell + gap) + gap
    height = title_h + head + n_rows * (cell + gap) + gap
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    if title:
        _centred(draw, (0, 0, width, title_h), title, TITLE_PX + 2)
    for c, text in enumerate(column_titles):
        x = side + gap + c * (cell + gap)
        _centred(draw, (x, title_h, x + cell, title_h + head), text)
    for r, row in enumerate(rows):
        y = title_h + head + gap + r * (cell + gap)
        if r < len(row_titles):
            _centred(draw, (0, y, side, y + cell), row_titles[r], TITLE_PX - 2, MUTED)
        for c, image in enumerate(row):
            tile = image if image.size == (cell, cell) else image.resize((cell, cell), Image.LANCZOS)
            sheet.paste(tile.convert("RGB"), (side + gap + c * (cell + gap), y))
    return sheet


def truncation_sheet(grid: Sequence[Sequence[Image.Image]], psis: Sequence[float], seeds: Sequence[int],
                     cell: int = 192) -> Image.Image:
    """Rows = seeds, columns = ψ values (the truncation row)."""
    titles = [f"ψ = {psi:g}" + (" (average)" if psi == 0 else "") for psi in psis]
    return labelled_grid(grid, titles, [f"seed {seed}" for seed in seeds], cell=cell,
                         title="the same seeds, pulled towards the average face")


def frames_to_gif(frames: Sequence[Image.Image], duration_ms: int = 140) -> bytes:
    """A looping GIF that plays the frames forward then back."""
    sequence = [frame.convert("RGB") for frame in frames]
    sequence = sequence + sequence[-2:0:-1]
    buffer = io.BytesIO()
    sequence[0].save(buffer, format="GIF", save_all=True, append_images=sequence[1:], duration=duration_ms, loop=0,
                     optimize=False)
    return buffer.getvalue()


def side_by_side_gif(left: Sequence[Image.Image], right: Sequence[Image.Image], titles=("z", "w"),
                     cell: int = 256, duration_ms: int = 140) -> bytes:
    """One GIF with two interpolations playing in step, titled above."""
    frames = [labelled_grid([[a, b]], titles, cell=cell, gap=4) for a, b in zip(left, right)]
    return frames_to_gif(frames, duration_ms)


def strip(frames: Sequence[Image.Image], title: str, cell: int = 128) -> Image.Image:
    """Frames in one row under a title."""
    return labelled_grid([list(frames)], cell=cell, gap=4, title=title)


def zoom_sheet(face: Image.Image, crops: Sequence[tuple[str, Image.Image, tuple[int, int, int, int]]],
               face_px: int = 480, crop_px: int = 232) -> Image.Image:
    """The face with coloured boxes, and each box's native 1024² pixels enlarged beside it, labelled."""
    scale = face_px / face.width
    small = face.resize((face_px, face_px), Image.LANCZOS)
    draw = ImageDraw.Draw(small)
    for (label, _, box), colour in zip(crops, BOX_COLOURS):
        draw.rectangle([int(v * scale) for v in box], outline=colour, width=4)
    gap, caption = 10, 30
    columns = 2
    rows_needed = -(-len(crops) // columns)
    width = face_px + gap + columns * (crop_px + gap)
    height = max(face_px, rows_needed * (crop_px + caption + gap))
    sheet = Image.new("RGB", (width, height), BACKGROUND)
    sheet.paste(small, (0, 0))
    sheet_draw = ImageDraw.Draw(sheet)
    for index, ((label, crop, _), colour) in enumerate(zip(crops, BOX_COLOURS)):
        r, c = divmod(index, columns)
        x = face_px + gap + c * (crop_px + gap)
        y = r * (crop_px + caption + gap)
        tile = crop.resize((crop_px, crop_px), Image.LANCZOS)
        sheet.paste(tile, (x, y + caption))
        sheet_draw.rectangle([x, y + caption, x + crop_px - 1, y + caption + crop_px - 1], outline=colour, width=4)
        _centred(sheet_draw, (x, y, x + crop_px, y + caption), label, TITLE_PX - 4)
    return sheet


def comparison_sheet(digits: Image.Image, face: Image.Image, digits_side: int, face_side: int,
                     cell: int = 320) -> Image.Image:
    """Our digits DCGAN's output beside one photoreal face, at the same display size."""
    digits_big = digits.resize((cell, cell), Image.NEAREST)
    return labelled_grid([[digits_big, face]],
                         [f"digits DCGAN, {digits_side}×{digits_side}", f"MobileStyleGAN, {face_side}×{face_side}"],
                         cell=cell, gap=8)


def _figure(value: str, label: str) -> str:
    return (f'<div class="nd-fig"><div class="nd-fig-value">{html.escape(value)}</div>'
            f'<div class="nd-fig-label">{html.escape(label)}</div></div>')


def human_count(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.1f} M"
    if value >= 1e3:
        return f"{value / 1e3:.0f} k"
    return f"{value:.0f}"


def human_seconds(value: float) -> str:
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


CARD_STYLE = (
    "<style>.nd-cards{display:flex;gap:14px;flex-wrap:wrap}.nd-card{flex:1;min-width:260px;border:1px solid #ddd;"
    "border-radius:10px;padding:10px 14px}.nd-card h4{margin:0 0 6px 0;font-size:18px}.nd-figs{display:flex;gap:18px;"
    "flex-wrap:wrap}.nd-fig-value{font-size:30px;font-weight:700;line-height:1.1}.nd-fig-label{font-size:14px;"
    "color:#555}</style>"
)


def comparison_html(figures: dict) -> str:
    """Two cards of large measured figures: parameters, output pixels, time per image."""
    digits = [
        (human_count(figures["digits_parameters"]), "parameters (generator)"),
        (f"{figures['digits_side']}×{figures['digits_side']}", "grey pixels out"),
        (human_seconds(figures["digits_seconds_per_image"]), "per image (measured now, PyTorch, 1 thread)"),
    ]
    faces = [
        (human_count(figures["faces_parameters"]),
         f"parameters (mapping {human_count(figures['faces_mapping_parameters'])} + synthesis "
         f"{human_count(figures['faces_synthesis_parameters'])})"),
        (f"{figures['faces_side']}×{figures['faces_side']}", "colour pixels out"),
        (human_seconds(figures["faces_seconds_per_image"]),
         f"per image (measured now, OpenVINO, {figures['openvino_threads']} thread per request)"),
    ]
    cards = []
    for title, rows in (("Our digits DCGAN (trained here in minutes)", digits),
                        ("MobileStyleGAN (distilled StyleGAN2, FFHQ faces)", faces)):
        cards.append(f'<div class="nd-card"><h4>{html.escape(title)}</h4><div class="nd-figs">'
                     + "".join(_figure(v, l) for v, l in rows) + "</div></div>")
    ratios = (f"<p style='font-size:16px'>{figures['parameter_ratio']:.0f}× the parameters, "
              f"{figures['pixel_ratio']:,.0f}× the output values, "
              f"{figures['time_ratio']:,.0f}× the time per image.</p>")
    return CARD_STYLE + '<div class="nd-cards">' + "".join(cards) + "</div>" + ratios
