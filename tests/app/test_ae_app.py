"""The Autoencoder tab through gradio_client against a real `python app.py` server, including bad uploads."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from engine.autoencoder.anomaly import build_eval_set


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def photo_path(tmp_path_factory):
    from engine.autoencoder.photos import load_photo

    path = tmp_path_factory.mktemp("ae") / "chelsea.png"
    Image.fromarray((np.asarray(load_photo("chelsea"))[:128, :160] * 255).astype(np.uint8)).save(path)
    return str(path)


@pytest.fixture(scope="module")
def texture_paths(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ae_tex")
    eval_set = build_eval_set()
    paths = {}
    for name, index in {"normal": 0, "defect": next(i for i, k in enumerate(eval_set.kinds) if k == "colour_blob")}.items():
        paths[name] = str(folder / f"{name}.png")
        Image.fromarray((eval_set.images[index] * 255).round().astype(np.uint8)).save(paths[name])
    return paths


def test_ae_denoise_returns_images_and_metrics(client, photo_path):
    outputs = client.predict(handle_file(photo_path), "gaussian", 0.1, 3, "tv", api_name="/ae_denoise")
    *images, metrics = outputs
    assert len(images) == 5 and all(str(p).endswith(".jpg") for p in images)  # display JPEGs
    assert Image.open(images[1]).size == (160, 128)
    assert metrics["noise"] == "gaussian" and metrics["seed"] == 3
    assert metrics["autoencoder"]["psnr_db"] > metrics["noisy"]["psnr_db"]
    assert {"noisy", "autoencoder", "gaussian_blur", "tv_chambolle"} <= set(metrics)


def test_ae_denoise_defaults_and_other_noises(client, photo_path):
    metrics = client.predict(handle_file(photo_path), api_name="/ae_denoise")[-1]
    assert metrics["noise"] == "gaussian" and metrics["level"] == 0.1
    for noise, level in [("salt_pepper", 0.1), ("masking", 0.2), ("speckle", 0.3)]:
        metrics = client.predict(handle_file(photo_path), noise, level, 0, "nl_means", api_name="/ae_denoise")[-1]
        assert metrics["noise"] == noise and "nl_means" in metrics
        assert metrics["autoencoder"]["ssim"] > metrics["noisy"]["ssim"]


def test_ae_denoise_bad_level_is_refused(client, server_alive, photo_path):
    with pytest.raises(AppError, match="between 0.0 and 0.5"):
        client.predict(handle_file(photo_path), "gaussian", 7, 0, "tv", api_name="/ae_denoise")
    server_alive()


def test_ae_anomaly_flags_defect_not_normal(client, texture_paths):
    _, _, normal = client.predict(handle_file(texture_paths["normal"]), api_name="/ae_anomaly")
    overlay, mask, defect = client.predict(handle_file(texture_paths["defect"]), None, "per-image", api_name="/ae_anomaly")
    assert set(normal) >= {"score", "threshold", "is_anomaly"}
    assert normal["is_anomaly"] is False and defect["is_anomaly"] is True
    assert defect["score"] > normal["score"] and defect["normalisation"] == "per-image"
    assert Image.open(overlay).size == (128, 128)


def test_ae_anomaly_threshold_updates_metrics(client):
    gallery, low, roc = client.predict(0.5, api_name="/ae_anomaly_threshold")
    _, high, _ = client.predict(5.0, api_name="/ae_anomaly_threshold")
    assert low["pixel"]["recall"] > high["pixel"]["recall"]
    assert low["image_auroc"] >= 0.85 and low["pixel_auroc"] >= 0.90
    assert low["image_auroc"] == high["image_auroc"]  # the ROC does not depend on the threshold
    assert len(gallery) == 12 and str(roc).endswith(".png")


def test_ae_latent_endpoints(client):
    digit, map_image, info = client.predict(0.0, 0.0, api_name="/ae_decode_latent")
    assert Image.open(digit).size == (192, 192) and Image.open(map_image).size == (560, 480)
    assert (info["x"], info["y"]) == (0.0, 0.0) and 0 <= info["nearest_test_digit"]["label"] <= 9
    strip, _, path_info = client.predict(3, 8, 5, api_name="/ae_interpolate")
    assert len(path_info["path"]) == 5
    assert Image.open(strip).size[0] > 5 * Image.open(strip).size[1]  # a strip of 7 digits


def test_ae_latent_opening_steps_in_process():
    """The map and the bottleneck chart are the view's opening (private): their handlers, called directly."""
    from demos.autoencoder.latent import ae_bottleneck, ae_latent_map

    image, x_range, y_range = ae_latent_map()
    assert image.size == (560, 480)
    assert x_range["minimum"] < 0 < x_range["maximum"] and y_range["minimum"] < 0 < y_range["maximum"]
    assert "value" not in x_range  # a deep link's point survives the map's opening
    plot, table = ae_bottleneck()
    assert table["16"]["autoencoder_beats_pca"] is True and plot.size[0] > 200


