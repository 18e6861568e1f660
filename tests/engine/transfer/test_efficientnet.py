"""EfficientNet-Lite0 from its package: strict, checked loading, TF-SAME padding, known photos, Grad-CAM, bad input."""

from __future__ import annotations

import dataclasses
import io
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from engine.core.registry import get_source
from engine.transfer import efficientnet, imagenet
from engine.transfer.efficientnet import EfficientNetLite0, SameConv2d, build_imagenet_model, same_padding
from engine.transfer.gradcam import efficientnet_gradcam, overlay
from tests.support import png_header_only

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model() -> EfficientNetLite0:
    return build_imagenet_model(use_cache=False)


def _photo(name: str) -> Image.Image:
    import skimage.data

    return Image.fromarray(getattr(skimage.data, name)())


def _small_coffee() -> Image.Image:
    return _photo("coffee").resize((150, 100), Image.BILINEAR)


def test_package_state_dict_loads_strictly_with_the_documented_size(model):
    state = efficientnet.load_package_state_dict()
    assert len(state) == 296
    assert set(state) == set(model.state_dict())  # strict=True already succeeded inside build_imagenet_model
    assert sum(p.numel() for p in model.parameters()) == efficientnet.PARAMETER_COUNT == 4_652_008
    assert len(model._blocks) == 16 and len(model.stages()) == 7
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    backbone = EfficientNetLite0(num_classes=0)
    backbone.load_state_dict(efficientnet.backbone_state_dict(model), strict=True)  # the transfer feature extractor
    assert backbone(torch.rand(1, 3, 64, 64)).shape == (1, 1280)


def test_wrong_sha256_is_refused_before_loading():
    source = dataclasses.replace(get_source("efficientnet-lite0"), name="efficientnet-lite0-wrong-pin", sha256="0" * 64)
    with pytest.raises(ValueError, match="Checksum mismatch"):
        build_imagenet_model(source, use_cache=False)
    with pytest.raises(ValueError, match="Checksum mismatch"):
        efficientnet.load_package_state_dict(source)


def test_weights_only_load_refuses_pickled_code(tmp_path, monkeypatch):
    import os

    weights = tmp_path / "efficientnet-lite0-57934424.pth"
    weights.write_bytes(pickle.dumps({"_fc.weight": os.system}))  # a full unpickle would import os.system
    monkeypatch.setattr(efficientnet, "verified_path", lambda source: tmp_path)
    with pytest.raises(ValueError, match="plain state dict"):
        efficientnet.load_package_state_dict()


@pytest.mark.parametrize("size, kernel, stride, expected", [
    (224, 3, 2, (0, 1)), (112, 5, 2, (1, 2)), (7, 3, 2, (1, 1)), (14, 5, 1, (2, 2)), (9, 1, 1, (0, 0)),
])
def test_same_padding_is_tensorflows(size, kernel, stride, expected):
    assert same_padding(size, kernel, stride) == expected


def test_stride_two_convolution_pads_after_like_tensorflow():
    """The companion package (efficientnet-lite-pytorch) pads TF-"SAME": the extra pixel goes after."""
    torch.manual_seed(0)
    conv = SameConv2d(2, 3, 3, stride=2)
    x = torch.randn(1, 2, 8, 8)
    expected = F.conv2d(F.pad(x, (0, 1, 0, 1)), conv.weight, stride=2)
    assert torch.allclose(conv(x), expected)
    symmetric = F.conv2d(x, conv.weight, stride=2, padding=1)
    assert not torch.allclose(conv(x), symmetric)
    odd = torch.randn(1, 2, 7, 7)  # odd sizes pad symmetrically, as TF does
    assert torch.allclose(conv(odd), F.conv2d(odd, conv.weight, stride=2, padding=1))


def test_logits_match_the_companion_implementation_on_coffee(model):
    """Reference: efficientnet_lite_pytorch.EfficientNet.from_pretrained('efficientnet-lite0') on the same
    preprocessed coffee photo gave top-3 classes 967/968/925 with logits 11.4122/7.2698/6.5662
    (docs/imagenet.md; max |difference| over all 1000 logits measured 0.0)."""
    pixels, crop = imagenet.preprocess(_photo("coffee"))
    assert pixels.shape == (1, 3, 224, 224) and crop.size == (224, 224)
    with torch.no_grad():
        logits = model(pixels)[0]
    top = torch.topk(logits, 3)
    assert top.indices.tolist() == [967, 968, 925]
    np.testing.assert_allclose(top.values.numpy(), [11.4122, 7.2698, 6.5662], atol=2e-3)


