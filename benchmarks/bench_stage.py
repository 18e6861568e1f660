"""What a visitor sees, per view: when presenter mode applies, and the time from navigation to the view's result.

    python -m benchmarks.bench_stage [--rounds 3] [--url http://127.0.0.1:7860/] [--screenshots docs/screenshots]

Starts `python app.py` on a free port (or uses ``--url``) and waits for its warm-up. Then, for each round, opens
every view in a fresh headless-Chromium page at 1280x720 with its deep link ``?tab=<tab>&sub=<view>&presenter=1``
(the order alternates between rounds: forward, backward, ...) and records:

- ``presenter_ms``: when the ``nd-presenter`` class appeared, in ms after navigation start, and ``tabs_ms``:
  when the app's tabs appeared (the first of the app on screen); presenter mode is in place before the app
  renders when presenter_ms <= tabs_ms;
- ``result_s``: seconds from navigation to the view's main result on screen (``ViewHandles.result`` has content);
- ``result_in_view``: whether that result's top edge is inside the 720 px viewport without scrolling.

Prints medians per view (and the load average before and after) as JSON; ``--json`` writes them too.
Needs Debian's chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path

from benchmarks.serving import measure_app

ROOT = Path(__file__).resolve().parent.parent

# Before any page script: note when the presenter class appears on <html> and when the app's tabs appear (the
# first thing of the app drawn). Init scripts run before <html> is parsed, so the whole document is observed.
INIT_SCRIPT = """
(() => {
  window.__ndPresenterAt = null;
  window.__ndTabsAt = null;
  const seen = (_, observer) => {
    const root = document.documentElement;
    if (window.__ndPresenterAt === null && root && root.classList.contains('nd-presenter')) {
      window.__ndPresenterAt = performance.now(); }
    if (window.__ndTabsAt === null && document.getElementById('app-tabs')) { window.__ndTabsAt = performance.now(); }
    if (observer && window.__ndPresenterAt !== null && window.__ndTabsAt !== null) { observer.disconnect(); }
  };
  new MutationObserver(seen).observe(document, {attributes: true, attributeFilter: ['class'], childList: true, subtree: true});
})();
"""

# The view's result has content and a size: an image decoded, a Plotly chart drawn, or text that is not the empty
# hint. Not content: gradio's status tracker (the block's .wrap child: a spinner, a "0.3s" timer), the block's own
# label (a Label or HighlightedText shows its label before any result), its empty placeholder, and a block still
# marked pending ("Loading the example run...").
RESULT_READY = """
(id) => {
  const el = document.getElementById(id);
  if (!el || el.getBoundingClientRect().height <= 0) { return false; }
  if (Array.from(el.querySelectorAll('img')).some((i) => i.complete && i.naturalWidth > 0 && i.getBoundingClientRect().height > 0)) {
    return true; }
  if (el.querySelector('.js-plotly-plot .main-svg, canvas, svg.nd-chart')) { return true; }
  const parts = el.classList.contains('block') ? Array.from(el.children).filter((c) => !c.classList.contains('wrap')
    && c.tagName !== 'LABEL' && !c.classList.contains('empty')) : [el];
  const text = parts.map((c) => c.innerText || '').join(' ').trim();
  return text.length > 0 && !el.querySelector('.nd-empty, .pending') && !/^(Press|Load|Upload)/.test(text);
}
"""


def views_of_the_app() -> list[tuple[str, str, str]]:
    """(tab, sub, result elem_id) of every view, from the app's own handles (built, not launched)."""
    from app import build_app

    demo = build_app()
    return [(view.tab, view.sub, view.result.elem_id) for view in demo.neurodeck_views.views.values()]


def measure(url: str, rounds: int = 3, screenshots: Path | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    from benchmarks.serving import wait_until_warm
    from gradio_client import Client

    wait_until_warm(Client(url, verbose=False))
    views = views_of_the_app()
    samples: dict[str, dict[str, list]] = {f"{tab}/{sub}": {"presenter_ms": [], "tabs_ms": [], "result_s": [],
                                                            "result_in_view": []} for tab, sub, _ in views}
    load_before = os.getloadavg()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for round_index in range(rounds):
            order = views if round_index % 2 == 0 else list(reversed(views))
            for tab, sub, result_id in order:
                key = f"{tab}/{sub}"
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.set_default_timeout(240_000)
                page.add_init_script(INIT_SCRIPT)
                started = time.perf_counter()
                page.goto(f"{url.rstrip('/')}/?tab={tab}&sub={sub}&presenter=1")
                page.wait_for_function(RESULT_READY, arg=result_id, polling=50)
                samples[key]["result_s"].append(time.perf_counter() - started)
                samples[key]["presenter_ms"].append(page.evaluate("window.__ndPresenterAt"))
                samples[key]["tabs_ms"].append(page.evaluate("window.__ndTabsAt"))
                top = page.evaluate("(id) => document.getElementById(id).getBoundingClientRect().top", result_id)
                samples[key]["result_in_view"].append(top < 720)
                if screenshots is not None and round_index == rounds - 1:
                    screenshots.mkdir(parents=True, exist_ok=True)
                    page.wait_for_timeout(800)
                    page.screenshot(path=str(screenshots / f"presenter_{tab}_{sub}.png"))
                page.close()
        browser.close()

    def median(values):
        values = [v for v in values if v is not None]
        return round(statistics.median(values), 3) if values else None

    return {
        "rounds": rounds,
        "cpu_count": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "views": {key: {"result_s_median": median(s["result_s"]), "result_s": [round(x, 2) for x in s["result_s"]],
                        "presenter_ms_median": median(s["presenter_ms"]), "tabs_ms_median": median(s["tabs_ms"]),
                        "result_in_view": all(s["result_in_view"])}
                  for key, s in samples.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--screenshots", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "stage.json")
    args = parser.parse_args()
    measure_app(lambda url: measure(url, args.rounds, args.screenshots), args.url, json_path=args.json)


if __name__ == "__main__":
    main()
