"""Helpers every tab shares: turning engine errors into ``gr.Error``."""

from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr

from engine.core.imports import IMPORT_LOCK, import_engine

log = logging.getLogger("neurodeck")

# Every event has a time limit, so one user cannot hold a worker forever. One name per kind of event:
QUICK_S = 30  # redraws, sketch scores, small uploads: well under a second normally
STANDARD_S = 60  # one model call on one input (generate, denoise, attention)
LONG_S = 120  # many model calls (quality measurement, exports, a live run's stream)
PUSH_S = 300  # an upload to the Hugging Face Hub
TRAINING_S = 600  # a transfer-learning training run; the best models so far are kept when it is cut


def _as_gradio_error(error: Exception) -> gr.Error:
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, ValueError):
        return gr.Error(str(error))
    log.exception("Unexpected error in a handler")
    return gr.Error(f"Something went wrong ({type(error).__name__}). Try another input; the app is still running.")


def user_errors(fn):
    """Decorate a handler so ``ValueError`` becomes a ``gr.Error`` the user can read.

    Any other exception is logged with its stack trace and shown as a short generic
    message, so internals never leak and the server keeps serving. Generator
    handlers (streaming events) are wrapped as generators.
    """
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:  # noqa: BLE001
                raise _as_gradio_error(error) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001
            raise _as_gradio_error(error) from None

    return wrapper


def session_id(request: gr.Request | None) -> str:
    """The browser / gradio_client session's hash, the key of its per-user data."""
    session_hash = getattr(request, "session_hash", None)
    if not session_hash:  # never fall back to a shared key: that would mix users' data
        raise ValueError("This request has no session; reload the page and try again.")
    return session_hash


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


# diffusers and transformers build their namespaces lazily; two threads importing them at once
# (the warm-up thread and a first request, say) can see a half-initialised module and fail with
# "cannot import name 'ConfigMixin' from 'diffusers'". All first imports of engine modules take this lock
# (engine.core.imports, which the engine's own deferred imports use too).
ENGINE_IMPORT_LOCK = IMPORT_LOCK


class _EngineModule:
    """Stands for ``engine.<name>`` and imports it on first attribute access.

    Tab modules use this for engine modules that import torch, so building the UI (and
    so the app's start-up) does not pay for torch. ``importlib`` caches the module and
    serialises concurrent first imports.
    """

    def __init__(self, name: str) -> None:
        self._qualified = f"engine.{name}"
        self._module = None

    def __getattr__(self, attribute: str):
        if self._module is None:
            # Always through the lock: while another thread is importing it, sys.modules already
            # holds the module, only partly initialised.
            self._module = import_engine(self._qualified)
        return getattr(self._module, attribute)


def engine_module(name: str) -> _EngineModule:
    """A lazily imported ``engine.<name>`` module (see :class:`_EngineModule`)."""
    return _EngineModule(name)


# ----------------------------------------------------------------------------------------- result cards
# Key numbers as large, labelled figures: handlers keep returning their JSON (the API), and a private
# event turns it into a card (``show_card``). The JSON itself sits in a closed "Details (JSON)" accordion.
# app.py passes CARD_CSS and STAGE_CSS to ``launch(css=...)``; cards also carry CARD_CSS themselves.
CARD_CSS = """
.nd-result { margin: 2px 0 6px; }
.nd-headline { font-size: calc(1.3rem * var(--nd-scale, 1)); font-weight: 650; line-height: 1.3; margin: 0 0 8px; }
.nd-headline.nd-good { color: #166534; }
.nd-headline.nd-bad { color: #b91c1c; }
.nd-cards { display: flex; flex-wrap: wrap; gap: 10px; }
.nd-card { flex: 1 1 160px; min-width: 140px; max-width: 100%; box-sizing: border-box; padding: 10px 14px;
  border: 1px solid var(--border-color-primary, #d4d4d8); border-radius: 10px;
  background: var(--block-background-fill, #fff); }
.nd-card-label { display: block; font-size: calc(0.95rem * var(--nd-scale, 1)); color: var(--body-text-color-subdued, #52525b); }
.nd-card-value { display: block; font-size: calc(2rem * var(--nd-scale, 1)); font-weight: 700; line-height: 1.15;
  font-variant-numeric: tabular-nums; color: var(--body-text-color, #18181b); overflow-wrap: anywhere; }
.nd-card-value.nd-good { color: #15803d; }
.nd-card-value.nd-bad { color: #b91c1c; }
.nd-card-note { display: block; margin-top: 2px; font-size: calc(0.9rem * var(--nd-scale, 1)); color: var(--body-text-color-subdued, #52525b); }
.nd-empty { font-size: calc(1rem * var(--nd-scale, 1)); color: var(--body-text-color-subdued, #71717a); margin: 4px 0; }
"""