def test_known_photos():
    coffee = imagenet.classify(_photo("coffee"), top_k=5)
    assert coffee.labels[0] == "espresso" and coffee.probabilities[0] > 0.5
    assert list(coffee.probabilities) == sorted(coffee.probabilities, reverse=True)
    chelsea = imagenet.classify(_photo("chelsea"), top_k=3)
    assert set(chelsea.labels) & set(imagenet.CAT_CLASSES)
    payload = coffee.payload()
    assert [entry["label"] for entry in payload["top_k"]] == list(coffee.labels)
    assert set(payload["top_k"][0]) == {"label", "probability"}


def test_labels_asset_is_complete_and_in_index_order():
    labels = imagenet.imagenet_labels()
    assert len(labels) == len(set(labels)) == 1000
    assert labels[0] == "tench" and labels[967] == "espresso" and labels[281] == "tabby"


@pytest.mark.parametrize("layer, grid", [("head", (7, 7)), ("stage 3", (28, 28))])
def test_gradcam_maps_are_bounded_finite_and_class_specific(model, layer, grid):
    pixels, _ = imagenet.preprocess(_photo("chelsea"))
    result = efficientnet_gradcam(model, pixels, classes=[281, 967], layer=layer)  # tabby vs espresso
    assert result.maps.shape == (2, 224, 224) and result.maps.dtype == np.float32 and result.grid == grid
    assert np.isfinite(result.maps).all() and result.maps.min() >= 0.0 and result.maps.max() <= 1.0
    assert result.maps[0].max() == pytest.approx(1.0)
    assert np.abs(result.maps[0] - result.maps[1]).mean() > 0.05
    with pytest.raises(ValueError, match="Unknown layer"):
        efficientnet_gradcam(model, pixels, layer="stage 9")
    with pytest.raises(ValueError, match="outside"):
        efficientnet_gradcam(model, pixels, classes=[1000])


def test_overlay_is_a_pure_drawing_function():
    picture = Image.new("RGB", (40, 30), (10, 200, 30))
    cam = np.linspace(0, 1, 49, dtype=np.float32).reshape(7, 7)
    drawn = overlay(picture, cam, alpha=0.5)
    assert drawn.size == (40, 30) and drawn.mode == "RGB" and picture.getpixel((0, 0)) == (10, 200, 30)
    assert np.array_equal(np.asarray(overlay(picture, cam, alpha=0.0)), np.asarray(picture))
    assert overlay(picture, cam, size=64).size == (64, 64)
    with pytest.raises(ValueError, match="finite"):
        overlay(picture, np.full((7, 7), np.nan))


def _encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize("make", [
    lambda: Image.fromarray(np.asarray(_small_coffee().convert("L"))),  # grayscale
    lambda: _small_coffee().convert("RGBA"),
    lambda: _encoded(_small_coffee().convert("CMYK"), "JPEG"),
    lambda: Image.fromarray((np.asarray(_small_coffee().convert("L"), dtype=np.uint16) * 257)),  # 16-bit
    lambda: _small_coffee().convert("P"),
], ids=["gray", "rgba", "cmyk", "16bit", "palette"])
def test_unusual_image_modes_are_converted(make):
    result = imagenet.classify(make(), top_k=2)
    assert len(result.labels) == 2 and result.overlay.size == (imagenet.DISPLAY_SIDE,) * 2


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="not an image"):
        imagenet.classify(b"definitely not an image")
    with pytest.raises(ValueError, match="No image"):
        imagenet.classify(None)
    with pytest.raises(ValueError, match="at least 16 pixels"):
        imagenet.classify(Image.new("RGB", (1, 1)))
    with pytest.raises(ValueError, match="pixels"):
        imagenet.classify(png_header_only(30_000, 30_000))
    with pytest.raises(ValueError, match="top_k"):
        imagenet.classify(Image.new("RGB", (32, 32)), top_k=0)
    with pytest.raises(ValueError, match="top_k"):
        imagenet.classify(Image.new("RGB", (32, 32)), top_k="five")
    with pytest.raises(ValueError, match="Unknown Grad-CAM layer"):
        imagenet.classify(Image.new("RGB", (32, 32)), layer="fc")
    wide = imagenet.classify(Image.new("RGB", (4000, 16), (200, 30, 30)), top_k=1)  # extreme aspect: no blow-up
    assert wide.model_input.size == (224, 224)


def test_safetensors_cache_copy_is_exact_and_a_broken_one_is_rebuilt(tmp_path, monkeypatch):
    from engine.core import settings

    monkeypatch.setenv("NEURODECK_CACHE", str(tmp_path))
    settings.reload()
    try:
        first = build_imagenet_model()  # writes the copy
        cached = efficientnet.cached_copy(get_source("efficientnet-lite0"))
        assert cached.parent == tmp_path and cached.is_file() and efficientnet.verify_cache_matches()
        cached.write_bytes(b"truncated")
        second = build_imagenet_model()  # a broken copy: falls back to the checked .pth and rewrites it
        assert torch.equal(second._fc.weight, first._fc.weight) and cached.stat().st_size > 10**7
    finally:
        monkeypatch.delenv("NEURODECK_CACHE")
        settings.reload()


