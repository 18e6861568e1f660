"""Gradio's cache folder under a size cap: this app's files go oldest first, never one handed out recently.

Gradio's own ``delete_cache`` only ages files out, so a class that makes hundreds of outputs in ten minutes
filled the folder (69 MB to 292 MB in issue 24). :func:`sweep_app_cache` adds a size cap
(``LIMITS.gradio_cache_bytes``) over the files this process put there: gradio's tracked outputs and uploads
and NeuroDeck's own ``neurodeck_*`` folders. Files pinned by gradio (component defaults, examples:
``keep_in_cache``) are counted but never removed. A file's age is its ctime, as for ``delete_cache``:
gradio and NeuroDeck touch a cached file each time they hand it out again, so a file younger than
``LIMITS.gradio_cache_min_age_s`` may still be waiting for its download and is kept.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from engine.core.settings import LIMITS

OWN_FOLDERS = "neurodeck_*"  # folders NeuroDeck writes into gradio's cache itself (GAN galleries, faces)


def reuse(path: str | Path) -> bool:
    """Whether ``path`` exists; if so it is touched, so the sweeps age it from this new hand-out, not its first."""
    try:
        os.utime(path)
        return True
    except OSError:
        return False


def cache_folder() -> Path:
    """Gradio's cache and upload folder: $GRADIO_TEMP_DIR, else <tmp>/gradio (gradio.utils.get_upload_folder)."""
    from gradio import utils

    return Path(utils.get_upload_folder())


@dataclass(frozen=True)
class Sweep:
    files: int  # files considered
    bytes_before: int
    bytes_after: int
    removed: tuple[str, ...]


def _age_stamp(stat: os.stat_result) -> float:
    return max(stat.st_ctime, stat.st_mtime)  # last written or touched


def sweep(files: Iterable[str | Path], cap_bytes: int, min_age_s: float, keep: Iterable[str] = (),
          now: float | None = None) -> Sweep:
    """Delete the oldest of ``files`` until they total at most ``cap_bytes``.

    Files in ``keep`` and files touched less than ``min_age_s`` ago are never deleted (they still count), so
    the total can stay above the cap. Each file is stat'ed again just before it is removed, so one handed out
    while the sweep ran survives. Emptied folders are removed too.
    """
    now = time.time() if now is None else now
    kept = {os.path.abspath(str(path)) for path in keep}
    entries = []
    for path in {os.path.abspath(str(path)) for path in files}:
        try:
            stat = os.stat(path)
        except OSError:
            continue
        entries.append((_age_stamp(stat), stat.st_size, path))
    before = total = sum(size for _, size, _ in entries)
    removed = []
    for stamp, size, path in sorted(entries):
        if total <= cap_bytes:
            break
        if now - stamp < min_age_s:
            break  # sorted oldest first: every later file is fresher
        if path in kept:
            continue
        try:
            if now - _age_stamp(os.stat(path)) < min_age_s:
                continue  # handed out again a moment ago
            os.remove(path)
        except OSError:
            continue
        total -= size
        removed.append(path)
        try:
            os.rmdir(os.path.dirname(path))  # gradio's one-file hash folders; fails harmlessly if not empty
        except OSError:
            pass
    return Sweep(files=len(entries), bytes_before=before, bytes_after=total, removed=tuple(removed))


def app_files(demo) -> tuple[set[str], set[str]]:
    """(files this app has in gradio's cache folder, the pinned ones among them)."""
    tracked: set[str] = set()
    for temp_set in list(getattr(demo, "temp_file_sets", ())):
        tracked.update(set(temp_set))  # set(...) copies in C: safe while request threads add to it
    tracked.update(set(getattr(demo, "upload_file_set", ())))
    pinned: set[str] = set()
    for block in list(getattr(demo, "blocks", {}).values()):
        pinned.update(set(getattr(block, "keep_in_cache", ())))
    folder = cache_folder()
    for own in folder.glob(OWN_FOLDERS):
        for root, _, names in os.walk(own):
            tracked.update(os.path.join(root, name) for name in names if not name.startswith("."))  # not staging
    return tracked | pinned, pinned


def sweep_app_cache(demo, cap_bytes: int | None = None, min_age_s: float | None = None) -> Sweep:
    """Hold this app's files in gradio's cache folder to ``LIMITS.gradio_cache_bytes`` (oldest first)."""
    files, pinned = app_files(demo)
    # gradio's sets keep the names of removed files (its own sweep skips missing ones): they are not changed here,
    # because gradio iterates them in other threads without a lock.
    return sweep(files, LIMITS.gradio_cache_bytes if cap_bytes is None else cap_bytes,
                 LIMITS.gradio_cache_min_age_s if min_age_s is None else min_age_s, keep=pinned)


def folder_bytes(folder: Path) -> int:
    """Total size of the files under ``folder`` (0 if it does not exist)."""
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
