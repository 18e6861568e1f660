"""Two small containers: a bounded, thread-safe LRU mapping (the gradio patches' and the openings' memos) and a dict
built on first read (``demos.common.gradio_patches``); no gradio here."""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Hashable


class BoundedMemo:
    """A thread-safe mapping that keeps its ``size`` most recently used entries, and at most ``max_weight`` of
    their ``weigh(value)`` in all (entries heavier than that on their own are not kept)."""

    def __init__(self, size: int, max_weight: float = float("inf"), weigh: Callable[[Any], float] = lambda _: 0):
        self.size, self.max_weight, self.weigh = size, max_weight, weigh
        self.lock, self.entries, self.weight = threading.Lock(), collections.OrderedDict(), 0

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The value kept for ``key`` (now the most recently used), else ``default``."""
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return default
            self.entries.move_to_end(key)
            return entry[0]

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.weight = 0

    def put(self, key: Hashable, value: Any) -> None:
        weight = self.weigh(value)
        if weight > self.max_weight:
            return
        with self.lock:
            old = self.entries.pop(key, None)
            self.weight += weight - (old[1] if old is not None else 0)
            self.entries[key] = (value, weight)
            while len(self.entries) > self.size or self.weight > self.max_weight:
                _, (_, gone) = self.entries.popitem(last=False)
                self.weight -= gone


class LazyDict(dict):
    """A dict whose values for ``sources``' keys are ``build(key, source)``, built when first read.

    Reading, ``get``, deleting and iterating (``keys``, ``values``, ``items``) build what they need first; writing
    a key replaces its source; ``in`` and ``len`` count the keys not built yet.
    """

    def __init__(self, build: Callable[[Any, Any], Any], sources: dict):
        super().__init__()
        self._build_one, self._sources = build, dict(sources)

    def _build(self, key) -> None:
        if key in self._sources:
            dict.__setitem__(self, key, self._build_one(key, self._sources.pop(key)))

    def _build_all(self) -> None:
        for key in list(self._sources):
            self._build(key)

    def __getitem__(self, key):
        self._build(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        self._build(key)
        return dict.get(self, key, default)

    def __setitem__(self, key, value) -> None:
        self._sources.pop(key, None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key) -> None:
        self._build(key)
        dict.__delitem__(self, key)

    def __contains__(self, key) -> bool:
        return key in self._sources or dict.__contains__(self, key)

    def __len__(self) -> int:
        return len(self._sources) + dict.__len__(self)

    def __iter__(self):
        self._build_all()
        return dict.__iter__(self)

    def keys(self):
        self._build_all()
        return dict.keys(self)

    def values(self):
        self._build_all()
        return dict.values(self)

    def items(self):
        self._build_all()
        return dict.items(self)
