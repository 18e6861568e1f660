"""Train one transfer strategy on one split, with live progress, early stopping and a stop flag.

Feature extraction runs the frozen backbone once over the whole dataset and caches the
features, so retraining the head (new learning rate, more epochs) takes seconds. The
other strategies run the backbone every step (with optional image augmentation).
Whatever ends training (all epochs, early stopping, the user's Stop, the time limit),
the model returned holds the weights of the epoch with the lowest validation loss.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from engine.core.augment import random_affine
from engine.core.seeding import JobRng, torch_generator
from engine.core.threads import single_thread
from engine.transfer.backbones import Backbone, new_classifier, prepare_inputs, slice_inputs
from engine.transfer.data import TransferDataset
from engine.transfer.metrics import Metrics, classification_metrics
from engine.transfer.model import TransferClassifier
from engine.transfer.splits import stratified_split
from engine.transfer.strategies import DEFAULT_LEARNING_RATES, apply_strategy, check_strategy, set_train_mode

EVAL_BATCH = 64

@dataclass(frozen=True)
class TrainConfig:
    strategy: str = "feature_extraction"  # see engine.transfer.strategies.STRATEGIES
    unfreeze_blocks: int = 2  # fine_tune_last_n: how many of the last backbone blocks train
    epochs: int = 15  # passes over the training split
    learning_rate: float | None = None  # None = the strategy's default (DEFAULT_LEARNING_RATES)
    batch_size: int = 16
    weight_decay: float = 1e-4  # AdamW decoupled weight decay
    dropout: float = 0.1  # on the pooled features, before the head
    augment: bool = True  # images only, strategies that run the backbone: flips + small affine
    patience: int = 4  # early stopping: epochs without a lower val loss; 0 = off
    val_fraction: float = 0.25  # stratified held-out share
    seed: int = 0  # split, init of the head / from-scratch model, shuffling, augmentation
    max_seconds: float | None = None  # stop (keeping the best model) after this much training time
    keep_best: bool = True  # restore the lowest-val-loss epoch; False = last epoch (val never steers training)
    validate_every: int = 1  # epochs between validation passes (the last epoch is always validated)


@dataclass(frozen=True)
class EpochLog:
    epoch: int  # 1-based
    train_loss: float
    train_accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float  # wall-clock since training started


@dataclass(frozen=True)
class TrainProgress:
    strategy: str
    epoch: int  # epochs finished
    epochs: int
    step: int  # optimiser steps done
    total_steps: int
    elapsed: float  # seconds of training so far
    eta: float  # seconds left at the current pace
    history: tuple[EpochLog, ...]
    message: str = ""


@dataclass(frozen=True)
class TrainResult:
    model: TransferClassifier  # best weights restored, eval mode
    backbone_key: str
    config: TrainConfig
    history: tuple[EpochLog, ...]
    best_epoch: int  # epoch whose weights were kept (0 = untrained)
    stop_reason: str  # "completed", "early stopping", "stopped by user" or "time limit"
    train_seconds: float  # training wall-clock, feature extraction excluded
    feature_seconds: float  # backbone feature extraction (0 when cached or unused)
    train_index: np.ndarray  # (Nt,) int64 dataset indices
    val_index: np.ndarray  # (Nv,) int64
    val_probabilities: np.ndarray  # (Nv, C) float32
    metrics: Metrics  # on the validation split
    train_accuracy: float  # best model on the (unaugmented) training split

    @property
    def strategy(self) -> str:
        return self.config.strategy

    @property
    def val_predictions(self) -> np.ndarray:
        return self.val_probabilities.argmax(axis=1)

    @property
    def gap(self) -> float:
        """Train minus validation accuracy: large = overfitting."""
        return self.train_accuracy - self.metrics.accuracy

    def summary(self) -> dict:
        return {
            "strategy": self.strategy,
            "backbone": self.backbone_key,
            "accuracy": round(self.metrics.accuracy, 4),
            "macro_f1": round(self.metrics.macro_f1, 4),
            "train_accuracy": round(self.train_accuracy, 4),
            "confusion": self.metrics.confusion.tolist(),
            "labels": list(self.model.config.labels),
            "train_seconds": round(self.train_seconds, 3),
            "feature_seconds": round(self.feature_seconds, 3),
            "epochs_run": len(self.history),
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
        }


@torch.no_grad()
def extract_features(model: TransferClassifier, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """Run the backbone in eval mode over all inputs: (N, feature_dim) float32."""
    model.eval()
    count = next(iter(inputs.values())).shape[0]
    return torch.cat([model.encode(**slice_inputs(inputs, slice(i, i + EVAL_BATCH))) for i in range(0, count, EVAL_BATCH)])


def _augment(batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
    pixels = batch["pixel_values"]
    flip = torch.rand(pixels.shape[0], generator=generator) < 0.5
    pixels = torch.where(flip[:, None, None, None], pixels.flip(-1), pixels)
    # Pad with the mean colour rather than black so rotated corners do not become a cue.
    fill = pixels.mean(dim=(2, 3), keepdim=True)
    moved = random_affine(pixels - fill, generator, max_degrees=10, max_shift=0.06) + fill
    return {"pixel_values": moved.clamp(0, 1)}


def train_transfer(
    dataset: TransferDataset,
    backbone: Backbone,
    config: TrainConfig = TrainConfig(),
    *,
    split: tuple[np.ndarray, np.ndarray] | None = None,
    inputs: dict[str, torch.Tensor] | None = None,
    feature_cache: dict | None = None,
    on_progress: Callable[[TrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train ``config.strategy`` and evaluate it on the validation split.

    Args:
        split: (train_index, val_index); default a stratified ``val_fraction`` split.
        inputs: preprocessed ``prepare_inputs(backbone, dataset.items)`` to reuse across runs.
        feature_cache: a dict the caller owns; frozen features are stored under
            ``(backbone.key, id(dataset.items))`` so the next head retrain skips extraction.
        on_progress: called after every epoch (and every ~0.5 s within one) with a :class:`TrainProgress`.
        should_stop: polled every step; returning True ends training, keeping the best model.
    """
    strategy = check_strategy(config.strategy)
    if dataset.modality != backbone.modality:
        raise ValueError(f"The data is {dataset.modality} but {backbone.name} is an {backbone.modality} backbone; pick a matching one.")
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError("Epochs and batch size must be at least 1.")
    train_index, val_index = split if split is not None else stratified_split(dataset.labels, config.val_fraction, config.seed)
    labels = torch.as_tensor(dataset.labels)
    # Initialisation and dropout draw from torch's global RNG: this job's own copy of it, so the same
    # seed gives the same model however many users train at once.
    global_rng = JobRng(config.seed)
    with global_rng.active():  # head / from-scratch init
        model = new_classifier(backbone, dataset.class_names, config.dropout, pretrained=strategy != "from_scratch")
    parameters = apply_strategy(model, strategy, config.unfreeze_blocks)
    lr = config.learning_rate or DEFAULT_LEARNING_RATES[strategy]
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=config.weight_decay)
    generator = torch_generator(config.seed)

    if inputs is None:
        inputs = prepare_inputs(backbone, dataset.items)
    feature_seconds = 0.0
    features = None
    if strategy == "feature_extraction":
        key = (backbone.key, id(dataset.items))
        if feature_cache is not None and key in feature_cache:
            features = feature_cache[key]
        else:
            started = time.perf_counter()
            features = extract_features(model, inputs)
            feature_seconds = time.perf_counter() - started
            if feature_cache is not None:
                feature_cache[key] = features

    def forward(index: np.ndarray, training: bool) -> torch.Tensor:
        if features is not None:
            return model.classify(features[index])
        batch = slice_inputs(inputs, torch.as_tensor(index))
        if training and config.augment and "pixel_values" in batch:
            batch = _augment(batch, generator)
        return model(**batch)

    @torch.no_grad()
    def evaluate(index: np.ndarray) -> tuple[float, float, torch.Tensor]:
        model.eval()
        logits = torch.cat([forward(index[i : i + EVAL_BATCH], False) for i in range(0, len(index), EVAL_BATCH)])
        target = labels[index]
        return float(F.cross_entropy(logits, target)), float((logits.argmax(-1) == target).float().mean()), logits

    trainable_names = {name for name, p in model.named_parameters() if p.requires_grad}
    trainable_names |= {name for name, _ in model.named_buffers()}

    def snapshot() -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in model.state_dict().items() if k in trainable_names}

    steps_per_epoch = int(np.ceil(len(train_index) / config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    history: list[EpochLog] = []
    best_loss, best_epoch, best_state = float("inf"), 0, snapshot()
    stop_reason, step, bad_epochs = "completed", 0, 0
    started = last_report = time.perf_counter()

    def report(epoch_done: int, message: str = "") -> None:
        if on_progress is None:
            return
        elapsed = time.perf_counter() - started
        eta = elapsed / max(step, 1) * (total_steps - step)
        on_progress(TrainProgress(strategy, epoch_done, config.epochs, step, total_steps, elapsed, eta, tuple(history), message))

    with single_thread(enabled=features is not None):
        for epoch in range(1, config.epochs + 1):
            set_train_mode(model, strategy, config.unfreeze_blocks)
            order = train_index[torch.randperm(len(train_index), generator=generator).numpy()]
            total_loss, correct = 0.0, 0
            for start in range(0, len(order), config.batch_size):
                if should_stop is not None and should_stop():
                    stop_reason = "stopped by user"
                    break
                if config.max_seconds is not None and time.perf_counter() - started > config.max_seconds:
                    stop_reason = "time limit"
                    break
                index = order[start : start + config.batch_size]
                with global_rng.active():  # dropout masks (forward) are drawn here; backward reuses them
                    logits = forward(index, True)
                loss = F.cross_entropy(logits, labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                total_loss += loss.item() * len(index)
                correct += int((logits.argmax(-1) == labels[index]).sum())
                if time.perf_counter() - last_report > 0.5:
                    last_report = time.perf_counter()
                    report(epoch - 1)
            if stop_reason != "completed":
                break
            if epoch % max(1, config.validate_every) and epoch != config.epochs:
                continue
            val_loss, val_accuracy, _ = evaluate(val_index)
            history.append(EpochLog(epoch, total_loss / len(order), correct / len(order), val_loss, val_accuracy,
                                    time.perf_counter() - started))
            if val_loss < best_loss - 1e-6:
                best_loss, best_epoch, best_state, bad_epochs = val_loss, epoch, snapshot(), 0
            else:
                bad_epochs += 1
            report(epoch)
            if config.patience and bad_epochs >= config.patience:
                stop_reason = "early stopping"
                break
    train_seconds = time.perf_counter() - started

    if config.keep_best:
        model.load_state_dict(best_state, strict=False)
    else:
        best_epoch = history[-1].epoch if history else 0
    model.requires_grad_(False)
    model.eval()
    _, _, val_logits = evaluate(val_index)
    _, train_accuracy, _ = evaluate(train_index)
    probabilities = torch.softmax(val_logits, -1).numpy().astype(np.float32)
    metrics = classification_metrics(dataset.labels[val_index], probabilities.argmax(1), len(dataset.class_names))
    if on_progress is not None:
        report(len(history), f"{strategy}: {stop_reason}")
    return TrainResult(
        model=model, backbone_key=backbone.key, config=config, history=tuple(history), best_epoch=best_epoch,
        stop_reason=stop_reason, train_seconds=train_seconds, feature_seconds=feature_seconds,
        train_index=np.asarray(train_index), val_index=np.asarray(val_index), val_probabilities=probabilities,
        metrics=metrics, train_accuracy=train_accuracy,
    )
