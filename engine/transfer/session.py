"""Per-session state for the Transfer-learning tab: each browser/API session's data and models.

A session is keyed by gradio's ``session_hash``. It owns a private temporary folder (exports
go there and nowhere else), its dataset, its feature cache, its trained models and a stop
flag. :func:`drop_session` frees everything; the demo calls it from ``demo.unload``.

Sessions are bounded by memory, not only by count: :func:`session_bytes` measures what a session holds
(its models' weights, cached features, data), and when all of them together pass
``LIMITS.transfer_session_bytes`` (or their number passes ``LIMITS.transfer_sessions``) the session idle
longest is freed first; one that is training is never freed. Sessions unused for ``LIMITS.session_idle_s``
are freed too (API clients never fire ``unload``), and a freed session's user is told it expired.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

from engine.core.settings import LIMITS
from engine.transfer.backbones import Backbone, load_backbone, prepare_inputs
from engine.transfer.checks import check_strategy_name
from engine.transfer.data import TransferDataset
from engine.transfer.kfold import KFoldResult, cross_validate
from engine.transfer.strategies import check_strategy
from engine.transfer.train import TrainConfig, TrainProgress, TrainResult, train_transfer

MAX_SESSIONS = LIMITS.transfer_sessions  # count cap; the memory budget usually binds first (see session_bytes)
MAX_TRAIN_SECONDS = 240.0  # per strategy; the UI event also has a time_limit


@dataclass
class TransferSession:
    work_dir: Path  # private temporary folder (exports)
    dataset: TransferDataset | None = None
    backbone_key: str = ""
    results: dict[str, TrainResult] = field(default_factory=dict)  # strategy -> latest run
    kfold: KFoldResult | None = None
    feature_cache: dict = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one training job per session at a time
    last_used: float = field(default_factory=time.monotonic)  # for idle-first eviction
    expired: bool = False  # an earlier session with this id was freed: say so instead of "train first"
    exports: dict = field(default_factory=dict)  # strategy -> (result, zip path): each model is exported once
    shared: tuple = ()  # results shared by every session (the example run): read only, not counted in its memory

    def backbone(self) -> Backbone:
        if self.dataset is None:
            raise ValueError("Load a dataset first (built-in, a .zip/.csv upload, or your own classes).")
        return load_backbone(self.backbone_key, self.dataset.modality)

    def result(self, strategy: str | None = None) -> TrainResult:
        """The model of ``strategy`` (empty: the best); a strategy that is not a name is refused first."""
        strategy = check_strategy_name(strategy)
        if not self.results:
            if self.expired:
                raise ValueError(
                    "Your session expired: the server frees the models of sessions that were idle longest when "
                    f"memory runs short (or after {LIMITS.session_idle_s // 60} minutes unused). Train again to get a "
                    "model back."
                )
            raise ValueError("No model has been trained in this session yet: press Train first.")
        if strategy:
            if strategy not in self.results:
                raise ValueError(f"The strategy {strategy!r} has not been trained in this session; trained: "
                                 f"{', '.join(self.results)} (or leave it empty for the best).")
            return self.results[strategy]
        return max(self.results.values(), key=lambda r: (r.metrics.accuracy, -r.train_seconds))


_sessions: OrderedDict[str, TransferSession] = OrderedDict()
_guard = threading.Lock()
_expired: OrderedDict[str, None] = OrderedDict()  # ids of sessions freed by eviction or idleness (bounded)
_EXPIRED_REMEMBERED = 10_000


def session_bytes(session: TransferSession) -> int:
    """Memory a session holds: its trained models' weights and buffers, cached features and its data.

    Measured, not estimated: a MiniLM model is ~91 MB (22.7 M float32 parameters), an EfficientNet-Lite0
    one ~19 MB; the text-topics data and features are well under 1 MB (see docs/load.md).
    """
    import numpy as np
    import torch

    def tensors_bytes(value) -> int:
        if isinstance(value, torch.Tensor):
            return value.element_size() * value.nelement()
        if isinstance(value, np.ndarray):
            return int(value.nbytes)
        if isinstance(value, dict):
            return sum(tensors_bytes(v) for v in value.values())
        if isinstance(value, (list, tuple)):
            return sum(tensors_bytes(v) for v in value)
        return 0

    total = 0
    for result in list(session.results.values()):
        if any(result is shared for shared in session.shared):
            continue
        model = result.model
        total += sum(t.element_size() * t.nelement() for t in (*model.parameters(), *model.buffers()))
    total += tensors_bytes(dict(session.feature_cache))
    if session.dataset is not None:
        total += tensors_bytes(list(session.dataset.items)) if session.dataset.modality == "image" else sum(
            len(str(item)) for item in session.dataset.items)
    return total


def _forget(key: str, session: TransferSession) -> None:
    """Free an evicted or idle session (caller holds _guard) and remember that its id expired."""
    _sessions.pop(key, None)
    _expired[key] = None
    while len(_expired) > _EXPIRED_REMEMBERED:
        _expired.popitem(last=False)
    session.stop.set()
    _free(session)


def _idle(session: TransferSession) -> bool:
    return not session.lock.locked()


def _sweep_idle(now: float) -> None:
    """Free sessions unused for LIMITS.session_idle_s (caller holds _guard)."""
    for key, session in list(_sessions.items()):
        if now - session.last_used > LIMITS.session_idle_s and _idle(session):
            _forget(key, session)


def enforce_budget(keep: str | None = None) -> list[str]:
    """Free the sessions idle longest until the count and memory caps hold; returns the freed ids.

    ``keep`` (the session being served) and sessions that are training are never freed.
    """
    freed = []
    with _guard:
        _sweep_idle(time.monotonic())
        sizes = {key: session_bytes(session) for key, session in _sessions.items()}
        total = sum(sizes.values())
        for key, session in sorted(_sessions.items(), key=lambda item: item[1].last_used):
            if len(_sessions) <= MAX_SESSIONS and total <= LIMITS.transfer_session_bytes:
                break
            if key == keep or not _idle(session):
                continue
            total -= sizes[key]
            _forget(key, session)
            freed.append(key)
    return freed


def find_session(session_id: str) -> TransferSession | None:
    """The existing session for ``session_id``, or None (never creates one)."""
    with _guard:
        return _sessions.get(session_id)


def use_session(session_id: str) -> TransferSession | None:
    """The existing session for ``session_id``, marked as just used (a model handle's call), or None."""
    with _guard:
        now = time.monotonic()
        _sweep_idle(now)
        session = _sessions.get(session_id)
        if session is not None:
            _sessions.move_to_end(session_id)
            session.last_used = now
        return session


def get_session(session_id: str | None) -> TransferSession:
    """The session for ``session_id`` (created on first use). There is no shared fallback key."""
    if not session_id:
        raise ValueError("This request has no session; reload the page and try again.")
    key = session_id
    with _guard:
        now = time.monotonic()
        _sweep_idle(now)
        if key in _sessions:
            _sessions.move_to_end(key)
            _sessions[key].last_used = now
            return _sessions[key]
        session = TransferSession(work_dir=Path(tempfile.mkdtemp(prefix="neurodeck-transfer-")), expired=key in _expired)
        _sessions[key] = session
    enforce_budget(keep=key)
    return session


def drop_session(session_id: str | None) -> None:
    """Forget a session and delete its temporary folder."""
    with _guard:
        session = _sessions.pop(session_id, None) if session_id else None
    if session is not None:
        session.stop.set()
        _free(session)


def session_count() -> int:
    return len(_sessions)


def _free(session: TransferSession) -> None:
    shutil.rmtree(session.work_dir, ignore_errors=True)
    session.results.clear()
    session.feature_cache.clear()
    session.exports.clear()
    session.shared = ()


def export_once(session: TransferSession, result: TrainResult, make) -> Path:
    """The zip of ``result``, written by ``make()`` the first time only (each export was ~79 MB for MiniLM)."""
    cached = session.exports.get(result.strategy)
    if cached is not None and cached[0] is result and Path(cached[1]).is_file():
        return Path(cached[1])
    path = Path(make())
    session.exports[result.strategy] = (result, path)
    return path


def set_dataset(session: TransferSession, dataset: TransferDataset, backbone_key: str = "") -> None:
    """Replace the session's data; previous models and cached features are dropped."""
    session.dataset = dataset
    session.backbone_key = backbone_key
    session.results.clear()
    session.feature_cache.clear()
    session.exports.clear()
    session.shared = ()
    session.kfold = None


@dataclass(frozen=True)
class JobUpdate:
    progress: TrainProgress | None  # latest training progress (None before the first step)
    strategy_index: int  # 0-based position of the running strategy
    strategy_count: int
    done: bool = False
    error: Exception | None = None
    note: str = ""


def run_training(
    session: TransferSession, strategies: list[str], config: TrainConfig, backbone_key: str = "", kfold: int = 0,
    poll_seconds: float = 0.5, total_seconds: float | None = None,
) -> Iterator[JobUpdate]:
    """Train each strategy on the same split in a worker thread, yielding progress as it streams.

    The session's results are updated as each strategy finishes, so pressing Stop (or the
    generator being closed by a time limit or a disconnect) keeps every finished model and
    the best epoch of the running one. ``total_seconds`` caps the whole job: each strategy gets
    at most what is left, so the job ends cleanly (with results) before an outer time limit.
    """
    if not strategies:
        raise ValueError("Tick at least one strategy to train.")
    for strategy in strategies:
        check_strategy(strategy)
    if session.dataset is None:
        raise ValueError("Load a dataset first (built-in, a .zip/.csv upload, or your own classes).")
    if not session.lock.acquire(blocking=False):
        raise ValueError("A training job is already running in this session; wait for it or press Stop.")
    dataset = session.dataset
    try:
        if backbone_key != session.backbone_key:
            session.feature_cache.clear()
            session.backbone_key = backbone_key
        backbone = session.backbone()
        session.stop.clear()
        updates: queue.Queue = queue.Queue()
        config = replace(config, max_seconds=min(config.max_seconds or MAX_TRAIN_SECONDS, MAX_TRAIN_SECONDS))

        deadline = time.perf_counter() + (total_seconds or float("inf"))

        def work() -> None:
            try:
                inputs = prepare_inputs(backbone, dataset.items)
                for position, strategy in enumerate(strategies):
                    left = deadline - time.perf_counter()
                    if session.stop.is_set() or left <= 1.0:
                        break
                    result = train_transfer(
                        dataset, backbone, replace(config, strategy=strategy,
                                                   max_seconds=min(config.max_seconds, left)), inputs=inputs,
                        feature_cache=session.feature_cache, should_stop=session.stop.is_set,
                        on_progress=lambda p, i=position: updates.put(JobUpdate(p, i, len(strategies))),
                    )
                    if session.dataset is dataset:
                        session.results[strategy] = result
                if kfold and not session.stop.is_set() and deadline - time.perf_counter() > 5.0:
                    updates.put(JobUpdate(None, len(strategies) - 1, len(strategies), note=f"Running {kfold}-fold cross-validation"))
                    session.kfold = cross_validate(
                        dataset, backbone, replace(config, strategy=strategies[0]), kfold,
                        feature_cache=session.feature_cache, should_stop=session.stop.is_set,
                        on_progress=lambda fold, k, p: updates.put(JobUpdate(p, 0, 1, note=f"fold {fold}/{k}")),
                    )
                session.last_used = time.monotonic()
                enforce_budget()  # the new models count now (this session is still training, so it stays)
                updates.put(JobUpdate(None, len(strategies), len(strategies), done=True))
            except Exception as error:  # noqa: BLE001  (re-raised in the caller's thread)
                updates.put(JobUpdate(None, 0, len(strategies), done=True, error=error))

        worker = threading.Thread(target=work, name="transfer-train", daemon=True)
        worker.start()
        try:
            while True:
                try:
                    update = updates.get(timeout=poll_seconds)
                except queue.Empty:
                    continue
                while not updates.empty() and not update.done:
                    following = updates.get_nowait()
                    update = following
                if update.error is not None:
                    raise update.error
                yield update
                if update.done:
                    break
        finally:
            # Closed early (time limit, disconnect): stop the worker, keep the best models so far.
            session.stop.set()
            worker.join(timeout=60)
    finally:
        session.lock.release()


def wait_for_training(session: TransferSession, strategies: list[str], config: TrainConfig, backbone_key: str = "",
                      kfold: int = 0, total_seconds: float | None = None) -> dict[str, TrainResult]:
    """Blocking form of :func:`run_training` (used by the API endpoint)."""
    for _ in run_training(session, strategies, config, backbone_key, kfold, total_seconds=total_seconds):
        pass
    return {s: session.results[s] for s in strategies if s in session.results}


def train_for_api(session: TransferSession, dataset: TransferDataset, config: TrainConfig, backbone_key: str = "",
                  kfold: int = 0, total_seconds: float | None = None) -> dict:
    """Train one strategy on ``dataset`` and return the ``/transfer_train`` JSON payload.

    The session's data is replaced only once the job can start: a call rejected because this
    session is already training keeps its data and models.
    """
    if session.lock.locked():
        raise ValueError("A training job is already running in this session; wait for it or call /transfer_stop.")
    set_dataset(session, dataset)
    results = wait_for_training(session, [config.strategy], config, backbone_key, kfold, total_seconds=total_seconds)
    if config.strategy not in results:
        raise ValueError("Training was stopped before the model finished an epoch.")
    summary = results[config.strategy].summary()
    if session.kfold is not None:
        summary["kfold"] = {"accuracies": list(session.kfold.accuracies), "mean": session.kfold.accuracy_mean,
                            "std": session.kfold.accuracy_std}
    summary["data_report"] = {"counts": dataset.report.counts, "skipped": [list(s) for s in dataset.report.skipped],
                              "warnings": list(dataset.report.warnings)}
    return summary
