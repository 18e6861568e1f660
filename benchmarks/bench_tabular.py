"""Anomalies in a table: quality (AUROC of the autoencoder against Isolation Forest and PCA) and speed.

    python -m benchmarks.bench_tabular            # quality on 4 tables x 3 seeds, then speed (100,000 x 30)
    python -m benchmarks.bench_tabular --speed    # speed only
    python -m benchmarks.bench_tabular --quality  # quality only

Quality tables: the built-in card transactions (engine/autoencoder/tabular_example.py) and scikit-learn's bundled
real measurements used as novelty sets: breast cancer (benign = normal, a few malignant rows), 8x8 digits (one
class normal, a few rows of the others; every class in turn) and wine (class 0 normal, a few of classes 1 and 2).
Two settings per table, as in the app: "labelled" (every model fitted on the normal rows of a stratified
training half, AUROC on the held-out half) and "unlabelled" (every model fitted on all rows, anomalies
included, AUROC on all rows). Each model's fit is checked: the autoencoder's training loss must fall, PCA must
explain most of the variance. Speed: a 100,000 x 30 CSV read, prepared, trained, scored (with the baselines)
end to end, median of 3 runs, on one torch thread. Prints the load average: the machine may be busy.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time

import numpy as np

from engine.autoencoder import tabular
from engine.autoencoder.tabular_data import read_csv
from engine.autoencoder.tabular_example import card_transactions

SEEDS = (0, 1, 2)


def _csv(frame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def _novelty(features, target, normal, anomaly_share: float, seed: int):
    """All rows of the ``normal`` classes plus ``anomaly_share`` (of the normal count) drawn from the others."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    normal_rows = np.flatnonzero(np.isin(target, normal))
    others = np.flatnonzero(~np.isin(target, normal))
    count = max(3, int(round(anomaly_share * len(normal_rows))))
    rows = np.concatenate([normal_rows, rng.choice(others, count, replace=False)])
    rows = rng.permutation(rows)
    frame = pd.DataFrame(features[rows], columns=[f"x{i}" for i in range(features.shape[1])])
    frame["label"] = np.where(np.isin(target[rows], normal), "normal", "anomaly")
    return frame


def tables(seed: int):
    """(name, DataFrame with a 'label' column: 'normal' / 'anomaly') for one seed."""
    from sklearn import datasets

    cards = card_transactions(seed=seed)
    cards["label"] = np.where(cards.pop("is_fraud") == 1, "anomaly", "normal")
    yield "card transactions (built-in)", cards
    cancer = datasets.load_breast_cancer()
    yield "breast cancer (benign normal, 3% malignant)", _novelty(cancer.data, cancer.target, [1], 0.03, seed)
    wine = datasets.load_wine()
    yield "wine (class 0 normal, 10% others)", _novelty(wine.data, wine.target, [0], 0.10, seed)
    digits = datasets.load_digits()
    for digit in range(10):
        yield f"digits (class {digit} normal, 5% others)", _novelty(digits.data, digits.target, [digit], 0.05, seed)


def unlabelled(table, seed: int) -> dict:
    """Every model fitted on all rows (the label hidden); AUROC on all rows."""
    labels = (table["label"] == "anomaly").to_numpy()
    features = table.drop(columns=["label"])
    analysis = tabular.analyse(features, "", "", seed)
    matrix = analysis.prepared.matrix
    scores = {"autoencoder": analysis.scores,
              "isolation_forest": tabular.isolation_forest_scores(matrix, matrix, seed)[0],
              "pca": tabular.pca_scores(matrix, matrix)[0]}
    return {name: tabular.roc_points(s, labels)["auroc"] for name, s in scores.items()}, analysis


def labelled(table, seed: int) -> dict:
    analysis = tabular.analyse(table, "label", "normal", seed)
    result = tabular.at_budget(analysis, 1.0)
    out = {"autoencoder": result["auroc"]}
    out.update({name: entry["auroc"] for name, entry in result["baselines"].items()})
    return out, analysis


