"""Who may join the queue: one session cannot fill it, and expensive endpoints keep a short line.

gradio's queue has one global ``max_size``; one client's burst of 120 ``/gan_quality`` calls took all 64
places (and everyone else's calls were refused with it). :func:`install` puts a check in front of the
queue's ``push`` (:func:`demos.common.gradio_patches.admission_control`): a session may have at most ``LIMITS.queued_per_session`` requests waiting, and an
endpoint in :data:`EXPENSIVE` at most ``LIMITS.expensive_queued`` waiting across all sessions. A refused
request gets HTTP 503 ("queue full") with a message saying which limit it hit; nothing it asked for runs.

Cancelled requests never start: gradio removes a waiting request from the queue when its client cancels
or disconnects (tested in tests/app/test_shared_link.py), so only a request that was already running
finishes its current step.

"""

from __future__ import annotations

from engine.core.settings import LIMITS

# Endpoints that hold a core for seconds per call: their events also run one at a time (concurrency 1).
EXPENSIVE = frozenset({"gan_quality", "ae_bottleneck", "ae_hub_roundtrip", "generators_measure", "decoder_ablation_scan",
                       "imagenet_attribution", "ae_tabular"})


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
