"""The key of a user's per-session data."""

from __future__ import annotations

import gradio as gr


def session_id(request: gr.Request | None) -> str:
    """The browser / gradio_client session's hash, the key of its per-user data."""
    session_hash = getattr(request, "session_hash", None)
    if not session_hash:  # never fall back to a shared key: that would mix users' data
        raise ValueError("This request has no session; reload the page and try again.")
    return session_hash
