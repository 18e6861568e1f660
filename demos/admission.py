"""Who may join the queue: one session cannot fill it, and expensive endpoints keep a short line.

gradio's queue has one global ``max_size``; one client's burst of 120 ``/gan_quality`` calls took all 64
places (and everyone else's calls were refused with it). :func:`install` puts a check in front of the
queue's ``push``: a session may have at most ``LIMITS.queued_per_session`` requests waiting, and an
endpoint in :data:`EXPENSIVE` at most ``LIMITS.expensive_queued`` waiting across all sessions. A refused
request gets HTTP 503 ("queue full") with a message saying which limit it hit; nothing it asked for runs.

Cancelled requests never start: gradio removes a waiting request from the queue when its client cancels
or disconnects (tested in tests/app/test_shared_link.py), so only a request that was already running
finishes its current step.

:func:`atomic_cache_writes` fixes the same race as the GAN gallery's (issue 14 #1) inside gradio: an image
output is saved under a name made of its content's hash, and gradio rewrote that file on every request, so
two identical requests at once rewrote a file while it was being downloaded (measured by
benchmarks/bench_load.py: "peer closed connection without sending complete message body" on /attention_text).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import gradio as gr

from engine.core.settings import LIMITS

# Endpoints that hold a core for seconds per call: their events also run one at a time (concurrency 1).
EXPENSIVE = frozenset({"gan_quality", "ae_bottleneck", "ae_hub_roundtrip"})


def _waiting(queue):
    for event_queue in list(queue.event_queue_per_concurrency_id.values()):
        yield from list(event_queue.queue)


def refusal(queue, session_hash: str | None, api_name: str | None, joining: dict | None = None) -> str | None:
    """Why this request may not join the queue now, or None. ``joining`` counts requests still being added."""
    joining = joining or {}
    waiting = list(_waiting(queue))
    mine = sum(1 for event in waiting if event.session_hash == session_hash) + joining.get(session_hash, 0)
    if session_hash and mine >= LIMITS.queued_per_session:
        return (f"Queue is full for this session: it already has {LIMITS.queued_per_session} requests waiting. "
                "Wait for them to finish (or cancel them), then try again.")
    if api_name in EXPENSIVE:
        same = sum(1 for event in waiting if getattr(event.fn, "api_name", None) == api_name) + joining.get(api_name, 0)
        if same >= LIMITS.expensive_queued:
            return (f"Queue is full for /{api_name}: {same} requests are already waiting for it (it runs one at a "
                    "time and takes seconds each). Try again in a minute.")
    return None


def install(demo: gr.Blocks) -> None:
    """Wrap ``demo``'s queue (after ``demo.queue(...)``) with the per-session and per-endpoint caps,
    and make gradio's cache writes atomic."""
    from gradio import route_utils

    atomic_cache_writes()

    queue = demo._queue
    push = queue.push
    joining: dict[str, int] = {}  # session hash / api name -> pushes awaiting gradio's push (one event loop: no lock)

    async def limited_push(body, request, username):
        try:
            api_name = getattr(route_utils.get_fn(queue.blocks, None, body), "api_name", None)
        except Exception:  # noqa: BLE001  (an unknown function: gradio's own push reports it)
            api_name = None
        session_hash = getattr(body, "session_hash", None)
        reason = refusal(queue, session_hash, api_name, joining)
        if reason is not None:
            return False, reason, "queue_full"
        keys = [key for key in (session_hash, api_name if api_name in EXPENSIVE else None) if key]
        for key in keys:
            joining[key] = joining.get(key, 0) + 1
        try:
            return await push(body, request, username)
        finally:
            for key in keys:
                joining[key] -= 1
                if not joining[key]:
                    del joining[key]

    queue.push = limited_push


def _write_once(folder: Path, name: str, data: bytes) -> str:
    """``folder/name`` holding ``data``: written under a unique name and renamed into place, only if missing.

    The folder is named by the content's hash, so an existing file already holds exactly these bytes; it is
    only touched (``delete_cache`` ages files by ctime), never rewritten while someone may be reading it.
    """
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / name).resolve()
    if path.exists():
        try:
            os.utime(path)
        except OSError:
            pass
        return str(path)
    handle, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(staging, path)
    return str(path)


def atomic_cache_writes() -> None:
    """Make gradio's content-addressed cache writes (PIL images, bytes) write-once and atomic."""
    from gradio import processing_utils as pu

    if getattr(pu.save_pil_to_cache, "_neurodeck_atomic", False):
        return

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        data = pu.encode_pil_to_bytes(img, format)
        return _write_once(Path(cache_dir) / pu.hash_bytes(data), f"{name}.{format}", data)

    def save_bytes_to_cache(data: bytes, file_name: str, cache_dir: str) -> str:
        if not Path(file_name).suffix:
            file_name = file_name + pu.detect_audio_format(data)
        return _write_once(Path(cache_dir) / pu.hash_bytes(data), Path(file_name).name, data)

    save_pil_to_cache._neurodeck_atomic = True
    pu.save_pil_to_cache = save_pil_to_cache
    pu.save_bytes_to_cache = save_bytes_to_cache
