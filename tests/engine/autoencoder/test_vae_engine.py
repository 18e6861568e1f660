"""The Variational view's engine on tiny models: shapes, the KL formula, reparameterisation, prior sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.autoencoder import vae, vae_train
from engine.autoencoder.models import DigitsVAE, TinyDigitsVAE


@pytest.fixture()
def tiny_models(monkeypatch):
    torch.manual_seed(0)
    models = {"latent_16": DigitsVAE(latent_dim=4, channels=4).eval(),
              "latent_2": DigitsVAE(latent_dim=2, channels=4).eval(),
              "ae_2": DigitsVAE(latent_dim=2, channels=4, variational=False).eval()}
    monkeypatch.setattr(vae, "load_models", lambda: models)
    return models


def test_model_shapes_vae_and_plain_autoencoder():
    images = torch.rand(3, 1, 32, 32)
    model = DigitsVAE(latent_dim=5, channels=4)
    mu, log_var = model.encode(images)
    assert mu.shape == log_var.shape == (3, 5)
    assert model.decode(mu).shape == (3, 1, 32, 32)
    with torch.no_grad():
        out = model(images)
    assert out.shape == (3, 1, 32, 32) and float(out.min()) >= 0 and float(out.max()) <= 1
    plain = DigitsVAE(latent_dim=2, channels=4, variational=False)
    point, nothing = plain.encode(images)
    assert point.shape == (3, 2) and nothing is None
    tiny = TinyDigitsVAE(latent_dim=2)
    mu, log_var = tiny.encode(torch.rand(7, 8, 8))
    assert mu.shape == (7, 2) and tiny.decode(mu).shape == (7, 64)


def test_kl_matches_a_hand_computation():
    mu, log_var = [0.5, -1.0], [0.0, math.log(0.25)]
    # 0.5 * [(0.25 + 1 - 1 - 0) + (1 + 0.25 - 1 - log 0.25)]
    hand = 0.5 * (0.25 + (1.0 + 0.25 - 1.0 - math.log(0.25)))
    assert vae.kl_divergence(mu, log_var) == pytest.approx(hand, abs=1e-12)
    torch_kl = vae_train.kl_per_item(torch.tensor([mu], dtype=torch.float64), torch.tensor([log_var], dtype=torch.float64))
    assert float(torch_kl[0]) == pytest.approx(hand, abs=1e-12)
    assert vae.kl_divergence([0.0, 0.0], [0.0, 0.0]) == 0.0  # the posterior equal to the prior costs nothing


def test_reparameterisation_is_deterministic_per_seed():
    from engine.core.seeding import torch_generator

    mu, log_var = torch.zeros(4, 3), torch.full((4, 3), math.log(4.0))
    a = vae_train.reparameterize(mu, log_var, torch_generator(7))
    b = vae_train.reparameterize(mu, log_var, torch_generator(7))
    c = vae_train.reparameterize(mu, log_var, torch_generator(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    eps = torch.randn(mu.shape, generator=torch_generator(7))
    assert torch.allclose(a, 2.0 * eps)  # sigma = exp(0.5 * log 4) = 2


def test_sample_prior_shapes_range_and_determinism(tiny_models):
    samples = vae.sample_prior(3, 5)
    assert samples.images.shape == (5, 32, 32) and samples.images.dtype == np.float32
    assert samples.z.shape == (5, 4) and samples.seed == 3
    assert samples.images.min() >= 0 and samples.images.max() <= 1
    again, more = vae.sample_prior(3, 5), vae.sample_prior(3, 9)
    assert np.array_equal(samples.images, again.images)
    assert np.array_equal(samples.z, more.z[:5])  # sample i of a seed does not depend on the count
    assert not np.array_equal(samples.z, vae.sample_prior(4, 5).z)


@pytest.mark.parametrize("seed, count, message", [(-1, 4, "seed"), (1.5, 4, "seed"), ("x", 4, "seed"),
                                                  (0, 0, "count"), (0, 1000, "count"), (0, "nan", "count")])
def test_sample_prior_refuses_bad_input(tiny_models, seed, count, message):
    with pytest.raises(ValueError, match=f"The {message} must be a whole number"):
        vae.sample_prior(seed, count)


def test_encode_reports_the_kl_of_its_own_numbers(tiny_models):
    digit = np.zeros((32, 32), np.float32)
    digit[8:24, 14:18] = 1.0
    encoding = vae.encode_array(digit)
    info = encoding.info()
    assert len(info["mu"]) == len(info["log_var"]) == 4
    assert info["kl"] == pytest.approx(vae.kl_divergence(info["mu"], info["log_var"]), abs=1e-12)
    assert info["kl"] >= 0 and info["reconstruction_error"] > 0
    assert encoding.reconstruction.shape == (32, 32)
    assert len(info["map_2d"]["vae_mu"]) == 2 and len(info["map_2d"]["ae_point"]) == 2
    with pytest.raises(ValueError, match="blank"):
        vae.encode_array(np.zeros((32, 32), np.float32))


def test_posterior_samples_are_seeded(tiny_models):
    digit = np.zeros((32, 32), np.float32)
    digit[6:26, 10:22] = 0.8
    encoding = vae.encode_array(digit)
    a, b = vae.sample_posterior(encoding, 1, 3), vae.sample_posterior(encoding, 1, 3)
    assert a.shape == (3, 32, 32) and np.array_equal(a, b)


def test_live_run_yields_frames_and_checks_beta():
    frames = list(vae_train.live_run(1.0, seed=0, epochs=2, frame_every=1))
    assert [f.epoch for f in frames] == [1, 2]
    assert frames[-1].mu.shape == (360, 2) and (frames[-1].sigma > 0).all() and frames[-1].kl >= 0
    again = list(vae_train.live_run(1.0, seed=0, epochs=1, frame_every=1))
    assert np.array_equal(again[0].mu, frames[0].mu)  # deterministic per seed
    for bad in (-0.1, 9, "nan", None):
        with pytest.raises(ValueError, match="beta must be a number from 0 to 8"):
            next(vae_train.live_run(bad))


def test_cards_say_the_numbers_they_are_given():
    from engine.autoencoder import vae_render

    card = vae_render.encode_summary({"kl": 12.3456, "reconstruction_error": 380.0, "reconstruction_mse": 0.003,
                                      "reconstruction_floor": 360.0, "sigma": [0.2, 0.9, 0.4]})
    assert "KL 12.35" in card.headline and "2 of 3 dimensions" in card.headline
    assert card.figures[1].value == "12.35 nats" and "360.0" in card.figures[0].note
    holes = {"points": 500, "threshold": 0.9, "heldout_count": 360,
             "ae": {"clear_share": 0.9, "classes_read": 9, "top_class": 1, "top_class_share": 0.41, "fid": 1200.0},
             "vae": {"clear_share": 0.85, "classes_read": 10, "top_class": 4, "top_class_share": 0.22, "fid": 900.0}}
    side = {"judge_reads": 4, "judge_confidence": 0.97}
    card = vae_render.random_summary({"autoencoder": side, "vae": side, "holes": holes})
    assert "VAE's decodes are closer" in card.headline and "41%" in card.headline
    live = vae_render.live_summary({"beta": 8.0, "epoch": 40, "epochs": 40, "reconstruction": 27.0, "kl": 0.01,
                                    "seconds": 2.0})
    assert "collapsed" in live.headline
    sample = vae_render.sample_summary({"seed": 3, "z": [[0.0] * 16] * 4, "judge_reads": [1, 1, 7, 2]})
    assert "3 different classes" in sample.headline and sample.figures[2].value == "16"


def test_committed_models_load_with_their_facts():
    facts = vae.model_facts()
    assert facts["parameters"] == 429_409 and facts["training_seconds"] > 0
    models = vae.load_models()
    assert [models[n].config.latent_dim for n in vae.MODEL_NAMES] == [16, 2, 2]
    assert not models["ae_2"].config.variational
    samples = vae.sample_prior(0, 2)
    assert samples.z.shape == (2, 16) and 0 <= samples.images.min() <= samples.images.max() <= 1
