"""Headless-Chromium smoke test: a real browser opens NeuroDeck, clicks through, and saves screenshots.

Needs Debian's `chromium` (installed by .ci/run when missing); skipped if it is absent.
Screenshots land in artifacts/screenshots/ for a human to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(chromium, app_url):
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(240_000)  # first click loads the model; CI machines can be slow
    page.goto(app_url)
    page.wait_for_selector("#tab-attention-button, button:has-text('Attention')")
    yield page
    page.close()


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).first.click()


def card_text(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id}").inner_text()


def draw(page, editor_id: str, strokes, steps: int = 8) -> None:
    """Draw polylines (unit coordinates in the editor's canvas) with the brush, ``steps`` mouse moves a segment."""
    page.locator(f"#{editor_id} button[aria-label='Brush']").click()
    box = page.locator(f"#{editor_id} canvas").last.bounding_box()
    for line in strokes:
        (x0, y0), *rest = line
        page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
        page.mouse.down()
        for x, y in rest:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=steps)
        page.mouse.up()


def test_attention_text_tab_renders_heatmap(page):
    open_tab(page, "Attention")
    open_tab(page, "Text")
    page.locator("#attn-text-run").click()
    page.wait_for_selector("#attn-matrix svg.nd-chart rect")
    page.wait_for_selector("#attn-model-view img")
    page.wait_for_selector("#attn-head-view svg line")
    assert "6 layers x 12 heads" in page.locator("#attn-text-notes").inner_text()
    # Clicking the model view's layer-2/head-3 thumbnail opens it in the matrix (image is 668x342 px:
    # 44 px of labels, then 48 px cells with 4 px gaps; 30 px of labels on top).
    page.locator("#attn-model-view img").scroll_into_view_if_needed()
    box = page.locator("#attn-model-view img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * (44 + 2 * 52 + 24) / 668, box["y"] + box["height"] * (30 + 52 + 24) / 342)
    page.wait_for_function("document.querySelector('#attn-matrix').innerText.includes('Layer 2, head 3')")
    page.screenshot(path=str(SCREENSHOTS / "attention_text.png"), full_page=True)


def test_attention_image_tab_classifies_example(page):
    open_tab(page, "Attention")
    open_tab(page, "Image")
    page.locator("#attn-image-in input[type=file]").set_input_files(
        str(Path(__file__).resolve().parents[2] / "assets" / "examples" / "digit_3.png")
    )
    page.locator("#attn-image-run").click()
    page.wait_for_selector("#attn-image-rollout img")
    page.wait_for_function(
        "document.querySelector('#attn-image-label') && document.querySelector('#attn-image-label').innerText.includes('%')"
        " && !document.querySelector('#attn-image-label .eta-bar, #attn-image-label .progress-text')"
    )
    lines = page.locator("#attn-image-label").inner_text().splitlines()  # ["Prediction (top-5 probabilities)", "3", ...]
    assert lines[1].strip() == "3", lines  # digit_3.png is read as a three
    page.screenshot(path=str(SCREENSHOTS / "attention_image.png"), full_page=True)


def test_transfer_tab_trains_and_predicts(page):
    open_tab(page, "Transfer learning")
    open_tab(page, "Train your own")
    page.locator("#transfer-load-btn").click()
    page.wait_for_selector("#transfer-data-report")
    page.wait_for_function("document.querySelector('#transfer-data-report').innerText.trim().length > 20")
    page.locator("#transfer-train-btn").click()
    page.wait_for_function(
        "document.querySelector('#transfer-status') && document.querySelector('#transfer-status').innerText.includes('Done. Best:')"
    )
    page.locator("#transfer-predict-btn").click()
    page.wait_for_function(
        "document.querySelector('#transfer-prediction') && document.querySelector('#transfer-prediction').innerText.includes('%')"
    )
    page.screenshot(path=str(SCREENSHOTS / "transfer.png"), full_page=True)
    # The link to the Attention tab: it switches tabs (and the Text sub-tab) and runs this session's model.
    page.get_by_text("Attention after fine-tuning (MiniLM)").click()
    page.locator("#transfer-open-attention").click()
    page.wait_for_function(
        "document.querySelector('#attn-text-notes') && "
        "document.querySelector('#attn-text-notes').innerText.includes('fine-tuned in the Transfer tab')"
    )
    assert page.locator("#attn-text-a textarea").input_value() == page.locator("#transfer-predict-text textarea").input_value()
    page.wait_for_selector("#attn-matrix svg.nd-chart rect", timeout=30_000)
    page.wait_for_selector("#attn-flow svg.nd-chart rect", timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / "transfer_to_attention.png"), full_page=True)


