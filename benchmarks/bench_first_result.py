"""Time to first result, as a new visitor sees it: every view's deep link, for 1 visitor and for 4 at once.

    python -m benchmarks.bench_first_result [--rounds 3] [--views autoencoder/latent,gan/faces] [--url URL]

Starts `python app.py` on a free port (or uses ``--url``) and waits for its background warm-up, then opens every
view once (untimed: the first request of each view loads its models and fills its caches). Then, per round and
per view (the view order alternates between rounds: forward, backward, ...), in headless Chromium (Debian's
/usr/bin/chromium) at 1280x720:

- 1 visitor: one fresh browser context opens ``?tab=<tab>&sub=<view>``; the figure is the seconds from navigation
  to the view's main result (``ViewHandles.result``) rendered: an image decoded, a Plotly chart drawn, or text that
  is not an empty hint (``RESULT_READY``, the check the stage browser test uses);
- 4 visitors: four fresh contexts open the same link at the same instant; the figure is the slowest of the four.

Which of the two goes first alternates between rounds too. Prints a table (medians of the rounds):
view | 1 visitor | 4 visitors | target met (<= 3 s alone and <= 8 s for 4), with the load average before and
after, and writes the samples as JSON (``--json``). The machine's load skews every figure: quote it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import time
from pathlib import Path

from benchmarks.bench_stage import INIT_SCRIPT, RESULT_READY
from benchmarks.serving import running_server, wait_until_warm

ROOT = Path(__file__).resolve().parent.parent
TARGET_ALONE_S, TARGET_FOUR_S = 3.0, 8.0
TIMEOUT_MS = 180_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def views_of_the_app() -> list[tuple[str, str]]:
    """(view key "<tab>/<sub>", result elem_id) of every view, from the app's own handles (built, not launched)."""
    from app import build_app

    return [(view.key, view.result.elem_id) for view in build_app().neurodeck_views.views.values()]


async def _visit(browser, url: str, key: str, result_id: str) -> tuple[float, float | None]:
    """(seconds from navigation to ``result_id`` rendered, seconds to the app's tabs drawn) in a fresh context (its
    own cookies: a new visitor). A result that never comes (an error, a refusal) counts as +inf, and is printed."""
    tab, sub = key.split("/")
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.add_init_script(INIT_SCRIPT)
        started = time.perf_counter()
        await page.goto(f"{url.rstrip('/')}/?tab={tab}&sub={sub}", wait_until="commit")
        try:
            await page.wait_for_function(RESULT_READY, arg=result_id, polling=100)
        except Exception as error:  # noqa: BLE001  (a timeout or a closed page: this visitor saw no result)
            shown = await page.evaluate("Array.from(document.querySelectorAll('.toast-body, .error')).map((e) => "
                                        "e.innerText).join(' | ').slice(0, 300)")
            print(f"  {key}: no result ({type(error).__name__}); on screen: {shown!r}", flush=True)
            return float("inf"), None
        seconds = time.perf_counter() - started
        tabs_ms = await page.evaluate("window.__ndTabsAt")
        return seconds, (tabs_ms / 1000 if tabs_ms is not None else None)
    finally:
        await context.close()


async def _visitors(browser, url: str, key: str, result_id: str, count: int) -> list[tuple[float, float | None]]:
    return list(await asyncio.gather(*[_visit(browser, url, key, result_id) for _ in range(count)]))


