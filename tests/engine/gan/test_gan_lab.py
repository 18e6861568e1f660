"""GAN Lab engine: data, CSV validation, coverage, training behaviour, collapse preset, rendering."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from engine.gan import lab
from engine.gan.render import render_lab_charts, render_lab_field, surface_to_rgb


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("name", ["ring", "grid", "moons", "spiral", "line"])
def test_builtin_datasets_are_finite_and_in_view(name):
    points = lab.sample_dataset(name, 2000, np.random.default_rng(0))
    assert points.shape == (2000, 2) and points.dtype == np.float32
    assert np.isfinite(points).all() and np.abs(points).max() < 2.5
    np.testing.assert_array_equal(points, lab.sample_dataset(name, 2000, np.random.default_rng(0)))


def test_mode_coverage_counts_modes():
    rng = np.random.default_rng(0)
    real = lab.sample_dataset("ring", 4000, rng)
    modes = lab.find_modes("ring", real)
    assert lab.mode_coverage(real, modes) == (1.0, pytest.approx(1.0, abs=0.02))
    one_mode = modes.centres[0] + rng.normal(scale=0.02, size=(500, 2))
    assert lab.mode_coverage(one_mode.astype(np.float32), modes)[0] == pytest.approx(1 / 8)
    nowhere = np.zeros((500, 2), np.float32)
    assert lab.mode_coverage(nowhere, modes) == (0.0, 0.0)


def test_clustered_modes_for_moons_cover_real_data():
    real = lab.sample_dataset("moons", 4000, np.random.default_rng(1))
    modes = lab.find_modes("moons", real)
    assert len(modes.centres) == lab.CLUSTER_MODES
    assert lab.mode_coverage(real, modes)[0] == 1.0


# ------------------------------------------------------------------------- CSV validation
def _write(tmp_path, text: str, name: str = "points.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_csv_with_header_parses(tmp_path):
    rows = "\n".join(f"{i * 0.1},{np.sin(i)}" for i in range(50))
    points = lab.parse_points_csv(_write(tmp_path, "x,y\n" + rows + "\n"))
    assert points.shape == (50, 2) and points.dtype == np.float32
    normalised = lab.normalise_points(points)
    assert np.abs(normalised.mean(0)).max() < 1e-5 and np.abs(normalised).max() < 2.5
    assert lab.parse_points_csv(("x;y\n" + rows.replace(",", ";")).encode()).shape == (50, 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("x,y\n", "no data rows"),
        ("x,y\n1,2\n3,nan\n", "NaN or infinity"),
        ("x,y\n1,2\ninf,3\n", "NaN or infinity"),
        ("x,y\n1,2\nhello,world\n", "not numeric"),
        ("x,y\n1,2\n", "at least 8"),
        ("1,2,3\n4,5,6\n", "exactly two numbers"),
        ("x,y\n" + "1,1\n" * 20, "all the same|are the same"),
    ],
)
def test_bad_csv_gives_clear_message(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        lab.parse_points_csv(_write(tmp_path, text))


def test_csv_with_ten_million_rows_is_refused_quickly(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "w") as handle:
        block = "0.5,1.5\n" * 100_000
        for _ in range(100):
            handle.write(block)
    with pytest.raises(ValueError, match="more than 100,000 rows"):
        lab.parse_points_csv(path)


def test_missing_csv_and_custom_without_points():
    with pytest.raises(ValueError, match="No CSV"):
        lab.parse_points_csv(None)
    with pytest.raises(ValueError, match="upload a CSV"):
        lab.LabSession(lab.LabConfig(dataset="custom"))


def test_config_validation_messages():
    with pytest.raises(ValueError, match="Unknown loss"):
        lab.config_from_values(loss="hinge")
    with pytest.raises(ValueError, match="g_width must be a whole number"):
        lab.config_from_values(g_width=0)
    with pytest.raises(ValueError, match="d_lr must be"):
        lab.config_from_values(d_lr=-1)
    with pytest.raises(ValueError, match="noise_dim must be a whole number"):
        lab.config_from_values(noise_dim=2.5)
    assert lab.config_from_values(g_width=32.0, loss="WGAN-GP").loss == "wgan-gp"


# ------------------------------------------------------------------------- training
def test_training_lowers_discriminator_accuracy_gap_on_easy_data():
    session = lab.LabSession(lab.LabConfig(dataset="line", seed=0))
    session.train(100, update_generator=False)  # D learns to spot the untrained G's points
    early = session.discriminator_gap()
    session.train(300)  # the GAN game: G moves onto the line, D loses its edge (gap 0.03 by step 400)
    late = session.discriminator_gap()
    assert early > 0.3, early
    assert late < early - 0.2, (early, late)


def test_default_ring_is_covered_and_collapse_preset_collapses():
    healthy = lab.LabSession(lab.LabConfig())
    healthy.train(500)  # all 8 modes from step 400 (seed 0)
    assert healthy.coverage() >= 0.9
    collapsed = lab.LabSession(lab.COLLAPSE_PRESET)
    collapsed.train(600)  # 6 checks; benchmarks/bench_gan.py runs it for 3,000 steps
    history = np.array([c for _, c in collapsed.coverage_history[1:]])
    assert history.max() <= 0.4 and history.mean() <= 0.2, history
    # Reproducible: the same preset collapses the same way.
    again = lab.LabSession(lab.COLLAPSE_PRESET)
    again.train(200)
    assert again.coverage_history == collapsed.coverage_history[: len(again.coverage_history)]


@pytest.mark.parametrize("loss", ["least-squares", "wgan-gp"])
def test_other_losses_train_and_stay_finite(loss):
    session = lab.LabSession(lab.LabConfig(loss=loss, d_steps=2, optimizer="rmsprop", seed=1))
    session.train(50)
    frame = session.snapshot()
    assert np.isfinite(frame.d_losses).all() and np.isfinite(frame.g_losses).all()
    assert 0.0 <= frame.surface.min() and frame.surface.max() <= 1.0


def test_apply_keeps_progress_for_hyperparameters_and_restarts_for_structure():
    session = lab.LabSession(lab.LabConfig())
    session.train(20)
    restarted = session.apply(dataclasses.replace(session.config, g_lr=5e-4, loss="least-squares"))
    assert not restarted and session.step == 20 and session.g_opt.param_groups[0]["lr"] == 5e-4
    assert not session.apply(dataclasses.replace(session.config, optimizer="sgd"))
    assert isinstance(session.g_opt, torch.optim.SGD) and session.step == 20
    assert session.apply(dataclasses.replace(session.config, dataset="grid"))
    assert session.step == 0 and len(session.modes.centres) == 25


def test_snapshot_and_render_shapes():
    session = lab.LabSession(lab.LabConfig(dataset="spiral"))
    session.train(25)
    frame = session.snapshot(arrows=True)
    assert frame.real.shape == (lab.VIEW_SAMPLES, 2) and frame.fake.shape == (lab.VIEW_SAMPLES, 2)
    assert frame.surface.shape == (lab.SURFACE_RES, lab.SURFACE_RES)
    assert frame.arrow_origins.shape == frame.arrow_vectors.shape == (lab.ARROW_COUNT, 2)
    assert len(frame.loss_steps) == 2 and frame.step == 25
    assert render_lab_field(frame, size=300).size == (300, 300)
    assert render_lab_charts(frame, width=300).size[0] == 300
    assert session.snapshot(arrows=False).arrow_origins.shape == (0, 2)
    colours = surface_to_rgb(np.array([[0.0, 0.5, 1.0]]))
    assert colours.shape == (1, 3, 3) and tuple(colours[0, 1]) == (245, 245, 245)


def test_hyper_parameters_requested_during_a_run_apply_on_the_next_step():
    # Issue: switching the loss to WGAN-GP while Play ran did nothing until Pause -> Play.
    session = lab.LabSession(lab.COLLAPSE_PRESET)
    session.train(20)
    weights = [p.detach().clone() for p in session.generator.parameters()]
    session.request(lab.config_from_values(loss="wgan-gp", d_steps=5, g_lr=0.001, dataset="grid", seed=9))
    assert session.config.loss == "non-saturating"  # nothing changes until the next step...
    session.train(1)
    assert (session.config.loss, session.config.d_steps, session.config.g_lr) == ("wgan-gp", 5, 0.001)
    assert session.step == 21  # ...and the run continues: no restart
    assert (session.config.dataset, session.config.seed) == ("ring", 0)  # structural fields are not taken live
    assert any(not torch.equal(a, b) for a, b in zip(weights, session.generator.parameters()))


def test_a_request_from_another_thread_reaches_a_running_loop():
    import threading

    session = lab.LabSession(lab.COLLAPSE_PRESET)
    seen = []

    def play():
        for _ in range(40):
            session.train(5)
            seen.append(session.config.loss)

    runner = threading.Thread(target=play)
    runner.start()
    session.request(lab.config_from_values(loss="least-squares"))
    runner.join()
    assert seen[-1] == "least-squares"
