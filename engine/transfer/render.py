"""Drawing for the Transfer-learning tab: pure functions from computed results to figures/images.

Uses matplotlib's object API (no pyplot state), so concurrent sessions can draw safely.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from engine.core.draw import readable_text
from engine.transfer.attention import AttentionShift
from engine.transfer.data import TransferDataset
from engine.transfer.train import EpochLog, TrainResult

COLOURS = {"feature_extraction": "#1f77b4", "logistic_regression": "#17becf", "fine_tune_last_n": "#2ca02c",
           "full_fine_tune": "#9467bd", "from_scratch": "#d62728"}
NOT_TRAINED = "not trained"
DID_NOT_FIT = "did not fit its training data"
FIT_THRESHOLD = 0.9  # train accuracy below this: the run did not fit its data; never used for the gain
HALF_WIDTH_PT = 13  # figures shown in half the page (~86% of their size at 1280 px) keep >= 15 px text


def is_trained(result: TrainResult) -> bool:
    """False for a strategy stopped before it finished one epoch: its "accuracy" is that of random weights."""
    return result.best_epoch > 0 and len(result.history) > 0


def fitted(result: TrainResult) -> bool:
    """True for a trained run that fits its own training pictures (train accuracy >= FIT_THRESHOLD).

    A run below it is broken or starved, not a baseline: its held-out accuracy says nothing about
    what pre-training buys, so the chart labels it and :func:`pretraining_gain` leaves it out.
    """
    return is_trained(result) and result.train_accuracy >= FIT_THRESHOLD


def budget_line(results: dict[str, TrainResult]) -> str:
    """The training budget the strategies had, in words ("40 epochs each, no early stopping ...")."""
    from engine.transfer.options import LINEAR_STRATEGIES

    budgets = {}
    for strategy, result in results.items():
        config = getattr(result, "config", None)
        if config is not None and strategy not in LINEAR_STRATEGIES:
            stop = f"patience {config.patience}" if config.patience else "no early stop"
            budgets[strategy] = f"{config.epochs} epochs, {stop}"
    tail = "(linear: to convergence)" if any(s in LINEAR_STRATEGIES for s in results) else ""
    if not budgets:
        return f"Budget: linear fits to convergence" if tail else ""
    if len(set(budgets.values())) == 1:
        return f"Budget: {next(iter(budgets.values()))} each {tail}".rstrip()
    return "Budgets differ: " + "; ".join(f"{s} {b}" for s, b in budgets.items())


def best_trained(results: dict[str, TrainResult]) -> TrainResult | None:
    """The most accurate strategy that finished at least one epoch (ties: the faster), or None."""
    trained = [r for r in results.values() if is_trained(r)]
    return max(trained, key=lambda r: (r.metrics.accuracy, -r.train_seconds)) if trained else None


def curves_figure(histories: dict[str, tuple[EpochLog, ...]]) -> Figure:
    """Train (dashed) and validation (solid) loss and accuracy per epoch, one colour per strategy."""
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    loss_axis, acc_axis = figure.subplots(1, 2)
    for strategy, history in histories.items():
        if not history:
            continue
        colour = COLOURS.get(strategy, "black")
        epochs = [log.epoch for log in history]
        loss_axis.plot(epochs, [log.train_loss for log in history], "--", color=colour, alpha=0.7)
        loss_axis.plot(epochs, [log.val_loss for log in history], "-", color=colour, label=strategy)
        acc_axis.plot(epochs, [log.train_accuracy for log in history], "--", color=colour, alpha=0.7)
        acc_axis.plot(epochs, [log.val_accuracy for log in history], "-", color=colour, label=strategy)
    loss_axis.set(title="Loss (solid = validation, dashed = train)", xlabel="epoch")
    acc_axis.set(title="Accuracy", xlabel="epoch", ylim=(0, 1.02))
    if any(histories.values()):
        acc_axis.legend(fontsize=11, loc="lower right")
    return readable_text(figure)


def confusion_figure(confusion: np.ndarray, labels: tuple[str, ...], title: str = "Validation confusion matrix") -> Figure:
    """Counts with rows = true class and columns = predicted class."""
    size = 2.5 + 0.5 * len(labels)
    figure = Figure(figsize=(size, size * 0.85), layout="constrained")
    axis = figure.subplots()
    axis.imshow(confusion, cmap="Blues")
    for (row, column), count in np.ndenumerate(confusion):
        colour = "white" if count > confusion.max() / 2 else "black"
        axis.text(column, row, str(count), ha="center", va="center", color=colour)
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set(xlabel="predicted", ylabel="true", title=title)
    return readable_text(figure, HALF_WIDTH_PT)


def comparison_figure(results: dict[str, TrainResult]) -> Figure:
    """Validation accuracy vs wall-clock per strategy; a bar up to train accuracy shows the gap.

    Each point's figures are in the legend below the plot (points often coincide: feature extraction and
    logistic regression land on the same spot). A run that did not fit its training data is a hollow
    point, and its legend entry says so.
    """
    # A strategy stopped before its first epoch has random weights: it is no result, so it is listed, not plotted.
    untrained = [s for s, r in results.items() if not is_trained(r)]
    results = {s: r for s, r in results.items() if is_trained(r)}
    figure = Figure(figsize=(7, 3.9 + 0.26 * len(results)), layout="constrained")
    axis = figure.subplots()
    longest = max([2.0, *(r.train_seconds + r.feature_seconds for r in results.values())])
    for strategy, result in results.items():
        seconds = result.train_seconds + result.feature_seconds
        colour = COLOURS.get(strategy, "black")
        axis.vlines(seconds, result.metrics.accuracy, result.train_accuracy, color=colour, alpha=0.5, linewidth=4)
        fits = fitted(result)
        label = f"{strategy}: val {result.metrics.accuracy:.0%}, train {result.train_accuracy:.0%}, gap {result.gap:+.0%}"
        if not fits:
            label += f", {DID_NOT_FIT}"
        axis.scatter([seconds], [result.metrics.accuracy], s=60, zorder=3, color=colour if fits else "white",
                     edgecolors=colour, linewidths=2, label=label)
    title = "Strategies on the same split (bar = train − val gap)"
    budget = budget_line(results)
    if budget:
        title += "\n" + budget
    gain = pretraining_gain(results)
    if gain is not None:
        scratch = results["from_scratch"].metrics.accuracy
        axis.axhline(scratch, color=COLOURS["from_scratch"], linestyle=":", linewidth=1)
        title += f"\nPre-training gain: {gain:+.0%} (best pre-trained vs from scratch)"
    elif "from_scratch" in results and not fitted(results["from_scratch"]):
        title += f"\nNo gain shown: from scratch {DID_NOT_FIT}"
    axis.set(xlabel="wall-clock seconds (training + feature extraction)", ylabel="validation accuracy",
             title=title, ylim=(0, 1.05))
    axis.set_xscale("symlog", linthresh=1.0)
    if results:
        axis.set_xlim(0, longest * 2)
        figure.legend(loc="outside lower center", fontsize=11, frameon=False)
    if untrained:
        axis.text(0.01, 0.02, f"{NOT_TRAINED} (stopped before epoch 1): " + ", ".join(untrained), transform=axis.transAxes,
                  fontsize=11, color="#555555", va="bottom")
    return readable_text(figure, HALF_WIDTH_PT)


def pretraining_gain(results: dict[str, TrainResult]) -> float | None:
    """Best validation accuracy of a pre-trained strategy minus from scratch's; None without both.

    Only runs that fit their training data count (:func:`fitted`): a from-scratch run stuck at chance
    would inflate the gain, and a pre-trained run that did not fit would understate it.
    """
    pretrained = [r.metrics.accuracy for s, r in results.items() if s != "from_scratch" and fitted(r)]
    if "from_scratch" not in results or not fitted(results["from_scratch"]) or not pretrained:
        return None
    return max(pretrained) - results["from_scratch"].metrics.accuracy


def attention_figure(shift: AttentionShift) -> Figure:
    """Heatmap rows: [CLS] rollout before/after fine-tuning, and last-layer attention received."""
    matrix = np.stack([shift.before, shift.after, shift.before_last, shift.after_last])
    # [CLS] and [SEP] soak up most attention; hide them and renormalise so word-level shifts are visible.
    special = np.array([token in {"[CLS]", "[SEP]", "[PAD]"} for token in shift.tokens])
    if (~special).any():
        matrix = np.where(special[None, :], 0.0, matrix)
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1e-12)
    figure = Figure(figsize=(max(7, 0.6 * len(shift.tokens)), 3.0), layout="constrained")
    axis = figure.subplots()
    image = axis.imshow(matrix, cmap="viridis", aspect="auto")
    axis.set_yticks(range(4), ["[CLS] rollout, base", "[CLS] rollout, fine-tuned", "last layer, base", "last layer, fine-tuned"])
    axis.set_xticks(range(len(shift.tokens)), shift.tokens, rotation=60, ha="right")
    axis.set_title(f"Attention before vs after fine-tuning ([CLS]/[SEP] hidden, rows renormalised)\n"
                   f"rollout change: {shift.change:.3f} total variation (0 = identical)", fontsize=12)
    figure.colorbar(image, ax=axis, fraction=0.03)
    return readable_text(figure)


def misclassified(result: TrainResult, dataset: TransferDataset, limit: int = 24) -> list[tuple[object, str]]:
    """(item, caption) for wrong validation predictions, most confident mistakes first.

    Images come back as 96x96 PIL images; texts as the string itself.
    """
    names = dataset.class_names
    wrong = []
    for row, index in enumerate(result.val_index):
        predicted = int(result.val_probabilities[row].argmax())
        truth = int(dataset.labels[index])
        if predicted != truth:
            wrong.append((float(result.val_probabilities[row, predicted]), index, truth, predicted))
    wrong.sort(reverse=True)
    items = []
    for confidence, index, truth, predicted in wrong[:limit]:
        caption = f"true: {names[truth]} | predicted: {names[predicted]} ({confidence:.0%})"
        item = dataset.items[index]
        if dataset.modality == "image":
            item = Image.fromarray(item).resize((96, 96), Image.NEAREST)
        items.append((item, caption))
    return items
