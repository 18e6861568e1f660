"""Classification metrics for transfer learning (numpy only; checked against scikit-learn in tests)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metrics:
    accuracy: float  # fraction correct in [0, 1]
    macro_f1: float  # unweighted mean of per-class F1 in [0, 1]
    precision: np.ndarray  # (C,) float64; 0 where a class was never predicted
    recall: np.ndarray  # (C,) float64; 0 where a class has no examples
    f1: np.ndarray  # (C,) float64
    support: np.ndarray  # (C,) int64 true examples per class
    confusion: np.ndarray  # (C, C) int64; rows = true class, columns = predicted class

    def to_dict(self, labels: tuple[str, ...]) -> dict:
        return {
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_class": {
                label: {"precision": round(float(p), 4), "recall": round(float(r), 4), "support": int(s)}
                for label, p, r, s in zip(labels, self.precision, self.recall, self.support)
            },
            "confusion": self.confusion.tolist(),
            "labels": list(labels),
        }


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> Metrics:
    """Accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.

    Zero-division conventions match scikit-learn's ``zero_division=0``.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError("y_true and y_pred must be non-empty 1-D arrays of the same length.")
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (y_true, y_pred), 1)
    true_positive = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0).astype(np.float64)
    support = confusion.sum(axis=1)
    precision = np.divide(true_positive, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(true_positive, support, out=np.zeros(num_classes), where=support > 0)
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros(num_classes), where=denominator > 0)
    return Metrics(
        accuracy=float(true_positive.sum() / len(y_true)),
        macro_f1=float(f1.mean()),
        precision=precision,
        recall=recall,
        f1=f1,
        support=support.astype(np.int64),
        confusion=confusion,
    )
