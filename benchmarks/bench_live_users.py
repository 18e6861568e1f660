"""Train live (GAN › Train live) with one user, then with two users starting at the same instant.

    python -m benchmarks.bench_live_users [--url http://127.0.0.1:7860/] [--rounds 3] [--json PATH]

Each user is its own gradio_client session calling ``/gan_live_train`` (seed, seconds). The figure is
the time from submitting to that user's first frame; a first call warms the models up and is not
counted. Before issue 9 the second of two users waited for the whole first run (22.9 s vs 3.1 s).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from gradio_client import Client

from benchmarks.serving import measure_app

RUN_SECONDS = 20  # each run's length; the first frame comes long before it ends


def first_frames(url: str, users: int, seed0: int) -> list[float]:
    clients = [Client(url, verbose=False) for _ in range(users)]
    started = time.perf_counter()
    jobs = [client.submit(seed0 + i, RUN_SECONDS, api_name="/gan_live_train") for i, client in enumerate(clients)]
    seconds: list[float | None] = [None] * users
    try:
        while None in seconds and time.perf_counter() - started < 120:
            for i, job in enumerate(jobs):
                if seconds[i] is None and job.outputs():
                    seconds[i] = round(time.perf_counter() - started, 2)
            time.sleep(0.02)
    finally:
        for job in jobs:
            job.cancel()
    time.sleep(2.0)  # the cancelled runs stop at their next frame
    return [s if s is not None else float("nan") for s in seconds]


def measure(url: str, rounds: int) -> dict:
    first_frames(url, 1, 100)  # warm-up: model loads, first-run allocations
    alone = [first_frames(url, 1, 200 + r)[0] for r in range(rounds)]
    together = [first_frames(url, 2, 300 + 10 * r) for r in range(rounds)]
    return {"one_user_first_frame_s": alone, "two_users_first_frame_s": together,
            "two_users_slower_of_the_two_s": [max(pair) for pair in together],
            "rounds": rounds, "run_seconds": RUN_SECONDS, "cpu_count": os.cpu_count(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="", help="a running NeuroDeck; default: start one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    measure_app(lambda url: measure(url, args.rounds), args.url, {"NEURODECK_WARMUP": "1"}, args.json)


if __name__ == "__main__":
    main()
