"""Screenshot Attention › Decoder in headless Chromium (1280x720 viewport).

    python -m scripts.screenshot_decoder [--out docs/screenshots/attention_decoder.png] [--prompt "..."]
                                         [--tokens 32] [--click 2] [--full-page]

Starts `python app.py` on a free port (its warm-up loads SmolLM2; the first start converts the GGUF),
opens Attention › Decoder, generates ``--prompt`` greedily, clicks generated token ``--click`` so
its step's candidate chart shows, and saves the viewport from the sub-tab bar down: prompt, controls,
the streamed tokens, the big figures and the candidate chart. Needs Debian's chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from benchmarks.serving import running_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "attention_decoder.png")
    parser.add_argument("--prompt", default="The capital of France is")
    parser.add_argument("--tokens", type=int, default=32, help="max new tokens")
    parser.add_argument("--click", type=int, default=0, help="generated token to click (0 = the first)")
    parser.add_argument("--full-page", action="store_true", help="the whole page instead of the viewport")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    with running_server("app.py", {"HF_HUB_OFFLINE": "1"}, timeout_s=300) as (url, _):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.set_default_timeout(300_000)
            page.goto(url)
            page.get_by_role("tab", name="Attention", exact=True).first.click()
            page.get_by_role("tab", name="Decoder", exact=True).first.click()
            done = "document.querySelector('#dec-card') && document.querySelector('#dec-card').innerText.includes('Done')"
            page.wait_for_function(done)  # the default generation shown on open
            page.wait_for_selector("#dec-kv-plot .js-plotly-plot")  # and the KV-cache timing, so nothing else runs
            page.locator("#dec-prompt textarea").fill(args.prompt)
            page.locator("#dec-max-tokens input[type=number]").fill(str(args.tokens))
            page.locator("#dec-max-tokens input[type=number]").press("Enter")
            page.locator("#dec-run").click()
            page.wait_for_function("!(" + done + ")")
            page.wait_for_function(done)
            prompt_length = page.evaluate(
                "document.querySelectorAll('#dec-tokens .token').length - "
                "document.querySelectorAll('#dec-tokens .token.highlighted').length"
            )
            page.locator("#dec-tokens .token").nth(prompt_length + args.click).click()
            page.wait_for_function(
                "n => document.querySelector('#dec-candidates').innerText.includes('Step ' + n + ':')", arg=args.click + 1
            )
            page.mouse.move(5, 5)  # no hover toolbar on the chart
            page.wait_for_timeout(1500)  # Plotly re-draw
            args.out.parent.mkdir(parents=True, exist_ok=True)
            if args.full_page:
                page.screenshot(path=str(args.out), full_page=True)
            else:
                page.evaluate(
                    "window.scrollTo(0, document.querySelector('#tab-attention-decoder-button').getBoundingClientRect().top"
                    " + window.scrollY - 8)"
                )
                page.wait_for_timeout(500)
                page.screenshot(path=str(args.out))
            browser.close()
    print(args.out)


if __name__ == "__main__":
    main()
