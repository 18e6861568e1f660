"""Headless Chromium: Attention › Encoder–decoder shows a translation on open, and clicking an output
character outlines its row and shades the input characters it attended to."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(chromium, app_url):
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(240_000)
    page.goto(app_url)
    yield page
    page.close()


def test_seq2seq_tab_translates_and_highlights(page):
    page.get_by_role("tab", name="Attention", exact=True).first.click()
    page.get_by_role("tab", name="Encoder–decoder", exact=True).first.click()
    page.wait_for_selector("#s2s-cross svg.nd-chart rect")  # a real result on open, drawn without Plotly
    assert "2021-03-03" in page.locator("#s2s-cards").inner_text()
    page.wait_for_selector("#s2s-why-dates svg.nd-chart circle")  # the committed accuracy lines
    page.locator("#s2s-position label").nth(5).click()
    page.wait_for_function("document.querySelector('#s2s-highlight').innerText.includes('Output character 5')")
    page.locator("#s2s-prefix textarea, #s2s-prefix input").first.fill("19")
    page.locator("#s2s-what-if-run").click()
    # The what-if cards already hold the on-open run (prefix '1'): wait for this run's prefix.
    page.wait_for_function("document.querySelector('#s2s-what-if-cards').innerText.includes(\"prefix '19' forced\")")
    assert page.locator("#s2s-what-if-cards").inner_text().count("prefix '19' forced") == 3
