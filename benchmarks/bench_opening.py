"""Server time of each view's opening handlers, in process, with the views' default inputs.

    python -m benchmarks.bench_opening [--views gan/faces,autoencoder/latent] [--repeats 5]

Builds the app (not launched) and walks each view's ``on_open`` chain (``ViewHandles.on_open`` and every ``then``),
calling each step's handler directly with its input components' initial values (preprocessed as gradio would when
the step preprocesses). One untimed call first (models load, per-process caches fill), then ``--repeats`` timed
calls; prints the median milliseconds per step and per view. Every visitor's page runs these steps with these
inputs, so this is the server's own share of each visitor's time to first result (gradio's output encoding and the
browser excluded). Prints the load average before and after: the figures are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import time


def _default_inputs(spec) -> list:
    """The values gradio would hand ``spec.fn`` for the components' initial values."""
    values = []
    for component in spec.inputs:
        value = getattr(component, "value", None)
        if spec.preprocess and hasattr(component, "preprocess"):
            model = getattr(component, "data_model", None)
            if model is not None and value is not None:
                value = model.model_validate(value)
            value = component.preprocess(value)
        values.append(value)
    return values


def _call(spec, values):
    kwargs = {"request": None} if "request" in inspect.signature(spec.fn).parameters else {}
    result = spec.fn(*values, **kwargs)
    if inspect.isgenerator(result):
        for result in result:  # noqa: B007  (a streaming view: its last item is what stays on screen)
            pass
    return result


def _steps(specs):
    for spec in specs:
        yield spec
        yield from _steps(spec.then)


def measure(views: dict, keys: list[str], repeats: int) -> list[tuple[str, str, float]]:
    rows = []
    for key in keys:
        for spec in _steps(views[key].on_open):
            values = _default_inputs(spec)
            _call(spec, values)  # warm: models load, per-process caches fill
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                _call(spec, values)
                times.append((time.perf_counter() - started) * 1000)
            rows.append((key, spec.fn.__name__, statistics.median(times)))
            print(f"{key:24s} {spec.fn.__name__:34s} {rows[-1][2]:9.1f} ms", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--views", default="", help="comma-separated <tab>/<sub> keys (default: every view)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from app import build_app

    views = build_app().neurodeck_views.views
    keys = [k for k in args.views.split(",") if k] or list(views)
    before = os.getloadavg()
    rows = measure(views, keys, args.repeats)
    after = os.getloadavg()
    print("\nview | opening steps' server time (sum of medians, ms)")
    for key in keys:
        print(f"{key} | {sum(ms for k, _, ms in rows if k == key):.0f}")
    print(f"load average before {before[0]:.2f}, after {after[0]:.2f} (1 min); {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
