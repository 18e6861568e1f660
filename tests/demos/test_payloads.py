"""Output components that carry their payload inside the answer."""

import base64
import io

from PIL import Image

from demos.common.payloads import InlineImage


def test_inline_image_sends_the_picture_as_a_data_url_and_writes_no_cache_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    component = InlineImage(format="jpeg", interactive=False)
    picture = Image.new("RGB", (40, 20), (200, 30, 30))
    data = component.postprocess(picture).model_dump()
    assert data["path"] is None and data["mime_type"] == "image/jpeg"
    prefix = "data:image/jpeg;base64,"
    assert data["url"].startswith(prefix)
    decoded = Image.open(io.BytesIO(base64.b64decode(data["url"][len(prefix):])))
    assert decoded.format == "JPEG" and decoded.size == (40, 20)
    assert abs(decoded.getpixel((20, 10))[0] - 200) < 8  # the colour survives JPEG
    assert not any(tmp_path.rglob("*.jpeg"))
    assert component.postprocess(None) is None


def test_inline_image_is_drawn_by_gradios_own_image_component():
    """The page picks a Svelte component by block name: "inlineimage" has none, and the picture never appeared."""
    from demos.common.payloads import InlineImage

    assert InlineImage().get_block_name() == "image"
