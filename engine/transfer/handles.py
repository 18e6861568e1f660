"""Model handles: a string that names one model trained by ``/transfer_train``, so an API client needs no session.

gradio keys per-user data by ``session_hash``; a raw HTTP client (curl) sends none, so each of its calls gets a
session of its own and a later ``/transfer_predict`` would find no model. ``/transfer_train`` returns a handle;
``/transfer_predict`` and ``/transfer_export`` accept it from any session.

Bounded twice: at most ``LIMITS.transfer_handles`` handles are remembered (the oldest is forgotten first), and a
handle holds only a weak reference to its model, so the weights stay owned by the session that trained them and
counted in ``LIMITS.transfer_session_bytes``. When that session is freed (idle, memory budget) or trains the same
strategy again, the handle expires with a message that says so.
"""

from __future__ import annotations

import secrets
import threading
import weakref
from collections import OrderedDict

from engine.core.settings import LIMITS
from engine.core.validation import quote
from engine.transfer import session as sessions

PREFIX = "nd-model-"
MAX_HANDLE_CHARS = 64  # longer input is no handle of ours

_handles: OrderedDict[str, tuple[str, str, weakref.ref]] = OrderedDict()  # handle -> (session key, strategy, model)
_guard = threading.Lock()


def issue(session_key: str, result) -> str:
    """A new handle for ``result``, a model the session ``session_key`` holds in its results."""
    handle = PREFIX + secrets.token_urlsafe(16)  # unguessable: a handle is the only key to someone's model
    with _guard:
        _handles[handle] = (session_key, result.strategy, weakref.ref(result))
        while len(_handles) > LIMITS.transfer_handles:
            _handles.popitem(last=False)
    return handle


def resolve(handle) -> tuple[sessions.TransferSession, object]:
    """``(session, result)`` for a handle from :func:`issue`; ``ValueError`` if it is unknown or expired."""
    key = handle.strip() if isinstance(handle, str) else handle
    with _guard:
        entry = _handles.get(key) if isinstance(key, str) and len(key) <= MAX_HANDLE_CHARS else None
    if entry is not None:
        session_key, strategy, model = entry
        result = model()
        session = sessions.use_session(session_key)
        if result is not None and session is not None and session.results.get(strategy) is result:
            return session, result
        with _guard:
            _handles.pop(key, None)
    raise ValueError(f"Model handle {quote(handle, 60)} is unknown or expired; train again with /transfer_train "
                     f"(a handle lasts while its model is kept: at most {LIMITS.transfer_handles} handles, and a model "
                     f"unused for {LIMITS.session_idle_s // 60} minutes is freed).")


def count() -> int:
    return len(_handles)
