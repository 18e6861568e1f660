"""Image-quality and detection metrics for the Autoencoder tab.

PSNR/SSIM are scikit-image's; the detection metrics (ROC, AUROC, precision,
recall, F1) are plain NumPy so they run on millions of pixels without copies,
and the tests check them against scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

SSIM_MIN_SIDE = 7  # skimage's default SSIM window; smaller images are refused


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of ``test`` against ``reference``; both (H, W, C) float in [0, 1]."""
    reference = np.asarray(reference, dtype=np.float64)
    test = np.asarray(test, dtype=np.float64)
    if np.array_equal(reference, test):
        return float("inf")
    return float(peak_signal_noise_ratio(reference, test, data_range=1.0))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean SSIM over channels; both (H, W, C) float in [0, 1], each side >= 7 pixels."""
    if min(reference.shape[:2]) < SSIM_MIN_SIDE:
        raise ValueError(f"SSIM needs images at least {SSIM_MIN_SIDE}x{SSIM_MIN_SIDE} pixels; upload a larger image.")
    # float32 keeps skimage in single precision: half the memory traffic, same value to ~1e-6.
    return float(
        structural_similarity(
            np.asarray(reference, dtype=np.float32), np.asarray(test, dtype=np.float32), data_range=1.0, channel_axis=-1
        )
    )


def ssim_many(reference: np.ndarray, tests: list[np.ndarray], win_size: int = 7) -> list[float]:
    """``ssim(reference, t)`` for each test image, sharing the reference's local statistics.

    Same formula and settings as ``skimage.metrics.structural_similarity(data_range=1.0,
    channel_axis=-1)`` (7x7 uniform window, sample covariance, K1=0.01, K2=0.03, reflect borders,
    border crop), so the values match it to ~1e-7 (tested); the reference's mean and variance
    filters run once instead of once per test image, and all channels are filtered together.
    """
    from scipy.ndimage import uniform_filter

    x = np.asarray(reference, dtype=np.float32)
    if min(x.shape[:2]) < SSIM_MIN_SIDE:
        raise ValueError(f"SSIM needs images at least {SSIM_MIN_SIDE}x{SSIM_MIN_SIDE} pixels; upload a larger image.")
    size = (win_size, win_size) + (1,) * (x.ndim - 2)

    def local_mean(a: np.ndarray) -> np.ndarray:
        return uniform_filter(a, size=size)

    ux = local_mean(x)
    vx = local_mean(x * x) - ux * ux
    norm = win_size * win_size / (win_size * win_size - 1)  # sample covariance
    c1, c2 = 0.01**2, 0.03**2
    pad = (win_size - 1) // 2
    values = []
    for test in tests:
        y = np.asarray(test, dtype=np.float32)
        uy = local_mean(y)
        vy = local_mean(y * y) - uy * uy
        vxy = local_mean(x * y) - ux * uy
        s = ((2 * ux * uy + c1) * (2 * norm * vxy + c2)) / ((ux * ux + uy * uy + c1) * (norm * (vx + vy) + c2))
        cropped = s[pad:-pad, pad:-pad]
        values.append(float(cropped.reshape(-1, *cropped.shape[2:]).mean(axis=0, dtype=np.float64).mean()))
    return values


def _check(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels differ in size: {scores.shape} vs {labels.shape}.")
    if labels.all() or not labels.any():
        raise ValueError("ROC needs both positive and negative labels.")
    return scores, labels


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC of ``scores`` (higher = more anomalous) against boolean ``labels``.

    Returns (fpr, tpr, thresholds), starting at (0, 0) with threshold +inf; tied
    scores form a single point, as in ``sklearn.metrics.roc_curve(drop_intermediate=False)``.
    """
    scores, labels = _check(scores, labels)
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    tps = np.cumsum(labels)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    tpr = np.r_[0.0, tps / labels.sum()]
    fpr = np.r_[0.0, fps / (~labels).sum()]
    return fpr, tpr, np.r_[np.inf, scores[last_of_tie]]


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (trapezoidal, so ties count half)."""
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(np.trapezoid(tpr, fpr))


@dataclass(frozen=True)
class ThresholdMetrics:
    threshold: float  # scores >= threshold are predicted anomalous
    precision: float  # TP / (TP + FP); 0 when nothing is predicted
    recall: float  # TP / (TP + FN)
    f1: float  # harmonic mean of precision and recall; 0 when both are 0
    predicted_positive: int  # how many items were flagged


def threshold_metrics(scores: np.ndarray, labels: np.ndarray, threshold: float) -> ThresholdMetrics:
    """Precision, recall and F1 when flagging ``scores >= threshold``."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    predicted = scores >= threshold
    tp = int(np.count_nonzero(predicted & labels))
    fp = int(np.count_nonzero(predicted & ~labels))
    fn = int(np.count_nonzero(~predicted & labels))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ThresholdMetrics(float(threshold), precision, recall, f1, int(predicted.sum()))
