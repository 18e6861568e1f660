"""Linear classifiers on frozen features: the feature-extraction head trained to convergence, and
scikit-learn's logistic regression beside it as a classical check.

Both strategies read the run's cached backbone features (one extraction serves both), standardised
with the training split's mean and standard deviation (a feature constant on the training split
keeps scale 1, as scikit-learn's ``StandardScaler`` does). Both choose the L2 strength the same way,
on the training split only: ``C`` (scikit-learn's convention: minimise C x the summed cross-entropy +
half the squared weights; the bias is not penalised) from :data:`C_GRID`, by the lowest mean held-out
log-loss over inner stratified folds of the training pictures
(:func:`engine.transfer.splits.stratified_kfold`, the run's seed). The held-out split never steers them.

* ``feature_extraction``: the classifier's own linear head, fitted full batch by L-BFGS in float64
  (torch), ``LBFGS_ROUND`` iterations per logged "epoch", until it converges or the epochs run out.
  The mini-batch settings of the other strategies (learning rate, batch size, AdamW weight decay,
  dropout, early stopping) do not apply: the inner cross-validation picks the regularisation.
* ``logistic_regression``: ``sklearn.linear_model.LogisticRegressionCV`` (lbfgs) on the same
  standardised features, the same folds, grid and scoring. (With two classes scikit-learn fits one logit
  where the head has two, so the same C penalises it half as much and the two may pick neighbouring Cs.)

Either fit is folded into the classifier's head (weight / scale, bias - weight . mean / scale), so
the model predicts from raw features, exports and reloads like every other strategy.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from engine.transfer.splits import stratified_kfold

C_GRID = tuple(float(c) for c in np.logspace(-3, 2, 6))  # 0.001 ... 100
INNER_FOLDS = 3  # fewer when the smallest training class is smaller
LBFGS_ROUND = 20  # L-BFGS iterations per logged epoch of the feature-extraction head
CV_ITERATIONS = 300  # L-BFGS iterations per inner-fold fit
DEFAULT_C = 1.0  # when a class has a single training picture (no inner folds possible)


def standardiser(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, scale) over the rows of ``features`` (float64); a constant column keeps scale 1."""
    values = features.double()
    mean, scale = values.mean(0), values.std(0, unbiased=False)
    return mean, torch.where(scale > 1e-12, scale, torch.ones_like(scale))


