"""Display files NeuroDeck writes for gradio to serve: gradio copies each into its cache, so ours are swept."""

from __future__ import annotations

import threading
import time
from pathlib import Path

SWEEP_EVERY_S = 60  # a sweep globs and stats every file, which adds up once a busy server has written thousands
SWEEPERS: list["OldFileSweeper"] = []  # every sweeper made; the janitor (demos/common/memory.py) runs them when idle


class OldFileSweeper:
    """Deletes ``folder/pattern`` files older than ``max_age_s``, at most once every SWEEP_EVERY_S seconds."""

    def __init__(self, folder: Path, pattern: str, max_age_s: float):
        self.folder, self.pattern, self.max_age_s = folder, pattern, max_age_s
        self._last = 0.0
        self._lock = threading.Lock()
        SWEEPERS.append(self)

    def sweep(self) -> None:
        now = time.time()
        with self._lock:
            if now - self._last < SWEEP_EVERY_S:
                return
            self._last = now
        for old in self.folder.glob(self.pattern):
            try:
                if old.stat().st_mtime < now - self.max_age_s:
                    old.unlink()
            except OSError:
                pass  # another worker removed it first
