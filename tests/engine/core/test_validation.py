import io

import numpy as np
import pytest
from PIL import Image

from engine.core.settings import LIMITS
from engine.core.validation import (MAX_IMAGE_PIXELS, QUOTE_CHARS, check_seed, clean_text, load_image, quote,
                                       refuse_control_characters)
from tests.support import png_header_only


def _png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def test_decompression_bomb_header_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(30000, 30000))
    with pytest.raises(ValueError, match=r"too many pixels \(the limit is 40,000,000\)"):
        load_image(str(path))


def test_non_image_and_corrupt_files_are_refused(tmp_path):
    text_file = tmp_path / "notes.png"
    text_file.write_text("this is not an image")
    with pytest.raises(ValueError, match="not an image"):
        load_image(str(text_file))
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(_png_bytes(Image.new("RGB", (64, 64), "red"))[:60])
    with pytest.raises(ValueError, match="corrupt|not an image"):
        load_image(str(truncated))
    junk_after_signature = tmp_path / "junk.png"
    junk_after_signature.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 20)
    with pytest.raises(ValueError, match="corrupt or truncated"):
        load_image(str(junk_after_signature))
    with pytest.raises(ValueError, match="No image"):
        load_image(None)


def test_modes_are_converted_to_rgb(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red -> white
    assert load_image(_png_bytes(rgba)).getpixel((0, 0)) == (255, 255, 255)
    sixteen = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))
    assert load_image(_png_bytes(sixteen)).getpixel((1, 1)) == (255, 255, 255)
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))
    red = load_image(_png_bytes(cmyk, "JPEG")).getpixel((1, 1))
    assert red[0] > 200 and red[1] < 60
    gray = load_image(np.zeros((3, 5), dtype=np.uint8))
    assert gray.mode == "RGB" and gray.size == (5, 3)


def test_pixel_cap_default_is_sane():
    assert 16_000_000 <= MAX_IMAGE_PIXELS < 30000 * 30000


def test_clean_text_caps_and_normalises():
    result = clean_text("e\u0301" + "x" * 10, max_chars=5)
    assert result.text == "\u00e9xxxx" and result.was_cut and result.original_chars == 11
    with pytest.raises(ValueError, match="empty"):
        clean_text("\u200b \u200c")
    with pytest.raises(ValueError, match="must be a string"):
        clean_text(12)


def test_image_between_our_cap_and_pils_guard_is_refused_with_its_size(tmp_path):
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(7000, 7000))
    with pytest.raises(ValueError, match=r"7000x7000 = 49,000,000 pixels; the limit is 40,000,000"):
        load_image(str(path))


def test_errors_quote_at_most_80_characters_of_what_was_sent():
    assert quote("abc") == "'abc'"
    long = quote("9" * 10**6)
    assert len(long) < QUOTE_CHARS + 40 and long.endswith("(1,000,000 characters)")
    with pytest.raises(ValueError, match="from 0 to 4,294,967,295") as caught:
        check_seed("9" * 10**6)
    assert len(str(caught.value)) < 200


def test_one_seed_range_everywhere():
    from engine.attention import decoder_settings
    from engine.gan import faces, inference

    assert LIMITS.seed_max == 2**32 - 1
    assert faces.MAX_SEED == inference.MAX_SEED == decoder_settings.MAX_SEED == LIMITS.seed_max
    for check in (check_seed, faces.check_seed, inference.check_seed):
        assert check(LIMITS.seed_max) == LIMITS.seed_max
        with pytest.raises(ValueError, match="from 0 to 4,294,967,295"):
            check(LIMITS.seed_max + 1)


@pytest.mark.parametrize("text", ["\x00date", "3 March\x1b[31m 2021", "\u202e1202 hcraM 3", "a\x7fb", "x\x85"])
def test_control_characters_are_refused_by_name(text):
    with pytest.raises(ValueError, match="control characters that are not text \\(U\\+"):
        refuse_control_characters(text, "input")


def test_plain_text_with_tabs_line_breaks_and_any_script_is_kept():
    for text in ("3 March 2021", "a\tb\nc\r\n", "مرحبا 日本語 🙂", "zero\u200bwidth"):
        assert refuse_control_characters(text) == text
