"""The GAN tab through gradio_client against the real `python app.py` server, bad inputs included."""

from __future__ import annotations

import time

import pytest
from gradio_client import handle_file


def _wait_outputs(job, count: int, timeout_s: float = 60) -> list:
    deadline = time.time() + timeout_s
    while len(job.outputs()) < count and time.time() < deadline:
        if job.done():
            break
        time.sleep(0.1)
    return job.outputs()


def test_generate_with_only_a_seed(client):
    gallery, info = client.predict(7, api_name="/gan_generate")
    assert len(gallery) == 16 and info["seed"] == 7 and info["class"] == "random" and info["psi"] == 1.0
    again, info_again = client.predict(7, "4", 64, 0.7, api_name="/gan_generate")
    assert len(again) == 64 and info_again["classes"] == [4] * 64 and info_again["psi"] == 0.7


def test_generate_bad_inputs_and_offline_hub_id(client, server_alive):
    with pytest.raises(Exception, match="Truncation|greater than maximum"):
        client.predict(0, "random", 4, 5.0, api_name="/gan_generate")
    with pytest.raises(Exception, match="offline|Hub"):
        client.predict(0, "random", 4, 1.0, "someone/not-a-gan", api_name="/gan_generate")
    server_alive()


def test_interpolate_walk_and_score(client, tmp_path):
    gif, strip, info = client.predict(0, 1, "3", "8", 6, 1.0, api_name="/gan_interpolate")
    assert open(gif, "rb").read(6) == b"GIF89a" and info["frames"] == 6
    here, walk_strip = client.predict(0, "5", 1, 1.5, 1.0, api_name="/gan_walk")
    label, score = client.predict(handle_file(here), "auto", api_name="/gan_score")
    assert 0.0 <= score["realness"] <= 1.0 and len(score["realness_per_class"]) == 10
    assert score["class_from"] == "judge"
    # The same image under every saved D: earliest first, ending with the committed D (the main score).
    steps = [item["step"] for item in score["snapshots"]]
    assert len(steps) >= 3 and steps == sorted(steps) and steps[-1] == 4000
    assert score["snapshots"][-1]["realness"] == pytest.approx(score["realness"], abs=2e-4)
    assert all(0.0 <= item["realness"] <= 1.0 for item in score["snapshots"])


def test_sketchpad_reads_a_small_plain_seven_and_a_blank_canvas_is_not_scored(client, tmp_path):
    # What the sketchpad sends: white ink on the black 256 px canvas (transparent where nothing is drawn).
    from PIL import Image, ImageOps

    from tests.support import draw_digit

    seven = ImageOps.invert(draw_digit("7", side=256, width=14, scale=0.5, offset=(0.15, 0.1))).convert("RGBA")
    seven.putalpha(seven.convert("L"))  # ink opaque, the rest transparent
    seven.save(path := tmp_path / "seven.png")
    editor = {"background": None, "layers": [], "composite": handle_file(str(path))}
    info, chart = client.predict(editor, "auto", api_name="/gan_score_sketch")
    assert (info["class"], info["class_from"], info["judge_reads"]) == (7, "judge", 7), info
    assert info["snapshots"][-1]["realness"] == pytest.approx(info["realness"], abs=2e-4)
    Image.new("RGB", (256, 256)).save(blank := tmp_path / "blank.png")
    editor = {"background": None, "layers": [], "composite": handle_file(str(blank))}
    assert client.predict(editor, "auto", api_name="/gan_score_sketch") == (None, None)  # Blank canvas: the hint stays


def test_unreadable_image_gives_clear_error(client, tmp_path, server_alive):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(Exception, match="corrupt|not an image"):
        client.predict(handle_file(str(bad)), "auto", api_name="/gan_score")
    server_alive()


def test_csv_with_ten_million_rows_is_refused(client, tmp_path, server_alive):
    path = tmp_path / "huge.csv"
    with open(path, "w") as handle:
        block = "0.5,1.5\n" * 100_000
        for _ in range(100):
            handle.write(block)
    # 80 MB: refused before upload by the app's 25 MB file limit (the engine also caps rows at 100,000).
    with pytest.raises(Exception, match="maximum file size|more than 100,000 rows"):
        client.predict("custom", handle_file(str(path)), api_name="/gan_lab_step")
    server_alive()


def test_good_csv_trains_as_custom_data(client, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("x,y\n" + "\n".join(f"{i % 7},{(i * 3) % 5}" for i in range(60)) + "\n")
    field, charts, stats = client.predict("custom", handle_file(str(path)), api_name="/gan_lab_step")
    assert stats["step"] == 1 and stats["settings"]["dataset"] == "custom"
    with pytest.raises(Exception, match="not numeric"):  # a bad file gets the engine's message (more in tests/demos)
        path.write_text("x,y\n1,2\nabc,def\n")
        client.predict("custom", handle_file(str(path)), api_name="/gan_lab_step")


def test_lab_stream_stops_early_and_session_keeps_its_state(client, server_alive):
    job = client.submit(api_name="/gan_lab_run")  # every parameter at its default (ring, up to 20,000 steps)
    outputs = _wait_outputs(job, 3)
    assert len(outputs) >= 3, "GAN Lab did not stream 3 frames"
    job.cancel()
    field, charts, stats = outputs[-1]
    assert stats["step"] > 0 and stats["modes"] == 8
    steps_before = stats["step"]
    _, _, stepped = client.predict(api_name="/gan_lab_step")
    assert stepped["step"] > steps_before  # the same session continued (plus any frames after the cancel)
    server_alive()


def test_live_digits_training_streams_and_stops(client, server_alive):
    job = client.submit(0, 30, api_name="/gan_live_train")
    outputs = _wait_outputs(job, 2)
    job.cancel()
    assert len(outputs) >= 2
    grid, chart, status = outputs[-1]
    assert status["step"] > 0 and status["seed"] == 0
    assert open(grid, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(Exception, match="seed"):
        client.predict(-3, 30, api_name="/gan_live_train")
    server_alive()


def test_quality_remeasure(client):
    figures = client.predict(20, api_name="/gan_quality")
    assert figures["samples"] == 20 and figures["classes_produced"] >= 8
    assert figures["judge_test_accuracy"] >= 0.97


def test_loss_switched_during_play_is_used_on_the_next_step(client):
    # Collapse preset (G lr 5x), Play; switch the loss to WGAN-GP while it streams: later frames use it.
    job = client.submit("ring", None, 2, 64, 2, 64, 2, 0.005, 0.001, "adam", "non-saturating", 1, 0, False, 3000,
                        api_name="/gan_lab_run")
    first = _wait_outputs(job, 1)
    assert first and first[0][2]["settings"]["loss"] == "non-saturating"
    client.predict(0.001, 0.001, "adam", "wgan-gp", 5, api_name="/gan_lab_apply")
    seen = len(job.outputs())
    frames = _wait_outputs(job, seen + 2)
    job.cancel()
    latest = frames[-1][2]
    assert latest["settings"]["loss"] == "wgan-gp" and latest["settings"]["d_steps"] == 5
    assert latest["settings"]["g_lr"] == 0.001 and latest["step"] > first[0][2]["step"]
