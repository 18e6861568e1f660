"""Screenshot the Encoder–decoder lab's cross-attention view in headless Chromium (1280x720).

    python -m scripts.screenshot_seq2seq [--out docs/screenshots/attention_seq2seq.png] [--text "14TH OF JULY 1969"]

Starts `python app.py` on a free port, opens Attention › Encoder–decoder, translates ``--text``,
picks output character ``--position`` and saves the viewport with the cross-attention heatmap,
the model view and the source highlight. Needs Debian's chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from benchmarks.serving import running_server

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "attention_seq2seq.png")
    parser.add_argument("--text", default="Wednesday, March 3, 2021")
    parser.add_argument("--position", type=int, default=0, help="output character to highlight")
    parser.add_argument("--full-page", action="store_true", help="the whole sub-tab instead of the viewport")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    with running_server("app.py", {"NEURODECK_WARMUP": "0"}, timeout_s=240) as (url, _):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(240_000)
            page.goto(url)
            page.get_by_role("tab", name="Attention", exact=True).first.click()
            page.get_by_role("tab", name="Encoder–decoder", exact=True).first.click()
            page.wait_for_selector("#s2s-cross .js-plotly-plot")
            text = page.locator("#s2s-text textarea, #s2s-text input").first
            text.fill(args.text)
            page.locator("#s2s-run").click()
            page.wait_for_function(
                "t => document.querySelector('#s2s-notes') && document.querySelector('#s2s-notes').innerText.includes(t)",
                arg=args.text.split()[0])
            page.wait_for_selector("#s2s-position label")
            page.locator("#s2s-position label").nth(args.position).click()
            page.wait_for_function(
                "p => document.querySelector('#s2s-highlight').innerText.includes('Output character ' + p)",
                arg=str(args.position))
            page.wait_for_timeout(1500)  # Plotly re-draw
            if args.full_page:
                page.screenshot(path=str(args.out), full_page=True)
            else:
                page.locator("#s2s-position").scroll_into_view_if_needed()
                page.evaluate("document.querySelector('#s2s-position').scrollIntoView({block: 'start'})")
                page.wait_for_timeout(500)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(args.out))
            browser.close()
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
