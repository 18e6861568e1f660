"""Memory a loaded model can hand back while the app is idle, and take again on its next use.

A model registers a method here when it is built; the app's janitor (``demos/common/memory.py``) calls
:func:`release_all` once the queue has been idle for a while, just before ``malloc_trim``. A releaser must not
wait for work in progress: it skips (returns 0) if its model is in use. Models are held weakly, so registering
keeps nothing alive. Importing this module imports nothing heavy.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Callable

log = logging.getLogger("neurodeck")
_releasers: list[weakref.WeakMethod] = []
_lock = threading.Lock()


def register(method: Callable[[], int]) -> None:
    """Register a bound method ``model.release() -> bytes released (0 if skipped or unknown)``."""
    with _lock:
        _releasers[:] = [ref for ref in _releasers if ref() is not None]
        _releasers.append(weakref.WeakMethod(method))


def release_all() -> int:
    """Call every registered releaser; returns how many released something. One failure never stops the rest."""
    with _lock:
        methods = [ref() for ref in _releasers]
    released = 0
    for method in methods:
        if method is None:
            continue
        try:
            released += 1 if method() else 0
        except Exception:  # noqa: BLE001  (freeing memory must never take the server down)
            log.exception("releasing idle memory failed")
    return released
