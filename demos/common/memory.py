"""Give memory and disk back once a class has gone: one background janitor thread (issue 24).

Every minute it frees what sessions left behind: gradio's per-session state of pages closed more than
``LIMITS.closed_session_keep_s`` ago (or unused for ``LIMITS.session_idle_s``: API clients never close),
Transfer sessions idle that long (their own rule, applied here too so nobody has to call the app first),
old display files, and this app's files in gradio's cache beyond its size cap (:mod:`demos.common.disk`).

When the process has done no work for ``IDLE_AFTER_S`` it asks loaded models to free the buffers they
rebuild on next use (:mod:`engine.core.idle`: the face generator's OpenVINO buffers), collects garbage and
calls glibc's ``malloc_trim(0)`` once: freed memory otherwise stays in the allocator's per-thread arenas (gradio runs
requests on up to 40 threads), so RSS stayed at its peak for good. Idle means no event waiting or running in
gradio's queue (a CPU threshold never fired: model thread pools and gradio's own threads keep a quiet process a
little busy); no request, stream or training is ever interrupted.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
import threading
import time

from engine.core.settings import LIMITS

CHECK_EVERY_S = 5.0
IDLE_AFTER_S = 30.0  # no work for this long: trim once
HOUSEKEEPING_EVERY_S = 60.0

log = logging.getLogger("neurodeck")
_libc: ctypes.CDLL | None = None


def _glibc_function(name: str):
    """A glibc malloc function by name, or None where there is no glibc (macOS, Windows, musl)."""
    global _libc
    if not sys.platform.startswith("linux"):
        return None
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return getattr(_libc, name)
    except (OSError, AttributeError):  # not glibc
        return None


def malloc_trim() -> bool:
    """Hand free heap memory back to the system (glibc ``malloc_trim(0)``, every arena).

    Returns whether glibc released anything; False (and nothing happens) where there is no glibc.
    """
    trim = _glibc_function("malloc_trim")
    if trim is None:
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return bool(trim(0))


M_ARENA_MAX = -8  # glibc's mallopt parameter number (malloc.h)
ARENA_MAX = 2  # one malloc arena per core of the reference 2-core machine, instead of 8 per core


def tune_allocator(arena_max: int = ARENA_MAX) -> bool:
    """Cap glibc's malloc arenas; call at start-up, before the server's threads allocate. Returns whether it applied.

    glibc gives threads that contend for the heap arenas of their own, up to 8 per core; gradio serves requests on
    up to 40 threads, and memory freed in one arena is not reused by another, so a class left fragments in many
    arenas that ``malloc_trim`` cannot fully return (docs/load.md, Bounds). ``MALLOC_ARENA_MAX`` in the
    environment wins (glibc has read it already): nothing is changed then.
    """
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = _glibc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_ARENA_MAX, int(arena_max)) == 1


def release_idle_models() -> int:
    """Ask loaded models to free buffers they re-create on next use (``engine.core.idle``): the face generator's
    OpenVINO buffers, ~180 MB per stream. Only models already loaded: nothing is imported here (no torch)."""
    idle = sys.modules.get("engine.core.idle")
    return idle.release_all() if idle is not None else 0


def rss_bytes() -> int:
    """This process's resident memory (0 if unknown)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def prune_sessions(holder, now: float | None = None, busy: frozenset[str] | set[str] = frozenset(),
                   closed_keep_s: float | None = None, idle_s: float | None = None,
                   capacity: int | None = None) -> list[str]:
    """Free gradio's per-session state (a ``gradio.state_holder.StateHolder``); returns the freed sessions.

    A session goes when its page closed ``closed_keep_s`` ago, when it was unused for ``idle_s``, or, beyond
    ``capacity`` sessions, the one used longest ago first. Sessions in ``busy`` (events waiting or running) stay.
    """
    import datetime

    closed_keep_s = LIMITS.closed_session_keep_s if closed_keep_s is None else closed_keep_s
    idle_s = LIMITS.session_idle_s if idle_s is None else idle_s
    capacity = LIMITS.gradio_sessions if capacity is None else capacity
    now_dt = datetime.datetime.now() if now is None else datetime.datetime.fromtimestamp(now)
    doomed = []
    with holder.lock:
        order = list(holder.session_data.items())  # least recently used first
    for position, (session_id, state) in enumerate(order):
        if session_id in busy:
            continue
        last = holder.time_last_used.get(session_id)
        unused = (now_dt - last).total_seconds() if last is not None else 0.0
        over_capacity = len(order) - position > capacity
        if over_capacity or unused > idle_s or (getattr(state, "is_closed", False) and unused > closed_keep_s):
            doomed.append(session_id)
    for session_id in doomed:
        try:
            holder.delete_state(session_id)  # runs gr.State delete callbacks
        except Exception:  # noqa: BLE001  (a callback's failure must not keep the session's memory)
            log.exception("freeing gradio state of a session failed")
        with holder.lock:
            holder.session_data.pop(session_id, None)
            holder.time_last_used.pop(session_id, None)
    return doomed


