"""The Diffusion view's public endpoints through gradio_client against the real `python app.py` server."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


def _pixels(item) -> np.ndarray:
    path = item["image"] if isinstance(item, dict) and "image" in item else item
    path = path.get("path") if isinstance(path, dict) else path
    return np.asarray(Image.open(path).convert("L"), dtype=np.int16)


def test_generate_with_only_a_seed_and_with_everything(client):
    gallery, info = client.predict(7, api_name="/diffusion_generate")
    assert len(gallery) == 16 and info["seed"] == 7 and info["class"] == "random"
    assert info["steps"] == 8 and info["guidance"] == 2.0 and len(info["timesteps"]) == 8
    assert len(info["judge_readings"]) == 16 and 0 <= info["judge_agreement"] <= 1
    gallery, info = client.predict(7, "4", 3, 4, 1.0, api_name="/diffusion_generate")
    assert len(gallery) == 3 and info["classes"] == [4, 4, 4] and info["steps"] == 4 and info["guidance"] == 1.0


def test_trace_ends_on_the_generated_sample(client):
    frames, info = client.predict(3, "8", 6, api_name="/diffusion_trace")
    assert len(frames) == 7 and info["frames"] == 7 and len(info["timesteps"]) == 6
    assert len(info["alphas_cumprod"]) == 6 and info["alphas_cumprod"] == sorted(info["alphas_cumprod"])
    assert info["timesteps"] == sorted(info["timesteps"], reverse=True) and info["class"] == 8
    gallery, generated = client.predict(3, "8", 1, 6, api_name="/diffusion_generate")
    assert generated["timesteps"] == info["timesteps"]
    # The same computation: the trace's last frame is the generated digit, pixel for pixel.
    assert np.array_equal(_pixels(frames[-1]), _pixels(gallery[0]))
    batch, _ = client.predict(3, "8", 16, 6, api_name="/diffusion_generate")
    assert np.abs(_pixels(frames[-1]) - _pixels(batch[0])).max() <= 1  # in a batch of 16: rounding only


@pytest.mark.parametrize("args, message", [
    ((0, "random", 4, 0), "denoising steps"),
    ((0, "random", 4, 1000), "denoising steps"),
    ((0, "random", 4, "nan"), "denoising steps"),
    ((0, "random", 4, 10, -1), "guidance scale"),
    ((0, "random", 4, 10, 100), "guidance scale"),
    ((-1,), "seed"),
    ((0, "eleven"), "digit class"),
    ((0, "random", 0), "count"),
])
def test_generate_bad_inputs_are_clear_errors(client, server_alive, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/diffusion_generate")
    server_alive()


@pytest.mark.parametrize("args, message", [
    ((0, "random", 0), "denoising steps"),
    ((0, "random", 1000), "denoising steps"),
    ((0, "random", "nan"), "denoising steps"),
    ((-5,), "seed"),
    ((0, "x" * 500), "digit class"),
])
def test_trace_bad_inputs_are_clear_errors(client, server_alive, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/diffusion_trace")
    server_alive()
