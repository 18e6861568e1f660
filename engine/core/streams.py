"""Live runs (GAN Lab Play, Train live) that share the CPU fairly, one per session.

Two rules keep a class on one 2-core server usable:

* :class:`FairShare` hands out compute *turns* in arrival order. A stream trains and renders one frame
  inside a turn, then queues again, so N streams round-robin over ``slots`` cores instead of the first
  two starving the rest; the other core stays free for ordinary clicks.
* :class:`RunSlots` keeps one run per session and kind: a new Play or Start from a session that already
  has one stops the old run at its next frame (no error to press Pause first) and takes its place.

How many runs may exist at once is the event's queue concurrency (``LIMITS.live_runs`` / ``lab_runs``);
the next one waits in gradio's queue, which shows its position and an estimated wait.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from engine.core.settings import LIMITS


class RunStopped(Exception):
    """A run was replaced (or cancelled) while it waited for its turn."""


class FairShare:
    """First come, first served compute turns; at most ``slots`` turns run at the same time."""

    def __init__(self, slots: int) -> None:
        self.slots = max(1, int(slots))
        self._busy = 0
        self._waiting: deque[object] = deque()
        self._cond = threading.Condition()

    @contextmanager
    def turn(self, stop: threading.Event | None = None) -> Iterator[None]:
        """Wait for this caller's turn (raises :class:`RunStopped` if ``stop`` is set meanwhile), then hold it."""
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
            try:
                while self._waiting[0] is not ticket or self._busy >= self.slots:
                    if stop is not None and stop.is_set():
                        raise RunStopped
                    self._cond.wait(0.1)
            finally:
                self._waiting.remove(ticket)
                self._cond.notify_all()
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()

    @property
    def waiting(self) -> int:
        return len(self._waiting)


@dataclass
class Run:
    owner: str  # session id
    kind: str  # "lab" or "live"
    started: float = field(default_factory=time.monotonic)
    stop: threading.Event = field(default_factory=threading.Event)


class RunSlots:
    """One live run per (session, kind); a newer run from the same session replaces the older one."""

    def __init__(self) -> None:
        self._runs: dict[tuple[str, str], Run] = {}
        self._cond = threading.Condition()

    def start(self, owner: str, kind: str, takeover_s: float = 10.0) -> Run:
        key = (owner, kind)
        run = Run(owner, kind)
        with self._cond:
            old = self._runs.get(key)
            if old is not None:
                old.stop.set()  # the old run ends at its next frame
                deadline = time.monotonic() + takeover_s
                while self._runs.get(key) is old and time.monotonic() < deadline:
                    self._cond.wait(0.1)
                if self._runs.get(key) is old:
                    raise ValueError("This session already has a live run that did not stop; press Stop, then start again.")
            self._runs[key] = run
        return run

    def finish(self, run: Run) -> None:
        with self._cond:
            if self._runs.get((run.owner, run.kind)) is run:
                del self._runs[(run.owner, run.kind)]
            self._cond.notify_all()

    def count(self, kind: str | None = None) -> int:
        with self._cond:
            return sum(1 for run in self._runs.values() if kind is None or run.kind == kind)


SHARE = FairShare(LIMITS.stream_compute_slots)  # every live run in the process takes its turns here
RUNS = RunSlots()
