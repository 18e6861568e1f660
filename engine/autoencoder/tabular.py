"""Anomalies in a table: a small autoencoder trained on the user's rows, its reconstruction error as the score,
and two baselines on the same rows (scikit-learn's Isolation Forest and PCA reconstruction).

Training is per request by design: it is the user's data. The model is a small MLP with a narrow, bounded
(tanh) bottleneck, trained for a capped number of large-batch steps, so 100,000 rows x 30 columns train and score
in seconds on a CPU. Without labels some training rows are anomalies: each batch's worst-rebuilt share is left
out of the loss, so the model does not learn to rebuild them too.

A row's score is the sum over its columns of the squared reconstruction error, each column's error divided by
that column's median error on the training rows: a column the model rebuilds poorly for everyone (a noisy one)
does not drown the columns it rebuilds well. The per-column terms say *which columns made a row suspicious*.

With a label column, the rows are split (stratified, seeded): every model is fitted on the normal rows of the
training half and the metrics are measured on the held-out half. Without one, every model sees all rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.autoencoder.tabular_data import Prepared, prepare

TRAIN_STEPS = 600  # most optimiser steps: past ~5,000 rows, time does not grow with the number of rows
MIN_STEPS = 150  # fewest steps (a tiny table)
MAX_EPOCHS = 60  # at most this many passes over the rows in between: a small table is not memorised
BATCH = 512
BOTTLENECK_DIV = 8  # bottleneck = features / 8 (2 to 8): narrow enough that odd rows do not fit through
TRIM = 0.1  # without labels, each batch's worst-rebuilt 10% are left out of the loss (see train_autoencoder)
TRIM_AFTER = 0.3  # share of the steps before trimming starts
LEARNING_RATE = 3e-3
INPUT_CLIP = 4.0  # scaled inputs are clipped here for the network (targets are not): a 1000x outlier cannot
                  # dominate the training loss, and still scores as far away
HELD_OUT = 0.5  # share of the rows held out for the metrics when a label column is named
IF_TREES = 100  # scikit-learn's default
PCA_VARIANCE = 0.9  # PCA keeps the components that explain this share of the training variance
TOP_ROWS = 20
MAX_ALERT_PERCENT = 50.0


@dataclass(frozen=True)
class Analysis:
    """Everything one analysis computed; :func:`at_budget` turns it into the API's JSON for one alert budget."""

    prepared: Prepared
    scores: np.ndarray  # one per row, file order; higher = more anomalous
    column_error: np.ndarray  # rows x used columns: each column's term of the score (they add up to it)
    codes: np.ndarray  # rows x 2: the bottleneck's two main directions
    train_rows: np.ndarray  # bool: rows the models were fitted on
    eval_rows: np.ndarray  # bool: rows the metrics are measured on (all rows without a label)
    labels: np.ndarray | None  # bool (True = anomaly) or None
    label_column: str
    normal_value: str
    baselines: dict  # name -> scores (all rows), when labelled
    fit: dict  # evidence that each model learned: loss curve, explained variance
    seconds: dict = field(default_factory=dict)


