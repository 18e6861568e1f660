"""Screenshot the Transfer tab's "Meet the pre-trained model" view in headless Chromium (1280x720).

    python -m scripts.screenshot_transfer_imagenet [--out docs/screenshots/transfer_imagenet.png]
                                                   [--photo chelsea] [--layer head] [--full-page]

Starts `python app.py` on a free port, opens Transfer learning › Meet the pre-trained model, waits for
the result it opens with (the coffee photo), optionally classifies another packaged ``--photo`` through
the examples and picks a Grad-CAM ``--layer``, then saves the viewport. Needs Debian's chromium
(/usr/bin/chromium; `apt-get install -y chromium`).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from benchmarks.serving import running_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "transfer_imagenet.png")
    parser.add_argument("--photo", default="", help="an example to click after the opening result (e.g. chelsea)")
    parser.add_argument("--layer", default="head", help="Grad-CAM layer to pick (stem, stage 1..7, head)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--full-page", action="store_true", help="the whole page instead of the viewport")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    # gradio's launch() refuses to start when its own HEAD / takes over 3 s five times, which happens on a
    # heavily loaded shared machine; the screenshot does not need that check, so a wrapper skips it.
    wrapper = Path(tempfile.mkdtemp(prefix="neurodeck-shot-")) / "serve_app.py"
    wrapper.write_text(
        "import runpy, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "import gradio.networking\n"
        "gradio.networking.url_ok = lambda url: True\n"
        f"runpy.run_path({str(ROOT / 'app.py')!r}, run_name='__main__')\n"
    )
    log_path = wrapper.with_name("server.log")
    with running_server(str(wrapper), {"NEURODECK_WARMUP": "0", "PYTHONUNBUFFERED": "1"}, timeout_s=600,
                        log_path=log_path) as (url, _):
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.set_default_timeout(600_000)  # the opening result can take minutes on a loaded machine
            page.goto(url)
            page.get_by_role("tab", name="Transfer learning", exact=True).first.click()
            page.get_by_role("tab", name="Meet the pre-trained model", exact=True).first.click()
            label = page.locator("#imagenet-label")
            try:
                page.wait_for_function("() => document.querySelector('#imagenet-label')?.innerText.includes('espresso')",
                                       timeout=300_000)
            except Exception:  # the opening result failed or is stuck: ask once more with the button
                print(log_path.read_text()[-3000:])
                page.locator("#imagenet-run").click()
            try:
                page.wait_for_function("() => document.querySelector('#imagenet-label')?.innerText.includes('espresso')")
            except Exception:
                page.screenshot(path=str(args.out.with_name("transfer_imagenet_failed.png")))
                print(log_path.read_text()[-3000:])
                raise
            page.wait_for_selector("#imagenet-gradcam img")
            if args.photo:
                page.locator(f"img[src*='{args.photo}']").first.click()
                page.wait_for_function(
                    "() => !document.querySelector('#imagenet-label')?.innerText.includes('espresso')")
            if args.layer != "head":
                page.locator("#imagenet-layer input").click()
                page.get_by_role("option", name=args.layer, exact=False).first.click()
                page.wait_for_timeout(3000)
            page.wait_for_timeout(1000)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            if args.full_page:
                page.screenshot(path=str(args.out), full_page=True)
            else:
                page.evaluate("document.querySelector('#transfer-subtabs').scrollIntoView({block: 'start'})")
                page.wait_for_timeout(500)
                page.screenshot(path=str(args.out))
            print("label:", label.inner_text().replace("\n", " | ")[:200])
            browser.close()
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
