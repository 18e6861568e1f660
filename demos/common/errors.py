"""Engine errors as messages a user can act on.

The engine raises ``ValueError`` for bad input; a handler decorated with :func:`user_errors` shows it as a
``gr.Error`` and logs one line (an expected error is not a server fault, so no traceback). Anything else is a
bug: logged with its traceback, shown as a short generic message, and the server keeps serving.
"""

from __future__ import annotations

import functools
import inspect
import logging

import gradio as gr

log = logging.getLogger("neurodeck")


MAX_MESSAGE_CHARS = 600  # an error that quotes a huge input (a 10 MB "seed") is cut, never echoed back whole


def short(message: str) -> str:
    """``message``, cut to ``MAX_MESSAGE_CHARS`` with its end kept (the end says what is allowed)."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS - 160]} … ({len(message):,} characters cut) … {message[-120:]}"


def as_gradio_error(error: Exception, where: str = "") -> gr.Error:
    """The ``gr.Error`` to show for ``error`` (logged: one line if expected, a traceback if not)."""
    if isinstance(error, gr.Error):
        log.info("user error in %s: %s", where or "a handler", short(str(error.message)))
        return gr.Error(short(str(error.message)), print_exception=False) if len(str(error.message)) > MAX_MESSAGE_CHARS else error
    if isinstance(error, ValueError):
        log.info("user error in %s: %s", where or "a handler", short(str(error)))
        return gr.Error(short(str(error)), print_exception=False)
    log.exception("Unexpected error in %s", where or "a handler")
    return gr.Error(f"Something went wrong ({type(error).__name__}). Try another input; the app is still running.",
                    print_exception=False)


def user_errors(fn):
    """Decorate a handler so ``ValueError`` becomes a ``gr.Error`` the user can read.

    Any other exception is logged with its stack trace and shown as a short generic message, so internals
    never leak and the server keeps serving. Generator handlers (streaming events) are wrapped as generators.
    """
    where = getattr(fn, "__name__", "a handler")
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:  # noqa: BLE001
                raise as_gradio_error(error, where) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001
            raise as_gradio_error(error, where) from None

    return wrapper


def hub_download_notice(model_id: str, weight_bytes: int) -> None:
    """Tell the user why the first request for a Hub model waits (``registry.HUB_LOAD_OBSERVERS``).

    Called in the handler's thread, so the message goes to the user whose request loads the model.
    """
    from engine.core.settings import LIMITS

    gr.Info(f"Loading {model_id[:80]!r} from the Hugging Face Hub for the first time on this server: "
            f"{weight_bytes / 2**20:,.0f} MB of weights (at most {LIMITS.hub_download_bytes / 2**30:.0f} GB). "
            "Later requests reuse it.", duration=15)
