"""Drawings and plain-words summaries for Anomalies in a table: numbers in, PIL images, rows and cards out.

Nothing here computes a metric; :mod:`engine.autoencoder.tabular` does, and passes the numbers in.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from engine.core.draw import KeyFigure, KeyFigures, figure_to_pil, new_figure

NAMES = {"autoencoder": "Autoencoder", "isolation_forest": "Isolation Forest", "pca": "PCA reconstruction"}
COLOURS = {"autoencoder": "#2563eb", "isolation_forest": "#ea580c", "pca": "#16a34a"}
FLAGGED, NORMAL, ANOMALY = "#dc2626", "#94a3b8", "#111827"


def histogram(scores: np.ndarray, threshold: float, flagged: int, eval_rows: np.ndarray | None = None,
              labels: np.ndarray | None = None) -> Image.Image:
    """Scores on a log axis (counts log-scaled too: a few flagged rows stay visible) and the threshold line.

    With labels, the held-out normal and anomalous rows are stacked in two colours.
    """
    figure = new_figure(7.6, 3.6)
    axes = figure.add_subplot()
    positive = np.maximum(np.asarray(scores, dtype=np.float64), 1e-6)
    bins = np.geomspace(positive.min(), positive.max() * 1.001 + 1e-9, 60)
    if labels is not None and eval_rows is not None:
        held, truth = positive[eval_rows], labels[eval_rows]
        axes.hist([held[~truth], held[truth]], bins=bins, stacked=True, color=[NORMAL, ANOMALY],
                  label=["held-out normal rows", "held-out anomalies (label)"])
    else:
        axes.hist(positive, bins=bins, color=NORMAL, label="rows")
    axes.axvline(threshold, color=FLAGGED, lw=2.5, label=f"threshold {threshold:.3g}: {flagged:,} rows flagged")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set(xlabel="anomaly score (reconstruction error; higher = odder)", ylabel="rows")
    axes.legend(loc="upper right", fontsize=12)
    axes.grid(alpha=0.25, which="major")
    figure.tight_layout()
    return figure_to_pil(figure)


def curves_plot(curves: dict) -> Image.Image:
    """ROC (left) and precision-recall (right) of every model; ``curves`` maps a name to tabular.roc_points."""
    figure = new_figure(9.6, 4.0)
    roc, pr = figure.subplots(1, 2)
    for name, curve in curves.items():
        colour = COLOURS.get(name)
        roc.plot(curve["fpr"], curve["tpr"], color=colour, lw=2, label=f"{NAMES.get(name, name)} {curve['auroc']:.3f}")
        pr.plot(curve["recall"], curve["precision"], color=colour, lw=2,
                label=f"{NAMES.get(name, name)} {curve['average_precision']:.3f}")
    roc.plot([0, 1], [0, 1], ":", color="grey")
    roc.set(xlabel="false-positive rate", ylabel="true-positive rate", xlim=(0, 1), ylim=(0, 1.01), title="ROC (AUROC)")
    pr.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.01), title="Precision-recall (AP)")
    roc.legend(loc="lower right", fontsize=11)
    pr.legend(loc="lower left", fontsize=11)
    figure.tight_layout()
    return figure_to_pil(figure)


def scatter(points: np.ndarray, flagged: np.ndarray, labels: np.ndarray | None = None, limit: int = 20000,
            seed: int = 0) -> Image.Image:
    """The rows in 2-D (the bottleneck's two main directions); flagged rows red, labelled anomalies ringed."""
    figure = new_figure(6.0, 4.6)
    axes = figure.add_subplot()
    rows = np.arange(len(points))
    if len(rows) > limit:  # a readable picture; every flagged row is kept
        rng = np.random.default_rng(seed)
        rows = np.union1d(rng.choice(rows, limit, replace=False), np.flatnonzero(flagged))
    shown, is_flagged = points[rows], flagged[rows]
    axes.scatter(*shown[~is_flagged].T, s=6, color=NORMAL, alpha=0.6, linewidths=0, label="not flagged")
    axes.scatter(*shown[is_flagged].T, s=28, color=FLAGGED, label="flagged")
    if labels is not None:
        truth = labels[rows]
        axes.scatter(*shown[truth].T, s=70, facecolors="none", edgecolors=ANOMALY, linewidths=1.2,
                     label="anomaly (label)")
    low, high = np.percentile(points, [0.5, 99.5], axis=0)
    pad = 0.15 * (high - low + 1e-9)
    axes.set_xlim(min(low[0] - pad[0], shown[is_flagged, 0].min(initial=low[0])),
                  max(high[0] + pad[0], shown[is_flagged, 0].max(initial=high[0])))
    axes.set_ylim(min(low[1] - pad[1], shown[is_flagged, 1].min(initial=low[1])),
                  max(high[1] + pad[1], shown[is_flagged, 1].max(initial=high[1])))
    axes.set(xlabel="bottleneck direction 1", ylabel="bottleneck direction 2")
    axes.legend(loc="best", fontsize=11)
    figure.tight_layout()
    return figure_to_pil(figure)


def top_rows_table(result: dict, columns: int = 3) -> tuple[list[str], list[list]]:
    """Headers and rows for the flagged-rows table: row, score, the columns that made it odd, then its values."""
    top = result.get("top_rows", [])
    value_names = list(top[0].get("values", {})) if top else []
    headers = ["row", "score", "why: biggest errors (share of the score)"]
    if top and "is_anomaly" in top[0]:
        headers.append("label")
    headers += value_names
    body = []
    for entry in top:
        errors = entry["per_column_error"]
        total = sum(errors.values()) or 1.0
        reasons = ", ".join(f"{name} {value / total:.0%}" for name, value in list(errors.items())[:columns])
        line = [entry["row"], round(entry["score"], 2), reasons]
        if "is_anomaly" in entry:
            line.append("anomaly" if entry["is_anomaly"] else "normal")
        line += [entry["values"].get(name) for name in value_names]
        body.append(line)
    return headers, body


def preparation_markdown(result: dict) -> str:
    """What was used and what was dropped, and why, as Markdown."""
    used = ", ".join(f"**{c['name']}** ({c['transform']})" for c in result["columns_used"])
    lines = [f"**Used {len(result['columns_used'])} columns:** {used}."]
    if result["dropped_columns"]:
        dropped = "; ".join(f"**{d['name']}**: {d['reason']}" for d in result["dropped_columns"])
        lines.append(f"**Dropped {len(result['dropped_columns'])}:** {dropped}.")
    if result.get("label_column"):
        lines.append(f"**Label column** {result['label_column']!r} (normal = {result['normal_value']!r}): never a feature; "
                     f"used only to split the rows and to measure.")
    lines += [f"- {note}" for note in result.get("notes", [])]
    return "\n\n".join(lines)


def winner_sentence(result: dict) -> str:
    """One plain sentence: which method ranks the held-out anomalies best (AUROC), and by how much."""
    if "baselines" not in result:
        return "No label column, so no method can be scored; name one (e.g. is_fraud) to compare with the baselines."
    ae = result["auroc"]
    best = max(result["baselines"], key=lambda k: result["baselines"][k]["auroc"])
    other = result["baselines"][best]["auroc"]
    if ae >= other:
        return (f"The autoencoder ranks the held-out anomalies best: AUROC {ae:.3f}, against {other:.3f} for "
                f"{NAMES[best]}.")
    why = {"isolation_forest": "isolation finds rows with extreme values directly, and reconstruction is not always "
                               "the best detector.",
           "pca": "when the columns follow straight-line patterns, a linear model rebuilds the normal rows as well as "
                  "a network does, with nothing to overfit."}[best]
    return f"{NAMES[best]} wins on this table: AUROC {other:.3f} against the autoencoder's {ae:.3f}; {why}"


def summary(result: dict) -> KeyFigures:
    """/ae_tabular's JSON as a card: how many rows were flagged, and (labelled) what they caught."""
    flagged, rows = int(result.get("flagged_count", len(result["flagged"]))), int(result["rows"])
    figures = [KeyFigure("Rows flagged", f"{flagged:,}", f"top {result['alert_percent']:g} % of {rows:,} rows"),
               KeyFigure("Threshold", f"{float(result['threshold']):.3g}", "anomaly score of the last flagged row")]
    training = result["training"]
    figures.append(KeyFigure("Autoencoder training", f"{training['seconds']:.1f} s",
                             f"{training['rows']:,} rows; loss {training['loss_first']:.3f} -> {training['loss_last']:.3f}"))
    if "baselines" not in result:
        top = result["top_rows"][0] if result["top_rows"] else None
        headline = f"{flagged:,} rows flagged out of {rows:,}."
        if top:
            column = next(iter(top["per_column_error"]), "")
            headline += f" The oddest is row {top['row']}, mostly because of {column}."
        return KeyFigures(headline=headline, figures=tuple(figures))
    budget = result["at_budget"]
    figures[:0] = [
        KeyFigure("Precision at budget", f"{budget['precision']:.0%}", f"{budget['caught']} of {budget['flagged']} flagged "
                  "held-out rows are anomalies", "good" if budget["precision"] >= 0.5 else ""),
        KeyFigure("Recall at budget", f"{budget['recall']:.0%}", f"of {result['evaluated_anomalies']} held-out anomalies"),
    ]
    for name in ("autoencoder", *result["baselines"]):
        entry = result if name == "autoencoder" else result["baselines"][name]
        figures.append(KeyFigure(f"AUROC: {NAMES[name]}", f"{entry['auroc']:.3f}", f"average precision {entry['average_precision']:.3f}",
                                 "good" if name == result["winner"] else ""))
    tone = "good" if result["winner"] == "autoencoder" else ""
    return KeyFigures(headline=winner_sentence(result), figures=tuple(figures), tone=tone)


def view(analysis, alert_percent: float, table=None) -> dict:
    """Everything the view shows for one alert budget: the JSON, the charts, the flagged rows, the notes."""
    from engine.autoencoder import tabular

    result = tabular.at_budget(analysis, alert_percent, table=table)
    flagged = np.zeros(len(analysis.scores), dtype=bool)
    flagged[result["flagged"]] = True
    labelled = analysis.labels is not None
    headers, rows = top_rows_table(result)
    return {
        "result": result,
        "histogram": histogram(analysis.scores, result["threshold"], int(flagged.sum()), analysis.eval_rows if labelled else None,
                               analysis.labels),
        "scatter": scatter(analysis.codes, flagged, analysis.labels),
        "curves": curves_plot(tabular.curves(analysis)) if labelled else None,
        "winner": winner_sentence(result),
        "headers": headers, "rows": rows,
        "preparation": preparation_markdown(result),
    }
