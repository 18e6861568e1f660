"""Transfer-learning quality bar: what pre-training buys, measured against from-scratch in the same run.

    .venv/bin/python benchmarks/bench_transfer.py [--threads 2] [--seeds 3] [--skip-images] [--skip-upload]

1. Text: 3 topics (sports / food / technology), 20 training sentences per class, the rest held
   out. Frozen MiniLM + linear head vs the same BERT architecture from random init (and the two
   fine-tuning strategies). Training never looks at the held-out sentences: no early stopping,
   the last epoch's weights are evaluated. Feature extraction time is reported separately.
2. Images: every strategy on scikit-image textures and lfw_subset, with NeuroDeck's pre-trained
   CNN, in a low-data regime (few labelled images per class) and with the default 75/25 split.
3. Upload: a 500-image .zip (5 classes of JPEG crops) -> validated -> features -> trained linear probe.

Figures are printed as markdown tables; ratios compare against from-scratch measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import zipfile
from pathlib import Path


import numpy as np
import torch

from engine.transfer.backbones import load_backbone, prepare_inputs
from engine.transfer.data import _finish, load_builtin, load_image_zip
from engine.transfer.splits import stratified_split
from engine.transfer.train import TrainConfig, train_transfer

TEXT_CLASSES = ("sports", "food", "technology")
TEXT_TRAIN_PER_CLASS = 20


def few_shot_split(labels: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train, held_out = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        train.extend(members[:per_class])
        held_out.extend(members[per_class:])
    return np.sort(np.array(train)), np.sort(np.array(held_out))


def text_subset():
    full = load_builtin("text-topics")
    keep = [i for i, label in enumerate(full.labels) if full.class_names[label] in TEXT_CLASSES]
    return _finish("text", [full.items[i] for i in keep], [full.item_names[i] for i in keep],
                   [full.class_names[full.labels[i]] for i in keep], [], [], "NeuroDeck topics (3 classes)")


def bench_text(seeds: int) -> dict:
    dataset = text_subset()
    backbone = load_backbone("minilm", "text")
    settings = {
        "feature_extraction": TrainConfig(strategy="feature_extraction", epochs=60, patience=0, keep_best=False, dropout=0.0),
        "fine_tune_last_n": TrainConfig(strategy="fine_tune_last_n", unfreeze_blocks=2, epochs=10, patience=0, keep_best=False),
        "full_fine_tune": TrainConfig(strategy="full_fine_tune", epochs=10, patience=0, keep_best=False),
        "from_scratch": TrainConfig(strategy="from_scratch", epochs=30, patience=0, keep_best=False),
    }
    rows: dict[str, list] = {name: [] for name in settings}
    inputs = prepare_inputs(backbone, dataset.items)
    for seed in range(seeds):
        split = few_shot_split(dataset.labels, TEXT_TRAIN_PER_CLASS, seed)
        cache: dict = {}
        for name, config in settings.items():
            result = train_transfer(dataset, backbone, TrainConfig(**{**config.__dict__, "seed": seed}), split=split,
                                    inputs=inputs, feature_cache=cache)
            rows[name].append((result.metrics.accuracy, result.metrics.macro_f1, result.train_seconds, result.feature_seconds))
            print(f"  text seed {seed} {name}: acc {result.metrics.accuracy:.3f} train {result.train_seconds:.2f}s "
                  f"features {result.feature_seconds:.2f}s", flush=True)
    held_out = len(dataset) - TEXT_TRAIN_PER_CLASS * len(TEXT_CLASSES)
    print(f"\n### Text: 3 classes, {TEXT_TRAIN_PER_CLASS} train/class, {held_out} held-out sentences, {seeds} seeds\n")
    print("| strategy | held-out accuracy (mean ± std) | macro-F1 | train s (mean) | feature extraction s |")
    print("|---|---|---|---|---|")
    summary = {}
    for name, values in rows.items():
        array = np.array(values)
        summary[name] = {"accuracy": array[:, 0].mean(), "accuracy_std": array[:, 0].std(), "macro_f1": array[:, 1].mean(),
                         "train_seconds": array[:, 2].mean(), "feature_seconds": array[:, 3].max()}
        s = summary[name]
        print(f"| {name} | {s['accuracy']:.1%} ± {s['accuracy_std']:.1%} | {s['macro_f1']:.3f} | {s['train_seconds']:.2f} | "
              f"{s['feature_seconds']:.2f} |")
    gap = summary["feature_extraction"]["accuracy"] - summary["from_scratch"]["accuracy"]
    print(f"\nFrozen MiniLM + head vs from scratch: {gap * 100:+.1f} points "
          f"(bar: >= 85% and >= +20 points; head training {summary['feature_extraction']['train_seconds']:.2f}s, bar <= 5 s; "
          f"{summary['from_scratch']['train_seconds'] / max(summary['feature_extraction']['train_seconds'], 1e-9):.0f}x "
          "faster than from-scratch training)")
    return summary


def bench_images(seeds: int) -> dict:
    backbone = load_backbone("neurodeck-cnn", "image")
    strategies = ("feature_extraction", "fine_tune_last_n", "full_fine_tune", "from_scratch")
    summary = {}
    for dataset_name, few in (("textures", 4), ("lfw-faces", 5)):
        dataset = load_builtin(dataset_name)
        inputs = prepare_inputs(backbone, dataset.items)
        for regime in (f"{few} train/class", "75/25 split"):
            rows = {s: [] for s in strategies}
            for seed in range(seeds):
                if regime.endswith("split"):
                    split = stratified_split(dataset.labels, 0.25, seed)
                else:
                    split = few_shot_split(dataset.labels, few, seed)
                cache: dict = {}
                # Same optimiser budget for every strategy (>= 120 steps), so few-shot runs are not starved.
                epochs = max(15, int(np.ceil(120 / np.ceil(len(split[0]) / 16))))
                for strategy in strategies:
                    config = TrainConfig(strategy=strategy, epochs=epochs, patience=0, keep_best=False, seed=seed,
                                         batch_size=16, validate_every=epochs)  # val is only reported
                    result = train_transfer(dataset, backbone, config, split=split, inputs=inputs, feature_cache=cache)
                    rows[strategy].append((result.metrics.accuracy, result.train_seconds + result.feature_seconds,
                                           result.train_accuracy - result.metrics.accuracy))
            print(f"\n### {dataset.name}: {regime} ({len(split[1])} evaluated, {epochs} epochs), NeuroDeck CNN, {seeds} seeds\n")
            print("| strategy | accuracy (mean ± std) | wall-clock s | train−val gap |")
            print("|---|---|---|---|")
            for strategy, values in rows.items():
                array = np.array(values)
                summary[f"{dataset_name} {regime} {strategy}"] = array.mean(0).tolist()
                print(f"| {strategy} | {array[:, 0].mean():.1%} ± {array[:, 0].std():.1%} | {array[:, 1].mean():.2f} | "
                      f"{array[:, 2].mean():+.1%} |", flush=True)
    return summary


def make_upload_zip(path: Path, count: int = 500) -> None:
    """500 JPEG crops (160x160) of five packaged photos, one class folder per photo."""
    import skimage.data
    from PIL import Image

    rng = np.random.default_rng(0)
    photos = {"astronaut": skimage.data.astronaut(), "coffee": skimage.data.coffee(), "chelsea": skimage.data.chelsea(),
              "rocket": skimage.data.rocket(), "hubble": skimage.data.hubble_deep_field()}
    with zipfile.ZipFile(path, "w") as archive:
        for number in range(count):
            name = list(photos)[number % len(photos)]
            photo = photos[name]
            top, left = rng.integers(0, photo.shape[0] - 160), rng.integers(0, photo.shape[1] - 160)
            buffer = io.BytesIO()
            Image.fromarray(photo[top : top + 160, left : left + 160]).save(buffer, format="JPEG", quality=90)
            archive.writestr(f"photos/{name}/{number:04d}.jpg", buffer.getvalue())


def bench_upload() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "upload.zip"
        make_upload_zip(archive)
        size_mb = archive.stat().st_size / 2**20
        started = time.perf_counter()
        dataset = load_image_zip(archive)
        loaded = time.perf_counter()
        backbone = load_backbone("neurodeck-cnn", "image")
        result = train_transfer(dataset, backbone, TrainConfig(strategy="feature_extraction", epochs=30))
        total = time.perf_counter() - started
    figures = {"images": len(dataset), "zip_mb": round(size_mb, 1), "validate_decode_s": round(loaded - started, 2),
               "feature_s": round(result.feature_seconds, 2), "head_s": round(result.train_seconds, 2),
               "total_s": round(total, 2), "val_accuracy": round(result.metrics.accuracy, 4)}
    print(f"\n### 500-image upload -> trained linear probe\n\n{json.dumps(figures)}\n"
          f"Total {total:.1f} s vs the 60 s bar ({total / 60:.2f} of the budget).")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-text", action="store_true")
    parser.add_argument("--skip-images", action="store_true")
    parser.add_argument("--skip-upload", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads: {args.threads}")
    if not args.skip_text:
        bench_text(args.seeds)
    if not args.skip_images:
        bench_images(args.seeds)
    if not args.skip_upload:
        bench_upload()


if __name__ == "__main__":
    main()
