"""Discriminator snapshots: AUROC of real against damaged and generated digits per snapshot, scoring under
every snapshot, and cards whose words follow the measured numbers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from engine.gan import render
from engine.gan import snapshots as snap
from engine.gan.record import SnapshotFigures, committed_snapshot_figures


# ------------------------------------------------------------------------------------------- pure parts
def test_auroc_is_the_share_of_pairs_ranked_right_with_ties_half():
    assert snap.auroc([3, 4], [1, 2]) == 1.0
    assert snap.auroc([1, 2], [3, 4]) == 0.0
    assert snap.auroc([1, 3], [2, 2]) == 0.5  # one pair right, one wrong of each two
    assert snap.auroc([2], [2]) == 0.5  # a tie counts half
    rng = np.random.default_rng(0)
    pos, neg = rng.normal(1, 1, 300), rng.normal(0, 1, 200)
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert snap.auroc(pos, neg) == pytest.approx(pairs)
    with pytest.raises(ValueError):
        snap.auroc([], [1.0])


def test_scribbles_and_noise_are_seeded_and_damage_the_digit():
    test = snap.make_test_set(count=20, seed=3)
    again = snap.make_test_set(count=20, seed=3)
    np.testing.assert_array_equal(test.scribbled, again.scribbled)
    np.testing.assert_array_equal(test.noised, again.noised)
    assert test.real.shape == test.scribbled.shape == test.noised.shape == (20, 32, 32)
    assert (test.scribbled >= test.real - 1e-6).all()  # strokes only add ink
    added = (test.scribbled - test.real > 0.5).sum((1, 2))
    assert (added >= 15).all(), added  # every copy gets thick strokes, not a speck
    assert 0 <= test.noised.min() and test.noised.max() <= 1
    assert np.abs(test.noised - test.real).mean() > 0.1
    other = snap.make_test_set(count=20, seed=4)
    assert not np.array_equal(test.scribbled, other.scribbled)


# ------------------------------------------------------------------------------------------- committed snapshots
@pytest.fixture(scope="module")
def measured() -> SnapshotFigures:
    torch.set_num_threads(1)
    return snap.measure_snapshots(count=200, seed=0)


def test_snapshots_load_once_earliest_first_ending_with_the_committed_d():
    from engine.gan.inference import load_discriminator

    snapshots = snap.load_snapshots()
    assert snap.load_snapshots() is snapshots  # once per process
    steps = [s.step for s in snapshots]
    assert steps == sorted(steps) and len(steps) >= 3 and steps[-1] == 4000
    final = snapshots[-1].discriminator
    for name, tensor in load_discriminator().state_dict().items():
        torch.testing.assert_close(final.state_dict()[name], tensor, rtol=0, atol=0)
    assert all(s.generator is not None for s in snapshots)
    assert not any(s.discriminator.training for s in snapshots)


def test_auroc_per_snapshot_and_the_early_d_separates_its_generator_better(measured):
    assert [s.step for s in measured.snapshots] == [s.step for s in snap.load_snapshots()]
    for s in measured.snapshots:
        for value in (s.auroc_scribbled, s.auroc_noised, s.auroc_generated, s.auroc_final_generator):
            assert 0.0 <= value <= 1.0
        assert 0 <= s.real_low <= s.real_median <= s.real_high <= 1
    early, final = measured.early, measured.final
    # What D is trained for: real vs the generator it faced. Early it wins easily; later it barely can.
    assert early.auroc_generated >= 0.9 and final.auroc_generated < 0.8
    assert early.auroc_generated - final.auroc_generated >= 0.2
    # The early D learnt only to spot step-250 garbage: the final generator's digits fool it completely.
    assert abs(early.auroc_final_generator - 0.5) < 0.1
    # The final D's scores are squeezed near 50%: its real range is much narrower than the early D's.
    assert final.real_high - final.real_low < early.real_high - early.real_low
    assert abs(final.real_median - 0.5) < 0.05


def test_committed_figures_are_the_measurement(measured):
    committed = committed_snapshot_figures()
    assert (committed.real_count, committed.damaged_count, committed.seed) == (200, 200, 0)
    assert "--measure-only" in committed.command
    for recorded, fresh in zip(committed.snapshots, measured.snapshots, strict=True):
        assert recorded.step == fresh.step
        for name, value in fresh.as_dict().items():
            assert recorded.as_dict()[name] == pytest.approx(value, abs=2e-4), (fresh.step, name)


def test_scribbles_lower_the_early_ds_score_for_real_digits():
    early = snap.load_snapshots()[0]
    test = snap.make_test_set(count=40, seed=11)
    real = snap.realness(early.discriminator, test.real, test.labels)
    scribbled = snap.realness(early.discriminator, test.scribbled, test.labels)
    assert (scribbled < real).mean() >= 0.6, (real - scribbled)
    assert np.median(real - scribbled) > 0


def test_score_snapshots_scores_one_image_under_every_d():
    test = snap.make_test_set(count=1, seed=5)
    scores = snap.score_snapshots(test.real[0], int(test.labels[0]))
    steps = [s.step for s in snap.load_snapshots()]
    assert list(scores.steps) == steps and len(scores.realness) == len(steps)
    assert all(0 <= v <= 1 for v in scores.realness)
    expected = [float(snap.realness(s.discriminator, test.real, test.labels)[0]) for s in snap.load_snapshots()]
    np.testing.assert_allclose(scores.realness, expected, rtol=1e-6)
    info = scores.info()
    assert info["class"] == int(test.labels[0]) and [i["step"] for i in info["snapshots"]] == steps
    with pytest.raises(ValueError):
        snap.score_snapshots(test.real[0], 12)


def test_score_image_snapshots_uses_the_judges_reading():
    from PIL import Image

    from engine.gan.inference import score_image

    test = snap.make_test_set(count=1, seed=6)
    pil = Image.fromarray((test.real[0] * 255).astype(np.uint8)).convert("RGB").resize((256, 256), Image.NEAREST)
    scores = snap.score_image_snapshots(pil)
    single = score_image(pil)
    assert scores.digit == single.digit and scores.digit_source == "judge"
    assert scores.realness[-1] == pytest.approx(single.realness, abs=1e-6)  # the final snapshot is the committed D


# ------------------------------------------------------------------------------------------- cards
def _figures(early_generated, final_generated, early_scribbled=0.75, final_scribbled=0.95, final_range=(0.48, 0.53)):
    def item(step, generated, scribbled, low, high):
        return {"step": step, "auroc_scribbled": scribbled, "auroc_noised": 1.0, "auroc_generated": generated,
                "auroc_final_generator": 0.5,
                "real_low": low, "real_median": (low + high) / 2, "real_high": high, "scribbled_median": low - 0.03,
                "noised_median": 0.3, "generated_median": 0.5}

    return {"command": "x", "real_count": 200, "damaged_count": 200, "seed": 0, "noise_sigma": 0.3,
            "snapshots": [item(250, early_generated, early_scribbled, 0.6, 0.9),
                          item(4000, final_generated, final_scribbled, *final_range)]}


def test_separation_words_follow_the_auroc():
    assert "sharply" in render.separation_phrase(0.97, "scribbled digits")
    assert "mostly" in render.separation_phrase(0.8, "scribbled digits")
    assert "barely" in render.separation_phrase(0.65, "scribbled digits")
    assert "cannot" in render.separation_phrase(0.52, "scribbled digits")
    assert "higher than real" in render.separation_phrase(0.2, "scribbled digits")


def test_snapshot_card_says_what_the_numbers_say():
    card = render.snapshot_summary(_figures(0.99, 0.52))
    assert "step 250" in card.headline and "step 4,000" in card.headline
    assert "tells real digits from its generator's digits apart sharply (AUROC 0.99)" in card.headline
    assert "cannot tell real digits from its generator's digits apart (AUROC 0.52)" in card.headline
    assert "equilibrium" in card.headline
    assert [f.value for f in card.figures] == ["0.99", "0.52"]
    # Had the final D still separated them, the card must not claim equilibrium.
    separating = render.snapshot_summary(_figures(0.99, 0.95))
    assert "equilibrium" not in separating.headline and "cannot" not in separating.headline.split("scribbled")[0]
    assert "apart sharply (AUROC 0.95)" in separating.headline and "lost" not in separating.headline
    # Between the two: the decline is reported, not an equilibrium.
    declining = render.snapshot_summary(_figures(1.0, 0.71))
    assert "barely tells real digits from its generator's digits apart (AUROC 0.71)" in declining.headline
    assert "lost most of its edge" in declining.headline and "cannot separate" not in declining.headline
    # A final D whose scribble AUROC is near chance: the card says a scribble barely moves it.
    blind = render.snapshot_summary(_figures(0.99, 0.5, final_scribbled=0.55))
    assert "cannot tell real digits from scribbled digits apart (AUROC 0.55)" in blind.headline
    assert "barely moves" in blind.headline
    # Squeezed but still ranked: said so, with the range.
    squeezed = render.snapshot_summary(_figures(0.99, 0.5, final_scribbled=0.96))
    assert "squeezed near 50%" in squeezed.headline and "48%–53%" in squeezed.headline


def test_snapshot_card_reads_the_committed_figures():
    figures = committed_snapshot_figures()
    card = render.snapshot_summary(figures)
    assert card.headline == render.snapshot_summary(figures.as_dict()).headline
    assert len(card.figures) == len(figures.snapshots)
    assert f"{figures.final.auroc_generated:.2f}" in card.headline


def test_image_under_each_snapshot_is_read_against_that_ds_own_range():
    info = {"class": 3, "class_from": "judge",
            "snapshots": [{"step": 250, "realness": 0.2}, {"step": 4000, "realness": 0.46}]}
    card = render.snapshot_scores_summary(info, _figures(0.99, 0.5))
    assert "as a 3 (the judge's reading)" in card.headline
    assert "the early D (step 250) 20%, below real digits" in card.headline
    assert "the final D (step 4,000) 46%, below real digits" in card.headline
    inside = render.snapshot_scores_summary({**info, "snapshots": [{"step": 250, "realness": 0.7},
                                                                   {"step": 4000, "realness": 0.5}]}, _figures(0.99, 0.5))
    assert inside.headline.count("within real digits' range") == 2 and "60%–90%" in inside.figures[0].note


def test_realness_card_never_calls_a_near_half_score_real_when_d_cannot_tell():
    payload = {"realness": 0.5, "logit": 0.0, "class": 4, "class_from": "judge", "judge_reads": 4,
               "judge_confidence": 0.99, "realness_per_class": [0.48] * 10}
    scores = tuple(np.linspace(0.47, 0.54, 101))  # real digits' scores under a D near equilibrium
    blind = SimpleNamespace(real_low=0.4735, real_high=0.5365, noise=0.27, real_scores=scores, auroc_generated=0.52,
                            auroc_scribbled=0.96, scribbled_median=0.46)
    typical = render.realness_summary({**payload, "realness": 0.505}, blind)
    assert "scores like a typical real digit (higher than 50% of real digits)" in typical.headline
    assert "cannot tell real from generated digits (AUROC 0.52)" in typical.headline and typical.tone != "good"
    assert "47.4%–53.6%" in typical.figures[0].note and "scribbled digits about 46.0%" in typical.figures[0].note
    assert typical.figures[0].value == "50.5%"  # squeezed scores are shown to 0.1%
    # Near 50% but under almost every real digit: said so, never "like a real digit".
    low = render.realness_summary({**payload, "realness": 0.4705}, blind)
    assert "like a" not in low.headline and "within" not in low.headline
    assert "lower than 99% of real digits: D leans towards fake" in low.headline
    assert "still ranks scribbled digits below real ones (AUROC 0.96)" in low.headline
    edge = render.realness_summary({**payload, "realness": 0.476}, blind)
    assert "at the low end of real digits: only 8% of them score lower" in edge.headline and edge.tone == ""
    # A D that does separate real from generated: a typical score reads as real-like, in green.
    sharp = SimpleNamespace(real_low=0.6, real_high=0.9, noise=0.1, real_scores=tuple(np.linspace(0.55, 0.95, 101)),
                            auroc_generated=0.95, auroc_scribbled=0.9, scribbled_median=0.3)
    good = render.realness_summary({**payload, "realness": 0.8}, sharp)
    assert good.tone == "good" and "typical real digit" in good.headline and "cannot" not in good.headline
    assert good.figures[0].value == "80%"


def test_realness_reference_carries_the_final_ds_measured_separation():
    from engine.gan.inference import realness_reference

    reference = realness_reference()
    final = committed_snapshot_figures().final
    # The realness card reads against the digits the app generates: the committed generator's.
    assert reference.auroc_generated == final.auroc_final_generator and reference.auroc_scribbled == final.auroc_scribbled
    assert 0 < reference.real_low < reference.real_high < 1
    assert len(reference.real_scores) == 360 and list(reference.real_scores) == sorted(reference.real_scores)


def test_snapshots_come_from_the_registry_once_with_every_file_pinned():
    from engine.core import registry

    loaded = registry.load(snap.SNAPSHOTS_TASK)
    assert registry.load(snap.SNAPSHOTS_TASK) is loaded and snap.load_snapshots() is loaded
    pinned = dict(registry.get_source("gan-digits").extra_files)
    for s in loaded[:-1]:
        assert f"discriminator_snapshots/{s.step}/diffusion_pytorch_model.safetensors" in pinned
    for s in loaded:
        assert f"generator_snapshots/{s.step}/diffusion_pytorch_model.safetensors" in pinned
    assert "discriminator/diffusion_pytorch_model.safetensors" in pinned


def test_a_tampered_snapshot_fails_the_checksum(tmp_path):
    import shutil
    from dataclasses import replace

    from engine.core import registry

    source = registry.get_source("gan-digits")
    folder = tmp_path / "gan_digits"
    shutil.copytree(registry.verified_path(source), folder)
    (folder / "discriminator_snapshots" / "1000" / "diffusion_pytorch_model.safetensors").write_bytes(b"tampered")
    # An absolute location wins over ASSETS_DIR when joined, so the copy lives in tmp_path.
    fake = replace(source, name="gan-digits-tampered", location=str(folder))
    with pytest.raises(ValueError, match="Checksum mismatch.*discriminator_snapshots/1000"):
        registry.verified_path(fake)