def _busy_sessions(demo) -> set[str]:
    """Sessions with an event waiting or running (gradio drops an event from this dict when it ends)."""
    events = getattr(getattr(demo, "_queue", None), "event_ids_to_events", None) or {}
    return {getattr(event, "session_hash", None) for event in list(events.values())} - {None}


def _forget_queue_ids(demo, sessions: list[str]) -> None:
    """gradio's queue keeps every event id a session ever sent until the session cancels one: drop freed ones'."""
    pending = getattr(getattr(demo, "_queue", None), "pending_event_ids_session", None)
    if pending is not None:
        for session_id in sessions:
            pending.pop(session_id, None)


def live_counts(demo) -> dict[str, int]:
    """Per-session stores and their sizes now (the janitor logs them; benchmarks read the log)."""
    counts = {"gradio_sessions": len(getattr(getattr(demo, "state_holder", None), "session_data", {}))}
    transfer = sys.modules.get("engine.transfer.session")  # never imported here: it would pull in torch
    if transfer is not None:
        counts["transfer_sessions"] = transfer.session_count()
    streams = sys.modules.get("engine.core.streams")
    if streams is not None:
        counts["live_runs"] = streams.RUNS.count()
    return counts


def housekeeping(demo) -> dict:
    """One round of freeing: gradio sessions, Transfer sessions, display files, gradio's cache."""
    from demos.common import disk, outputs

    done: dict = {}
    holder = getattr(demo, "state_holder", None)
    if holder is not None and hasattr(holder, "session_data"):
        freed = prune_sessions(holder, busy=_busy_sessions(demo))
        _forget_queue_ids(demo, freed)
        done["gradio_sessions_freed"] = len(freed)
    transfer = sys.modules.get("engine.transfer.session")
    if transfer is not None:
        done["transfer_sessions_freed"] = len(transfer.enforce_budget())  # frees idle ones, then the budget
    for sweeper in list(outputs.SWEEPERS):
        sweeper.sweep()
    swept = disk.sweep_app_cache(demo)
    done.update(cache_files_removed=len(swept.removed), cache_mb=round(swept.bytes_after / 2**20, 1))
    return done


class Janitor(threading.Thread):
    """The background thread: housekeeping every minute, one trim after each busy spell."""

    def __init__(self, demo) -> None:
        super().__init__(name="neurodeck-janitor", daemon=True)
        self.demo = demo
        self.stopped = threading.Event()
        self.trims: list[tuple[int, int]] = []  # (RSS before, after) of each trim

    def run(self) -> None:
        last_busy = last_house = time.monotonic()
        trimmed = False
        while not self.stopped.wait(CHECK_EVERY_S):
            now = time.monotonic()
            if _busy_sessions(self.demo):  # an event waits or runs: not idle
                last_busy, trimmed = now, False
            try:
                if now - last_house >= HOUSEKEEPING_EVERY_S:
                    last_house = now
                    done = housekeeping(self.demo)
                    freed = any(done.get(key) for key in ("gradio_sessions_freed", "transfer_sessions_freed"))
                    if freed or done.get("cache_files_removed") or not trimmed:
                        log.info("janitor: %s %s", done, live_counts(self.demo))
                    trimmed = trimmed and not freed  # what was just freed is handed back too
                if not trimmed and now - last_busy >= IDLE_AFTER_S:
                    trimmed = True
                    before = rss_bytes()
                    release_idle_models()
                    gc.collect()
                    malloc_trim()
                    self.trims.append((before, rss_bytes()))
                    log.info("janitor: idle, trimmed RSS %.0f -> %.0f MB %s", before / 2**20,
                             self.trims[-1][1] / 2**20, live_counts(self.demo))
            except Exception:  # noqa: BLE001  (housekeeping must never take the server down)
                log.exception("janitor round failed")


def start_janitor(demo) -> Janitor:
    janitor = Janitor(demo)
    janitor.start()
    return janitor
