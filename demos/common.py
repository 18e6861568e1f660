"""Helpers every tab shares: turning engine errors into ``gr.Error``."""

from __future__ import annotations

import functools
import importlib
import threading
import inspect
import logging

import gradio as gr

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
# "cannot import name 'ConfigMixin' from 'diffusers'". All first imports of engine modules take this lock.
ENGINE_IMPORT_LOCK = threading.RLock()


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
            with ENGINE_IMPORT_LOCK:
                self._module = importlib.import_module(self._qualified)
        return getattr(self._module, attribute)


def engine_module(name: str) -> _EngineModule:
    """A lazily imported ``engine.<name>`` module (see :class:`_EngineModule`)."""
    return _EngineModule(name)
