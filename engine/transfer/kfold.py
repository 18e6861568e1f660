"""k-fold cross-validation of one strategy: mean ± std of accuracy and macro-F1 over folds."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from engine.transfer.backbones import Backbone, prepare_inputs
from engine.transfer.data import TransferDataset
from engine.transfer.splits import stratified_kfold
from engine.transfer.train import TrainConfig, TrainProgress, train_transfer


@dataclass(frozen=True)
class KFoldResult:
    strategy: str
    accuracies: tuple[float, ...]  # one per fold, in [0, 1]
    macro_f1s: tuple[float, ...]
    seconds: float  # total wall-clock, all folds

    @property
    def accuracy_mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def accuracy_std(self) -> float:
        return float(np.std(self.accuracies))

    @property
    def macro_f1_mean(self) -> float:
        return float(np.mean(self.macro_f1s))

    @property
    def macro_f1_std(self) -> float:
        return float(np.std(self.macro_f1s))

    def describe(self) -> str:
        return (f"{len(self.accuracies)}-fold {self.strategy}: accuracy {self.accuracy_mean:.1%} ± {self.accuracy_std:.1%}, "
                f"macro-F1 {self.macro_f1_mean:.3f} ± {self.macro_f1_std:.3f}")


def cross_validate(
    dataset: TransferDataset,
    backbone: Backbone,
    config: TrainConfig,
    k: int = 5,
    *,
    feature_cache: dict | None = None,
    on_progress: Callable[[int, int, TrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> KFoldResult:
    """Train ``config.strategy`` once per stratified fold. ``on_progress(fold, k, progress)``."""
    import time

    folds = stratified_kfold(dataset.labels, k, config.seed)
    inputs = prepare_inputs(backbone, dataset.items)
    cache = {} if feature_cache is None else feature_cache
    accuracies, f1s = [], []
    started = time.perf_counter()
    for number, split in enumerate(folds, start=1):
        if should_stop is not None and should_stop():
            break
        callback = None if on_progress is None else (lambda p, n=number: on_progress(n, k, p))
        result = train_transfer(dataset, backbone, replace(config), split=split, inputs=inputs,
                                feature_cache=cache, on_progress=callback, should_stop=should_stop)
        accuracies.append(result.metrics.accuracy)
        f1s.append(result.metrics.macro_f1)
    if not accuracies:
        raise ValueError("Cross-validation was stopped before the first fold finished.")
    return KFoldResult(config.strategy, tuple(accuracies), tuple(f1s), time.perf_counter() - started)
