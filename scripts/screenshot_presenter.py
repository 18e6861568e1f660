"""Presenter-mode screenshots of every tab at 1280x720, and each tab's time to its first result.

    python -m scripts.screenshot_presenter [--out docs/screenshots] [--url http://127.0.0.1:7860/]

Starts `python app.py` on a free port (or uses ``--url``), then for each tab opens a fresh page at
``?tab=<tab>&presenter=1`` (a deep link, as a speaker would bookmark it), waits until the tab's main
result is on screen, and saves the viewport as ``presenter_<tab>.png``. The time from navigation to
that result is printed (and written to ``--json``): the first page load pays the model loads, so the
tabs are timed twice, cold (first visit after start-up) and warm (a second visitor).
Needs Debian's chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import time
from pathlib import Path

from benchmarks.serving import measure_app

ROOT = Path(__file__).resolve().parent.parent

# tab -> (JS condition: the tab's main result is on screen, element to scroll to the top first or "")
RESULTS = {
    "gan": ("Array.from(document.querySelectorAll('#gan-faces-gallery img')).some(i => i.complete && i.naturalWidth > 0)",
            "#app-tabs"),
    "autoencoder": ("(() => { const c = document.querySelector('#ae-denoise-card');"
                    " return c && c.innerText.includes('dB'); })()", "#app-tabs"),
    "attention": ("document.querySelector('#attn-matrix .js-plotly-plot') !== null", "#app-tabs"),
    "transfer": ("(() => { const l = document.querySelector('#imagenet-label');"
                 " return l && l.innerText.includes('%'); })()", "#app-tabs"),
}


def capture(url: str, out: Path, rounds: int = 2) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    timings: dict[str, list[float]] = {tab: [] for tab in RESULTS}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        for round_index in range(rounds):
            for tab, (ready, anchor) in RESULTS.items():
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.set_default_timeout(240_000)
                started = time.perf_counter()
                print(f"round {round_index}: {tab}", flush=True)
                page.goto(f"{url.rstrip('/')}/?tab={tab}&presenter=1")
                page.wait_for_function(ready)
                timings[tab].append(round(time.perf_counter() - started, 2))
                if round_index == rounds - 1:
                    page.wait_for_timeout(1500)  # images finish decoding, Plotly settles
                    with contextlib.suppress(Exception):
                        page.evaluate(f"document.querySelector('{anchor}').scrollIntoView({{block: 'start'}})")
                    page.wait_for_timeout(300)
                    out.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(out / f"presenter_{tab}.png"))
                page.close()
        browser.close()
    return {"seconds_to_first_result": {tab: {"cold": values[0], "warm": values[-1]} for tab, values in timings.items()},
            "note": "navigation to the tab's main result on screen, headless Chromium at 1280x720, ?tab=<tab>&presenter=1"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--url", default="", help="a running NeuroDeck; default: start one")
    parser.add_argument("--json", type=Path, default=None, help="also write the timings here")
    args = parser.parse_args()
    measure_app(lambda url: capture(url, args.out), args.url, {"NEURODECK_WARMUP": "0"}, args.json)


if __name__ == "__main__":
    main()