def test_default_transfer_backbone_is_efficientnet_with_seven_stages():
    from engine.transfer.backbones import load_backbone

    backbone = load_backbone("", "image")
    assert backbone.key == "efficientnet-lite0" and backbone.image_size == 224 and backbone.feature_dim == 1280
    assert backbone.num_blocks == 7 and not any(key.startswith("_fc.") for key in backbone.state_dict)


def _stage_keys(model, stage: int) -> list[str]:
    ids = {id(p) for p in model.backbone.stages()[stage - 1].parameters()}
    return [name for name, p in model.named_parameters() if id(p) in ids]


def _small_backbone(model):
    """The real pre-trained feature extractor, fed 32x32 pictures (it is fully convolutional) so tests stay fast."""
    from engine.transfer.backbones import Backbone

    return Backbone(key="efficientnet-lite0@32", name="EfficientNet-Lite0 at 32 px", modality="image",
                    backbone_type="efficientnet_lite", backbone_config={"num_classes": 0, "dropout": 0.0},
                    feature_dim=1280, state_dict=efficientnet.backbone_state_dict(model), image_size=32)


@pytest.mark.parametrize("strategy, stats_move", [("fine_tune_last_n", False), ("full_fine_tune", True)])
def test_partial_fine_tuning_trains_the_last_stage_with_frozen_batchnorm_statistics(model, strategy, stats_move):
    from engine.transfer.backbones import new_classifier
    from engine.transfer.train import TrainConfig, train_transfer
    from tests.support import stripes_dataset

    backbone = _small_backbone(model)
    dataset = stripes_dataset(per_class=6, side=32)
    before = {k: v.clone() for k, v in new_classifier(backbone, dataset.class_names).state_dict().items()}
    config = TrainConfig(strategy=strategy, unfreeze_blocks=1, epochs=1, patience=0, batch_size=8, augment=False,
                         learning_rate=1e-2)
    trained = train_transfer(dataset, backbone, config).model
    after = trained.state_dict()
    stats = [k for k in before if k.endswith(("running_mean", "running_var"))]
    assert any(not torch.equal(before[k], after[k]) for k in stats) == stats_move
    last, earlier = _stage_keys(trained, 7), _stage_keys(trained, 6)
    assert "backbone._conv_head.weight" in last and any(not torch.equal(before[k], after[k]) for k in last)
    assert all(torch.equal(before[k], after[k]) for k in earlier) == (strategy == "fine_tune_last_n")


def test_efficientnet_transfer_model_exports_and_reloads_with_identical_logits(model, tmp_path):
    import zipfile

    from engine.transfer.backbones import prepare_inputs
    from engine.transfer.export import export_zip, load_exported
    from engine.transfer.train import TrainConfig, train_transfer
    from tests.support import stripes_dataset

    backbone, dataset = _small_backbone(model), stripes_dataset(per_class=4, side=32)
    result = train_transfer(dataset, backbone, TrainConfig(epochs=2, patience=0))
    archive = export_zip(result, dataset, tmp_path, name="export")
    zipfile.ZipFile(archive).extractall(tmp_path / "unpacked")
    loaded = load_exported(tmp_path / "unpacked")
    assert loaded.config.backbone_type == "efficientnet_lite" and len(loaded.blocks) == 7
    inputs = prepare_inputs(backbone, dataset.items)
    with torch.no_grad():
        assert torch.allclose(result.model.eval()(**inputs), loaded(**inputs), atol=1e-5)


def test_models_built_while_another_loads_get_real_parameters(model):
    """diffusers' from_pretrained patches nn.Module.register_parameter process-wide (meta device) while it builds;
    registry builds and new_classifier share MODEL_BUILD_LOCK, so a classifier built meanwhile is real."""
    import threading

    from engine.core import registry
    from engine.transfer.backbones import new_classifier
    from engine.transfer.cnn import NeuroDeckCNN

    folder = registry.verified_path(registry.get_source("neurodeck-cnn"))
    done = threading.Event()

    def load_many() -> None:
        for number in range(15):
            registry.load_once(f"test-race-{number}", lambda: NeuroDeckCNN.from_pretrained(folder, use_safetensors=True))
        done.set()

    loader = threading.Thread(target=load_many)
    loader.start()
    built = 0
    while not done.is_set() or built < 3:
        classifier = new_classifier(_small_backbone(model), ("a", "b"), pretrained=built % 2 == 0)
        assert not any(t.is_meta for t in classifier.state_dict().values())
        built += 1
    loader.join()
    for number in range(15):
        registry._cache.pop(f"test-race-{number}", None)
