"""/imagenet_attribution through gradio_client: integrated gradients and Grad-CAM on EfficientNet-Lite0, and bad inputs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

COFFEE = str(Path(importlib.util.find_spec("skimage").origin).parent / "data" / "coffee.png")
KEYS = {"method", "target_class", "target_label", "logit", "baseline_logit", "attribution_sum"}


def test_integrated_gradients_with_only_the_image(client, server_alive):
    heatmap, payload = client.predict(handle_file(COFFEE), api_name="/imagenet_attribution")
    assert KEYS <= set(payload)
    assert payload["method"] == "integrated_gradients" and payload["steps"] == 64 and payload["baseline"] == "black"
    assert payload["target_label"] == "espresso" and payload["target_class"] == 967  # target None -> top-1
    difference = payload["logit"] - payload["baseline_logit"]
    assert difference > 1  # the photo scores far above a black picture
    # Completeness: the attributions add up to the logit difference, up to the integral's error (measured
    # at 64 steps in docs/attribution.md; the payload reports it).
    assert payload["completeness_gap"] == pytest.approx(abs(payload["attribution_sum"] - difference) / abs(difference),
                                                        abs=1e-4)
    assert payload["completeness_gap"] < 0.15
    assert Image.open(heatmap).size == (448, 448)
    server_alive()


def test_a_chosen_target_baseline_and_gradcam(client, server_alive):
    _, tabby = client.predict(handle_file(COFFEE), "integrated_gradients", 8, "Tabby", "blurred",
                              api_name="/imagenet_attribution")
    assert tabby["target_class"] == 281 and tabby["target_label"] == "tabby" and tabby["baseline"] == "blurred"
    _, by_index = client.predict(handle_file(COFFEE), "integrated_gradients", 8, "281", "blurred",
                                 api_name="/imagenet_attribution")
    assert by_index["logit"] == pytest.approx(tabby["logit"]) and by_index["baseline_logit"] == pytest.approx(tabby["baseline_logit"])
    heatmap, cam = client.predict(handle_file(COFFEE), "gradcam", api_name="/imagenet_attribution")
    assert cam["method"] == "gradcam" and cam["target_label"] == "espresso"
    assert cam["baseline_logit"] is None and cam["attribution_sum"] is None
    assert Image.open(heatmap).size == (448, 448)
    server_alive()


@pytest.mark.parametrize("arguments, message", [
    (("integrated_gradients", 0), "steps must be between 2 and 256 \\(got 0\\)"),
    (("integrated_gradients", 10**6), "steps must be between 2 and 256 \\(got 1000000\\)"),
    (("integrated_gradients", "nan"), "steps must be a whole number"),
    (("lime",), "Unknown attribution method 'lime'"),
    (("integrated_gradients", 8, 1000), "target 1000 is out of range: use a class index 0..999"),
    (("integrated_gradients", 8, "not a class"), "Unknown target class 'not a class'"),
    (("integrated_gradients", 8, "", "white"), "Unknown baseline 'white'"),
])
def test_bad_settings_are_refused_clearly(client, server_alive, arguments, message):
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(COFFEE), *arguments, api_name="/imagenet_attribution")
    server_alive()


def test_bad_images_are_refused_clearly(client, tmp_path, server_alive):
    with pytest.raises(AppError, match="No image was given"):
        client.predict(None, api_name="/imagenet_attribution")
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    with pytest.raises(AppError, match="not an image"):
        client.predict(handle_file(str(text)), api_name="/imagenet_attribution")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), (255, 0, 0)).save(tiny)
    with pytest.raises(AppError, match="at least 16 pixels"):
        client.predict(handle_file(str(tiny)), "integrated_gradients", 8, api_name="/imagenet_attribution")
    server_alive()
