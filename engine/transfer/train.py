"""Train one transfer strategy on one split, with live progress, early stopping and a stop flag.

Feature extraction (and logistic regression) run the frozen backbone once over the whole dataset
and cache the features; :func:`train_transfer` then fits the linear head on them full batch, to
convergence (:mod:`engine.transfer.linear`), in seconds. The other strategies run the backbone every
step (with optional image augmentation). Whatever ends their training (all epochs, early stopping, the
user's Stop, the time limit), the model returned holds the weights of the epoch with the lowest
validation loss among those from the first that fit the training data (``keep_best``, ``FIT_THRESHOLD``). From scratch recomputes its BatchNorm statistics over the training
pictures before every validation (:func:`recalibrate_batchnorm`).

The loop is in pieces that ``scripts.finetune`` (the same training under Hugging Face accelerate,
one CPU to many GPUs) reuses: :func:`start_run` builds a :class:`TrainingRun`, :func:`fit` runs the
epochs (steps, validation, early stopping), :func:`finish_run` keeps the best epoch and evaluates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

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
from engine.transfer.splits import few_shot_split, stratified_split
from engine.transfer.strategies import (
    DEFAULT_LEARNING_RATES, LINEAR_STRATEGIES, RECALIBRATE_BATCHNORM, apply_strategy, check_strategy, set_train_mode,
)

FIT_THRESHOLD = 0.9  # training accuracy from which a run fits its data (early stopping and keep_best wait for it)
EVAL_BATCH = 64  # pictures per no-grad forward at 64x64; larger pictures go in smaller batches
# ...as many pixels as 64 pictures at 64x64, i.e. 5 at 224x224: EfficientNet-Lite0 ran slower per picture in
# bigger batches on this CPU (images/s at batch 1/4/8/16/32, one thread: 10.1/9.5/7.9/6.6/5.2).
EVAL_PIXELS = EVAL_BATCH * 64 * 64


def eval_batch(inputs: dict[str, torch.Tensor]) -> int:
    """Batch size for no-grad passes: EVAL_BATCH, capped so a batch holds about EVAL_PIXELS pixels."""
    pixels = inputs.get("pixel_values")
    if pixels is None:
        return EVAL_BATCH
    return int(max(1, min(EVAL_BATCH, EVAL_PIXELS // (pixels.shape[-1] * pixels.shape[-2]))))

@dataclass(frozen=True)
class TrainConfig:
    strategy: str = "feature_extraction"  # see engine.transfer.strategies.STRATEGIES
    # The linear strategies (feature_extraction, logistic_regression) use epochs, seed and max_seconds only: their
    # regularisation comes from inner cross-validation (engine.transfer.linear), not from the settings below.
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
    # Early stopping and keep_best consider epochs only once the epoch's training accuracy has reached FIT_THRESHOLD:
    # before that the latest epoch is kept and patience does not count (a noisy held-out loss must not stop a network
    # that has not fit its data yet; from scratch did, at epoch 5). The linear strategies fit to convergence instead.
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
    count, batch = next(iter(inputs.values())).shape[0], eval_batch(inputs)
    return torch.cat([model.encode(**slice_inputs(inputs, slice(i, i + batch))) for i in range(0, count, batch)])


def _augment(batch: dict[str, torch.Tensor], generator: torch.Generator) -> dict[str, torch.Tensor]:
    pixels = batch["pixel_values"]
    flip = torch.rand(pixels.shape[0], generator=generator) < 0.5
    pixels = torch.where(flip[:, None, None, None], pixels.flip(-1), pixels)
    # Pad with the mean colour rather than black so rotated corners do not become a cue.
    fill = pixels.mean(dim=(2, 3), keepdim=True)
    moved = random_affine(pixels - fill, generator, max_degrees=10, max_shift=0.06) + fill
    return {"pixel_values": moved.clamp(0, 1)}


class StepModule(torch.nn.Module):
    """What an optimiser step calls: cached features -> head, or model inputs -> the whole classifier.

    A module of its own so accelerate can wrap it: DistributedDataParallel synchronises gradients
    only for calls through the module it wraps. It holds the classifier, so both share the weights.
    """

    def __init__(self, model: TransferClassifier) -> None:
        super().__init__()
        self.model = model

    def forward(self, features: torch.Tensor | None = None, **inputs: torch.Tensor) -> torch.Tensor:
        return self.model.classify(features) if features is not None else self.model(**inputs)


@dataclass
class TrainingRun:
    """One run's model, optimiser, data access and random streams.

    :func:`train_transfer` (the tab) and ``scripts.finetune`` (under accelerate) both build it with
    :func:`start_run`, drive it with :func:`fit` and turn it into a :class:`TrainResult` with
    :func:`finish_run`; the script only swaps in accelerate's wrapped module/optimiser, its sharded
    batches, ``accelerator.backward`` and a validation computed on the main process.
    """

    dataset: TransferDataset
    backbone: Backbone
    config: TrainConfig
    model: TransferClassifier
    optimizer: torch.optim.Optimizer
    step_module: torch.nn.Module  # StepModule(model), or accelerate's wrapper of it
    labels: torch.Tensor  # (N,) int64, CPU
    train_index: np.ndarray  # (Nt,) int64 dataset indices
    val_index: np.ndarray  # (Nv,) int64
    batch_inputs: Callable[[np.ndarray], dict[str, torch.Tensor]]  # dataset indices -> CPU model inputs
    eval_size: int  # examples per no-grad forward
    features: torch.Tensor | None  # (N, feature_dim) frozen features (feature extraction only), on device
    feature_seconds: float
    global_rng: JobRng  # init and dropout (torch's global CPU RNG, this job's copy)
    order_generator: torch.Generator  # epoch order: the same stream on every process
    augment_generator: torch.Generator  # augmentation: per process
    device: torch.device
    trainable_names: frozenset

    def epoch_order(self) -> np.ndarray:
        """This epoch's shuffled training indices (one draw from the order stream)."""
        return self.train_index[torch.randperm(len(self.train_index), generator=self.order_generator).numpy()]

    def epoch_batches(self) -> Iterator[np.ndarray]:
        """One process's epoch: the shuffled training indices in whole batches (the last one shorter)."""
        order = self.epoch_order()
        for start in range(0, len(order), self.config.batch_size):
            yield order[start : start + self.config.batch_size]

    def forward(self, index: np.ndarray, training: bool) -> torch.Tensor:
        """Logits for dataset ``index``: through ``step_module`` (augmented) when training, the bare model otherwise."""
        if self.features is not None:
            features = self.features[torch.as_tensor(index, device=self.features.device)]
            return self.step_module(features=features) if training else self.model.classify(features)
        batch = self.batch_inputs(index)
        if training and self.config.augment and "pixel_values" in batch:
            batch = _augment(batch, self.augment_generator)
        batch = {key: value.to(self.device) for key, value in batch.items()}
        return self.step_module(**batch) if training else self.model(**batch)

    def train_step(self, index: np.ndarray, backward: Callable[[torch.Tensor], None] | None = None) -> tuple[float, int]:
        """One optimiser step on ``index``; returns (loss x examples, correct) for the epoch's log."""
        target = self.labels[torch.as_tensor(index)].to(self.device)
        with self.global_rng.active():  # dropout masks (forward) are drawn here; backward reuses them
            logits = self.forward(index, True)
        loss = F.cross_entropy(logits, target)
        self.optimizer.zero_grad(set_to_none=True)
        if backward is None:
            loss.backward()
        else:
            backward(loss)
        self.optimizer.step()
        return loss.item() * len(index), int((logits.argmax(-1) == target).sum())

    @torch.no_grad()
    def evaluate(self, index: np.ndarray) -> tuple[float, float, torch.Tensor]:
        """(mean cross-entropy, accuracy, CPU logits) of the bare model in eval mode on ``index``."""
        self.model.eval()
        size = self.eval_size
        logits = torch.cat([self.forward(index[i : i + size], False) for i in range(0, len(index), size)]).cpu()
        target = self.labels[torch.as_tensor(index)]
        return float(F.cross_entropy(logits, target)), float((logits.argmax(-1) == target).float().mean()), logits

    def snapshot(self) -> dict[str, torch.Tensor]:
        """Copies of what training can change (trainable parameters and every buffer)."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items() if k in self.trainable_names}


@torch.no_grad()
def extract_batched(model: TransferClassifier, indices: np.ndarray, batch_inputs, size: int,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """The backbone in eval mode over dataset ``indices``, ``size`` at a time: (len(indices), feature_dim)."""
    model.eval()
    parts = [model.encode(**{k: v.to(device) for k, v in batch_inputs(indices[i : i + size]).items()})
             for i in range(0, len(indices), size)]
    return torch.cat(parts) if parts else torch.zeros(0, model.config.feature_dim, device=device)


def start_run(
    dataset: TransferDataset,
    backbone: Backbone,
    config: TrainConfig,
    *,
    split: tuple[np.ndarray, np.ndarray] | None = None,
    inputs: dict[str, torch.Tensor] | None = None,
    feature_cache: dict | None = None,
    device: torch.device | str = "cpu",
    lazy_images: bool = False,
    num_processes: int = 1,
    process_index: int = 0,
    extract: Callable[[TransferClassifier, Callable, int], torch.Tensor] | None = None,
) -> TrainingRun:
    """Check the settings, build the model and optimiser, the inputs and (feature extraction) the features.

    Args:
        lazy_images: prepare images per batch instead of all at once (the same values: each image is
            resized on its own); for datasets too big to hold at the backbone's resolution.
        num_processes, process_index: with several processes the augmentation stream is per process
            while the epoch order stays one shared stream.
        extract: ``(model, batch_inputs, eval_size) -> (N, feature_dim)`` replaces the one-process feature pass
            (the accelerate script shards it over processes).
    """
    strategy = check_strategy(config.strategy)
    if dataset.modality != backbone.modality:
        raise ValueError(f"The data is {dataset.modality} but {backbone.name} is an {backbone.modality} backbone; pick a matching one.")
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError("Epochs and batch size must be at least 1.")
    if split is None:
        split = (few_shot_split(dataset.labels, dataset.train_per_class, config.seed) if dataset.train_per_class
                 else stratified_split(dataset.labels, config.val_fraction, config.seed))
    train_index, val_index = split
    device = torch.device(device)
    # Initialisation and dropout draw from torch's global RNG: this job's own copy of it, so the same
    # seed gives the same model however many users train at once.
    global_rng = JobRng(config.seed)
    with global_rng.active():  # head / from-scratch init
        model = new_classifier(backbone, dataset.class_names, config.dropout, pretrained=strategy != "from_scratch")
    parameters = apply_strategy(model, strategy, config.unfreeze_blocks)
    model.to(device)
    lr = config.learning_rate or DEFAULT_LEARNING_RATES[strategy]
    optimizer = torch.optim.AdamW(parameters, lr=lr, weight_decay=config.weight_decay)
    order_generator = torch_generator(config.seed)
    # One process draws the order and the augmentation from one stream, as the tab always has (so a seed
    # keeps giving the same model). Several processes must all draw the same order while each augments
    # its own share, so augmentation then gets a stream per process.
    augment_generator = order_generator if num_processes == 1 else torch_generator(
        int(np.random.SeedSequence([config.seed, process_index]).generate_state(1)[0]))

    if inputs is None and (backbone.modality == "text" or not lazy_images):
        inputs = prepare_inputs(backbone, dataset.items)
    if inputs is not None:
        eval_size = eval_batch(inputs)

        def batch_inputs(index: np.ndarray) -> dict[str, torch.Tensor]:
            return slice_inputs(inputs, torch.as_tensor(index))
    else:
        eval_size = eval_batch({"pixel_values": torch.empty(0, 3, backbone.image_size, backbone.image_size)})

        def batch_inputs(index: np.ndarray) -> dict[str, torch.Tensor]:
            return prepare_inputs(backbone, [dataset.items[i] for i in index])

    feature_seconds = 0.0
    features = None
    if strategy in LINEAR_STRATEGIES:
        key = (backbone.key, id(dataset.items))
        if feature_cache is not None and key in feature_cache:
            features = feature_cache[key]
        else:
            started = time.perf_counter()
            if extract is not None:
                features = extract(model, batch_inputs, eval_size)
            elif inputs is not None and device.type == "cpu":
                features = extract_features(model, inputs)
            else:
                features = extract_batched(model, np.arange(len(dataset)), batch_inputs, eval_size, device)
            feature_seconds = time.perf_counter() - started
            if feature_cache is not None:
                feature_cache[key] = features

    trainable_names = {name for name, p in model.named_parameters() if p.requires_grad}
    trainable_names |= {name for name, _ in model.named_buffers()}
    return TrainingRun(
        dataset=dataset, backbone=backbone, config=config, model=model, optimizer=optimizer,
        step_module=StepModule(model), labels=torch.as_tensor(dataset.labels), train_index=np.asarray(train_index),
        val_index=np.asarray(val_index), batch_inputs=batch_inputs, eval_size=eval_size, features=features,
        feature_seconds=feature_seconds, global_rng=global_rng, order_generator=order_generator,
        augment_generator=augment_generator, device=device, trainable_names=frozenset(trainable_names),
    )


@torch.no_grad()
def recalibrate_batchnorm(run: TrainingRun) -> None:
    """Recompute every BatchNorm layer's running mean and variance over the (unaugmented) training split.

    Batches of ``config.batch_size`` pass through the backbone in train mode with cumulative averaging
    (``momentum=None``), so eval mode then normalises with the statistics of the current weights, not
    with a slow exponential average still close to its initial mean 0 / variance 1.
    """
    layers = [m for m in run.model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not layers:
        return
    saved = [(layer.momentum, layer.training) for layer in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None
        layer.train()
    size = run.config.batch_size
    for start in range(0, len(run.train_index), size):
        batch = run.batch_inputs(run.train_index[start : start + size])
        run.model.encode(**{key: value.to(run.device) for key, value in batch.items()})
    for layer, (momentum, training) in zip(layers, saved):
        layer.momentum = momentum
        layer.train(training)


@dataclass(frozen=True)
class FitOutcome:
    history: tuple[EpochLog, ...]
    best_epoch: int  # epoch with the lowest validation loss (0 = none validated)
    best_state: dict  # its trainable parameters and buffers
    stop_reason: str
    train_seconds: float


def fit(
    run: TrainingRun,
    *,
    epoch_batches: Callable[[], Iterable[np.ndarray]] | None = None,
    backward: Callable[[torch.Tensor], None] | None = None,
    validate: Callable[[], tuple[float, float]] | None = None,
    sum_across: Callable[[list[float]], list[float]] | None = None,
    agree: Callable[[str], str] | None = None,
    on_progress: Callable[[TrainProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FitOutcome:
    """The epoch loop: steps, validation every ``validate_every`` epochs, early stopping, best-epoch tracking.

    Defaults are one process's; under accelerate the script passes its own:
        epoch_batches: () -> this process's index batches for one epoch (default :meth:`TrainingRun.epoch_batches`).
        backward: ``accelerator.backward`` (default ``loss.backward()``).
        validate: () -> (val loss, val accuracy), the same on every process (default: evaluated here).
        sum_across: sums [loss x examples, correct, examples] over processes for the epoch's log.
        agree: a local stop reason ("" = none) -> the one every process acts on.
    """
    config, strategy = run.config, run.config.strategy
    if strategy == "logistic_regression":
        raise ValueError("Logistic regression is fitted by scikit-learn in one process (train_transfer), not by epochs.")
    batches = epoch_batches or run.epoch_batches
    validate = validate or (lambda: run.evaluate(run.val_index)[:2])
    steps_per_epoch = int(np.ceil(len(run.train_index) / config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    history: list[EpochLog] = []
    best_loss, best_epoch, best_state = float("inf"), 0, run.snapshot()
    stop_reason, step, bad_epochs, fitted = "completed", 0, 0, False
    checks_stop = should_stop is not None or config.max_seconds is not None
    started = last_report = time.perf_counter()

    def report(epoch_done: int, message: str = "") -> None:
        if on_progress is None:
            return
        elapsed = time.perf_counter() - started
        eta = elapsed / max(step, 1) * (total_steps - step)
        on_progress(TrainProgress(strategy, epoch_done, config.epochs, step, total_steps, elapsed, eta, tuple(history), message))

    with single_thread(enabled=run.features is not None):
        for epoch in range(1, config.epochs + 1):
            set_train_mode(run.model, strategy, config.unfreeze_blocks)
            total_loss, correct, seen = 0.0, 0, 0
            for index in batches():
                if checks_stop:
                    reason = ""
                    if should_stop is not None and should_stop():
                        reason = "stopped by user"
                    elif config.max_seconds is not None and time.perf_counter() - started > config.max_seconds:
                        reason = "time limit"
                    if agree is not None:
                        reason = agree(reason)
                    if reason:
                        stop_reason = reason
                        break
                loss_sum, batch_correct = run.train_step(index, backward)
                step += 1
                total_loss += loss_sum
                correct += batch_correct
                seen += len(index)
                if time.perf_counter() - last_report > 0.5:
                    last_report = time.perf_counter()
                    report(epoch - 1)
            if stop_reason != "completed":
                break
            if epoch % max(1, config.validate_every) and epoch != config.epochs:
                continue
            if sum_across is not None:
                total_loss, correct, seen = sum_across([total_loss, correct, seen])
            if strategy in RECALIBRATE_BATCHNORM:
                recalibrate_batchnorm(run)
            val_loss, val_accuracy = validate()
            history.append(EpochLog(epoch, total_loss / seen, correct / seen, val_loss, val_accuracy,
                                    time.perf_counter() - started))
            fitted = fitted or history[-1].train_accuracy >= FIT_THRESHOLD
            if not fitted:  # not fitting its data yet: keep the latest epoch, and patience does not count
                best_epoch, best_state = epoch, run.snapshot()
            elif val_loss < best_loss - 1e-6:
                best_loss, best_epoch, best_state, bad_epochs = val_loss, epoch, run.snapshot(), 0
            else:
                bad_epochs += 1
            report(epoch)
            if config.patience and bad_epochs >= config.patience:
                stop_reason = "early stopping"
                break
    train_seconds = time.perf_counter() - started
    report(len(history), f"{strategy}: {stop_reason}")
    return FitOutcome(tuple(history), best_epoch, best_state, stop_reason, train_seconds)


def finish_run(run: TrainingRun, outcome: FitOutcome) -> TrainResult:
    """Keep the best (or last) epoch, evaluate on both splits and package a :class:`TrainResult`."""
    model, dataset = run.model, run.dataset
    best_epoch = outcome.best_epoch
    if run.config.keep_best:
        model.load_state_dict(outcome.best_state, strict=False)
    else:
        best_epoch = outcome.history[-1].epoch if outcome.history else 0
    model.requires_grad_(False)
    model.eval()
    _, _, val_logits = run.evaluate(run.val_index)
    _, train_accuracy, _ = run.evaluate(run.train_index)
    probabilities = torch.softmax(val_logits, -1).numpy().astype(np.float32)
    metrics = classification_metrics(dataset.labels[run.val_index], probabilities.argmax(1), len(dataset.class_names))
    return TrainResult(
        model=model, backbone_key=run.backbone.key, config=run.config, history=outcome.history, best_epoch=best_epoch,
        stop_reason=outcome.stop_reason, train_seconds=outcome.train_seconds, feature_seconds=run.feature_seconds,
        train_index=run.train_index, val_index=run.val_index, val_probabilities=probabilities,
        metrics=metrics, train_accuracy=train_accuracy,
    )


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
        split: (train_index, val_index); default the dataset's few-shot split when it fixes one
            (``train_per_class``), else a stratified ``val_fraction`` split.
        inputs: preprocessed ``prepare_inputs(backbone, dataset.items)`` to reuse across runs.
        feature_cache: a dict the caller owns; frozen features are stored under
            ``(backbone.key, id(dataset.items))`` so the next head retrain skips extraction.
        on_progress: called after every epoch (and every ~0.5 s within one) with a :class:`TrainProgress`.
        should_stop: polled every step; returning True ends training, keeping the best model.
    """
    run = start_run(dataset, backbone, config, split=split, inputs=inputs, feature_cache=feature_cache)
    if config.strategy in LINEAR_STRATEGIES:
        from engine.transfer.linear import fit_linear

        with single_thread():
            return finish_run(run, fit_linear(run, on_progress=on_progress, should_stop=should_stop))
    return finish_run(run, fit(run, on_progress=on_progress, should_stop=should_stop))
