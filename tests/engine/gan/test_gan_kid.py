"""KID beside FID: unbiased (about 0 for two samples of one real set), clearly above 0 for noise; every
distance carries its sample counts; measure_quality reports progress."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.core.datasets import digits_split, upscale_digits
from engine.gan import inference as inf
from engine.gan import render
from engine.gan.judge import kernel_distance, predict


SCALE = {}


@pytest.fixture(scope="module")
def real_features() -> np.ndarray:
    """The judge's features of the real training digits, divided by their RMS value (as evaluate_generator does)."""
    torch.set_num_threads(1)
    _, features = predict(inf.load_judge(), upscale_digits(digits_split().train_images, 32))
    SCALE["rms"] = float(np.sqrt((features.astype(np.float64) ** 2).mean()))
    return features / SCALE["rms"]


def test_kid_is_about_zero_for_two_samples_of_one_real_set(real_features):
    order = np.random.default_rng(0).permutation(len(real_features))
    for size in (200, 700):
        kid, std = kernel_distance(real_features[order[:size]], real_features[order[-size:]], subsets=50)
        assert std > 0 and abs(kid) <= 3 * std, (size, kid, std)


def test_kid_is_clearly_above_zero_for_noise(real_features):
    _, noise = predict(inf.load_judge(), torch.rand(300, 1, 32, 32, generator=torch.Generator().manual_seed(0)))
    kid, std = kernel_distance(real_features[:300], noise / SCALE["rms"], subsets=50)
    assert kid > 10 * std and kid > 0.5, (kid, std)


def test_kid_is_seeded_and_checks_the_subset_size(real_features):
    a, b = real_features[:100], real_features[100:250]
    assert kernel_distance(a, b, 20, seed=1) == kernel_distance(a, b, 20, seed=1)
    with pytest.raises(ValueError):
        kernel_distance(a, b, 20, subset_size=101)


def test_measure_quality_reports_rising_progress_and_its_sample_counts():
    calls = []
    quality = inf.measure_quality(samples=40, seed=3, on_progress=lambda done, total: calls.append((done, total)))
    dones, totals = [d for d, _ in calls], {t for _, t in calls}
    assert len(totals) == 1 and dones == list(range(1, len(calls) + 1)) and dones[-1] == totals.pop()
    figures = quality.as_dict()
    assert (figures["n_generated"], figures["n_heldout"], figures["n_real_train"]) == (40, 360, 1437)
    for key in ("kid_generated_vs_heldout", "kid_generated_vs_heldout_std", "kid_real_train_vs_heldout",
                "fid_real_same_n_vs_heldout"):
        assert np.isfinite(figures[key]), key


def test_quality_card_puts_n_beside_every_distance_and_explains_the_bias():
    figures = {"samples": 200, "judge_test_accuracy": 1.0, "agreement": 0.95, "classes_produced": 10,
               "min_diversity_ratio": 0.9, "fid_generated_vs_heldout": 73.1, "fid_real_train_vs_heldout": 21.75,
               "fid_real_same_n_vs_heldout": 68.1, "n_generated": 200, "n_heldout": 360, "n_real_train": 1437,
               "kid_generated_vs_heldout": -0.01, "kid_generated_vs_heldout_std": 0.02,
               "kid_real_train_vs_heldout": -0.01, "kid_real_train_vs_heldout_std": 0.02, "kid_subsets": 100,
               "passes_bar": True}
    card = render.quality_summary(figures)
    fid = next(f for f in card.figures if f.label.startswith("Fréchet"))
    assert "n = 200" in fid.label and "200 generated vs 360 held-out" in fid.note and "68.10" in fid.note
    kid = next(f for f in card.figures if f.label.startswith("Kernel"))
    assert "n = 200" in kid.label and "±" in kid.value
    assert "FID shrinks as the number of samples n grows" in card.headline and "KID is unbiased" in card.headline
    record = {"quality": {**figures, "samples": 1000, "n_generated": 1000}, "train_seconds": 1.0,
              "sample_size_check": {"200": {"n_generated": 200, "n_heldout": 360, "fid_generated_vs_heldout": 73.1,
                                            "kid_generated_vs_heldout": -0.01, "kid_generated_vs_heldout_std": 0.02}}}
    table = render.quality_table_markdown(record)
    assert "| 1,000 vs 360 |" in table and "| 1,437 vs 360 |" in table and "n = 200: FID 73.1" in table
