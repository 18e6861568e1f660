"""The committed GAN generator and judge meet the quality bar (on a smaller sample than the benchmark)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.gan import inference as inf
from engine.core.registry import SOURCES, local_path, sha256_of, verified_path


@pytest.fixture(scope="module")
def quality():
    torch.set_num_threads(1)
    return inf.measure_quality(samples=300, seed=777)


def test_committed_assets_match_their_checksums():
    # Every local model pins its digest, and the files on disk have exactly that digest.
    for source in SOURCES.values():
        if source.kind == "hub":
            continue
        assert source.sha256 is not None, f"{source.name} has no pinned sha256"
        folder = local_path(source)
        assert sha256_of(folder / source.weights_file) == source.sha256, source.name
        for name, expected in source.extra_files:
            assert sha256_of(folder / name) == expected, f"{source.name}: {name}"
        assert verified_path(source) == folder


def test_judge_is_accurate_on_held_out_real_digits(quality):
    assert quality.judge_test_accuracy >= 0.97


def test_generator_meets_the_bar_on_300_samples(quality):
    assert quality.agreement >= 0.9, quality.as_dict()
    assert quality.classes_produced == 10
    assert quality.min_diversity_ratio >= 0.5, quality.diversity_ratio
    assert quality.fid_generated > quality.fid_real_train > 0  # the floor is below what a GAN reaches


def test_committed_figures_are_recorded_and_pass():
    recorded = inf.committed_quality()["quality"]
    assert recorded["samples"] == 1000 and recorded["passes_bar"] is True
    assert recorded["agreement"] >= 0.9 and recorded["classes_produced"] == 10


def test_embedded_generator_is_deterministic():
    generator = inf.load_generator()
    a = inf.generate(generator, 42, "random", 64, 0.8)
    b = inf.generate(generator, 42, "random", 64, 0.8)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.shape == (64, 32, 32)


@pytest.mark.slow  # measures the generator twice (200 and 1,000 samples): 4 s of the fast tier
def test_fid_depends_on_the_sample_size_and_every_figure_carries_it():
    small, large = inf.measure_quality(samples=200), inf.measure_quality(samples=1000)
    small_d, large_d = small.as_dict(), large.as_dict()
    assert (small_d["n_generated"], large_d["n_generated"]) == (200, 1000)
    assert small_d["n_heldout"] == large_d["n_heldout"] == 360
    # The same generator: FID on fewer samples is biased upwards, and so is real digits' FID at that n.
    assert small.fid_generated > large.fid_generated + 5
    assert small.fid_real_same_n > large.fid_real_same_n
    # KID is unbiased: the two sample sizes agree within their spreads.
    assert abs(small.kid_generated - large.kid_generated) <= 2 * (small.kid_generated_std + large.kid_generated_std)


def test_committed_figures_carry_n_and_kid():
    record = inf.committed_quality()
    recorded = record["quality"]
    assert recorded["n_generated"] == 1000 and recorded["n_heldout"] == 360 and recorded["n_real_train"] == 1437
    assert abs(recorded["kid_real_train_vs_heldout"]) <= 3 * recorded["kid_real_train_vs_heldout_std"]
    check = record["sample_size_check"]
    assert {int(k) for k in check} == {200, 1000}
    assert check["200"]["fid_generated_vs_heldout"] > check["1000"]["fid_generated_vs_heldout"]
