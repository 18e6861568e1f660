"""Diffusion engine on a tiny random UNet2DModel: shapes, the noise schedule's algebra, determinism, the trace,
guidance, SDEdit and input checks; the generator comparison with fake generators and a tiny judge."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.gan import compare, diffusion
from engine.gan.diffusion_model import DiffusionConfig, build_train_scheduler, build_unet


@pytest.fixture(scope="module")
def model():
    with torch.random.fork_rng():
        torch.manual_seed(0)
        unet = build_unet(DiffusionConfig(block_out_channels=(8, 16), norm_num_groups=4))
    return diffusion.model_from_unet(unet)


def test_generate_shapes_classes_and_timesteps(model):
    result = diffusion.generate(model, 3, "4", 3, 2, 3.0)
    assert result.images.shape == (3, 32, 32) and result.images.dtype == np.float32
    assert 0 <= result.images.min() and result.images.max() <= 1
    assert result.classes == (4, 4, 4)
    assert result.timesteps == (979, 490)  # from START_FRACTION·T down, evenly
    info = result.info()
    assert info["class"] == 4 and info["steps"] == 2 and info["count"] == 3
    random = diffusion.generate(model, 3, "random", 5, 1, 1.0)
    assert random.classes == tuple(int(c) for c in diffusion.requested_classes(3, None, 5))


def test_forward_noising_then_x0_formula_recovers_the_clean_image():
    scheduler = build_train_scheduler()
    alphas = scheduler.alphas_cumprod
    x0 = torch.rand(4, 1, 32, 32) * 2 - 1
    noise = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    for t in (0, 100, 500, 900):
        xt = scheduler.add_noise(x0, noise, torch.full((4,), t))
        np.testing.assert_allclose(diffusion.add_noise(x0, noise, float(alphas[t])), xt, atol=1e-5)
        recovered = diffusion.predicted_clean(xt, noise, float(alphas[t]))
        np.testing.assert_allclose(recovered, x0, atol=1e-3)


def test_same_seed_same_digits_other_seed_other_digits(model):
    a = diffusion.generate(model, 11, "2", 2, 2, 3.0).images
    again = diffusion.generate(model, 11, "2", 2, 2, 3.0).images
    other = diffusion.generate(model, 12, "2", 2, 2, 3.0).images
    np.testing.assert_array_equal(a, again)
    assert np.abs(a - other).max() > 1e-3


def test_trace_ends_on_the_generated_sample(model):
    trace = diffusion.trace(model, 5, "7", 3, 3.0)
    assert trace.frames.shape == (4, 32, 32) and trace.noise.shape == (3, 32, 32) and trace.clean.shape == (3, 32, 32)
    alone = diffusion.generate(model, 5, "7", 1, 3, 3.0).images[0]
    np.testing.assert_array_equal(trace.frames[-1], alone)  # the same computation, bit for bit
    in_batch = diffusion.generate(model, 5, "7", 4, 3, 3.0).images[0]
    np.testing.assert_allclose(trace.frames[-1], in_batch, atol=1e-3)  # batch size changes only rounding
    info = trace.info()
    assert info["timesteps"] == list(trace.timesteps) and len(info["alphas_cumprod"]) == 3
    assert info["alphas_cumprod"] == sorted(info["alphas_cumprod"])  # ᾱ rises as t falls
    assert info["snr"][0] < 0.01 < info["snr"][-1]


def test_guidance_zero_ignores_the_class(model):
    three = diffusion.generate(model, 2, "3", 2, 2, 0.0).images
    seven = diffusion.generate(model, 2, "7", 2, 2, 0.0).images
    np.testing.assert_array_equal(three, seven)
    guided = diffusion.generate(model, 2, "3", 2, 2, 3.0).images
    assert np.abs(guided - three).max() > 0


def test_guidance_row_and_sdedit(model):
    rows = diffusion.guidance_row(model, 1, "5", 2, per_scale=2)
    assert [row.guidance for row in rows] == [0.0, 1.0, 3.0, 7.0]
    sketch = np.zeros((32, 32), np.float32)
    sketch[8:24, 14:18] = 1
    full = diffusion.sdedit(model, sketch, 1.0, 0, "random", 4)
    assert full.steps_run == 4 and full.start_timestep == 979 and full.digit is None
    half = diffusion.sdedit(model, sketch, 0.5, 0, "1", 4)
    assert half.steps_run == 2 and half.start_timestep < 979 and 0.2 < half.alpha_bar < 0.9
    assert half.result.shape == (32, 32) and half.noised.shape == (32, 32)
    with pytest.raises(ValueError, match="32x32"):
        diffusion.sdedit(model, np.zeros((8, 8)), 0.5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), "denoising steps"), (dict(steps=1000), "denoising steps"), (dict(steps="nan"), "denoising steps"),
    (dict(guidance=-1), "guidance scale"), (dict(guidance=100), "guidance scale"), (dict(seed=-1), "seed"),
    (dict(digit="eleven"), "digit class"), (dict(count=0), "count"),
])
def test_bad_inputs_say_what_is_allowed(model, kwargs, message):
    args = dict(seed=0, digit="random", count=1, steps=1, guidance=1.0) | kwargs
    with pytest.raises(ValueError, match=message):
        diffusion.generate(model, **args)


# ----------------------------------------------------------------------------------------- comparison
def _fake(name, conditional, make):
    return compare.GeneratorEntry(name, name, conditional, make, lambda: {"parameters": 7, "training_seconds": 60.0})


def test_compare_generators_with_fakes():
    from engine.core.datasets import digits_split, upscale_digits
    from engine.gan.judge import DigitJudge

    with torch.random.fork_rng():
        torch.manual_seed(0)
        judge = DigitJudge(channels=4, feature_dim=16).eval()
    split = digits_split()
    real = upscale_digits(split.train_images, 32)[:, 0].numpy()

    def real_digits(seed, classes, count):
        picks = [np.flatnonzero(split.train_labels == c)[(seed + i) % 50] for i, c in enumerate(classes)]
        return real[picks]

    def noise(seed, classes, count):
        return np.random.default_rng(seed).random((count, 32, 32), dtype=np.float32)

    progress = []
    result = compare.compare_generators(40, 0, on_progress=lambda d, t: progress.append((d, t)), judge=judge,
                                        generators={"real": _fake("real", True, real_digits),
                                                    "noise": _fake("noise", False, noise)},
                                        missing={"VAE": "not merged yet"})
    by_name = {row.name: row for row in result.rows}
    assert progress[-1] == (3, 3) and result.n_per_model == 40 and result.heldout_count == 360
    assert by_name["noise"].agreement is None and by_name["real"].agreement is not None
    assert by_name["real"].fid < by_name["noise"].fid
    assert by_name["real"].ms_per_sample >= 0 and by_name["real"].parameters == 7
    assert 0.5 < by_name["real"].diversity_mean < 1.5
    again = compare.Comparison.from_dict(result.as_dict())
    assert again.rows[0].name == "real" and again.missing == {"VAE": "not merged yet"}
    table = compare.table_markdown(result)
    assert "n = 40" in table and "VAE: not merged yet" in table and "unconditional" in table
    assert "real" in compare.tradeoff_words(result)
    with pytest.raises(ValueError, match="samples per model"):
        compare.compare_generators(5, judge=judge, generators={})


def test_missing_generator_module_is_reported(monkeypatch):
    def absent():
        raise ModuleNotFoundError("No module named 'engine.autoencoder.vae'", name="engine.autoencoder.vae")

    monkeypatch.setattr(compare, "GENERATOR_FACTORIES", {"VAE": absent})
    entries, missing = compare.default_generators()
    assert entries == {} and "engine.autoencoder.vae" in missing["VAE"]


def test_wrong_sample_shape_is_an_error():
    entry = _fake("bad", False, lambda seed, classes, count: np.zeros((count, 8, 8), np.float32))
    with pytest.raises(ValueError, match="expected"):
        compare.sample_grid(entry, 0, 3)


def test_the_view_repeats_the_engine_defaults_and_limits():
    from demos.gan import compare as compare_view
    from demos.gan import diffusion as view

    assert (view.DEFAULT_STEPS, view.DEFAULT_GUIDANCE) == (diffusion.DEFAULT_STEPS, diffusion.DEFAULT_GUIDANCE)
    assert (view.MAX_STEPS, view.MAX_GUIDANCE, view.MAX_COUNT) == (diffusion.MAX_STEPS, diffusion.MAX_GUIDANCE,
                                                                   diffusion.MAX_COUNT)
    assert compare_view.MAX_SAMPLES <= compare.MAX_SAMPLES