def test_gan_tab_generates_and_gan_lab_plays(page):
    open_tab(page, "GAN")
    open_tab(page, "Generate")
    page.locator("#gan-seed input").fill("7")
    page.locator("#gan-generate-btn").click()
    page.wait_for_function(  # the default count: 16 digits, every one loaded
        "Array.from(document.querySelectorAll('#gan-gallery .thumbnail-lg img'))"
        ".filter(i => i.complete && i.naturalWidth > 0).length === 16"
    )
    page.wait_for_function("document.querySelector('#gan-generate-card').innerText.includes('seed 7')")
    assert page.locator("#gan-gallery .thumbnail-lg img").count() == 16
    assert "16 digits" in card_text(page, "gan-generate-card")
    assert not page.locator("#gan-generate-info").is_visible()  # the JSON stays in its closed accordion
    page.screenshot(path=str(SCREENSHOTS / "gan_generate.png"), full_page=True)
    open_tab(page, "GAN Lab (2-D, live)")
    page.locator("#gan-lab-play").click()
    page.wait_for_function(  # the status card's headline: "Step 1,234: ..."
        "document.querySelector('#gan-lab-card') && /Step [1-9][0-9,]*/.test(document.querySelector('#gan-lab-card').innerText)"
    )
    page.locator("#gan-lab-pause").click()
    page.wait_for_selector("#gan-lab-field img")
    import re

    step = int(re.search(r"Step ([0-9,]+)", card_text(page, "gan-lab-card")).group(1).replace(",", ""))
    assert step > 0
    page.screenshot(path=str(SCREENSHOTS / "gan_lab.png"), full_page=True)


def test_autoencoder_tab_denoises_a_photo(page, tmp_path):
    from PIL import Image
    from skimage import data

    photo = tmp_path / "chelsea.png"
    Image.fromarray(data.chelsea()).resize((256, 170)).save(photo)
    open_tab(page, "Autoencoder")
    open_tab(page, "Denoise")
    page.locator("#ae-denoise-input input[type=file]").set_input_files(str(photo))
    page.locator("#ae-denoise-btn").click()
    page.wait_for_selector("#ae-denoised img")
    page.wait_for_function("/Denoised: [+-][0-9.]+ dB/.test(document.querySelector('#ae-denoise-card').innerText)")
    import re

    gain = float(re.search(r"Denoised: ([+-][0-9.]+) dB over the noisy image", card_text(page, "ae-denoise-card")).group(1))
    assert gain > 0  # the autoencoder output is cleaner than its noisy input
    page.screenshot(path=str(SCREENSHOTS / "autoencoder_denoise.png"), full_page=True)


def test_autoencoder_anomaly_tab_flags_a_defect(page):
    from engine.core.registry import ASSETS_DIR

    defective = sorted((ASSETS_DIR / "examples" / "autoencoder" / "textures").glob("*scratch*.png"))[0]
    open_tab(page, "Autoencoder")
    open_tab(page, "Anomalies")
    page.locator("#ae-anomaly-input input[type=file]").set_input_files(str(defective))
    page.locator("#ae-anomaly-btn").click()
    page.wait_for_selector("#ae-heatmap img")
    page.wait_for_selector("#ae-mask img")
    page.wait_for_function("/Defect found|Looks normal/.test(document.querySelector('#ae-anomaly-card').innerText)")
    assert card_text(page, "ae-anomaly-card").startswith("Defect found")
    assert page.locator("#ae-heatmap img").bounding_box()["width"] >= 384  # large enough to see the defect
    page.locator("#ae-roc").scroll_into_view_if_needed()  # gradio's images load lazily: scroll as a reader would
    page.wait_for_selector("#ae-roc img")  # the labelled evaluation set's ROC, computed on first view
    page.wait_for_function("document.querySelector('#ae-eval-card').innerText.includes('At threshold')")
    page.screenshot(path=str(SCREENSHOTS / "autoencoder_anomaly.png"), full_page=True)


