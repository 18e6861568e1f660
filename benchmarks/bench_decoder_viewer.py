"""Decoder speed as a viewer experiences it: the real app in headless Chromium, Generate clicked several
times, the page's own figures (click to each token arriving, streaming included) beside the engine's.

    python -m benchmarks.bench_decoder_viewer [--clicks 3] [--url http://127.0.0.1:7860/]
        [--json benchmarks/results/decoder_viewer.json]

Without --url it starts ``python app.py`` on a free port. The page figures are what the Decoder view shows
under its card (timed by the browser from the click); the engine figures are the card's "engine only" cells.
The load average is printed with them: on a shared machine both sets of figures depend on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from benchmarks.serving import ROOT, measure_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
OPEN_S = 600  # the first opening may load (and on a first start convert) the model, then time the KV cache
RUN_S = 300
CARD_CELLS = """() => Object.fromEntries([...document.querySelectorAll('#dec-card div[style*="flex:1"]')].map(
    (cell) => [cell.children[1].innerText.trim(), cell.children[0].innerText.trim()]))"""


def _engine_figures(cells: dict) -> dict:
    rate = next(v for k, v in cells.items() if k.startswith("tokens per second, engine only"))
    first = next(v for k, v in cells.items() if k.startswith("first token, engine only"))
    return {"tokens_per_s": float(rate), "first_token_s": float(first.removesuffix(" ms")) / 1000}


def measure(url: str, clicks: int) -> dict:
    from playwright.sync_api import sync_playwright

    runs = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url + "?tab=attention&sub=decoder")
        page.wait_for_function("document.querySelector('#dec-card')?.innerText.includes('Done')", timeout=OPEN_S * 1000)
        opening = page.inner_text("#dec-viewer-speed")
        # The KV-cache chart is timed right after the opening: let it finish so it does not share the CPU.
        page.wait_for_function("document.querySelector('#dec-kv-card')?.innerText.includes('per token')",
                               timeout=OPEN_S * 1000)
        for _ in range(clicks):
            page.click("#dec-run")
            page.wait_for_function("document.querySelector('#dec-card').innerText.includes('Generating')",
                                   timeout=RUN_S * 1000)
            page.wait_for_function("document.querySelector('#dec-card').innerText.includes('Done')", timeout=RUN_S * 1000)
            page.wait_for_timeout(500)  # the last token's change event has run by now
            viewer = page.evaluate("() => window.__ndDecoderViewer.figures")
            runs.append({"page": viewer, "page_text": page.inner_text("#dec-viewer-speed"),
                         "engine": _engine_figures(page.evaluate(CARD_CELLS)), "load_average": os.getloadavg()})
        browser.close()

    def median(side: str, key: str) -> float:
        return round(statistics.median(run[side][key] for run in runs), 3)

    return {
        "clicks": clicks,
        "page_median": {"first_token_s": median("page", "first_s"), "tokens_per_s": median("page", "tokens_per_s"),
                        "tokens": median("page", "tokens"), "seconds": median("page", "seconds")},
        "engine_median": {"first_token_s": median("engine", "first_token_s"),
                          "tokens_per_s": median("engine", "tokens_per_s")},
        "opening_text": opening,
        "load_average_start_end": [runs[0]["load_average"], runs[-1]["load_average"]] if runs else [],
        "runs": runs,
        "note": "page = click to each token arriving in the browser, streaming included; engine = model time only",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=3)
    parser.add_argument("--url", default="")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "decoder_viewer.json")
    args = parser.parse_args()
    print("load average at the start:", os.getloadavg())
    measure_app(lambda url: measure(url, args.clicks), url=args.url, json_path=args.json)


if __name__ == "__main__":
    main()
