"""Autoencoder > Variational through gradio_client against the real `python app.py` server, bad inputs included."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from engine.core.registry import ASSETS_DIR

EXAMPLE = str(ASSETS_DIR / "examples" / "digit_3.png")


def test_vae_encode_reports_mu_log_var_and_the_kl_of_them(client):
    *images, info = client.predict(handle_file(EXAMPLE), api_name="/vae_encode")
    assert len(images) == 6 and all(str(path).endswith(".png") for path in images)
    assert Image.open(images[0]).size == Image.open(images[1]).size  # the digit as seen, its reconstruction
    mu, log_var = info["mu"], info["log_var"]
    assert len(mu) == len(log_var) == info["latent_dim"] == 16
    hand = 0.5 * sum(m * m + math.exp(v) - 1 - v for m, v in zip(mu, log_var))
    assert info["kl"] == pytest.approx(hand, abs=1e-9) and info["kl"] > 0
    assert info["reconstruction_error"] > 0 and 0 <= info["reconstruction_mse"] < 0.1


def test_vae_sample_is_deterministic_and_count_independent(client):
    gallery, info = client.predict(7, 4, api_name="/vae_sample")
    assert info["seed"] == 7 and len(info["z"]) == 4 and len(info["z"][0]) == 16 and len(gallery) == 4
    _, more = client.predict(7, 8, api_name="/vae_sample")
    assert more["z"][:4] == info["z"]
    _, default = client.predict(7, api_name="/vae_sample")
    assert len(default["z"]) == 16 and all(0 <= r <= 9 for r in default["judge_reads"])


@pytest.mark.parametrize("seed, count, message", [(0, 0, "count must be a whole number from 1 to 64"),
                                                  (0, 1000, "count must be a whole number from 1 to 64"),
                                                  (0, "nan", "count must be a whole number from 1 to 64"),
                                                  (-1, 4, "seed must be a whole number from 0 to 4,294,967,295")])
def test_vae_sample_refuses_bad_input(client, seed, count, message):
    with pytest.raises(AppError, match=message):
        client.predict(seed, count, api_name="/vae_sample")


def test_vae_encode_refuses_empty_and_blank_images(client, tmp_path, server_alive):
    with pytest.raises(AppError, match="No image given"):
        client.predict(None, api_name="/vae_encode")
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((64, 64, 3), 255, np.uint8)).save(blank)
    with pytest.raises(AppError, match="blank"):
        client.predict(handle_file(str(blank)), api_name="/vae_encode")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with pytest.raises(AppError, match="not an image"):
        client.predict(handle_file(str(junk)), api_name="/vae_encode")
    server_alive()