def quality(seeds=SEEDS) -> None:
    rows = {}
    fitted = []
    for seed in seeds:
        for name, table in tables(seed):
            key = "digits (each class normal in turn, 5% others)" if name.startswith("digits") else name
            for setting, run in (("labelled", labelled), ("unlabelled", unlabelled)):
                aurocs, analysis = run(table.copy(), seed)
                rows.setdefault((key, setting), []).append(aurocs)
                fit = analysis.fit["autoencoder"]
                fitted.append((f"{name}, {setting}, seed {seed}: autoencoder loss {fit['loss_first']:.3f} -> "
                               f"{fit['loss_last']:.3f}", fit["loss_last"] < 0.6 * fit["loss_first"]))
                if "pca" in analysis.fit:
                    variance = analysis.fit["pca"]["explained_variance"]
                    fitted.append((f"{name}, seed {seed}: PCA explains {variance:.1%}", variance >= tabular.PCA_VARIANCE - 1e-6))
    print(f"AUROC, mean over seeds {seeds} (digits: also over the 10 classes); load average {os.getloadavg()}")
    print(f"{'table':52s} {'setting':10s} {'AE':>6s} {'IForest':>8s} {'PCA':>6s} {'AE-IF':>7s}")
    for (key, setting), runs in rows.items():
        mean = {name: float(np.mean([r[name] for r in runs])) for name in runs[0]}
        gap = mean["autoencoder"] - mean["isolation_forest"]
        print(f"{key:52s} {setting:10s} {mean['autoencoder']:6.3f} {mean['isolation_forest']:8.3f} {mean['pca']:6.3f} "
              f"{gap:+7.3f}{'' if gap >= -0.03 else '  (Isolation Forest better by more than 0.03)'}")
    passed = sum(ok for _, ok in fitted)
    print(f"fit checks (autoencoder training loss fell by 40% or more; PCA explains {tabular.PCA_VARIANCE:.0%} of the "
          f"variance): {passed} of {len(fitted)} passed")
    for what, ok in fitted:
        if not ok:
            print(f"  not passed: {what}")


def speed_table(rows: int = 100_000, seed: int = 0) -> bytes:
    """rows x 30 columns: 24 correlated numeric, 4 categorical, an ID and a label (1% anomalies)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, 6))
    numeric = latent @ rng.normal(size=(6, 24)) + 0.3 * rng.normal(size=(rows, 24))
    anomalies = rng.random(rows) < 0.01
    numeric[anomalies] += rng.normal(0, 4, size=(anomalies.sum(), 24))
    frame = pd.DataFrame(np.round(numeric, 4), columns=[f"m{i}" for i in range(24)])
    for i in range(4):
        frame[f"c{i}"] = np.array(list("abcdef"))[rng.integers(0, 6, rows)]
    frame.insert(0, "id", np.arange(rows))
    frame["label"] = anomalies.astype(int)
    return _csv(frame)


def speed(repeats: int = 3) -> None:
    raw = speed_table()
    tabular.analyse(read_csv(speed_table(2000)), "label", "", 0)  # warm-up: torch's and scikit-learn's first-use imports
    times = {"with label (AE + both baselines)": [], "without label (AE only)": []}
    for _ in range(repeats):
        for name in times:  # alternating
            started = time.perf_counter()
            table = read_csv(raw)
            label = "label" if name.startswith("with") else ""
            analysis = tabular.analyse(table if label else table.drop(columns=["label"]), label, "", 0)
            tabular.at_budget(analysis, 1.0, table=table)
            times[name].append(time.perf_counter() - started)
    print(f"speed: 100,000 rows x 30 columns ({len(raw) / 2**20:.1f} MB CSV), read + prepare + train + score, "
          f"median of {repeats}; load average {os.getloadavg()}")
    for name, values in times.items():
        print(f"  {name:34s} {statistics.median(values):6.2f} s  (runs: {', '.join(f'{v:.2f}' for v in values)})")


def main() -> None:
    import torch

    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="how many seeds (0, 1, ...)")
    args = parser.parse_args()
    if args.quality or not args.speed:
        quality(tuple(range(args.seeds)))
    if args.speed or not args.quality:
        speed()


if __name__ == "__main__":
    main()