async def _measure(url: str, views: list[tuple[str, str]], rounds: int, visitors: int, warm: bool) -> dict:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    alone: dict[str, list[float]] = {key: [] for key, _ in views}
    crowd: dict[str, list[list[float]]] = {key: [] for key, _ in views}
    drawn: dict[str, list[float]] = {key: [] for key, _ in views}  # the app's tabs on screen, one visitor
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        if warm:  # every view once: models load, per-process caches fill
            for key, result_id in views:
                await _visit(browser, url, key, result_id)
        load_before = os.getloadavg()
        for round_index in range(rounds):
            order = views if round_index % 2 == 0 else list(reversed(views))
            for key, result_id in order:
                for count in ((1, visitors) if round_index % 2 == 0 else (visitors, 1)):
                    visits = await _visitors(browser, url, key, result_id, count)
                    seconds = [result_s for result_s, _ in visits]
                    if count == 1:
                        alone[key].append(seconds[0])
                        if visits[0][1] is not None:
                            drawn[key].append(visits[0][1])
                    else:
                        crowd[key].append(seconds)
                    print(f"  round {round_index + 1} {key:24s} {count} visitor(s): "
                          + " ".join(f"{s:.2f}" for s in seconds), flush=True)
        await browser.close()
    return {"alone": alone, "crowd": crowd, "drawn": drawn, "load_before": load_before, "load_after": os.getloadavg()}


def measure(url: str, views: list[tuple[str, str]], rounds: int = 3, visitors: int = 4, warm: bool = True) -> dict:
    from gradio_client import Client

    wait_until_warm(Client(url, verbose=False))
    raw = asyncio.run(_measure(url, views, rounds, visitors, warm))
    rows = {}
    for key, _ in views:
        one = statistics.median(raw["alone"][key])
        slowest = statistics.median(max(group) for group in raw["crowd"][key])
        tabs = raw["drawn"][key]
        rows[key] = {"one_visitor_s": round(one, 2), "app_drawn_s": round(statistics.median(tabs), 2) if tabs else None, f"{visitors}_visitors_slowest_s": round(slowest, 2),
                     "target_met": one <= TARGET_ALONE_S and slowest <= TARGET_FOUR_S,
                     "one_visitor_samples_s": [round(s, 2) for s in raw["alone"][key]],
                     f"{visitors}_visitors_samples_s": [[round(s, 2) for s in group] for group in raw["crowd"][key]]}
    return {"rounds": rounds, "visitors": visitors, "cpu_count": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in raw["load_before"]],
            "load_average_after": [round(x, 2) for x in raw["load_after"]], "views": rows}


def print_table(figures: dict) -> None:
    visitors = figures["visitors"]
    print(f"\nTime to first result, medians of {figures['rounds']} (slowest of {visitors} for the crowd); "
          f"targets <= {TARGET_ALONE_S:g} s alone, <= {TARGET_FOUR_S:g} s for {visitors}")
    print(f"{'view':24s} | {'1 visitor':>9s} | {f'{visitors} visitors':>10s} | target met | app drawn (1 visitor)")
    for key, row in figures["views"].items():
        drawn = f"{row['app_drawn_s']:.2f}s" if row["app_drawn_s"] is not None else "-"
        print(f"{key:24s} | {row['one_visitor_s']:8.2f}s | {row[f'{visitors}_visitors_slowest_s']:9.2f}s | "
              f"{'yes' if row['target_met'] else 'NO':10s} | {drawn}")
    print(f"load average before {figures['load_average_before']}, after {figures['load_average_after']} "
          f"({figures['cpu_count']} CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="", help="a running NeuroDeck; default: start one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--visitors", type=int, default=4)
    parser.add_argument("--views", default="", help="comma-separated view keys (tab/sub) or tabs; default: all")
    parser.add_argument("--no-warm", action="store_true", help="skip opening every view once before timing")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "first_result.json")
    args = parser.parse_args()
    views = views_of_the_app()
    if args.views:
        wanted = [w.strip() for w in args.views.split(",") if w.strip()]
        views = [(key, rid) for key, rid in views if key in wanted or key.split("/")[0] in wanted]
        if not views:
            parser.error(f"no view matches {args.views!r}")

    def run(url: str) -> dict:
        return measure(url, views, args.rounds, args.visitors, not args.no_warm)

    if args.url:
        figures = run(args.url)
    else:
        with running_server("app.py", timeout_s=240) as (url, _):
            figures = run(url)
    print_table(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