# ------------------------------------------------------------------ the model
def _network(features: int, seed: int):
    """encoder (Linear, SiLU, Linear, tanh) then decoder (Linear, SiLU, Linear), initialised from ``seed``.

    The tanh bottleneck is bounded, so the decoder cannot extrapolate: a row far outside the training rows
    (all its sizes 5x larger, say) is rebuilt as the nearest normal row and its error is large, even when
    its columns agree with each other.
    """
    import torch
    from torch import nn

    hidden = int(min(128, max(16, 2 * features)))
    bottleneck = int(min(8, max(2, features // BOTTLENECK_DIV)))
    layers = [nn.Linear(features, hidden), nn.Linear(hidden, bottleneck), nn.Linear(bottleneck, hidden),
              nn.Linear(hidden, features)]
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in layers:
            bound = 1 / np.sqrt(layer.in_features)
            layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator) * 2 * bound - bound)
            layer.bias.zero_()
    encoder = nn.Sequential(layers[0], nn.SiLU(), layers[1], nn.Tanh())
    return nn.Sequential(encoder, nn.Sequential(layers[2], nn.SiLU(), layers[3]))


def training_steps(rows: int) -> int:
    """At most MAX_EPOCHS passes over the rows (a small table is not memorised), 150 to TRAIN_STEPS steps."""
    return int(np.clip(MAX_EPOCHS * rows / min(BATCH, rows), MIN_STEPS, TRAIN_STEPS))


def train_autoencoder(matrix: np.ndarray, seed: int = 0, steps: int | None = None, trim: float = 0.0,
                      on_progress=None):
    """Fit the autoencoder to ``matrix`` (rows x features, scaled); returns (model, mean loss per 10% of steps).

    ``trim`` > 0 (rows that may hold anomalies): after the first 30% of the steps, each batch's ``trim`` share
    of worst-rebuilt rows is left out of the loss, so the model does not learn to rebuild the anomalies too.
    """
    import torch

    from engine.core.threads import single_thread

    data = torch.from_numpy(np.clip(matrix, -INPUT_CLIP, INPUT_CLIP).astype(np.float32))
    steps = training_steps(len(data)) if steps is None else int(steps)
    batch_size = min(BATCH, len(data))
    keep = max(1, int(round(batch_size * (1 - trim))))
    model = _network(data.shape[1], seed)
    optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=LEARNING_RATE, total_steps=steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed + 1)
    losses, running, report = [], [], max(1, steps // 10)
    with single_thread():
        for step in range(steps):
            batch = data[torch.randint(0, len(data), (batch_size,), generator=generator)]
            per_row = ((model(batch) - batch) ** 2).mean(dim=1)
            if trim > 0 and step >= TRIM_AFTER * steps:
                per_row = per_row.topk(keep, largest=False).values
            loss = per_row.mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            running.append(float(loss.detach()))
            if (step + 1) % report == 0 or step + 1 == steps:
                losses.append(float(np.mean(running)))
                running = []
                if on_progress is not None:
                    on_progress((step + 1) / steps, f"training the autoencoder: step {step + 1} of {steps}")
    return model.eval(), losses


def reconstruction_errors(model, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared error per feature (rows x features) and the bottleneck codes (rows x bottleneck)."""
    import torch

    from engine.core.threads import single_thread

    errors, codes = [], []
    with torch.no_grad(), single_thread():
        for start in range(0, len(matrix), 20000):
            chunk = matrix[start:start + 20000]
            code = model[0](torch.from_numpy(np.clip(chunk, -INPUT_CLIP, INPUT_CLIP).astype(np.float32)))
            errors.append((model[1](code).numpy() - chunk) ** 2)
            codes.append(code.numpy())
    return np.concatenate(errors), np.concatenate(codes)


def column_errors(feature_errors: np.ndarray, feature_column: np.ndarray, columns: int) -> np.ndarray:
    """Per-feature errors summed into their source columns (a one-hot column's levels add up)."""
    mapping = np.zeros((len(feature_column), columns), dtype=feature_errors.dtype)
    mapping[np.arange(len(feature_column)), feature_column] = 1.0
    return (feature_errors @ mapping).astype(np.float64)


# ------------------------------------------------------------------ baselines
def isolation_forest_scores(train: np.ndarray, matrix: np.ndarray, seed: int = 0) -> tuple[np.ndarray, dict]:
    """scikit-learn's Isolation Forest fitted on ``train``; higher = more anomalous."""
    from sklearn.ensemble import IsolationForest

    forest = IsolationForest(n_estimators=IF_TREES, random_state=seed, n_jobs=1).fit(train)
    scores = -forest.score_samples(matrix)
    return scores, {"trees": IF_TREES, "max_samples": int(forest.max_samples_)}


def pca_scores(train: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, dict]:
    """Squared PCA reconstruction error with the components that explain PCA_VARIANCE of the training variance."""
    from sklearn.decomposition import PCA

    full = PCA(svd_solver="full").fit(train[:50000])
    cumulative = np.cumsum(full.explained_variance_ratio_)
    keep = int(min(np.searchsorted(cumulative, PCA_VARIANCE) + 1, max(train.shape[1] - 1, 1)))
    components = full.components_[:keep]
    centred = matrix - full.mean_
    rebuilt = centred @ components.T @ components
    scores = ((centred - rebuilt) ** 2).sum(axis=1)
    return scores, {"components": keep, "explained_variance": float(cumulative[keep - 1])}


def roc_points(scores: np.ndarray, labels: np.ndarray) -> dict:
    """AUROC, average precision and the curves (for the chart) of ``scores`` against boolean ``labels``."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    precision, recall, _ = precision_recall_curve(labels, scores)
    return {"auroc": float(roc_auc_score(labels, scores)), "average_precision": float(average_precision_score(labels, scores)),
            "fpr": fpr, "tpr": tpr, "precision": precision, "recall": recall}


# ------------------------------------------------------------------ the analysis
def _labels(table, label_column: str, normal_value: str) -> tuple[np.ndarray, str]:
    if label_column not in table.columns:
        names = ", ".join(repr(str(c)[:40]) for c in list(table.columns)[:12])
        raise ValueError(f"There is no column {label_column[:80]!r} in the file; its columns are {names}. "
                         "Type one of them as the label column, or leave it empty.")
    values = table[label_column].astype("string").fillna("").str.strip()
    counts = values.value_counts()
    if not normal_value:
        normal_value = str(counts.index[0])  # the most common value is "normal"
    matches = values == normal_value
    if not matches.any():
        try:  # "0" matches 0.0 in a column read as floats
            matches = np.isclose(values.astype(float), float(normal_value))
        except (TypeError, ValueError):
            pass
    matches = np.asarray(matches, dtype=bool)
    if not matches.any():
        shown = ", ".join(repr(str(v)[:30]) for v in counts.index[:8])
        raise ValueError(f"No row has {normal_value[:80]!r} in the label column {label_column[:80]!r}; its values are "
                         f"{shown}. Type the value that marks a normal row.")
    if matches.all():
        raise ValueError(f"Every row of {label_column[:80]!r} is {normal_value[:80]!r}: the label column needs normal "
                         "rows and at least one anomaly to measure anything. Leave it empty to analyse without labels.")
    if matches.sum() < 10:
        raise ValueError(f"Only {int(matches.sum())} rows are normal ({normal_value[:80]!r}) in {label_column[:80]!r}; "
                         "the normal value must mark the common rows (at least 10).")
    return ~matches, normal_value


def _split(labels: np.ndarray, seed: int) -> np.ndarray:
    """A stratified split: True = training row. Each class keeps the same share held out (at least one)."""
    rng = np.random.default_rng(seed)
    train = np.zeros(len(labels), dtype=bool)
    for value in (False, True):
        rows = rng.permutation(np.flatnonzero(labels == value))
        held = max(1, int(round(HELD_OUT * len(rows))))
        train[rows[held:]] = True
    return train


def analyse(table, label_column: str = "", normal_value: str = "", seed: int = 0, on_progress=None,
            exclude: dict[str, str] | None = None) -> Analysis:
    """Prepare ``table``, train the autoencoder, score every row; with a label column also fit the baselines.

    ``exclude`` maps columns that must never be features to the reason shown (the built-in example's labels).
    Raises ``ValueError`` for a missing label column or a label column without both kinds of rows.
    """
    timings, started = {}, time.perf_counter()
    label_column, normal_value = str(label_column or "").strip(), str(normal_value or "").strip()
    labels = None
    if label_column:
        labels, normal_value = _labels(table, label_column, normal_value)
        train_rows = _split(labels, seed) & ~labels
        eval_rows = ~_split(labels, seed)
    else:
        train_rows = eval_rows = np.ones(len(table), dtype=bool)
    exclude = dict(exclude or {})
    if label_column:
        exclude[label_column] = ""  # listed as the label, not as dropped
    prepared = prepare(table, exclude=exclude, train_rows=train_rows)
    timings["prepare"] = time.perf_counter() - started
    progress = (lambda f, m: on_progress(0.05 + 0.8 * f, m)) if on_progress else None
    train = prepared.matrix[train_rows]
    model, losses = train_autoencoder(train, seed, trim=0.0 if label_column else TRIM, on_progress=progress)
    timings["train"] = time.perf_counter() - started - timings["prepare"]
    feature_errors, codes = reconstruction_errors(model, prepared.matrix)
    timings["score"] = time.perf_counter() - started - timings["prepare"] - timings["train"]
    per_column = column_errors(feature_errors, prepared.feature_column, len(prepared.columns))
    typical = np.median(per_column[train_rows], axis=0)
    per_column /= np.maximum(typical, 1e-3 * max(float(typical.mean()), 1e-12))
    scores = per_column.sum(axis=1)
    codes = _two_dimensions(codes, train_rows)
    fit = {"autoencoder": {"loss_first": losses[0], "loss_last": losses[-1], "loss_curve": losses,
                           "training_rows": int(train_rows.sum()), "features": int(prepared.matrix.shape[1])}}
    baselines = {}
    if labels is not None:
        if on_progress:
            on_progress(0.88, "fitting the baselines: Isolation Forest and PCA")
        baselines["isolation_forest"], fit["isolation_forest"] = isolation_forest_scores(train, prepared.matrix, seed)
        baselines["pca"], fit["pca"] = pca_scores(train, prepared.matrix)
    timings["total"] = time.perf_counter() - started
    timings["baselines"] = timings["total"] - timings["score"] - timings["prepare"] - timings["train"]
    return Analysis(prepared=prepared, scores=scores, column_error=per_column, codes=codes, train_rows=train_rows,
                    eval_rows=eval_rows, labels=labels, label_column=label_column, normal_value=normal_value,
                    baselines=baselines, fit=fit, seconds=timings)


def _two_dimensions(codes: np.ndarray, train_rows: np.ndarray) -> np.ndarray:
    """The bottleneck codes projected on their two main directions (PCA of the training rows' codes)."""
    centred = codes - codes[train_rows].mean(axis=0)
    _, _, directions = np.linalg.svd(centred[train_rows][:20000], full_matrices=False)
    return centred @ directions[:2].T


def check_alert_percent(value) -> float:
    from engine.core.validation import check_number

    return float(check_number(value, "alert budget (percent of rows flagged)", 0.01, MAX_ALERT_PERCENT, default=1.0))


def threshold_for(scores: np.ndarray, percent: float) -> float:
    """The score above which the top ``percent`` % of ``scores`` lie (at least one row)."""
    count = max(1, int(round(len(scores) * percent / 100)))
    return float(np.sort(scores)[-count])


def at_budget(analysis: Analysis, alert_percent: float = 1.0, top: int = TOP_ROWS, table=None) -> dict:
    """The API's JSON for one alert budget: scores, threshold, flagged rows, top rows and (labelled) metrics.

    The threshold flags the top ``alert_percent`` % of the evaluated rows (the held-out rows with a label, all
    rows without); ``flagged`` lists every row of the file at or above it. ``table`` adds the top rows' values.
    """
    percent = check_alert_percent(alert_percent)
    scores = analysis.scores
    threshold = threshold_for(scores[analysis.eval_rows], percent)
    flagged = np.flatnonzero(scores >= threshold)
    order = flagged[np.argsort(-scores[flagged], kind="stable")][:top]
    columns = analysis.prepared.columns
    top_rows = []
    for row in order:
        errors = analysis.column_error[row]
        entry = {"row": int(row), "score": float(scores[row]),
                 "per_column_error": {columns[c]: round(float(errors[c]), 4) for c in np.argsort(-errors)}}
        if table is not None:
            entry["values"] = {str(k): _plain(v) for k, v in table.iloc[int(row)].items()}
        if analysis.labels is not None:
            entry["is_anomaly"] = bool(analysis.labels[row])
        top_rows.append(entry)
    result = {
        "rows": int(len(scores)), "alert_percent": percent, "threshold": threshold,
        "flagged": [int(i) for i in flagged], "flagged_count": int(len(flagged)), "scores": [float(s) for s in scores],
        "columns_used": [dict(c) for c in analysis.prepared.columns_used],
        "dropped_columns": [dict(d) for d in analysis.prepared.dropped_columns],
        "notes": list(analysis.prepared.notes), "top_rows": top_rows,
        "training": {"rows": int(analysis.train_rows.sum()), "loss_first": analysis.fit["autoencoder"]["loss_first"],
                     "loss_last": analysis.fit["autoencoder"]["loss_last"], "seconds": round(analysis.seconds["train"], 2),
                     "total_seconds": round(analysis.seconds["total"], 2)},
    }
    if analysis.labels is not None:
        result.update(_metrics(analysis, percent))
    return result


def _plain(value):
    """A table cell as JSON: numbers as Python numbers, missing as None, anything else as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (int, float, str)):
        return value
    return None if str(value) in ("<NA>", "nan") else str(value)


def _at_percent(scores: np.ndarray, labels: np.ndarray, percent: float) -> dict:
    count = max(1, int(round(len(scores) * percent / 100)))
    chosen = np.argsort(-scores, kind="stable")[:count]
    caught = int(labels[chosen].sum())
    return {"precision": caught / count, "recall": caught / max(int(labels.sum()), 1), "flagged": count, "caught": caught}


def _metrics(analysis: Analysis, percent: float) -> dict:
    held = analysis.eval_rows
    labels = analysis.labels[held]
    out = {"label_column": analysis.label_column, "normal_value": analysis.normal_value,
           "evaluated_rows": int(held.sum()), "evaluated_anomalies": int(labels.sum()), "baselines": {}}
    for name, scores in (("autoencoder", analysis.scores), *analysis.baselines.items()):
        curve = roc_points(scores[held], labels)
        entry = {"auroc": curve["auroc"], "average_precision": curve["average_precision"],
                 "at_budget": _at_percent(scores[held], labels, percent), "fit": analysis.fit.get(name, {})}
        if name == "autoencoder":
            out.update({k: entry[k] for k in ("auroc", "average_precision")})
            out["at_budget"] = entry["at_budget"]
        else:
            out["baselines"][name] = entry
    best = max(out["baselines"], key=lambda k: out["baselines"][k]["auroc"])
    out["winner"] = "autoencoder" if out["auroc"] >= out["baselines"][best]["auroc"] else best
    return out


def curves(analysis: Analysis) -> dict:
    """ROC and precision-recall curves of every model on the held-out rows (labelled analyses only)."""
    held = analysis.eval_rows
    return {name: roc_points(scores[held], analysis.labels[held])
            for name, scores in (("autoencoder", analysis.scores), *analysis.baselines.items())}
