"""Autoencoder tab engine: noise, metrics, models, defects, rendering, hub loading (tiny or untrained models)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from engine.autoencoder import noise as ae_noise
from engine.autoencoder.anomaly import DEFECT_KINDS, build_eval_set, make_defect, raw_error_map
from engine.autoencoder.metrics import auroc, psnr, roc_curve, ssim, threshold_metrics
from engine.autoencoder.models import DenoisingAutoencoder, DigitsAutoencoder, TextureAutoencoder, pad_to_multiple
from engine.autoencoder.render import heatmap_overlay, latent_channels_grid, map_frame, mask_overlay

GREY = np.full((200, 200, 3), 0.5, dtype=np.float32)


# ------------------------------------------------------------------ noise

def test_gaussian_noise_statistics_and_seed():
    noisy = ae_noise.gaussian(GREY, 0.1, seed=3)
    residual = noisy - GREY
    assert abs(residual.std() - 0.1) < 0.005
    assert abs(residual.mean()) < 0.005
    assert np.array_equal(noisy, ae_noise.gaussian(GREY, 0.1, seed=3))
    assert not np.array_equal(noisy, ae_noise.gaussian(GREY, 0.1, seed=4))


def test_salt_pepper_fraction_and_values():
    noisy = ae_noise.salt_pepper(GREY, 0.2, seed=0)
    changed = np.any(noisy != 0.5, axis=-1)
    assert abs(changed.mean() - 0.2) < 0.01
    salt = np.all(noisy == 1.0, axis=-1).sum()
    pepper = np.all(noisy == 0.0, axis=-1).sum()
    assert salt + pepper == changed.sum()
    assert abs(salt / changed.sum() - 0.5) < 0.05


def test_speckle_scales_with_brightness():
    image = np.concatenate([np.full((100, 200, 3), 0.2), np.full((100, 200, 3), 0.6)]).astype(np.float32)
    noisy = ae_noise.speckle(image, 0.3, seed=1)
    dark_std, bright_std = (noisy - image)[:100].std(), (noisy - image)[100:].std()
    assert abs(dark_std - 0.06) < 0.006 and abs(bright_std - 0.18) < 0.015


def test_masking_blacks_out_whole_blocks():
    noisy = ae_noise.masking(GREY, 0.3, seed=2)
    black = np.all(noisy == 0, axis=-1)
    assert abs(black.mean() - 0.3) < 0.06
    tiles = black[:192, :192].reshape(24, 8, 24, 8)
    assert np.all(tiles.all(axis=(1, 3)) == tiles.any(axis=(1, 3)))  # every block all-or-nothing


@pytest.mark.parametrize("kind", ae_noise.NOISE_KINDS)
def test_noise_shape_range_dtype(kind):
    rng = np.random.default_rng(0)
    image = rng.random((17, 23, 3)).astype(np.float32)
    out = ae_noise.apply_noise(image, kind, ae_noise.NOISE_LEVELS[kind][2], seed=0)
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1


def test_noise_rejects_bad_kind_and_level():
    with pytest.raises(ValueError, match="Unknown noise"):
        ae_noise.apply_noise(GREY, "blur", 0.1)
    with pytest.raises(ValueError, match="between 0.0 and 0.5"):
        ae_noise.apply_noise(GREY, "gaussian", 3.0)


# ------------------------------------------------------------------ metrics

def test_psnr_ssim_match_skimage():
    rng = np.random.default_rng(0)
    clean = rng.random((40, 50, 3)).astype(np.float32)
    noisy = ae_noise.gaussian(clean, 0.1, seed=1)
    assert psnr(clean, noisy) == pytest.approx(peak_signal_noise_ratio(clean.astype(np.float64), noisy.astype(np.float64), data_range=1.0))
    expected = structural_similarity(clean.astype(np.float64), noisy.astype(np.float64), data_range=1.0, channel_axis=-1)
    assert ssim(clean, noisy) == pytest.approx(expected, abs=1e-5)
    assert psnr(clean, clean) == float("inf")
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim(clean[:3, :3], noisy[:3, :3])


def test_roc_and_auroc_match_sklearn_with_ties():
    rng = np.random.default_rng(1)
    labels = rng.random(500) < 0.3
    scores = np.round(rng.normal(labels * 1.0, 1.0), 1)  # rounding creates ties
    assert auroc(scores, labels) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    fpr, tpr, thresholds = roc_curve(scores, labels)
    sk_fpr, sk_tpr, _ = sk_roc_curve(labels, scores, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr)
    np.testing.assert_allclose(tpr, sk_tpr)
    assert thresholds[0] == np.inf
    with pytest.raises(ValueError, match="both positive and negative"):
        auroc(scores, np.ones_like(labels))


def test_threshold_metrics_match_sklearn():
    rng = np.random.default_rng(2)
    labels = rng.random(300) < 0.4
    scores = rng.normal(labels * 1.5, 1.0)
    for threshold in (-1.0, 0.3, 0.75, 2.0):
        ours = threshold_metrics(scores, labels, threshold)
        p, r, f, _ = precision_recall_fscore_support(labels, scores >= threshold, average="binary", zero_division=0)
        assert (ours.precision, ours.recall, ours.f1) == pytest.approx((p, r, f))
    nothing = threshold_metrics(scores, labels, 1e9)
    assert nothing.precision == 0 and nothing.f1 == 0 and nothing.predicted_positive == 0


# ------------------------------------------------------------------ models

@pytest.mark.parametrize("size", [(1, 1), (5, 9), (37, 53), (64, 64)])
def test_conv_autoencoders_any_size(size):
    torch.manual_seed(0)
    for model in (DenoisingAutoencoder(8, 16, 1), TextureAutoencoder(8, 4)):
        x = torch.rand(2, 3, *size)
        with torch.no_grad():
            y = model.eval()(x)
        assert y.shape == x.shape
        assert torch.isfinite(y).all()


def test_denoiser_bottleneck_is_quarter_resolution():
    model = DenoisingAutoencoder(8, 16, 1)
    code = model.encode(torch.rand(1, 3, 64, 96))
    assert code.shape == (1, 16, 16, 24)


def test_pad_to_multiple_crops_back():
    x = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).reshape(2, 3, 5, 7)
    padded, (h, w) = pad_to_multiple(x, 4)
    assert padded.shape[-2:] == (8, 8) and (h, w) == (5, 7)
    assert torch.equal(padded[..., :h, :w], x)


def test_digits_autoencoder_shapes_and_save_load(tmp_path):
    torch.manual_seed(0)
    model = DigitsAutoencoder(latent_dim=4, hidden=32).eval()
    x = torch.rand(10, 64)
    assert model.encode(x).shape == (10, 4)
    out = model(x)
    assert out.shape == (10, 64) and out.min() >= 0 and out.max() <= 1
    model.save_pretrained(tmp_path / "m", safe_serialization=True)
    loaded = DigitsAutoencoder.from_pretrained(tmp_path / "m", use_safetensors=True).eval()
    assert loaded.config.latent_dim == 4
    assert torch.allclose(loaded(x), out)


# ------------------------------------------------------------------ defects and scoring

@pytest.mark.parametrize("kind", DEFECT_KINDS)
def test_each_defect_changes_pixels_inside_its_mask(kind):
    clean = np.repeat(np.random.default_rng(0).random((128, 128, 1)).astype(np.float32) * 0.3 + 0.35, 3, axis=-1)
    defective, mask = make_defect(clean, kind, np.random.default_rng(5))
    assert defective.shape == clean.shape and mask.shape == clean.shape[:2] and mask.dtype == bool
    assert 0.002 < mask.mean() < 0.25
    change = np.abs(defective - clean).mean(axis=-1)
    assert change[mask].mean() > 5 * max(change[~mask].mean(), 1e-3)


def test_eval_set_is_balanced_and_deterministic():
    eval_set = build_eval_set()
    assert eval_set.images.shape == (96, 128, 128, 3)
    assert eval_set.labels.sum() == 48
    assert not eval_set.masks[~eval_set.labels].any()
    assert all(eval_set.masks[i].any() for i in np.nonzero(eval_set.labels)[0])
    assert set(eval_set.kinds) == {"normal", *DEFECT_KINDS}


def test_error_map_is_higher_on_the_defect():
    clean = np.full((64, 64, 3), 0.5, dtype=np.float32)
    defective, mask = make_defect(clean, "hole", np.random.default_rng(0))
    error = raw_error_map(defective, clean)  # a perfect "reconstruction" of the normal image
    assert error[mask].mean() > 10 * error[~mask].mean()
    assert error.shape == (64, 64) and error.min() >= 0


# ------------------------------------------------------------------ rendering

def test_overlays_keep_size():
    image = np.random.default_rng(0).random((30, 40, 3)).astype(np.float32)
    heat = np.zeros((30, 40), np.float32)
    heat[10:20, 10:20] = 2
    assert heatmap_overlay(image, heat, vmax=1).size == (40, 30)
    assert mask_overlay(image, heat > 1, heat > 1).size == (40, 30)
    assert latent_channels_grid(np.random.rand(4, 8, 8), tile=16).size == (4 * 16 + 3 * 2, 16)


def test_map_frame_maps_corners():
    frame = map_frame((-2.0, 6.0), (1.0, 3.0))
    assert frame.to_data(frame.left, frame.bottom) == pytest.approx((-2.0, 1.0))
    assert frame.to_data(frame.right, frame.top) == pytest.approx((6.0, 3.0))
    assert frame.to_data(-100, -100) == pytest.approx((-2.0, 3.0))  # clipped to the axes


# ------------------------------------------------------------------ hub

def test_hub_autoencoder_tiny_local_folder(tmp_path):
    from diffusers import AutoencoderTiny

    from engine.autoencoder.hub import hub_roundtrip

    torch.manual_seed(0)
    tiny = AutoencoderTiny(
        encoder_block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
        num_encoder_blocks=(1, 1, 1, 1), num_decoder_blocks=(1, 1, 1, 1),
    )
    tiny.save_pretrained(tmp_path / "taesd-tiny", safe_serialization=True)
    image = np.random.default_rng(0).random((70, 90, 3)).astype(np.float32)
    result = hub_roundtrip(image, str(tmp_path / "taesd-tiny"))
    assert result.model_class == "AutoencoderTiny"
    assert result.image.shape == (64, 88, 3)  # cut down to a multiple of 8
    assert result.reconstruction.shape == result.image.shape
    assert result.latents.shape == (4, 8, 11)  # x8 downsampling, 4 channels
    assert 0 <= result.reconstruction.min() and result.reconstruction.max() <= 1


def test_hub_id_offline_fails_clearly():
    from engine.autoencoder.hub import hub_roundtrip

    with pytest.raises(ValueError, match="offline|could not be reached"):
        hub_roundtrip(np.zeros((16, 16, 3), np.float32), "madebyollin/taesd")
    with pytest.raises(ValueError, match="not a valid"):
        hub_roundtrip(np.zeros((16, 16, 3), np.float32), "../etc/passwd")


def test_blur_table_covers_every_noise_and_picks_the_nearest_level():
    from engine.autoencoder.denoise import BLUR_SIGMAS, BLUR_TABLE, table_sigma
    from engine.autoencoder.noise import NOISE_KINDS

    assert set(BLUR_TABLE) == set(NOISE_KINDS)
    assert all(sigma in BLUR_SIGMAS for pairs in BLUR_TABLE.values() for _, sigma in pairs)
    assert table_sigma("gaussian", 0.11) == 1.0 and table_sigma("gaussian", 0.19) == 2.0
    assert table_sigma("masking", 0.0) == 0.5


def test_line_map_prefers_a_thin_line_to_the_same_pixels_scattered():
    from engine.autoencoder.anomaly import line_error_map, top_k_mean

    clean = np.full((64, 64, 3), 0.5, dtype=np.float32)
    line = clean.copy()
    line[32, 10:54] = 1.0  # a 1-pixel scratch, 44 pixels long
    scattered = clean.copy()
    rng = np.random.default_rng(0)
    scattered[rng.integers(0, 64, 44), rng.integers(0, 64, 44)] = 1.0
    line_map, scattered_map = line_error_map(line, clean), line_error_map(scattered, clean)
    assert line_map.shape == (64, 64) and line_map.min() >= 0
    assert top_k_mean(line_map, 20) > 3 * top_k_mean(scattered_map, 20)
    assert top_k_mean(np.arange(10.0).reshape(2, 5), 3) == pytest.approx(8.0)


def test_ssim_many_matches_skimage():
    from skimage.metrics import structural_similarity

    from engine.autoencoder.metrics import ssim_many

    rng = np.random.default_rng(1)
    reference = rng.random((40, 33, 3)).astype(np.float32)
    tests = [np.clip(reference + rng.normal(0, s, reference.shape), 0, 1).astype(np.float32) for s in (0.02, 0.2)]
    expected = [structural_similarity(reference, t, data_range=1.0, channel_axis=-1) for t in tests]
    assert ssim_many(reference, tests) == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match="at least 7x7"):
        ssim_many(reference[:5], [reference[:5]])


# ------------------------------------------------------------------ what the tab shows

def test_evaluation_gallery_alternates_normal_and_defective_over_every_texture():
    from engine.autoencoder.anomaly import GALLERY_SIZE, TEXTURES, gallery_indices

    eval_set = build_eval_set()
    shown = gallery_indices(eval_set)
    assert len(shown) == GALLERY_SIZE == len(set(shown))
    assert [bool(eval_set.labels[i]) for i in shown] == [k % 2 == 1 for k in range(GALLERY_SIZE)]
    assert {eval_set.textures[i] for i in shown} == set(TEXTURES)
    assert len({eval_set.kinds[i] for i in shown if eval_set.labels[i]}) >= 4  # several kinds of defect


def test_committed_examples_are_listed_without_torch():
    import subprocess
    import sys

    code = ("import sys; from engine.autoencoder import assets\n"
            "print(len(assets.photo_examples()), sorted(assets.normal_texture_examples()), assets.default_threshold() > 1,"
            " 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.split() == ["2", "['brick_normal',", "'grass_normal',", "'gravel_normal']", "True", "False"], out


def test_anomaly_view_refuses_bad_settings_clearly():
    from PIL import Image

    from engine.autoencoder.anomaly import anomaly_view

    image = Image.new("RGB", (64, 64), (128, 128, 128))
    with pytest.raises(ValueError, match="Normalisation must be one of"):
        anomaly_view(image, None, "per-pixel")
    with pytest.raises(ValueError, match="positive number"):
        anomaly_view(image, -1.0)
    with pytest.raises(ValueError, match="at least 8x8"):
        anomaly_view(Image.new("RGB", (4, 40)))
