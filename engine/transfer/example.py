"""The example run the "Train your own" view opens with: one small training, computed once per process.

Feature extraction (frozen all-MiniLM-L6-v2 + a linear head) on the built-in text topics: 140 sentences,
a few seconds on 2 CPU cores. Every visitor's session gets a copy of its results (:func:`adopt`), so the
view's charts and tables are filled on open, and the visitor's own Load data or Train replaces them. The
trained model itself is shared and only read (predict, export, attention); it is not counted in each
session's memory (``TransferSession.shared``).
"""

from __future__ import annotations

import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from engine.transfer.backbones import load_backbone
from engine.transfer.data import BUILTIN_DATASETS, TransferDataset, load_builtin
from engine.transfer.session import TransferSession, set_dataset
from engine.transfer.train import TrainConfig, TrainResult, train_transfer

DATASET = "text-topics"
CONFIG = TrainConfig(strategy="feature_extraction", epochs=15, seed=0)

_lock = threading.Lock()  # concurrent first visitors wait for one run instead of each training


@dataclass(frozen=True)
class ExampleRun:
    dataset_key: str  # a key of BUILTIN_DATASETS
    dataset: TransferDataset
    backbone_key: str  # "" = the modality's embedded default
    result: TrainResult
    features: dict  # the frozen features, so a head retrain on the same data skips extraction

    @property
    def description(self) -> str:
        return BUILTIN_DATASETS[self.dataset_key].split(":")[0]


@functools.lru_cache(maxsize=1)
def _train() -> ExampleRun:
    dataset = load_builtin(DATASET)
    backbone = load_backbone("", dataset.modality)
    features: dict = {}
    result = train_transfer(dataset, backbone, CONFIG, feature_cache=features)
    return ExampleRun(DATASET, dataset, "", result, features)


def example_run() -> ExampleRun:
    """The example run, trained on the first call and reused for the rest of the process."""
    with _lock:
        return _train()


def adopt(session: TransferSession, run: ExampleRun | None = None) -> bool:
    """Give a session with no data of its own a copy of the example run; True if it got one.

    A session that has loaded data or trained (or is training now) keeps what it has.
    """
    if session.dataset is not None or session.results:
        return False
    run = run or example_run()
    if not session.lock.acquire(blocking=False):
        return False
    try:
        if session.dataset is not None or session.results:
            return False
        set_dataset(session, run.dataset, run.backbone_key)
        session.feature_cache.update(run.features)
        session.results[run.result.strategy] = run.result
        session.shared = (run.result,)
        return True
    finally:
        session.lock.release()


def preview(run: ExampleRun | None = None) -> TransferSession:
    """A session no visitor owns, holding only the example run: to draw it where there is no session."""
    session = TransferSession(work_dir=Path(os.devnull))  # never written: nothing is trained or exported in it
    adopt(session, run)
    return session


def is_example(session: TransferSession) -> bool:
    """True while every result the session shows is the shared example run's."""
    return bool(session.results) and all(any(r is s for s in session.shared) for r in session.results.values())
