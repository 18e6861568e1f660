"""Pieces several GAN views use: digit choices, uploaded file paths, result-card formatters, live runs.

Not a view: no widgets. Engine modules that import torch are imported inside the functions, under
:data:`engine.core.imports.IMPORT_LOCK`, so building the tab imports no torch; torch-free ones (drawing,
streams) at the top.
"""

from __future__ import annotations

from demos.common.cards import card_formatter
from demos.common.contract import OnOpen
from demos.common.sessions import session_id
from engine.core import streams
from engine.core.settings import LIMITS
from engine.core.imports import IMPORT_LOCK
from engine.gan import render

DIGIT_CHOICES = ["random"] + [str(d) for d in range(10)]
CLASS_CHOICES = DIGIT_CHOICES[1:]  # a class must be given (interpolation ends, the walk, the sketchpad)
MAX_SEED = LIMITS.seed_max  # the largest seed the engine accepts: one range everywhere


def payload_path(payload) -> str | None:
    """The file path of a raw (``preprocess=False``) file payload: a dict with ``path``, or a path."""
    if payload is None:
        return None
    if isinstance(payload, dict):
        return payload.get("path") or payload.get("name")
    return str(payload)


def _realness_reference():
    with IMPORT_LOCK:
        from engine.gan import inference
    return inference.realness_reference()


def card(summary: str, hint: str, reference: bool = False):
    """A card formatter through ``engine.gan.render.<summary>``; ``reference`` adds D's measured yardstick."""

    return card_formatter(getattr(render, summary), hint, f"gan_{summary}_card", _realness_reference if reference else None)


def live_run(request, kind: str, frames):
    """Stream ``frames(run)`` as this session's one live run of ``kind`` (a newer one replaces it)."""
    run = streams.RUNS.start(session_id(request), kind)
    try:
        yield from frames(run)
    except streams.RunStopped:
        return
    finally:
        streams.RUNS.finish(run)


def opening(event: dict, then: tuple[OnOpen, ...] = ()) -> OnOpen:
    """The :class:`OnOpen` spec of an event given as the keyword dict its ``.click(**event)`` also uses."""
    return OnOpen(event["fn"], tuple(event.get("inputs") or ()), tuple(event.get("outputs") or ()), then=then,
                  preprocess=event.get("preprocess", True), postprocess=event.get("postprocess", True),
                  time_limit=event.get("time_limit"))
