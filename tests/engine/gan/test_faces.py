"""Faces engine: ψ maths, the w-average cache, direction maths and input checks on small arrays (no model),
plus a few checks with the real MobileStyleGAN at 256 px."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from PIL import Image

from engine.gan import faces, faces_directions, faces_interpolate, faces_render

D = faces.STYLE_DIM


# ----------------------------------------------------------------------------------------- ψ maths
def test_truncation_psi_zero_is_the_average_and_one_is_identity():
    rng = np.random.default_rng(0)
    w, w_avg = rng.standard_normal((3, D)).astype(np.float32), rng.standard_normal(D).astype(np.float32)
    np.testing.assert_allclose(faces.truncate(w, w_avg, 0.0), np.broadcast_to(w_avg, (3, D)))
    np.testing.assert_allclose(faces.truncate(w, w_avg, 1.0), w, rtol=1e-5, atol=1e-6)
    half = faces.truncate(w, w_avg, 0.5)
    np.testing.assert_allclose(half, (w + w_avg) / 2, rtol=1e-5, atol=1e-6)
    # distance to the average shrinks by exactly ψ
    for psi in (0.25, 0.7):
        ratio = np.linalg.norm(faces.truncate(w, w_avg, psi) - w_avg, axis=1) / np.linalg.norm(w - w_avg, axis=1)
        np.testing.assert_allclose(ratio, psi, rtol=1e-5)


def test_seed_noise_is_deterministic_distinct_and_private():
    state = np.random.get_state()
    a, again, b = faces.seed_z(5), faces.seed_z(5), faces.seed_z(6)
    assert a.shape == (D,) and a.dtype == np.float32
    np.testing.assert_array_equal(a, again)
    assert not np.allclose(a, b)
    assert np.array_equal(np.random.get_state()[1], state[1])  # the global RNG is never touched


def test_lerp_and_path_length():
    a, b = np.zeros(4, np.float32), np.array([3, 4, 0, 0], np.float32)
    line = faces_interpolate.lerp(a, b, 6)
    assert line.shape == (6, 4)
    np.testing.assert_array_equal(line[0], a)
    np.testing.assert_allclose(line[-1], b)
    np.testing.assert_allclose(np.diff(line, axis=0), np.tile((b - a) / 5, (5, 1)), rtol=1e-6)
    assert faces_interpolate.path_length(line) == pytest.approx(5.0)
    bent = np.array([[0, 0], [3, 0], [3, 4]], np.float32)
    assert faces_interpolate.path_length(bent) == pytest.approx(7.0)


def test_step_unevenness_is_one_for_even_steps():
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (0, 40, 80, 120)]
    assert faces_interpolate.step_unevenness(frames) == pytest.approx(1.0)
    jumpy = [np.full((8, 8, 3), v, np.uint8) for v in (0, 10, 20, 120)]
    assert faces_interpolate.step_unevenness(jumpy) == pytest.approx(100 / 40)


# ----------------------------------------------------------------------------------------- w average + cache
def _affine_map(scale=2.0, shift=0.5):
    calls = []

    def map_batch(z):
        calls.append(len(z))
        return scale * z + shift

    return map_batch, calls


def test_estimate_w_avg_is_the_mean_of_mapped_samples_whatever_the_batch():
    map_batch, calls = _affine_map()
    estimate = faces.estimate_w_avg(map_batch, samples=300, seed=1, batch=64)
    z = np.random.default_rng(1).standard_normal((300, D)).astype(np.float32)
    np.testing.assert_allclose(estimate, (2.0 * z + 0.5).mean(axis=0), rtol=1e-5, atol=1e-5)
    assert calls == [64, 64, 64, 64, 44]
    other, _ = _affine_map()
    np.testing.assert_allclose(faces.estimate_w_avg(other, samples=300, seed=1, batch=300), estimate, atol=1e-5)


def test_w_average_cache_computes_once_then_reads_the_file(tmp_path):
    computed = []

    def compute():
        computed.append(1)
        return np.arange(D, dtype=np.float32)

    first = faces.cached_w_avg("abc", compute, samples=128, folder=tmp_path)
    assert first.source == "computed" and first.path and os.path.exists(first.path)
    second = faces.cached_w_avg("abc", compute, samples=128, folder=tmp_path)
    assert second.source == "disk cache" and len(computed) == 1
    np.testing.assert_array_equal(second.w_avg, first.w_avg)
    assert second.seconds == pytest.approx(first.seconds)
    # another model digest or sample count is another entry
    assert faces.cached_w_avg("other", compute, samples=128, folder=tmp_path).source == "computed"
    assert faces.cached_w_avg("abc", compute, samples=256, folder=tmp_path).source == "computed"
    assert len(computed) == 3
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, no staging files left


def test_w_average_cache_recomputes_a_broken_file_and_survives_a_read_only_folder(tmp_path):
    compute = lambda: np.ones(D, np.float32)  # noqa: E731
    path = faces.cached_w_avg("k", compute, samples=8, folder=tmp_path).path
    open(path, "wb").write(b"not an npz")
    assert faces.cached_w_avg("k", compute, samples=8, folder=tmp_path).source == "computed"
    np.savez(path, w_avg=np.full(3, np.nan, np.float32), seconds=np.float64(1))  # wrong shape
    assert faces.cached_w_avg("k", compute, samples=8, folder=tmp_path).source == "computed"
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    result = faces.cached_w_avg("k", compute, samples=8, folder=blocked / "sub")
    assert result.source == "computed" and result.path == "" and result.w_avg.shape == (D,)
    with pytest.raises(ValueError, match="non-finite|shape"):
        faces.cached_w_avg("bad", lambda: np.full(D, np.inf, np.float32), samples=8, folder=tmp_path)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("NEURODECK_CACHE_DIR", str(tmp_path / "nd"))
    assert faces.cache_dir() == tmp_path / "nd"
    monkeypatch.delenv("NEURODECK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert faces.cache_dir() == tmp_path / "xdg" / "neurodeck"


# ----------------------------------------------------------------------------------------- directions
def _anisotropic(n=2000, d=6, seed=0):
    rng = np.random.default_rng(seed)
    scales = np.array([5.0, 3.0, 2.0, 1.0, 0.5, 0.2])[:d]
    rotation, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (rng.standard_normal((n, d)) * scales) @ rotation.T + 7.0, rotation, scales


def test_pca_directions_find_the_axes_of_spread():
    data, rotation, scales = _anisotropic()
    components, stdev, mean, explained = faces_directions.pca_directions(data, 3)
    assert components.shape == (3, 6) and stdev.shape == (3,) and mean.shape == (6,)
    np.testing.assert_allclose(components @ components.T, np.eye(3), atol=1e-5)  # orthonormal
    for k in range(3):  # the true axes, up to sign (fixed by the convention below)
        assert abs(components[k] @ rotation[:, k]) > 0.99
        assert components[k][np.abs(components[k]).argmax()] > 0
    np.testing.assert_allclose(stdev, scales[:3], rtol=0.06)
    np.testing.assert_allclose(mean, 7.0, atol=0.3)
    assert np.all(np.diff(explained) <= 0) and 0 < explained.sum() <= 1
    again = faces_directions.pca_directions(data, 3)
    np.testing.assert_array_equal(again[0], components)
    with pytest.raises(ValueError, match="at least two samples"):
        faces_directions.pca_directions(data[:1], 2)


def test_apply_direction_moves_exactly_along_one_component():
    data, _, _ = _anisotropic()
    components, stdev, mean, explained = faces_directions.pca_directions(data, 3)
    directions = faces_directions.Directions(components, stdev, mean, explained, ("first",))
    w = data[0].astype(np.float32)
    moved = faces_directions.apply_direction(w, directions, 1, 2.0)
    step = moved - w
    assert step @ components[1] == pytest.approx(2.0 * stdev[1], rel=1e-5)
    assert abs(step @ components[0]) < 1e-4 and abs(step @ components[2]) < 1e-4
    np.testing.assert_allclose(faces_directions.apply_direction(w, directions, 0, 0.0), w)
    assert directions.name(0) == "0: first" and directions.name(2) == "direction 2"


def test_committed_directions_are_orthonormal_and_labelled():
    directions = faces_directions.load_directions()
    c = directions.components
    assert c.shape == (directions.count, D) and directions.count >= 5
    np.testing.assert_allclose(c @ c.T, np.eye(directions.count), atol=1e-4)
    assert np.all(directions.stdev > 0) and np.all(np.diff(directions.explained) <= 1e-6)
    assert len(directions.labels) == directions.count and all(directions.labels)
    assert faces_directions.check_direction(directions.labels[1].upper(), directions.count, directions.labels) == 1


def test_a_direction_is_named_only_after_a_measurement_that_passes():
    import json

    from engine.gan import faces_labels

    data = json.loads((faces_directions.DIRECTIONS_DIR / faces_directions.LABELS_FILE).read_text())
    measurement = data["measurement"]
    assert measurement["seeds"] >= 20 and "--measure-labels" in measurement["command"]
    assert measurement["sign_threshold"] == faces_labels.SIGN_THRESHOLD
    assert measurement["effect_threshold"] == faces_labels.EFFECT_THRESHOLD
    entries = measurement["directions"]
    assert [e["direction"] for e in entries] == list(range(len(data["labels"])))
    for index, (label, entry) in enumerate(zip(data["labels"], entries)):
        assert entry["label"] == label
        stats = entry["statistics"]
        assert set(stats) == set(faces_labels.STATISTICS)
        assert all(s["seeds"] == measurement["seeds"] for s in stats.values())
        passing = [name for name, s in stats.items() if faces_labels.passes(s)]
        if label == f"direction {index}":
            assert not passing, (index, passing)
            continue
        assert passing, (index, label)
        # The name is made of the passing statistics' own phrases, with the measured sign.
        strongest = sorted(passing, key=lambda n: -abs(stats[n]["effect_size"]))[: faces_labels.MAX_NAMED_STATISTICS]
        for name in strongest:
            phrase = faces_labels.STATISTICS[name][1 if stats[name]["mean_change"] > 0 else 2]
            assert phrase in label, (label, name)
        assert faces_directions.load_directions().name(index) == f"{index}: {label}"


def test_labels_follow_the_statistics_and_their_sign():
    from engine.gan import faces_labels

    rng = np.random.default_rng(0)

    def render(seed, index, amount):
        image = np.full((64, 64, 3), 110, np.int16)
        image[16:48, 16:48] = (200, 150, 120)  # a skin-coloured square
        image += rng.integers(-4, 5, size=image.shape)
        if index == 0:  # darker toward +σ
            image -= int(12 * amount)
        if index == 2:  # the skin square slides right toward +σ
            image = np.roll(image, int(4 * amount), axis=1)
        return np.clip(image, 0, 255).astype(np.uint8)

    results = faces_labels.measure_directions(render, range(12), 3)
    assert "darker" in results[0]["label"] and results[0]["statistics"]["brightness"]["sign_consistency"] == 1.0
    assert results[1]["label"] == "direction 1"
    assert results[2]["label"].startswith("skin area shifts right")
    assert faces_labels.summarise([1.0, 1.0, -1.0, 1.0])["sign_consistency"] == 0.75
    assert not faces_labels.passes(faces_labels.summarise([1.0, 1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="at least two seeds"):
        faces_labels.summarise([1.0])


# ----------------------------------------------------------------------------------------- checks
@pytest.mark.parametrize("check, value, message", [
    (faces.check_seed, -1, "seed must be a whole number from 0"),
    (faces.check_seed, 2**40, "seed must be a whole number from 0"),
    (faces.check_seed, 1.5, "seed"),
    (faces.check_seed, "abc", "seed"),
    (faces.check_seed, True, "seed"),
    (faces.check_count, 0, "count must be a whole number of faces from 1 to 8"),
    (faces.check_count, 100, "from 1 to 8"),
    (faces.check_psi, float("nan"), "Truncation ψ must be a number from 0 to 1"),
    (faces.check_psi, "nan", "Truncation ψ"),
    (faces.check_psi, 1.5, "Truncation ψ"),
    (faces.check_psi, None, "Truncation ψ"),
    (faces.check_size, 333, "size must be one of 256, 512, 1024"),
    (faces.check_size, "big", "size must be one of"),
    (faces.check_size, float("inf"), "size must be one of"),
    (faces_interpolate.check_frames, 1, "frames must be a whole number from 2 to 16"),
    (faces_interpolate.check_space, "x", 'must be "w"'),
    (faces_directions.check_amount, math.inf, "standard deviations"),
])
def test_bad_inputs_get_clear_errors(check, value, message):
    with pytest.raises(ValueError, match=message):
        check(value)


def test_good_inputs_are_normalised():
    assert faces.check_seed(7.0) == 7 and faces.check_seed("12") == 12
    assert faces.check_size("512") == 512 and faces.check_size(1024.0) == 1024
    assert faces_interpolate.check_space(" Z ") == "z" and faces.check_count("3") == 3
    assert faces_directions.check_direction("2", 5) == 2
    with pytest.raises(ValueError, match="from 0 to 4"):
        faces_directions.check_direction(5, 5)


def test_seed_plus_count_cannot_pass_the_largest_seed():
    with pytest.raises(ValueError, match="go past"):
        faces.generate_faces(faces.MAX_SEED, 2)


# ----------------------------------------------------------------------------------------- pixels + drawing
def test_to_uint8_maps_minus_one_to_one_onto_0_255_rgb():
    image = np.stack([np.full((4, 4), -1.0), np.zeros((4, 4)), np.full((4, 4), 1.5)]).astype(np.float32)
    pixels = faces.to_uint8(image)
    assert pixels.shape == (4, 4, 3) and pixels.dtype == np.uint8
    assert tuple(pixels[0, 0]) == (0, 128, 255)
    assert faces.resize(np.zeros((64, 64, 3), np.uint8), 16).size == (16, 16)


def test_render_sheets_and_gif():
    tile = Image.new("RGB", (64, 64), (200, 100, 50))
    sheet = faces_render.truncation_sheet([[tile] * 4] * 3, faces.TRUNCATION_PSIS, [4, 5, 6], cell=64)
    assert sheet.width > 4 * 64 and sheet.height > 3 * 64
    gif = faces_render.frames_to_gif([tile, tile.point(lambda v: 255 - v)])
    assert gif[:6] == b"GIF89a"
    face = Image.new("RGB", (1024, 1024), "grey")
    crops = [(label, face.crop((0, 0, 100, 100)), (0, 0, 100, 100)) for label in ("a", "b", "c")]
    assert faces_render.zoom_sheet(face, crops).width > 480
    html = faces_render.comparison_html({
        "digits_parameters": 120_000, "digits_side": 32, "digits_seconds_per_image": 0.002,
        "faces_parameters": 10_115_572, "faces_mapping_parameters": 2_101_269, "faces_synthesis_parameters": 8_014_303,
        "faces_side": 1024, "faces_seconds_per_image": 0.5, "openvino_threads": 1,
        "parameter_ratio": 84.3, "pixel_ratio": 3072.0, "time_ratio": 250.0})
    assert "10.1 M" in html and "1024×1024" in html and "2.0 ms" in html


# ----------------------------------------------------------------------------------------- the real model (256 px)
@pytest.fixture(scope="module")
def generator(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:  # the w average goes to a temporary cache, not ~/.cache
        patch.setenv("NEURODECK_CACHE_DIR", str(tmp_path_factory.mktemp("faces_cache")))
        generator = faces.load_face_generator()
        faces.w_average(generator)  # estimated once per process (4,096 mapped samples)
    return generator


def test_real_model_is_deterministic_and_seeds_differ(generator):
    w = faces.styles((0,), 0.7, generator)[0]
    raw = generator.synthesize_raw(w)  # really runs the network (no image cache)
    assert raw.shape == (3, 1024, 1024) and -1.5 < raw.min() < raw.max() < 1.5
    np.testing.assert_array_equal(generator.synthesize(w), faces.to_uint8(raw))  # ran again: same pixels
    result = faces.generate_faces(0, 2, 0.7, 256)
    assert result.seeds == (0, 1) and all(image.size == (256, 256) for image in result.images)
    a, b = (np.asarray(image, np.float32) for image in result.images)
    assert np.abs(a - b).mean() > 10  # two different people
    pixels = np.asarray(result.images[0])
    assert pixels.dtype == np.uint8 and pixels.min() < 40 and pixels.max() > 215  # the full range is used
    payload = result.payload()
    assert payload["seed"] == 0 and payload["size"] == 256 and [i["seed"] for i in payload["images"]] == [0, 1]


def test_real_model_psi_zero_is_the_average_face_for_every_seed(generator):
    w_avg = faces.w_average(generator).w_avg
    ws = faces.styles((0, 1, 2), 0.0, generator)
    np.testing.assert_array_equal(ws, np.broadcast_to(w_avg, ws.shape))
    images = faces.generate_faces(0, 3, 0.0, 256).images
    assert all(np.array_equal(np.asarray(images[0]), np.asarray(image)) for image in images[1:])
    np.testing.assert_array_equal(np.asarray(images[0]), np.asarray(faces.average_face(256)))


def test_the_face_generator_loads_through_the_registry_once_per_process(generator):
    from engine.core import registry

    assert registry.load("gan-faces") is registry.load("gan-faces") is generator
    assert faces.load_face_generator() is generator
    assert generator.folder == registry.verified_path(registry.get_source("gan-faces"))
    assert registry.SOURCES["gan-faces"].name in registry._verified  # its four IR files' sha256 were checked


def test_idle_release_frees_the_buffers_and_the_next_face_is_the_same(generator):
    from demos.common.memory import rss_bytes

    w = faces.styles((3,), 0.7, generator)[0]
    before = generator.synthesize_raw(w)
    with generator._synthesis_pool.request():  # a face being made: nothing is released under it
        assert generator.release_idle_memory() is False
    releases, rss = generator.releases, rss_bytes()
    assert generator.release_idle_memory() is True and generator.releases == releases + 1
    if rss:  # Linux: the synthesis buffers (~180 MB per stream at 1024 px) went back to the system
        assert rss - rss_bytes() > 50 * 2**20
    np.testing.assert_array_equal(generator.synthesize_raw(w), before)  # buffers rebuilt, same pixels


@pytest.mark.slow  # compiles the packaged IR a second time (~2 s): the fast tier has to stay under 60 s
def test_noise_as_inputs_gives_the_pixels_of_the_unchanged_network(generator):
    import openvino as ov

    assert len(generator._noise) == 15  # every synthesis layer's noise (the 4x4 constant input has none)
    w = faces.styles((5,), 0.7, generator)[0].reshape(1, faces.STYLE_DIM)
    core = ov.Core()  # the packaged IR as it is, compiled as the plugin would without the rewiring
    original = core.compile_model(core.read_model(str(generator.folder / "SynthesisNetwork.xml")), "CPU",
                                  {"INFERENCE_NUM_THREADS": 1, "INFERENCE_PRECISION_HINT": "f32"})
    expected = original.create_infer_request().infer({0: w})[0][0]
    np.testing.assert_array_equal(generator.synthesize_raw(w), expected)  # bit for bit


def test_the_noise_setting_reads_inputs_or_folded_and_refuses_anything_else(monkeypatch):
    monkeypatch.delenv("NEURODECK_FACES_NOISE", raising=False)
    assert faces._noise_inputs_setting() is True  # the default: 480 MB less held
    monkeypatch.setenv("NEURODECK_FACES_NOISE", " Folded ")
    assert faces._noise_inputs_setting() is False
    monkeypatch.setenv("NEURODECK_FACES_NOISE", "x" * 500)
    with pytest.raises(ValueError, match="NEURODECK_FACES_NOISE must be 'inputs' or 'folded'"):
        faces._noise_inputs_setting()