def test_private_plumbing_is_not_in_the_api(client):
    public = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert {"/ae_latent_map", "/ae_bottleneck", "/ae_load_for_drawing"}.isdisjoint(public)
    assert len({name for name in public if name.startswith("/ae_")}) <= 8  # 7, and /ae_tabular (issue #22)


def test_ae_hub_offline_is_clear(client, server_alive, photo_path):
    with pytest.raises(AppError, match="offline"):
        client.predict(handle_file(photo_path), "madebyollin/taesd", api_name="/ae_hub_roundtrip")
    server_alive()


def _bad_files(folder):
    files = {}
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 80), dtype=np.uint8), mode="L").save(folder / "gray.png")
    files["grayscale"] = (folder / "gray.png", None)
    Image.new("RGBA", (64, 64), (200, 30, 30, 90)).save(folder / "rgba.png")
    files["rgba"] = (folder / "rgba.png", None)
    Image.new("RGB", (1, 1), (10, 20, 30)).save(folder / "one.png")
    files["1x1"] = (folder / "one.png", "at least")
    (folder / "huge.png").write_bytes(_png_header_only(10_000, 10_000))
    files["10000x10000"] = (folder / "huge.png", "pixels")
    Image.new("CMYK", (48, 40), (0, 128, 255, 0)).save(folder / "cmyk.jpg", "JPEG")
    files["cmyk"] = (folder / "cmyk.jpg", None)
    Image.fromarray((np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16), mode="I;16").save(folder / "deep.png")
    files["16bit"] = (folder / "deep.png", None)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"definitely not an image" * 10)
    files["corrupt"] = (folder / "corrupt.png", "not an image|corrupt")
    return files


@pytest.mark.parametrize("endpoint", ["/ae_denoise", "/ae_anomaly"])
def test_bad_inputs_are_handled_or_refused(client, server_alive, tmp_path, endpoint):
    for name, (path, error) in _bad_files(tmp_path).items():
        if error is None:
            outputs = client.predict(handle_file(str(path)), api_name=endpoint)
            assert isinstance(outputs[-1], dict), name
        else:
            with pytest.raises(AppError, match=error):
                client.predict(handle_file(str(path)), api_name=endpoint)
        server_alive()
    metrics = client.predict(handle_file(str(tmp_path / "gray.png")), api_name="/ae_denoise")[-1]
    assert metrics["size"] == [80, 64]


def test_ae_anomaly_drawn_and_load_for_drawing(client, texture_paths):
    from demos.autoencoder.anomalies import load_for_drawing

    update = load_for_drawing("brick_normal")
    assert update["value"]["background"].size == (128, 128) and update["visible"] is True  # built hidden
    drawn = {"background": handle_file(texture_paths["normal"]), "layers": [], "composite": handle_file(texture_paths["defect"])}
    info = client.predict(drawn, 2.5, "dataset-wide", api_name="/ae_anomaly_drawn")[-1]
    assert info["is_anomaly"] is True and info["threshold"] == 2.5


def test_one_stroke_of_the_default_brush_is_a_thin_flagged_scratch(client, tmp_path):
    """Drawn as the editor draws it (a line twice the brush radius wide): flagged, and only around the line."""
    from PIL import ImageDraw

    from demos.autoencoder.anomalies import BRUSH, load_for_drawing

    texture = load_for_drawing("brick_normal")["value"]["background"]
    ImageDraw.Draw(texture).line([(30, 40), (95, 90)], fill=BRUSH.default_color, width=2 * BRUSH.default_size)
    texture.save(tmp_path / "drawn.png")
    drawn = {"background": None, "layers": [], "composite": handle_file(str(tmp_path / "drawn.png"))}
    info = client.predict(drawn, None, "dataset-wide", api_name="/ae_anomaly_drawn")[-1]
    assert info["is_anomaly"] is True
    assert info["anomalous_pixel_fraction"] < 0.15, info  # the pixels around the line, not the whole texture


def test_every_texture_example_gets_the_verdict_its_name_says(client):
    from engine.autoencoder.assets import texture_examples

    examples = texture_examples()
    assert {name.split("_")[0] for name in examples} == {"brick", "grass", "gravel"}
    for name, path in examples.items():
        info = client.predict(handle_file(path), api_name="/ae_anomaly")[-1]
        assert info["is_anomaly"] is not name.endswith("_normal"), (name, info["score"])
        assert info["texture_calibration"] == name.split("_")[0], (name, info["texture_calibration"])
