"""The drawing canvases (gradio's ImageEditor) in a real browser: what they cost a page that opens, and that a
drawing still reaches the server (demos/common/gradio_page.EDITOR_FILE_KEPT_JS, the VAE's Upload | Draw tabs)."""

from __future__ import annotations

import pytest

from tests.browser.test_browser import card_text, draw

pytestmark = pytest.mark.browser

# Counts the page's uploads (gradio's client posts each file to /gradio_api/upload through fetch).
COUNT_UPLOADS = """(() => { const f = window.fetch; window.__ndUploads = 0;
  window.fetch = function (u, ...a) { if (String(u).includes('/upload')) { window.__ndUploads++; }
    return f.call(this, u, ...a); }; })();"""


def _opened(chromium, url: str, card: str, text: str):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(240_000)
    page.add_init_script(COUNT_UPLOADS)
    page.goto(url)
    page.wait_for_function(f"document.querySelector('#{card}') && "
                           f"document.querySelector('#{card}').innerText.includes({text!r})")
    page.wait_for_timeout(1500)  # the opening's later steps and their copy-backs
    return page


def test_a_view_with_a_canvas_opens_without_uploading_its_images_again(chromium, app_url):
    # GAN > Score opens with a generated digit on its canvas, then scores it. gradio handed the canvas's value over by
    # fetching each of its images from the server and uploading it back, for every copy-back of the page's tree:
    # 310 uploads while this view opened (304 for Variational). An image already on the server is now handed over as is.
    page = _opened(chromium, app_url + "?tab=gan&sub=score", "gan-sketch-card", "The discriminator rates")
    try:
        assert page.evaluate("window.__ndUploads") == 0
    finally:
        page.close()


def test_the_vae_canvas_is_built_when_its_tab_opens_and_a_drawing_is_encoded(chromium, app_url):
    page = _opened(chromium, app_url + "?tab=autoencoder&sub=variational", "vae-encode-card", "Negative ELBO")
    try:
        assert page.locator("#vae-sketch canvas").count() == 0  # not built while Upload is shown
        page.get_by_role("tab", name="Draw", exact=True).first.click()
        draw(page, "vae-sketch", [[(0.5, 0.2), (0.5, 0.8)]])  # a "1"
        before = card_text(page, "vae-encode-card")
        page.locator("#vae-sketch-btn").click()
        page.wait_for_function("(before) => { const t = document.querySelector('#vae-encode-card').innerText;"
                               " return t !== before && t.includes('Negative ELBO'); }", arg=before)
        assert page.evaluate("window.__ndUploads") >= 1  # the drawing itself is uploaded
    finally:
        page.close()
