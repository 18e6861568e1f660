"""EfficientNet-Lite0 through gradio_client: /imagenet_classify, the ViT Grad-CAM, transfer with the ImageNet default."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

SKIMAGE_DATA = Path(importlib.util.find_spec("skimage").origin).parent / "data"
ROOT = Path(__file__).resolve().parents[2]


def test_imagenet_classify_with_only_the_image(client, server_alive):
    overlay, payload = client.predict(handle_file(str(SKIMAGE_DATA / "coffee.png")), api_name="/imagenet_classify")
    assert payload["top_k"][0]["label"] == "espresso" and len(payload["top_k"]) == 5
    probabilities = [entry["probability"] for entry in payload["top_k"]]
    assert probabilities == sorted(probabilities, reverse=True) and 0.5 < probabilities[0] <= 1.0
    assert payload["gradcam"] == {"label": "espresso", "layer": "head"}
    assert Image.open(overlay).size == (448, 448)
    server_alive()


def test_imagenet_classify_top_k_and_layer(client, server_alive):
    _, payload = client.predict(handle_file(str(SKIMAGE_DATA / "chelsea.png")), 3, "stage 4", api_name="/imagenet_classify")
    labels = [entry["label"] for entry in payload["top_k"]]
    assert len(labels) == 3 and {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"} & set(labels)
    assert payload["gradcam"]["layer"] == "stage 4"
    server_alive()


def test_imagenet_classify_bad_inputs_are_clear(client, tmp_path, server_alive):
    text = tmp_path / "notes.png"
    text.write_text("this is not a picture")
    with pytest.raises(AppError, match="not an image"):
        client.predict(handle_file(str(text)), api_name="/imagenet_classify")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), (255, 0, 0)).save(tiny)
    with pytest.raises(AppError, match="at least 16 pixels"):
        client.predict(handle_file(str(tiny)), api_name="/imagenet_classify")
    with pytest.raises(AppError, match="top_k"):
        client.predict(handle_file(str(SKIMAGE_DATA / "coffee.png")), 0, api_name="/imagenet_classify")
    with pytest.raises(AppError, match="Unknown Grad-CAM layer"):
        client.predict(handle_file(str(SKIMAGE_DATA / "coffee.png")), 5, "fc", api_name="/imagenet_classify")
    server_alive()


def test_attention_image_view_gains_the_vits_gradcam(client, server_alive):
    picture, caption = client.predict(handle_file(str(ROOT / "assets" / "examples" / "digit_3.png")),
                                      api_name="/attention_gradcam")
    assert Image.open(picture).size == (256, 256)
    assert "Grad-CAM for '3'" in caption and "Attention vs gradient attribution" in caption
    server_alive()


def test_transfer_predict_takes_only_the_text(app_url, server_alive):
    client = Client(app_url, verbose=False)
    with pytest.raises(AppError, match="No model has been trained"):  # not "No value provided for ... image"
        client.predict("a sentence", api_name="/transfer_predict")
    client.predict(None, "text-topics", api_name="/transfer_train")
    prediction = client.predict("The striker scored twice in the derby.", api_name="/transfer_predict")
    assert prediction["label"] == "sports" and len(prediction["top_k"]) == 3
    server_alive()


def test_imagenet_features_beat_from_scratch_on_the_builtin_few_shot_task(app_url, server_alive):
    """8 training pictures per class, 12 held out: feature extraction on EfficientNet-Lite0 (the default image
    backbone) vs the same architecture from random weights (a short run; benchmarks/bench_imagenet.py has the
    full figure over 3 seeds)."""
    client = Client(app_url, verbose=False)
    frozen = client.predict(None, "objects-few-shot", "feature_extraction", "", 15, 0, 16, 2, 0, 0, api_name="/transfer_train")
    scratch = client.predict(None, "objects-few-shot", "from_scratch", "", 1, 0, 16, 2, 0, 0, api_name="/transfer_train")
    assert frozen["backbone"] == scratch["backbone"] == "efficientnet-lite0"
    assert sum(map(sum, frozen["confusion"])) == 7 * 12  # the held-out pictures
    assert frozen["accuracy"] - scratch["accuracy"] >= 0.15, (frozen["accuracy"], scratch["accuracy"])
    image = ROOT / "assets" / "examples" / "digit_3.png"
    only_image = client.predict(image=handle_file(str(image)), api_name="/transfer_predict")
    assert only_image["labels"] == frozen["labels"] and len(only_image["top_k"]) == 3
    server_alive()
