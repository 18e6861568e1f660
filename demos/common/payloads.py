"""Large outputs without gradio's second validation pass."""

from __future__ import annotations

import gradio as gr
from gradio.components.plot import PlotData


def plot(figure: dict) -> PlotData:
    """Hand a Plotly figure dict to gr.Plot as ready JSON (skips plotly's slow Figure validation).

    orjson: ~10x faster than json.dumps for a 32-token heatmap (1,024 cells and their hover labels)."""
    import orjson

    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return PlotData(type="plotly", plot=orjson.dumps(figure, option=options).decode())


def drawn_plot(figure, fmt: str = "webp") -> PlotData:
    """A matplotlib Figure as gr.Plot's ready value (what gr.Plot.postprocess makes of it, in its default format):
    encoded once, so a figure many visitors are shown is not drawn and compressed again for each of them."""
    from gradio import processing_utils

    return PlotData(type="matplotlib", plot=processing_utils.encode_plot_to_base64(figure, fmt))


def _json_default(obj):
    """As gr.JSON does: an object whose str() is JSON becomes that JSON, anything else its str()."""
    import orjson

    try:
        return orjson.loads(str(obj))
    except orjson.JSONDecodeError:
        return str(obj)


class LargeJSON(gr.JSON):
    """``gr.JSON`` for big payloads, such as the 73,728 attention weights of a 32-token input.

    ``gr.JSON.postprocess`` turns the value into plain JSON with orjson (numpy arrays included) and
    then validates the result again with pydantic, which is redundant for what orjson just produced
    and cost ~50 ms of a ~160 ms round trip for that payload. This does the same orjson conversion
    and skips the second validation. Rendered by the frontend's JSON component (``is_template``).
    """

    is_template = True

    def postprocess(self, value):
        if value is None or isinstance(value, str) or callable(value):
            return super().postprocess(value)
        from gradio.components.json_component import JsonData
        import orjson

        plain = orjson.loads(
            orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_PASSTHROUGH_DATETIME, default=_json_default)
        )
        return JsonData.model_construct(root=plain)


class InlineImage(gr.Image):
    """``gr.Image`` (output only) that sends a small picture inside the answer as a ``data:`` URL.

    gr.Image writes every output to gradio's cache and each client then fetches it with a request of
    its own: gradio_client opens a fresh HTTPS-ready connection per file, ~25-40 ms on a busy 2-core
    machine, more than drawing the picture. For a ~30 kB JPEG, base64 in the answer is cheaper, and
    the cache does not grow. API clients get ``{"url": "data:image/jpeg;base64,...", ...}`` (no path).
    """

    def get_block_name(self) -> str:
        return "image"  # the page draws it with gradio's own Image (a subclass's name has no Svelte component)

    def postprocess(self, value):
        from PIL import Image as PILImage

        if not isinstance(value, PILImage.Image):
            return super().postprocess(value)
        import base64
        import io

        from gradio.data_classes import ImageData

        kind = (self.format or "png").lower()
        buffer = io.BytesIO()
        value.save(buffer, format=kind)  # gradio's own encoder settings (JPEG quality 75)
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        return ImageData(url=f"data:image/{kind};base64,{data}", orig_name=f"image.{kind}", mime_type=f"image/{kind}",
                         size=buffer.tell())
