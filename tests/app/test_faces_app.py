"""The GAN tab's Faces view through gradio_client against the real `python app.py` server."""

from __future__ import annotations

import hashlib
import threading

import numpy as np
import pytest
from gradio_client import Client
from PIL import Image


def _pixels(path: str) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_faces_with_only_a_seed(client):
    gallery, info = client.predict(11, api_name="/gan_faces")
    assert info["seed"] == 11 and info["psi"] == 0.7 and info["size"] == 256 and info["count"] == 1
    assert info["images"] == [{"index": 0, "seed": 11}]
    assert len(gallery) == 1 and gallery[0]["caption"] == "seed 11"
    pixels = _pixels(gallery[0]["image"])
    assert pixels.shape == (256, 256, 3) and pixels.std() > 20  # a real picture, not a flat tile


def test_faces_count_psi_size_and_same_seed_same_face(client):
    gallery, info = client.predict(11, 2, 0.5, 512, api_name="/gan_faces")
    assert [item["seed"] for item in info["images"]] == [11, 12] and info["psi"] == 0.5 and info["size"] == 512
    first, second = (_pixels(item["image"]) for item in gallery)
    assert first.shape == (512, 512, 3) and np.abs(first.astype(int) - second).mean() > 10
    again, _ = client.predict(12, 1, 0.5, 512, api_name="/gan_faces")
    np.testing.assert_array_equal(_pixels(again[0]["image"]), second)  # face 12 alone is the same face


@pytest.mark.parametrize("args, message", [
    ((-1,), "seed must be a whole number from 0"),
    ((2**40,), "seed must be a whole number from 0"),
    ((0, 0), "count must be a whole number of faces from 1 to 8"),
    ((0, 100), "from 1 to 8"),
    ((0, 1, "nan"), "Truncation ψ must be a number from 0 to 1"),
    ((0, 1, 0.7, 333), "size must be one of 256, 512, 1024"),
])
def test_faces_bad_inputs_get_clear_errors(client, server_alive, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name="/gan_faces")
    server_alive()


def test_faces_server_keeps_serving_after_bad_inputs(client, server_alive):
    for args in ((-5,), (0, 1, 2.0), (0, 1, 0.7, "huge")):
        with pytest.raises(Exception):
            client.predict(*args, api_name="/gan_faces")
    server_alive()
    _, info = client.predict(3, api_name="/gan_faces")
    assert info["seed"] == 3


def test_two_users_at_once_get_their_own_faces(app_url):
    clients = {seed: Client(app_url, verbose=False) for seed in (21, 22)}
    results: dict = {}

    def ask(seed):
        results[seed] = clients[seed].predict(seed, api_name="/gan_faces")

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert set(results) == {21, 22}
    digests = {}
    for seed, (gallery, info) in results.items():
        assert info["seed"] == seed and info["images"][0]["seed"] == seed
        digests[seed] = hashlib.sha1(_pixels(gallery[0]["image"]).tobytes()).hexdigest()
    assert digests[21] != digests[22]
    alone, _ = clients[21].predict(21, api_name="/gan_faces")  # what user 21 gets when alone
    assert hashlib.sha1(_pixels(alone[0]["image"]).tobytes()).hexdigest() == digests[21]


@pytest.mark.parametrize("space", ["w", "z"])
def test_interpolate_in_w_and_z(client, space):
    gif, strip, figures, info = client.predict(0, 2, 4, space, api_name="/gan_faces_interpolate")
    assert open(gif, "rb").read(6) == b"GIF89a"
    assert info["space"] == space and info["frames"] == 4 and info["seed_a"] == 0 and info["seed_b"] == 2
    assert Image.open(strip).width > 4 * 128
    if space == "w":  # a straight line in W has no detour
        assert info["w_path_detour"] == pytest.approx(1.0, abs=1e-3)
    else:  # the mapping network bends a straight line in Z
        assert info["w_path_detour"] > 1.01
    assert "Path through W" in figures


def test_interpolate_bad_space_and_frames(client, server_alive):
    with pytest.raises(Exception, match='"w" \\(style space\\) or "z"'):
        client.predict(0, 1, 4, "x", api_name="/gan_faces_interpolate")
    with pytest.raises(Exception, match="frames must be a whole number from 2 to 16"):
        client.predict(0, 1, 100, "w", api_name="/gan_faces_interpolate")
    server_alive()


def test_direction_edit_moves_the_face(client, server_alive):
    still, _, info0 = client.predict(1, 0, 0.0, api_name="/gan_faces_direction")
    moved, text, info = client.predict(1, 0, 3.0, api_name="/gan_faces_direction")
    assert info["direction"] == 0 and info["amount"] == 3.0 and info["seed"] == 1 and info0["amount"] == 0.0
    a, b = _pixels(still), _pixels(moved)
    assert a.shape == (512, 512, 3) and np.abs(a.astype(int) - b).mean() > 5
    from engine.gan import faces_directions

    # The measured name from labels.json ("0: <statistic>" or, where no statistic passed, "direction 0").
    assert "σ" in text and info["name"] == faces_directions.load_directions().name(0)
    assert info["name"].startswith("0: ") or info["name"] == "direction 0"
    with pytest.raises(Exception) as error:
        client.predict(1, 42, 1.0, api_name="/gan_faces_direction")
    assert "direction must be a whole number from 0 to 9" in str(error.value), str(error.value)
    with pytest.raises(Exception) as error:
        client.predict(1, 0, 99, api_name="/gan_faces_direction")
    assert "standard deviations" in str(error.value), str(error.value)
    server_alive()


def test_private_endpoints_are_not_callable_and_the_public_ones_are_listed(client):
    # The truncation row, zoom, comparison and direction strip are the view's own plumbing (tested in
    # tests/demos/test_gan_handlers.py); the API offers the three main Faces actions.
    for name in ("/gan_faces_truncation", "/gan_faces_zoom", "/gan_faces_compare", "/gan_faces_direction_strip"):
        with pytest.raises(Exception):
            client.predict(0, api_name=name)
    named = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    faces = sorted(name for name in named if name.startswith("/gan_faces"))
    assert faces == ["/gan_faces", "/gan_faces_direction", "/gan_faces_interpolate"]
    size = next(p for p in named["/gan_faces"]["parameters"] if p["parameter_name"] == "size")
    assert size["python_type"]["type"] == "int" and size["parameter_default"] == 256
