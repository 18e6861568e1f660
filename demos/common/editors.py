"""Live ImageEditors: resolving the drawing an editor streamed to the server.

An ImageEditor with a change/input listener streams each drawing to the server as blobs that the
component instance keeps, and the event carries only their id. Events that take the editor's value
raw (preprocess=False, so load_image checks every file) resolve that id here.
"""

from __future__ import annotations

import gradio as gr

_EDITORS: dict[str, gr.ImageEditor] = {}


def live_editor(editor: gr.ImageEditor) -> gr.ImageEditor:
    """Register an editor (by its elem_id) whose raw values :func:`editor_composite` can resolve."""
    _EDITORS[editor.elem_id] = editor
    return editor


def editor_composite(value, elem_id: str):
    """The composite image of a raw ImageEditor value: its file payload, or the streamed blob's bytes; None if absent."""
    if not isinstance(value, dict):
        return value
    if value.get("composite") is None and value.get("id"):
        editor = _EDITORS.get(elem_id)
        blobs = editor.blob_storage.pop(value["id"], None) if editor is not None else None
        return getattr(blobs, "composite", None)
    return value.get("composite")


def shown(value) -> dict:
    """An editor's new value, and the editor shown. Canvases (Sketchpad, ImageEditor) are built hidden
    (``visible=False``: not in the page) and shown by the first value their view's opening gives them, after the
    view's first result: a canvas costs each visitor's browser ~0.5 s of CPU to build (software WebGL), which
    otherwise delays that result when several visitors open the page at once."""
    return gr.update(value=value, visible=True)
