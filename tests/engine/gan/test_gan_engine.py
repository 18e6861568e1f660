"""GAN engine on tiny models: shapes, ranges, determinism, interpolation, scoring, Hub-format loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.gan import inference as inf
from engine.gan.judge import DigitJudge, frechet_distance, mean_pairwise_distance
from engine.gan.models import GENERATOR_SUBFOLDER, ConditionalDiscriminator, ConditionalGenerator
from engine.gan.render import digit_image, digits_grid, frames_to_gif, render_curves
from engine.gan.train import DigitsGanTrainer, GanDigitsConfig


@pytest.fixture(scope="module")
def tiny_g():
    torch.manual_seed(0)
    return ConditionalGenerator(latent_dim=8, embed_dim=4, base_channels=4, image_size=32).eval()


@pytest.fixture(scope="module")
def tiny_d():
    torch.manual_seed(1)
    return ConditionalDiscriminator(base_channels=4, image_size=32).eval()


@pytest.fixture(scope="module")
def tiny_judge():
    torch.manual_seed(2)
    return DigitJudge(channels=4, feature_dim=8).eval()


def test_generator_shape_and_range(tiny_g):
    result = inf.generate(tiny_g, seed=3, digit="7", count=5, psi=1.0)
    assert result.images.shape == (5, 32, 32)
    assert result.images.dtype == np.float32
    assert 0.0 <= result.images.min() and result.images.max() <= 1.0
    assert result.classes == (7,) * 5
    assert result.info()["class"] == 7 and result.info()["seed"] == 3 and result.info()["psi"] == 1.0


def test_generate_is_deterministic_per_seed_and_independent_of_count(tiny_g):
    a = inf.generate(tiny_g, 11, "random", 8, 0.7)
    b = inf.generate(tiny_g, 11, "random", 8, 0.7)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.classes == b.classes
    one = inf.generate(tiny_g, 11, "random", 1, 0.7)
    np.testing.assert_allclose(one.images[0], a.images[0], atol=1e-6)
    other = inf.generate(tiny_g, 12, "random", 8, 0.7)
    assert not np.allclose(other.images, a.images)


def test_random_class_draws_several_classes(tiny_g):
    assert len(set(inf.generate(tiny_g, 0, "random", 64).classes)) >= 8


def test_psi_zero_gives_one_image_per_class(tiny_g):
    result = inf.generate(tiny_g, 5, "2", 4, psi=0.0)
    np.testing.assert_allclose(result.images, np.repeat(result.images[:1], 4, axis=0), atol=1e-6)


def test_interpolation_endpoints_equal_the_two_seeds(tiny_g):
    frames = inf.interpolate(tiny_g, 4, 9, 1, 6, frames=7, psi=0.8)
    assert frames.shape == (7, 32, 32)
    start = inf.generate(tiny_g, 4, "1", 1, 0.8).images[0]
    end = inf.generate(tiny_g, 9, "6", 1, 0.8).images[0]
    np.testing.assert_allclose(frames[0], start, atol=1e-5)
    np.testing.assert_allclose(frames[-1], end, atol=1e-5)
    assert not np.allclose(frames[3], start, atol=1e-3)


def test_latent_walk_at_zero_is_the_seed_image(tiny_g):
    walk = inf.latent_walk(tiny_g, 2, 5, direction_seed=3, amounts=[-1.0, 0.0, 1.0])
    np.testing.assert_allclose(walk[1], inf.generate(tiny_g, 2, "5", 1).images[0], atol=1e-5)
    assert not np.allclose(walk[0], walk[2])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"psi": 3.0}, "Truncation"),
        ({"psi": float("nan")}, "Truncation"),
        ({"count": 0}, "count"),
        ({"count": 65}, "count"),
        ({"digit": "x"}, "digit class"),
        ({"digit": "10"}, "digit class"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": "abc"}, "seed"),
    ],
)
def test_bad_generate_arguments_raise_clear_errors(tiny_g, kwargs, message):
    args = {"seed": 0, "digit": "random", "count": 4, "psi": 1.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        inf.generate(tiny_g, **args)


def test_score_realness_is_a_probability_per_class(tiny_d, tiny_judge):
    image = np.zeros((32, 32), np.float32)
    image[8:24, 14:18] = 1.0
    result = inf.score_realness(tiny_d, tiny_judge, image, "auto")
    assert 0.0 <= result.realness <= 1.0
    assert len(result.per_class_realness) == 10 and result.digit_source == "judge"
    assert abs(sum(result.judge_probabilities) - 1) < 1e-5
    fixed = inf.score_realness(tiny_d, tiny_judge, image, "4")
    assert fixed.digit == 4 and fixed.realness == pytest.approx(result.per_class_realness[4], abs=1e-6)


def test_image_to_gan_input_round_trips_a_generated_digit(tiny_g):
    digit = inf.generate(tiny_g, 1, "3", 1).images[0]
    for scale in (1, 8):
        pil = digit_image(digit, scale=scale).convert("RGB")
        back = inf.image_to_gan_input(pil)
        assert back.shape == (32, 32)
        np.testing.assert_allclose(back, digit, atol=1 / 255 + 1e-6)


def test_image_to_gan_input_handles_dark_ink_on_white_paper():
    image = Image.new("RGB", (120, 90), "white")
    image.paste((0, 0, 0), (55, 10, 65, 80))
    x = inf.image_to_gan_input(image)
    assert x.shape == (32, 32) and x.max() == pytest.approx(1.0, abs=0.05)
    assert x[:, 14:18].mean() > x[:, :4].mean()
    with pytest.raises(ValueError, match="blank"):
        inf.image_to_gan_input(Image.new("RGB", (50, 50), "white"))


def test_hub_format_folder_loads_and_offline_hub_id_fails_clearly(tiny_g, tmp_path):
    tiny_g.save_pretrained(tmp_path / GENERATOR_SUBFOLDER)
    loaded = inf.load_generator(str(tmp_path))
    np.testing.assert_allclose(
        inf.generate(loaded, 5, "2", 3).images, inf.generate(tiny_g, 5, "2", 3).images, atol=1e-6
    )
    with pytest.raises(ValueError, match="offline|Hub"):
        inf.load_generator("nobody-here/no-such-gan")
    with pytest.raises(ValueError, match="not a valid"):
        inf.load_generator("not a model id!")


def test_frechet_distance_and_pairwise_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(400, 4))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 3.0) == pytest.approx(36.0, rel=0.01)
    points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert mean_pairwise_distance(points) == pytest.approx((5 + 0 + 5) / 3)


def test_trainer_step_runs_and_is_reproducible():
    config = GanDigitsConfig(image_size=8, g_channels=4, d_channels=4, batch_size=8, r1_every=2, seed=3)
    first = [DigitsGanTrainer(config).step() for _ in range(1)]
    runs = []
    for _ in range(2):
        trainer = DigitsGanTrainer(config)
        runs.append([trainer.step() for _ in range(3)])
    assert runs[0] == runs[1]
    assert all(np.isfinite(v) for pair in runs[0] for v in pair)
    assert first[0] == runs[0][0]


def test_render_helpers_produce_images():
    images = np.random.default_rng(0).random((6, 32, 32)).astype(np.float32)
    grid = digits_grid(images, columns=3, cell=16, gap=2)
    assert grid.size == (3 * 18 + 2, 2 * 18 + 2)
    gif = frames_to_gif([digit_image(i) for i in images[:3]])
    assert gif[:6] == b"GIF89a"
    assert Image.open(__import__("io").BytesIO(gif)).n_frames == 4  # forward 3, back 1 (ping-pong)
    chart = render_curves([(np.arange(5), np.arange(5.0), (0, 0, 0), "x")], width=200, height=100)
    assert chart.size == (200, 100)
    empty = render_curves([], width=200, height=100)
    assert empty.size == (200, 100)
