"""Headless Chromium: Attention › Encoder–decoder shows a translation on open, and clicking an output
character outlines its row and shades the input characters it attended to."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def page(app_url):
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(240_000)
        page.goto(app_url)
        yield page
        browser.close()


def test_seq2seq_tab_translates_and_highlights(page):
    page.get_by_role("tab", name="Attention", exact=True).first.click()
    page.get_by_role("tab", name="Encoder–decoder", exact=True).first.click()
    page.wait_for_selector("#s2s-cross .js-plotly-plot")  # a real result on open (demo.load)
    assert "2021-03-03" in page.locator("#s2s-cards").inner_text()
    page.wait_for_selector("#s2s-why-dates .js-plotly-plot")
    page.locator("#s2s-position label").nth(5).click()
    page.wait_for_function("document.querySelector('#s2s-highlight').innerText.includes('Output character 5')")
    page.locator("#s2s-prefix textarea, #s2s-prefix input").first.fill("19")
    page.locator("#s2s-what-if-run").click()
    page.wait_for_function("document.querySelector('#s2s-what-if-cards').innerText.includes('forced')")
    assert page.locator("#s2s-what-if-cards").inner_text().count("19") >= 3
