"""Drawn digits are read as what they show: plain 7s, thin and fat pens (engine.core.digit_input + the digits ViT)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.core.digit_input import erase_crossbar, image_to_digit8, plain_sevens, stroke_width
from tests.support import DIGIT_STROKES, draw_digit


def test_erase_crossbar_keeps_the_stem_and_drops_the_bar():
    seven = np.zeros((8, 8), np.float32)
    seven[0, 2:7] = 1.0  # top bar
    for row, col in zip(range(1, 8), [6, 5, 5, 4, 4, 3, 3]):
        seven[row, col] = 1.0  # stem, top right to bottom left
    seven[4, 1:7] = 1.0  # crossbar
    plain = erase_crossbar(seven)
    assert plain[4, 1] == 0 and plain[4, 2] == 0 and plain[4, 6] == 0  # the bar is gone...
    assert plain[4, 4] == 1 and plain[0, 2:7].all() and plain[7, 3] == 1  # ...the stem and top bar stay
    images = np.stack([seven, np.eye(8, dtype=np.float32)])
    assert plain_sevens(images, np.array([7, 1])).shape == (1, 8, 8)  # only 7s, only where a bar was erased


def test_stroke_width_and_pens_of_any_width_give_the_same_digit():
    bar = np.zeros((100, 100), bool)
    bar[10:90, 45:55] = True
    assert stroke_width(bar) == pytest.approx(10, rel=0.15)
    thin, fat = image_to_digit8(draw_digit("4", width=3)), image_to_digit8(draw_digit("4", width=20))
    assert thin.shape == (8, 8) and np.abs(thin - fat).mean() < 0.12  # the thin pen is thickened to the dataset's


@pytest.fixture(scope="module")
def read():
    from engine.attention.image import image_attention

    return lambda image: image_attention(image).label


@pytest.mark.parametrize("width", [6, 20])
def test_plainly_drawn_digits_are_read_correctly(read, width):
    # A plain 7 (no crossbar) was read as a 3: the dataset's 7s mostly have one. Every digit, thin and thick pen.
    for digit in DIGIT_STROKES:
        assert read(draw_digit(digit, width=width)) == digit, (digit, width)
    assert read(draw_digit("7", width=width, scale=0.5, offset=(0.15, 0.1))) == "7"  # small, off centre
