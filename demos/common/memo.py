"""Results kept per process for the same inputs: what every visitor's opening of a view asks for.

Each new visitor of a view runs its opening handlers with the same default inputs; on two shared CPU cores, four
visitors at once used to draw the same sheets four times. :func:`memoised` keeps a handler's last few results by
its exact arguments (bounded, least recently used first out), and concurrent callers with the same arguments wait
for one computation instead of each running it. Use it only on handlers whose result is a function of their
arguments alone (seeded, no clock, no per-session state), never on generators.

A result is handed out many times, so its containers are fresh for each caller (gradio pops keys from ``gr.update``
dicts while sending them); what they hold (PIL images, arrays, strings) is shared and must only be read: gradio
encodes images without changing them, and code that draws on a result copies it first.
"""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Callable

import gradio as gr

from demos.common.lazy import BoundedMemo

MAX_TEXT = 256  # longer strings (a pasted essay, a 10 MB seed) are computed without being kept
IGNORED = ("progress", "request")  # per-call plumbing, never part of what is computed
_SCALARS = (bool, int, float, str, type(None))

_MISSING = object()  # no result kept (None is a result)
MEMOS: list["Memo"] = []  # every memo made, so tests and benchmarks can empty them


def _key_part(value):
    """A hashable stand-in for ``value`` that tells apart 0, 0.0, False and "0" (each is validated differently),
    or raise TypeError for anything else (files, images, long text: those calls are not kept)."""
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise TypeError("text too long to keep")
    if isinstance(value, _SCALARS):
        return type(value).__name__, value
    if isinstance(value, (list, tuple)):
        return type(value).__name__, tuple(_key_part(item) for item in value)
    raise TypeError(f"{type(value).__name__} is not kept")


def _fresh(value):
    """``value`` with new dicts, lists and tuples around the same leaves."""
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_fresh(item) for item in value)
    return value


class Memo:
    """At most ``capacity`` results of one function, by key; one computation per key at a time."""

    def __init__(self, name: str, capacity: int):
        if capacity < 1:
            raise ValueError("A memo keeps at least one result.")
        self.name, self.capacity = name, capacity
        self._results = BoundedMemo(capacity)  # key -> result, least recently used out first
        self._computing: dict = {}  # key -> (lock, waiters), while a first caller computes it
        self._guard = threading.Lock()  # guards the check-then-wait on both; never held while computing
        MEMOS.append(self)

    def __len__(self) -> int:
        return len(self._results)

    def clear(self) -> None:
        self._results.clear()

    def get(self, key, compute: Callable):
        with self._guard:
            value = self._results.get(key, _MISSING)
            if value is not _MISSING:
                return value
            lock, waiters = self._computing.setdefault(key, (threading.Lock(), [0]))
            waiters[0] += 1
        try:
            with lock:
                value = self._results.get(key, _MISSING)  # computed while this caller waited
                if value is not _MISSING:
                    return value
                value = compute()  # an error is raised to this caller and kept by no one
                with self._guard:
                    self._results.put(key, value)
                return value
        finally:
            with self._guard:
                waiters[0] -= 1
                if not waiters[0]:
                    self._computing.pop(key, None)


def memoised(capacity: int = 8):
    """Decorator: keep ``fn``'s results for its last ``capacity`` distinct argument lists (see the module's notes).
    Arguments named ``progress`` or ``request`` are left out of the key; calls with other arguments that are not
    plain numbers, short strings or lists of them run ``fn`` without keeping its result."""

    def wrap(fn: Callable) -> Callable:
        if inspect.isgeneratorfunction(fn):
            raise TypeError(f"{fn.__name__} streams its results; memoised keeps only whole results")
        signature = inspect.signature(fn)
        memo = Memo(fn.__qualname__, capacity)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            try:
                key = tuple((name, _key_part(value)) for name, value in bound.arguments.items()
                            if name not in IGNORED and not isinstance(value, gr.Progress))
            except TypeError:
                return fn(*args, **kwargs)
            return _fresh(memo.get(key, lambda: fn(*args, **kwargs)))

        run.memo = memo
        return run

    return wrap
