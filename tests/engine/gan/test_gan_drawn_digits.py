"""The GAN tab's "auto" class for an upload or a drawing is the committed judge's reading, and it reads
plainly drawn digits right: on paper or on the sketchpad, thin or fat pen, large or small and off centre.

Most 7s in scikit-learn's digits have a crossbar; a plainly drawn 7 was headed "as 3" (issue 9, item 7) until
the judge was retrained with crossbar-free copies of its training 7s (``JudgeConfig.plain_sevens``). A digit
drawn small on the sketchpad was misread too, until the judge also read it in the training layout
(``inference.image_to_judge_view``).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from engine.gan import inference as inf
from engine.gan.render import digit_image
from tests.support import DIGIT_STROKES, draw_digit

SKETCH_SIDE = 256  # demos.gan.score.SKETCH_SIDE: white ink on a black 256 px canvas


def sketch(digit: str, **kwargs) -> Image.Image:
    return ImageOps.invert(draw_digit(digit, side=SKETCH_SIDE, **kwargs))


@pytest.mark.parametrize("width", [4, 12, 20])
def test_plainly_drawn_digits_on_paper_are_scored_as_what_they_show(width):
    for digit in DIGIT_STROKES:
        result = inf.score_image(draw_digit(digit, width=width))
        assert (result.digit, result.digit_source) == (int(digit), "judge"), (digit, width, result.info())


@pytest.mark.parametrize("scale,offset", [(1.0, (0, 0)), (0.6, (0.1, 0.05)), (0.4, (-0.2, 0.2))])
def test_digits_drawn_on_the_sketchpad_any_size_are_read_as_what_they_show(scale, offset):
    for width in (8, 20):
        for digit in DIGIT_STROKES:
            result = inf.score_image(sketch(digit, width=width, scale=scale, offset=offset))
            assert result.digit == int(digit), (digit, width, scale, result.info())


def test_a_chosen_class_is_kept_and_d_scores_the_pixels_as_drawn():
    seven = sketch("7", width=12, scale=0.5, offset=(0.15, 0.1))
    read = inf.score_image(seven)
    assert read.digit == 7 and int(np.argmax(read.judge_probabilities)) == 7 and read.judge_probabilities[7] > 0.5
    as_three = inf.score_image(seven, "3")  # the user's choice wins over the judge's reading, and D is asked about it
    assert (as_three.digit, as_three.digit_source) == (3, "requested")
    assert as_three.realness == pytest.approx(as_three.per_class_realness[3])
    assert as_three.judge_probabilities == read.judge_probabilities  # the judge's own reading is unchanged
    # D sees the sketch's own pixels (small and off centre), not the judge's centred view of it.
    pixels = inf.score_realness(inf.load_discriminator(), inf.load_judge(), inf.image_to_gan_input(seven), "7")
    assert pixels.per_class_realness == pytest.approx(read.per_class_realness)


def test_an_untouched_generated_digit_keeps_its_class_and_a_blank_canvas_is_read_as_is():
    generated = inf.generate(inf.load_generator(), 3, "4", 1, 1.0).images[0]
    result = inf.score_image(digit_image(generated, scale=8).convert("RGB"))
    assert result.digit == 4 and result.digit_source == "judge"
    assert inf.image_to_judge_view(Image.new("RGB", (SKETCH_SIDE, SKETCH_SIDE))) is None  # no strokes
    blank = inf.score_image(Image.new("RGB", (SKETCH_SIDE, SKETCH_SIDE)))
    assert sum(blank.judge_probabilities) == pytest.approx(1, abs=1e-5) and 0 <= blank.realness <= 1
