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
