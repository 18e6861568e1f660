"""The GAN tab's result cards: plain words from the API payloads, and the discriminator headline never
names a class the discriminator (or the judge, labelled as the judge's) did not output."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pytest

from engine.gan import render

# The yardstick engine.gan.inference.realness_reference() measures (importing it would load torch).
REFERENCE = SimpleNamespace(real_low=0.48, real_high=0.53, noise=0.27)


def _payload(rng, digit, source, judge_reads):
    per_class = rng.uniform(0.2, 0.6, 10)
    per_class[(digit + 1) % 10] = 0.9  # the largest realness is for a class D was NOT asked about
    judge = rng.dirichlet(np.ones(10))
    judge[judge_reads] = judge.max() + 0.1
    judge /= judge.sum()
    return {
        "realness": round(float(per_class[digit]), 4), "logit": 0.0, "class": digit, "class_from": source,
        "judge_reads": judge_reads, "judge_confidence": round(float(judge.max()), 4),
        "realness_per_class": [round(float(v), 3) for v in per_class],
    }


def _digits_named(text: str) -> set[int]:
    """Digits the text names as classes: "as a 7", "an 8", and a card value that is a lone digit."""
    return {int(d) for d in re.findall(r"\b(?:a|an)\s+(\d)\b", text)}


@pytest.mark.parametrize("source", ["judge", "requested"])
def test_realness_headline_names_only_ds_condition_and_the_judges_reading(source):
    rng = np.random.default_rng(0)
    for _ in range(50):
        digit = int(rng.integers(10))
        judge_reads = digit if source == "judge" else int(rng.integers(10))
        payload = _payload(rng, digit, source, judge_reads)
        card = render.realness_summary(payload, REFERENCE)
        named = _digits_named(card.headline)
        assert named == {digit}, card.headline  # only the class D was conditioned on
        assert ("the judge's reading" if source == "judge" else "the class you chose") in card.headline
        for figure in card.figures:
            if figure.value.isdigit():  # a card whose big value is a class
                assert int(figure.value) in {digit, judge_reads}, figure
                if int(figure.value) != digit:
                    assert "judge" in figure.label.lower(), figure  # the judge's reading is labelled as the judge's
            assert not set(_digits_named(figure.label)) - {digit}, figure.label
        # The class with the highest per-class realness is never headlined (D predicts no class).
        top = int(np.argmax(payload["realness_per_class"]))
        words = re.sub(r"\d+\.\d+|\d+(\.\d+)?%", "", card.headline)  # scores and AUROCs are not classes
        assert top != digit and not re.search(rf"\b{top}\b", words), card.headline


def test_realness_reads_against_real_digits_and_noise():
    rng = np.random.default_rng(1)
    payload = _payload(rng, 3, "judge", 3)
    assert render.realness_summary({**payload, "realness": 0.50}, REFERENCE).tone == "good"
    assert render.realness_summary({**payload, "realness": 0.28}, REFERENCE).tone == "bad"
    middle = render.realness_summary({**payload, "realness": 0.40}, REFERENCE)
    assert middle.tone == "" and "below real digits" in middle.headline
    # The yardstick shown is the measured one; a range this narrow is shown to 0.1%.
    assert "48.0%–53.0%" in middle.figures[0].note and middle.figures[0].value == "40.0%"
    wide = SimpleNamespace(real_low=0.6, real_high=0.9, noise=0.1)
    assert "60%–90%" in render.realness_summary({**payload, "realness": 0.4}, wide).figures[0].note


def test_lab_and_generate_cards_say_what_happened():
    settings = {"loss": "wgan-gp", "optimizer": "adam", "g_lr": 0.001, "d_lr": 0.001, "d_steps": 5}
    card = render.lab_summary({"step": 1234, "mode_coverage": 0.25, "modes": 8, "d_loss": 0.5, "g_loss": 0.7,
                               "steps_per_second": 900.0, "settings": settings})
    assert card.headline.startswith("Step 1,234") and "mode collapse" in card.headline and card.tone == "bad"
    assert card.figures[0].value == "1,234" and card.figures[1].value == "2 / 8" and "wgan-gp" in card.figures[2].note
    csv = render.lab_summary({"points": 60, "x_range": [0.0, 6.0], "y_range": [0.0, 4.0], "modes": 3})
    assert "60 points" in csv.headline
    generated = render.generate_summary({"class": "random", "classes": [1, 2, 2] * 21 + [0], "seed": 7, "psi": 0.7,
                                         "count": 64, "image_size": 32, "model": "embedded (gan-digits)"})
    assert generated.figures[0].value == "64" and "3 different classes" in generated.figures[1].note
    assert "seed 7" in generated.headline and len(generated.figures) == 5  # 64 images: still five figures


def test_quality_card_checks_the_bar():
    figures = {"samples": 200, "judge_test_accuracy": 0.986, "agreement": 0.95, "classes_produced": 10,
               "min_diversity_ratio": 0.8, "fid_generated_vs_heldout": 3.2, "fid_real_train_vs_heldout": 1.1,
               "passes_bar": True}
    card = render.quality_summary(figures)
    assert card.headline.startswith("Passes the bar") and card.tone == "good"
    failing = render.quality_summary({**figures, "agreement": 0.5, "passes_bar": False})
    assert failing.headline.startswith("Below the bar") and failing.figures[0].tone == "bad"