# Page-wide rules for the stage and the phone (elem_ids from the tabs).
STAGE_CSS = """
/* Tabs that do not fit (a phone) go to Gradio's overflow menu: it says what it is instead of an unlabelled
   "...", and on a phone tighter tabs leave more of them in view (the hidden measuring row gets the same padding). */
.overflow-menu > button { width: auto !important; display: inline-flex !important; align-items: center; gap: 4px;
  padding: 0 8px !important; border: 1px solid var(--border-color-primary, #d4d4d8); border-radius: 6px; }
.overflow-menu > button::after { content: "More tabs"; font-size: var(--text-md, 14px); white-space: nowrap; }
@media (max-width: 640px) {
  .tab-container > button { padding-left: 8px !important; padding-right: 8px !important; }
}
/* Small generated images (8x8 to 128 px) are shown enlarged with crisp pixels, never blurred. */
#gan-gallery img, #gan-interp-strip img, #gan-walk-image img, #gan-walk-strip img, #gan-live-samples img,
#gan-sketch-history img, #ae-heatmap img, #ae-mask img, #ae-decoded img, #ae-interp-strip img,
#attn-image-rollout img, #attn-image-head img { image-rendering: pixelated; }
/* The anomaly heatmap and mask fill their column: at least 384 px wide. */
#ae-heatmap img, #ae-mask img { width: 100%; min-width: 384px; height: auto; max-height: none; object-fit: contain; }
#ae-heatmap, #ae-mask { min-width: 384px; }
/* The GAN sketchpad is white ink on black: the editor's own Clear leaves a white canvas on which white ink
   is invisible, so the tab's "Blank canvas" button (black) replaces it. */
#gan-sketch button[aria-label='Clear canvas'] { display: none !important; }
"""


def _escape(text) -> str:
    import html

    return html.escape(str(text), quote=True)


def _tone_class(tone) -> str:
    return f" nd-{tone}" if tone in ("good", "bad") else ""


def figure_cards(items=(), headline: str = "", tone: str = "") -> str:
    """HTML for a result card: an optional headline sentence, then one box per key figure.

    ``items`` are objects with ``label``, ``value``, ``note`` and ``tone`` attributes (the engine's
    ``KeyFigure``), or (label, value[, note[, tone]]) tuples; a ``KeyFigures`` object may be passed as
    ``items`` and brings its own headline and tone. Everything is HTML-escaped.
    """
    if hasattr(items, "figures") and hasattr(items, "headline"):
        items, headline, tone = items.figures, headline or items.headline, tone or getattr(items, "tone", "")
    parts = ['<div class="nd-result">']
    if headline:
        parts.append(f'<p class="nd-headline{_tone_class(tone)}">{_escape(headline)}</p>')
    boxes = []
    for item in items or ():
        if isinstance(item, (tuple, list)):
            label, value, note, item_tone = (list(item) + ["", ""])[:4]
        else:
            label, value, note, item_tone = item.label, item.value, getattr(item, "note", ""), getattr(item, "tone", "")
        note_html = f'<span class="nd-card-note">{_escape(note)}</span>' if note else ""
        boxes.append(
            f'<div class="nd-card"><span class="nd-card-label">{_escape(label)}</span>'
            f'<span class="nd-card-value{_tone_class(item_tone)}">{_escape(value)}</span>{note_html}</div>'
        )
    if boxes:
        parts.append('<div class="nd-cards">' + "".join(boxes) + "</div>")
    parts.append("</div>")
    return "".join(parts)


def empty_card(hint: str) -> str:
    """What a card shows before there is a result (e.g. "Press Generate")."""
    return f'<p class="nd-empty">{_escape(hint)}</p>'


def card_formatter(render_module: str, summary: str, hint: str, name: str, extra=None):
    """A private formatter for :func:`show_card`: the JSON payload -> an HTML card through
    ``engine.<render_module>.<summary>(payload)``, or ``(payload, extra())`` when ``extra`` is given.
    Empty payloads show ``hint``; a formatting error is logged and never breaks the tab (the JSON is
    still in Details). ``name`` becomes the function's name (the private event's name)."""

    def format_card(payload):
        if not payload:
            return empty_card(hint)
        try:
            summarise = getattr(engine_module(render_module), summary)
            return figure_cards(summarise(payload, extra()) if extra is not None else summarise(payload))
        except Exception:  # noqa: BLE001  (a card never breaks the tab; the JSON is still in Details)
            log.exception("Could not format the %s card", summary)
            return empty_card("See Details (JSON) for this result.")

    format_card.__name__ = name
    return format_card


def result_card(elem_id: str, hint: str = "") -> gr.HTML:
    """The card component: a ``gr.HTML`` that carries CARD_CSS itself (scoped), filled by :func:`show_card`."""
    return gr.HTML(empty_card(hint) if hint else "", elem_id=elem_id, elem_classes=["nd-figures"], css_template=CARD_CSS,
                   js_on_load=None)


def show_card(source: gr.components.Component, card: gr.HTML, format_fn) -> None:
    """Fill ``card`` from ``source`` (a gr.JSON output) whenever it changes: a private, unqueued event."""
    source.change(format_fn, source, card, api_visibility="private", queue=False, show_progress="hidden")


# ----------------------------------------------------------------------------------------- live editors
# An ImageEditor with a change/input listener streams each drawing to the server as blobs that the
# component instance keeps, and the event carries only their id. Events that take the editor's value
# raw (preprocess=False, so load_image checks every file) resolve that id here.
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
