"""GAN › Faces's private handlers with the real face generator (truncation sheet, direction strip, zoom, comparison).

In the app tier (tests/app) because they run the real MobileStyleGAN several times: too slow for the fast tier.
"""

from __future__ import annotations

import gradio as gr
import pytest
from PIL import Image


@pytest.fixture(scope="module")
def faces_view(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:  # the w average goes to a temporary cache, not ~/.cache
        patch.setenv("NEURODECK_CACHE_DIR", str(tmp_path_factory.mktemp("faces_cache")))
        from demos.gan import faces
        from engine.gan import faces as engine_faces

        engine_faces.w_average()
    return faces


def test_faces_zoom_and_comparison(faces_view):
    zoom = faces_view.gan_faces_zoom(3)
    assert isinstance(zoom, Image.Image) and zoom.width > 480
    html, image = faces_view.gan_faces_compare(0)
    assert "MobileStyleGAN" in html and "parameters" in html and "per image" in html
    assert image.width > 600
    with pytest.raises(gr.Error, match="seed must be a whole number"):
        faces_view.gan_faces_zoom(-1)


def test_faces_truncation_sheet_and_direction_strip(faces_view):
    sheet = faces_view.gan_faces_truncation(4, progress=None)
    assert sheet.width > 4 * 192 and sheet.height > 3 * 192
    strip = faces_view.gan_faces_direction_strip(1, 0, 0.7, progress=None)
    assert strip.width >= 5 * 192
    with pytest.raises(gr.Error, match="direction must be a whole number from 0 to 9"):
        faces_view.gan_faces_direction_strip(1, 42, progress=None)