def inner_folds(labels: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds of the training labels ([] when a class has fewer than 2 pictures)."""
    smallest = int(np.bincount(labels).min()) if len(labels) else 0
    k = min(INNER_FOLDS, smallest)
    return stratified_kfold(labels, k, seed) if k >= 2 else []


class SoftmaxFit:
    """Multinomial logistic regression in torch: full-batch L-BFGS (float64) on standardised features.

    Minimises mean cross-entropy + ||W||^2 / (2 C n), the same optimum as scikit-learn's
    C x summed cross-entropy + ||W||^2 / 2. :meth:`step` runs up to ``iterations`` more iterations
    (the optimiser's history carries over) and says whether it converged.
    """

    def __init__(self, features: torch.Tensor, labels: torch.Tensor, classes: int, c: float,
                 start: tuple[torch.Tensor, torch.Tensor] | None = None):
        self.features, self.labels, self.c = features, labels, float(c)
        weight, bias = start if start is not None else (torch.zeros(classes, features.shape[1], dtype=torch.float64),
                                                         torch.zeros(classes, dtype=torch.float64))
        self.weight = weight.detach().clone().requires_grad_(True)
        self.bias = bias.detach().clone().requires_grad_(True)
        self.optimizer = torch.optim.LBFGS([self.weight, self.bias], lr=1.0, max_iter=LBFGS_ROUND, history_size=20,
                                           tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def objective(self) -> torch.Tensor:
        logits = self.features @ self.weight.T + self.bias
        penalty = (self.weight ** 2).sum() / (2 * self.c * len(self.labels))
        return F.cross_entropy(logits, self.labels) + penalty

    def step(self, iterations: int = LBFGS_ROUND) -> bool:
        """Up to ``iterations`` L-BFGS iterations; True when it stopped before (converged)."""
        self.optimizer.param_groups[0]["max_iter"] = iterations
        self.optimizer.param_groups[0]["max_eval"] = iterations * 5 // 4
        before = self.optimizer.state[self.weight].get("n_iter", 0)

        def closure() -> torch.Tensor:
            self.optimizer.zero_grad()
            loss = self.objective()
            loss.backward()
            return loss

        self.optimizer.step(closure)
        return self.optimizer.state[self.weight].get("n_iter", 0) - before < iterations

    def solution(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.weight.detach().clone(), self.bias.detach().clone()


def choose_c(features: torch.Tensor, labels: np.ndarray, classes: int, seed: int) -> float:
    """The C of :data:`C_GRID` with the lowest mean inner-fold log-loss (torch fits; ties: the smaller C)."""
    folds = inner_folds(labels, seed)
    if not folds:
        return DEFAULT_C
    target = torch.as_tensor(labels)
    losses = np.zeros(len(C_GRID))
    for fit_index, test_index in folds:
        start = None
        for position, c in enumerate(C_GRID):  # weakest C first; each fit starts from the previous one
            fit = SoftmaxFit(features[fit_index], target[fit_index], classes, c, start)
            fit.step(CV_ITERATIONS)
            start = fit.solution()
            with torch.no_grad():
                logits = features[test_index] @ start[0].T + start[1]
                losses[position] += float(F.cross_entropy(logits, target[test_index])) / len(folds)
    return C_GRID[int(np.argmin(losses))]


def fold_into_head(head: torch.nn.Linear, weight: torch.Tensor, bias: torch.Tensor, mean: torch.Tensor,
                   scale: torch.Tensor) -> None:
    """Set ``head`` so head(x) = weight . ((x - mean) / scale) + bias for raw features x."""
    with torch.no_grad():
        raw_weight = weight.double() / scale
        head.weight.copy_(raw_weight.to(head.weight.dtype))
        head.bias.copy_((bias.double() - raw_weight @ mean).to(head.bias.dtype))


def sklearn_logistic_regression(features: np.ndarray, labels: np.ndarray, classes: int,
                                seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(weight (C, D), bias (C,), chosen C) of ``LogisticRegressionCV`` on standardised features."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    folds = inner_folds(labels, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # weak C on separable data: max_iter is the stop
        if folds:
            model = LogisticRegressionCV(Cs=list(C_GRID), cv=folds, scoring="neg_log_loss", l1_ratios=(0.0,),
                                         max_iter=5000, tol=1e-6, random_state=seed, use_legacy_attributes=False)
        else:
            model = LogisticRegression(C=DEFAULT_C, max_iter=5000, tol=1e-6, random_state=seed)
        model.fit(features, labels)
    weight, bias = model.coef_, model.intercept_
    if weight.shape[0] == 1 and classes == 2:  # binary: one logit z for class 1 -> logits (-z/2, z/2)
        weight, bias = np.vstack([-weight / 2, weight / 2]), np.concatenate([-bias / 2, bias / 2])
    return weight, bias, float(model.C_ if folds else DEFAULT_C)


def fit_linear(run, on_progress: Callable | None = None, should_stop: Callable[[], bool] | None = None):
    """Fit ``run``'s head as :mod:`this module <engine.transfer.linear>` describes; returns a ``FitOutcome``."""
    from engine.transfer.train import EpochLog, FitOutcome, TrainProgress

    config, strategy, head = run.config, run.config.strategy, run.model.head
    train_features = run.features[torch.as_tensor(run.train_index, device=run.features.device)].cpu()
    mean, scale = standardiser(train_features)
    standardised = (train_features.double() - mean) / scale
    labels = run.labels[torch.as_tensor(run.train_index)].numpy()
    classes = head.out_features
    started = time.perf_counter()
    history: list[EpochLog] = []

    def log(epoch: int) -> None:
        run.model.eval()
        train_loss, train_accuracy, _ = run.evaluate(run.train_index)
        val_loss, val_accuracy, _ = run.evaluate(run.val_index)
        history.append(EpochLog(epoch, train_loss, train_accuracy, val_loss, val_accuracy, time.perf_counter() - started))
        if on_progress is not None:
            elapsed = time.perf_counter() - started
            on_progress(TrainProgress(strategy, epoch, config.epochs, epoch, config.epochs, elapsed,
                                      elapsed / epoch * (config.epochs - epoch), tuple(history)))

    if strategy == "logistic_regression":
        weight, bias, c = sklearn_logistic_regression(standardised.numpy(), labels, classes, config.seed)
        fold_into_head(head, torch.from_numpy(weight), torch.from_numpy(bias), mean, scale)
        log(1)
        stop_reason = f"converged (C = {c:g})"
    else:
        c = choose_c(standardised, labels, classes, config.seed)
        fit = SoftmaxFit(standardised, torch.as_tensor(labels), classes, c)
        stop_reason = f"epochs done before convergence (C = {c:g})"
        for epoch in range(1, config.epochs + 1):
            if should_stop is not None and should_stop():
                stop_reason = "stopped by user"
                break
            if config.max_seconds is not None and time.perf_counter() - started > config.max_seconds:
                stop_reason = "time limit"
                break
            converged = fit.step()
            fold_into_head(head, *fit.solution(), mean, scale)
            log(epoch)
            if converged:
                stop_reason = f"converged (C = {c:g})"
                break
    best_epoch = history[-1].epoch if history else 0
    return FitOutcome(tuple(history), best_epoch, run.snapshot(), stop_reason, time.perf_counter() - started)