@pytest.mark.slow  # ~25-30 s of Chromium drawing the editor; the default run stays under 10 minutes
def test_gan_sketchpad_opens_scored_and_reads_a_plain_seven(chromium, app_url):
    # The view opens with both of its results; a plain 7 drawn small on a blank canvas is scored as a 7
    # (the judge read it as 3, and a small drawing as almost anything: issue 9, item 7).
    # Its own page, closed at the end: a live editor canvas keeps headless Chromium busy (see below).
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(240_000)
    page.goto(app_url + "?tab=gan&sub=score")
    for card in ("gan-score-card", "gan-sketch-card"):
        page.wait_for_function(f"document.querySelector('#{card}') && "
                               f"document.querySelector('#{card}').innerText.includes('The discriminator rates')")
    assert "as a 7" in card_text(page, "gan-score-card")  # the README's example digit, read by the judge
    page.locator("#gan-sketch-blank").click()  # black, unlike the editor's own (hidden) Clear
    page.wait_for_function("document.querySelector('#gan-sketch-card').innerText.includes('Load a generated digit')")
    draw(page, "gan-sketch", [[(0.35, 0.3), (0.6, 0.3), (0.45, 0.7)]])  # one stroke, mid-canvas
    page.wait_for_function("document.querySelector('#gan-sketch-card').innerText.includes('The judge reads')")
    text = card_text(page, "gan-sketch-card")
    assert "as a 7 (the judge's reading)" in text, text
    page.screenshot(path=str(SCREENSHOTS / "gan_sketch_seven.png"), full_page=True)
    page.close()


# The drawing tests come last: once an ImageEditor canvas is on the page, headless Chromium keeps
# redrawing it in software and takes a CPU core, which slowed every later test in this module ~4x.
def sketch_reading(page, strokes) -> list[str]:
    """Draw ``strokes`` on a cleared Attention › Image › Draw canvas, classify, return the label's lines
    (["Prediction (top-5 probabilities)", "<top label>", ...]) once this run's result is in."""
    open_tab(page, "Attention")
    open_tab(page, "Image")
    open_tab(page, "Draw")
    clear = page.locator("#attn-sketch button[aria-label='Clear canvas']")
    if clear.count() and clear.first.is_enabled():  # a drawing from an earlier test
        clear.first.click()
    draw(page, "attn-sketch", strokes)
    label = page.locator("#attn-image-label")
    before = label.inner_text()
    page.locator("#attn-sketch-run").click()
    page.wait_for_function(
        "([before]) => { const t = document.querySelector('#attn-image-label').innerText;"
        " return t.includes('%') && t !== before && !/\\d+(\\.\\d+)?s\\b/.test(t); }",  # no pending timer
        arg=[before],
    )
    return label.inner_text().splitlines()


def test_a_plainly_drawn_seven_is_read_as_seven(page):
    # The sketchpad path end to end (draw, classify, label). Most 7s in scikit-learn's digits have a crossbar;
    # a plain one was read as 3 (issue 9, item 7). Every digit, pen and size: tests/engine/attention/test_drawn_digits.py.
    lines = sketch_reading(page, [[(0.40, 0.15), (0.62, 0.15), (0.47, 0.85)]])
    assert lines[1].strip() == "7", lines
    page.screenshot(path=str(SCREENSHOTS / "attention_sketch_seven.png"), full_page=True)
