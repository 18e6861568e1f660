"""The stage in a real browser, built from the views' own handles: every view's link round trip, presenter mode
before the first paint with its results in view at 1280x720, the phone's first screen, junk links, stale errors."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlparse

import gradio as gr
import pytest

from benchmarks.bench_stage import INIT_SCRIPT, RESULT_READY
from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

# Values a test link sets where a generic "another value" would not be a sensible input.
TEXT_VALUES = {"seq2seq": "7 July 1969", "decoder": "Once upon a time", "text": "Links carry every view's inputs.",
               "table": "is_fraud"}  # the table view's one text input names the example's label column
# Choices that need something the link cannot carry (a Hub model needs the internet, "custom" points a CSV) stay at
# their default value, which still goes through the round trip.
KEEP_DEFAULT = {"model", "model_id"}
AVOID = {"custom"}


# Every view, by key. Each page load costs 10-25 s on a 2-core CI machine, so the default run covers five views in
# each of the two per-view tests (ten views in all, every tab in each) and `pytest -m slow` covers all twenty.
VIEW_KEYS = ("gan/faces", "gan/generate", "gan/latent", "gan/score", "gan/lab", "gan/live", "gan/quality",
             "gan/diffusion", "gan/compare", "autoencoder/denoise", "autoencoder/anomalies", "autoencoder/table",
             "autoencoder/latent", "autoencoder/variational", "attention/text", "attention/decoder", "attention/image",
             "attention/seq2seq", "transfer/imagenet", "transfer/train")
ROUND_TRIP_DEFAULT = {"gan/faces", "gan/latent", "autoencoder/table", "attention/seq2seq", "transfer/imagenet"}
PRESENTER_DEFAULT = {"gan/diffusion", "autoencoder/latent", "attention/decoder", "attention/text", "transfer/train"}


def _tiered(default: set[str]) -> list:
    return [pytest.param(key, id=key, marks=() if key in default else pytest.mark.slow) for key in VIEW_KEYS]


@pytest.fixture(scope="module")
def views():
    from app import build_app

    return build_app().neurodeck_views


@pytest.fixture()
def open_page(chromium, app_url):
    pages = []

    def go(query: str = "", width: int = 1280, height: int = 720):
        page = chromium.new_page(viewport={"width": width, "height": height})
        page.set_default_timeout(240_000)  # the first page load also loads models; CI machines are slow
        page.add_init_script(INIT_SCRIPT)
        page.goto(app_url + query)
        page.wait_for_selector("#app-tabs")
        pages.append(page)
        return page

    yield go
    for page in pages:
        page.close()


def _another_value(view, param):
    """A valid value for ``param`` that differs from its default, as a URL string."""
    component = param.component
    if param.name in KEEP_DEFAULT:
        return str(component.value)
    if param.choices:
        return sorted(param.choices)[-1]
    if isinstance(component, gr.Checkbox):
        return "0" if component.value else "1"
    if isinstance(component, (gr.Dropdown, gr.Radio)):
        values = [str(value) for _, value in component.choices]
        return next(value for value in reversed(values) if value != str(component.value) and value not in AVOID)
    if isinstance(component, gr.CheckboxGroup):
        return str(component.choices[0][1])
    if isinstance(component, (gr.Number, gr.Slider)):
        low = component.minimum if component.minimum is not None else 0
        high = component.maximum if component.maximum is not None else low + 10
        value = min(high, max(low, (component.value or 0) + (getattr(component, "step", None) or 1)))
        if value == component.value:
            value = low
        return str(int(value)) if component.precision == 0 or float(value).is_integer() else str(value)
    return TEXT_VALUES.get(view.sub, "NeuroDeck links")


def _copied(page) -> dict:
    page.locator("#nd-copy-link").click()
    page.wait_for_function("document.querySelector('#nd-link-box textarea').value.includes('tab=')")
    return dict(parse_qsl(urlparse(page.locator("#nd-link-box textarea").input_value()).query))


def _result_fingerprint(page, elem_id: str) -> list:
    """What the result shows (image files by content hash, else its text), once it has stopped changing."""
    previous = None
    for _ in range(40):
        current = _read_result(page, elem_id)
        if current == previous:
            return current
        previous = current
        page.wait_for_timeout(750)
    return previous


def _read_result(page, elem_id: str) -> list:
    return page.evaluate("""(id) => { const el = document.getElementById(id);
        // gradio caches a file under a folder named by its content's hash (the file name itself varies)
        const imgs = Array.from(el.querySelectorAll('img')).map((i) => { const parts = (i.src || '').split('/');
            return /^[0-9a-f]{64}$/.test(parts[parts.length - 2] || '') ? parts[parts.length - 2] : parts[parts.length - 1]; });
        return imgs.length ? imgs : [(el.innerText || '').trim().slice(0, 400)]; }""", elem_id)


def _same_number(a: str, b: str) -> bool:
    yes = {"1", "true"}
    if a.lower() in yes | {"0", "false"}:
        return (a.lower() in yes) == (b.lower() in yes)
    try:
        return abs(float(a) - float(b)) < 1e-9
    except ValueError:
        return a == b


def test_the_view_list_is_the_apps(views):
    assert tuple(views.views) == VIEW_KEYS


@pytest.mark.parametrize("key", _tiered(ROUND_TRIP_DEFAULT))
def test_every_view_round_trips_its_link_with_the_same_inputs_and_result(views, open_page, key):
    # Links once dropped the view's own inputs (a Faces seed opened face 0; Decoder links carried the Text
    # view's sentence). Each view: open a link that sets all its inputs, copy the link, open the copy in a
    # fresh page: same inputs, same result.
    for view in [views.views[key]]:
        wanted = {param.name: _another_value(view, param) for param in view.link}
        query = "?" + urlencode({"tab": view.tab, "sub": view.sub, **wanted})
        first = open_page(query)
        first.wait_for_function(RESULT_READY, arg=view.result.elem_id)
        assert first.locator("#nd-notice").inner_text().strip() == "", (view.key, first.locator("#nd-notice").inner_text())
        assert first.get_by_text("Error", exact=True).count() == 0, view.key
        copied = _copied(first)
        assert (copied.get("tab"), copied.get("sub")) == (view.tab, view.sub), (view.key, copied)
        for name, value in wanted.items():
            assert _same_number(copied.get(name, ""), value), (view.key, name, value, copied)
        fingerprint = _result_fingerprint(first, view.result.elem_id)
        first.close()
        second = open_page("?" + urlencode(copied))
        second.wait_for_function(RESULT_READY, arg=view.result.elem_id)
        assert _copied(second) == copied, view.key
        assert _result_fingerprint(second, view.result.elem_id) == fingerprint, view.key
        second.close()


@pytest.mark.parametrize("key", _tiered(PRESENTER_DEFAULT))
def test_presenter_mode_applies_before_the_app_renders_and_every_result_is_in_view(views, open_page, key):
    for view in [views.views[key]]:
        page = open_page(f"?tab={view.tab}&sub={view.sub}&presenter=1")
        page.wait_for_function(RESULT_READY, arg=view.result.elem_id)
        # Presenter mode comes from the address bar before the app draws anything (it once came 4-10 s late).
        presenter_at, tabs_at = page.evaluate("[window.__ndPresenterAt, window.__ndTabsAt]")
        assert presenter_at is not None and tabs_at is not None and presenter_at <= tabs_at, (view.key, presenter_at, tabs_at)
        box = page.locator(f"#{view.result.elem_id}").bounding_box()
        assert box is not None and box["y"] < 720 and box["height"] > 0, (view.key, box)
        if view.sub in ("text", "faces", "denoise", "imagenet"):
            page.screenshot(path=str(SCREENSHOTS / f"presenter_{view.tab}_{view.sub}.png"))
        page.close()


def test_presenter_type_is_large_and_the_toggle_turns_it_off(open_page):
    page = open_page("?tab=transfer&presenter=1")
    page.wait_for_function("document.body.classList.contains('nd-presenter')")
    assert page.locator("#nd-presenter input").is_checked()
    sizes = page.evaluate("""() => {
        const px = (el) => el ? parseFloat(getComputedStyle(el).fontSize) : null;
        const all = (sel) => Array.from(document.querySelectorAll(sel)).filter((e) => e.offsetParent !== null).map(px);
        return {tabs: all('[role=tab]'), presenter: px(document.querySelector('#nd-presenter label span') ||
                document.querySelector('#nd-presenter label')), copy: px(document.querySelector('#nd-copy-link')),
                cards: all('.nd-card-label, .nd-card-note, .nd-headline')}; }""")
    assert min(sizes["tabs"]) >= 18 and sizes["presenter"] >= 18 and sizes["copy"] >= 18, sizes
    assert not sizes["cards"] or min(sizes["cards"]) >= 18, sizes
    copy_box = page.locator("#nd-copy-link").bounding_box()
    assert copy_box["height"] < 2 * sizes["copy"] + 24, copy_box  # one line
    page.locator("#nd-presenter input").uncheck()
    page.wait_for_function("!document.documentElement.classList.contains('nd-presenter')")
    assert "presenter" not in page.url
    tab_size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('[role=tab]')).fontSize)")
    assert tab_size < 18


def test_phone_first_screen_shows_a_result_and_nothing_is_clipped(open_page):
    page = open_page(width=390, height=844)
    page.wait_for_function(RESULT_READY, arg="gan-faces-gallery")
    box = page.locator("#gan-faces-gallery").bounding_box()
    assert box["y"] < 844 - 100, box  # the face is on the first screen
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 392
    presenter = page.locator("#nd-presenter").bounding_box()
    assert presenter["x"] >= 0 and presenter["x"] + presenter["width"] <= 390, presenter
    assert not page.locator(".nd-tagline").is_visible() and not page.locator("#nd-header").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "phone_landing.png"))


def test_junk_links_only_give_a_notice_and_gradios_own_parameters_none(open_page):
    page = open_page("?tab=nope&seed=abc&foo=%3Cscript%3E&example=../../etc/passwd")
    page.wait_for_function("document.querySelector('#nd-notice').innerText.includes('ignored')")
    notice = page.locator("#nd-notice").inner_text()
    assert "tab='nope'" in notice and "foo" in notice
    assert "GAN" in page.locator("[role=tab][aria-selected=true]").all_inner_texts()
    page.wait_for_function(RESULT_READY, arg="gan-faces-gallery")
    page.close()
    page = open_page("?tab=transfer&sub=export")
    page.wait_for_function("document.querySelector('#nd-notice').innerText.includes('sub=')")
    assert "pick a tab" not in page.locator("#nd-notice").inner_text()


def test_after_an_error_the_old_result_is_marked_stale(open_page):
    page = open_page("?tab=attention&sub=seq2seq")
    page.wait_for_function(RESULT_READY, arg="s2s-cards")
    page.locator("#s2s-text textarea, #s2s-text input").first.fill("")
    page.locator("#s2s-run").click()
    page.wait_for_function("document.querySelector('#s2s-cards').closest('.block').querySelector('.error') !== null")
    # gradio fades the block's content (a CSS transition): read the opacity once it has settled
    faded = """() => { const block = document.querySelector('#s2s-cards').closest('.block');
        const kids = Array.from(block.children).filter((c) => !c.classList.contains('wrap'));
        return Math.min(...kids.map((c) => parseFloat(getComputedStyle(c).opacity))) < 0.5; }"""
    page.wait_for_function(faded, timeout=5_000)
