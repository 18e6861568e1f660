"""The GAN tab's private handlers, called directly (no server): UI plumbing that API clients no longer reach.

The public endpoints are tested through the real server in tests/app/test_gan_app.py and test_faces_app.py.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
from PIL import Image


# ----------------------------------------------------------------------------------------- Discriminator score
def test_sketch_load_puts_a_scored_generated_digit_on_the_canvas():
    from demos.gan import score

    update, info, chart, history = score.gan_sketch_load(0, "3")
    editor = update["value"]
    assert update["visible"] is True  # the sketchpad is built hidden and shown by its first digit
    assert editor["background"].size == (score.SKETCH_SIDE, score.SKETCH_SIDE) and editor["layers"]
    assert 0.0 <= info["realness"] <= 1.0 and info["class"] == 3 and history == [pytest.approx(info["realness"], abs=1e-4)]
    assert chart.width > 300
    assert [item["step"] for item in info["snapshots"]][-1] == 4000
    card = score.gan_sketch_snapshots_card(info)
    assert "D at step 250" in card and "Final D at step 4,000" in card and "real digits score" in card
    assert score.gan_sketch_snapshots_card({k: v for k, v in info.items() if k != "snapshots"}).count("nd-card") == 0


def test_snapshot_card_shows_the_measured_auroc_per_snapshot():
    from demos.gan import score
    from engine.gan import record

    html = score.snapshots_card_html()
    figures = record.committed_snapshot_figures()
    for item in figures.snapshots:
        assert f"step {item.step:,}: AUROC real vs generated" in html
        assert f"{item.auroc_generated:.2f}" in html
    assert "scribbled" in html and "Early D" in html
    blank, blank_info, blank_chart, blank_history = score.gan_sketch_blank()
    assert np.asarray(blank["value"]["composite"]).max() == 0 and blank["visible"] is True and (blank_info, blank_chart, blank_history) == (None, None, [])
    with pytest.raises(gr.Error, match="seed"):
        score.gan_sketch_load(-1, "3")


# ----------------------------------------------------------------------------------------- GAN Lab
@pytest.mark.parametrize(
    "text, message",
    [
        ("x,y\n", "no data rows"),
        ("x,y\n1,2\nnan,3\n", "NaN or infinity"),
        ("x,y\n1,2\n3,inf\n", "NaN or infinity"),
        ("x,y\n1,2\nabc,def\n", "not numeric"),
        ("x,y\n0.5,0.5\n", "at least 8"),
    ],
)
def test_bad_csv_gives_clear_error(tmp_path, text, message):
    from demos.gan import lab

    path = tmp_path / "points.csv"
    path.write_text(text)
    with pytest.raises(gr.Error, match=message):
        lab.gan_lab_csv({"path": str(path)})


def test_good_csv_previews_and_trains_as_custom_data(tmp_path):
    from demos.gan import lab

    path = tmp_path / "points.csv"
    path.write_text("x,y\n" + "\n".join(f"{i % 7},{(i * 3) % 5}" for i in range(60)) + "\n")
    field, summary = lab.gan_lab_csv({"path": str(path)})
    assert summary["points"] == 60 and summary["x_range"] == [0.0, 6.0] and field.width > 100
    _, _, stats, session = lab.gan_lab_reset("custom", {"path": str(path)})
    assert stats["step"] == 0 and stats["settings"]["dataset"] == "custom"
    _, _, stepped, same = lab.gan_lab_step("custom", {"path": str(path)}, state=session)
    assert stepped["step"] == 1 and same is session
    with pytest.raises(gr.Error, match="custom.*CSV"):
        lab.gan_lab_reset("custom", None)


def test_reset_starts_again_at_step_zero_and_presets_fill_every_setting():
    from demos.gan import lab
    from engine.gan.lab_config import COLLAPSE_PRESET, UI_FIELDS

    _, _, stats, session = lab.gan_lab_step()
    for _ in range(3):
        _, _, stats, session = lab.gan_lab_step(state=session)
    assert stats["step"] == 4
    _, _, reset, fresh = lab.gan_lab_reset(state=session)
    assert reset["step"] == 0 and fresh is not session
    collapse = lab.lab_collapse_preset()
    assert len(collapse) == len(UI_FIELDS) and collapse[UI_FIELDS.index("g_lr")] == COLLAPSE_PRESET.g_lr
    assert lab.lab_default_preset()[UI_FIELDS.index("g_lr")] == 0.001


# ----------------------------------------------------------------------------------------- Train live
def test_live_reset_is_a_fresh_untrained_run():
    from demos.gan import live

    grid, chart, status, session = live.gan_live_reset(5)
    assert status == {"step": 0, "seconds_trained": 0.0, "steps_per_second": 0.0, "seed": 5}
    assert session.seed == 5 and grid.width > 100 and chart.width > 100
    with pytest.raises(gr.Error, match="seed"):
        live.gan_live_reset(-3)


# ----------------------------------------------------------------------------------------- Faces (the real model)
# ----------------------------------------------------------------------------------------- Quality
class _FakeProgress:
    def __init__(self):
        self.calls = []

    def __call__(self, fraction, desc=None, **_):
        self.calls.append((fraction, desc))


def test_quality_remeasure_reports_progress(monkeypatch):
    from demos.gan import quality
    from engine.gan import inference

    committed = quality.record.committed_quality()["quality"]
    seen = {}

    class _Result:
        def as_dict(self):
            return dict(committed, samples=seen["samples"], n_generated=seen["samples"])

    def fake_measure(samples, on_progress=None):
        seen["samples"] = samples
        for done in range(0, 5):
            on_progress(done, 4)
        return _Result()

    monkeypatch.setattr(inference, "measure_quality", fake_measure)
    progress = _FakeProgress()
    figures = quality.gan_quality(40, progress=progress)
    assert seen["samples"] == 40 and figures["n_generated"] == 40
    assert [round(f, 2) for f, _ in progress.calls] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert all(desc for _, desc in progress.calls)
    card = quality.gan_quality_card(figures)
    assert "FID), n = 40" in card and "KID), n = 40" in card and "compare FIDs only at the same n" in card


def test_quality_table_puts_n_beside_every_fid_and_kid():
    from demos.gan import quality

    table = quality.committed_figures_markdown()
    rows = [row for row in table.splitlines() if row.startswith("| FID") or row.startswith("| KID")
            or row.startswith("| same")]
    assert len(rows) >= 4
    for row in rows:
        n_cell = row.split("|")[3]
        assert " vs " in n_cell and any(ch.isdigit() for ch in n_cell), row
    assert "compare FIDs only at the same n" in table
