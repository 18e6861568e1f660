"""Run tiny-model work on one CPU thread.

GAN Lab's MLPs, the live 8x8 GAN and transfer-learning heads do thousands of tiny matrix
products a second. With two OpenMP threads on a busy 2-core machine each product waits for
a hand-off between threads: measured here, 12-17 GAN Lab steps/s with 2 threads against
120-180 with 1, and 30 s instead of 0.8 s for 240 linear-head steps.
``torch.set_num_threads`` is process-wide, so concurrent users are counted and the original
value is restored only when the last one leaves (results never change; another request
merely runs single-threaded for those seconds).
"""

from __future__ import annotations

import contextlib
import threading

import torch

_guard = threading.Lock()
_users = 0
_saved = 1


@contextlib.contextmanager
def single_thread(enabled: bool = True):
    """Context manager (and decorator) that runs its body on one torch thread; no-op when not ``enabled``."""
    global _users, _saved
    if not enabled:
        yield
        return
    with _guard:
        if _users == 0:
            _saved = torch.get_num_threads()
        torch.set_num_threads(1)  # also in this thread: OpenMP's thread count is per calling thread
        _users += 1
    try:
        yield
    finally:
        with _guard:
            _users -= 1
            if _users == 0:
                torch.set_num_threads(_saved)
