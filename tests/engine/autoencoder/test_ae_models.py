"""The committed autoencoder models meet the tab's quality bars (on a smaller sample than the benchmark)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.autoencoder.anomaly import build_eval_set, eval_scores, load_anomaly_model, make_defect, score_image
from engine.autoencoder.denoise import best_blur, denoise
from engine.autoencoder.metrics import auroc, psnr, ssim
from engine.autoencoder.noise import gaussian
from engine.autoencoder.photos import HELDOUT_PHOTOS, TRAIN_PHOTOS, load_photo


def test_heldout_photos_are_not_training_photos():
    assert not set(HELDOUT_PHOTOS) & set(TRAIN_PHOTOS)
    assert len(HELDOUT_PHOTOS) >= 2 and "cat" not in TRAIN_PHOTOS  # skimage's cat is chelsea


@pytest.mark.parametrize("name", HELDOUT_PHOTOS)
def test_denoiser_quality_bar_on_heldout_crop(name):
    photo = np.asarray(load_photo(name))
    clean = photo[:256, :256]
    noisy = gaussian(clean, 0.1, seed=0)
    out = denoise(noisy)
    blurred, _ = best_blur(noisy, clean)
    assert out.shape == clean.shape and out.min() >= 0 and out.max() <= 1
    assert psnr(clean, out) - psnr(clean, noisy) >= 5.0
    assert psnr(clean, out) > psnr(clean, blurred)
    assert ssim(clean, out) > ssim(clean, blurred)


def test_denoiser_odd_and_tiny_sizes():
    for shape in [(1, 1, 3), (7, 13, 3), (101, 57, 3)]:
        image = np.random.default_rng(0).random(shape).astype(np.float32)
        assert denoise(image).shape == shape


def test_anomaly_auroc_bars_on_held_out_defects():
    scores = eval_scores()
    assert auroc(scores.heatmaps, scores.eval_set.masks) >= 0.90
    assert auroc(scores.image_scores, scores.eval_set.labels) >= 0.95
    # No false alarm on a held-out normal crop at the default threshold (it is set on calibration crops).
    _, calibration = load_anomaly_model()
    normal = ~scores.eval_set.labels
    assert (scores.image_scores[normal] < calibration.default_threshold).mean() >= 0.95


def test_validation_set_is_disjoint_from_the_evaluation_set():
    from engine.autoencoder.anomaly import build_validation_set

    validation, evaluation = build_validation_set(), build_eval_set()
    assert validation.images.shape == evaluation.images.shape
    flat_val = validation.images.reshape(len(validation.images), -1)
    flat_eval = evaluation.images.reshape(len(evaluation.images), -1)
    assert not any(np.array_equal(v, e) for v in flat_val[:8] for e in flat_eval)


def test_clean_patch_scores_lower_than_with_pasted_defect():
    _, calibration = load_anomaly_model()
    eval_set = build_eval_set()
    clean = eval_set.images[0]
    rng = np.random.default_rng(7)
    for kind in ("hole", "colour_blob", "scratch"):
        defective, mask = make_defect(clean, kind, rng)
        clean_result, defect_result = score_image(clean), score_image(defective)
        assert defect_result.score > clean_result.score
        assert defect_result.heatmap[mask].mean() > clean_result.heatmap[mask].mean()
    assert calibration.default_threshold > 0


def test_digits_latent16_beats_pca16_and_map_is_2d():
    from engine.autoencoder.latent import bottleneck_curve, decode_points, interpolate, latent_map

    curve = bottleneck_curve()
    assert sorted(curve) == [2, 4, 8, 16, 32]
    assert curve[16]["autoencoder_mse"] < curve[16]["pca_mse"]
    mses = [curve[s]["autoencoder_mse"] for s in sorted(curve)]
    assert mses[0] > mses[-1]  # a wider bottleneck reconstructs better
    lm = latent_map()
    assert lm.points.shape == (len(lm.labels), 2)
    digits = decode_points(lm.points[:3])
    assert digits.shape == (3, 8, 8) and digits.min() >= 0 and digits.max() <= 1
    path, decoded = interpolate(0, 1, 6)
    np.testing.assert_allclose(path[0], lm.points[0], atol=1e-6)
    np.testing.assert_allclose(path[-1], lm.points[1], atol=1e-6)
    assert decoded.shape == (6, 8, 8)
