"""Large numeric arrays in JSON answers, packed: one base64 string instead of one JSON number per value.

A 32-token MiniLM input has 73,728 attention weights. As nested lists they made a 661 kB answer that
every layer re-walked value by value (gradio's output checks and message serialisation, gradio_client's
file search and JSON parsing): most of ``/attention_text``'s serving time. Packed, they are one
393 kB string, exact to float32, and any client reads them back with :func:`unpack_array`::

    np.frombuffer(base64.b64decode(packed["base64"]), dtype=packed["dtype"]).reshape(packed["shape"])
"""

from __future__ import annotations

import base64

import numpy as np

PACKED_DTYPE = "<f4"  # little-endian float32, whatever the server's byte order


def pack_array(values: np.ndarray, dtype: str = PACKED_DTYPE) -> dict:
    """``{"dtype": "<f4", "shape": [...], "base64": "..."}``: the array as little-endian float32 bytes (or
    ``dtype``: the decoder's attentions use "<f2", half the size, about 3 significant digits a weight)."""
    array = np.ascontiguousarray(values, dtype=dtype)
    return {"dtype": array.dtype.str, "shape": list(array.shape), "base64": base64.b64encode(array.tobytes()).decode("ascii")}


def unpack_array(packed: dict) -> np.ndarray:
    """The array that :func:`pack_array` packed (refuses a dict whose size and shape disagree)."""
    try:
        dtype, shape, data = np.dtype(packed["dtype"]), [int(n) for n in packed["shape"]], packed["base64"]
    except (KeyError, TypeError) as error:
        raise ValueError(f"A packed array needs 'dtype', 'shape' and 'base64' keys ({error}).") from None
    raw = base64.b64decode(data)
    if len(raw) != dtype.itemsize * int(np.prod(shape)):
        raise ValueError(f"A packed array of shape {shape} and dtype {dtype} needs "
                         f"{dtype.itemsize * int(np.prod(shape))} bytes; got {len(raw)}.")
    return np.frombuffer(raw, dtype=dtype).reshape(shape)
