"""Large outputs without gradio's second validation pass."""

from __future__ import annotations

import json

import gradio as gr
from gradio.components.plot import PlotData


def plot(figure: dict) -> PlotData:
    """Hand a Plotly figure dict to gr.Plot as ready JSON (skips plotly's slow Figure validation)."""
    return PlotData(type="plotly", plot=json.dumps(figure))


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
