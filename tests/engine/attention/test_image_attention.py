"""Image attention on a tiny local ViT, and the committed digits ViT's held-out accuracy."""

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from engine.core.digit_input import image_to_digit8
from engine.attention.image import image_attention, load_image_model
from engine.core.registry import ASSETS_DIR
from tests.support import tiny_vit


@pytest.fixture(scope="module")
def vit_dir(tmp_path_factory):
    return str(tiny_vit(tmp_path_factory.mktemp("tiny_vit")))


def test_tiny_vit_shapes_probabilities_and_rollout(vit_dir):
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8))
    result = image_attention(picture, vit_dir)
    assert result.grid_shape == (4, 4)
    assert result.attentions.shape == (2, 2, 17, 17)
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)
    assert set(result.probabilities) == {"cat", "dog", "bird"}
    assert abs(sum(result.probabilities.values()) - 1) < 1e-5
    assert result.label == max(result.probabilities, key=result.probabilities.get)
    rollout = result.rollout_grid("max")
    assert rollout.shape == (4, 4) and abs(rollout.sum() - 1) < 1e-9
    np.testing.assert_allclose(result.cls_to_patches(1, 0).ravel(), result.attentions[1, 0, 0, 1:])


def test_offline_hub_vit_gives_clear_error():
    with pytest.raises(ValueError, match="Could not load 'google/vit-base-patch16-224' from the Hugging Face Hub"):
        image_attention(Image.new("RGB", (8, 8)), "google/vit-base-patch16-224")


def test_blank_drawing_is_refused():
    with pytest.raises(ValueError, match="blank"):
        image_to_digit8(Image.new("RGB", (100, 100), "white"))


def test_digit_input_handles_both_polarities():
    light = Image.new("RGB", (120, 120), "white")
    ImageDraw.Draw(light).line([(60, 10), (60, 110)], fill="black", width=12)  # a "1"
    dark = Image.fromarray(255 - np.asarray(light))
    np.testing.assert_allclose(image_to_digit8(light), image_to_digit8(dark), atol=1e-6)
    digit = image_to_digit8(light)
    assert digit.shape == (8, 8) and digit.max() == 1.0 and digit[:, 3:5].mean() > digit[:, :2].mean()


def test_committed_digits_vit_reaches_97_percent_on_held_out_digits():
    from engine.core.datasets import digits_split, upscale_digits

    model = load_image_model().model
    split = digits_split()
    with torch.no_grad():
        logits = model(pixel_values=upscale_digits(split.test_images)).logits
    accuracy = float((logits.argmax(-1).numpy() == split.test_labels).mean())
    assert accuracy >= 0.97, accuracy
    recorded = json.loads((ASSETS_DIR / "digits_vit" / "training.json").read_text())["metrics"]["test_accuracy"]
    assert abs(recorded - accuracy) < 1e-6


@pytest.mark.parametrize("digit", range(10))
def test_committed_vit_reads_example_images(digit):
    result = image_attention(Image.open(ASSETS_DIR / "examples" / f"digit_{digit}.png").convert("RGB"))
    assert result.label == str(digit)
    assert result.attentions.shape == (4, 4, 65, 65)


def test_user_style_images_of_held_out_digits_are_read_as_well_as_raw_ones():
    """Held-out digits drawn as 128 px dark-on-light uploads go through image_to_digit8 and still score >= 97%."""
    from engine.core.datasets import digits_split, upscale_digits

    split = digits_split()
    uploads = [
        Image.fromarray(((1 - digit) * 255).astype(np.uint8)).resize((128, 128), Image.BICUBIC).convert("RGB")
        for digit in split.test_images
    ]
    pixels = upscale_digits(np.stack([image_to_digit8(upload) for upload in uploads]))
    with torch.no_grad():
        predictions = load_image_model().model(pixel_values=pixels).logits.argmax(-1).numpy()
    assert (predictions == split.test_labels).mean() >= 0.97
