"""A class generating at once: 5 simultaneous 64-token generations through the real app, against one user alone.

    python -m benchmarks.bench_decoder_batch [--users 5] [--tokens 64] [--repeats 3] [--url http://...]
        [--json benchmarks/results/decoder_batch.json]

What the viewers see, through gradio_client against a real ``python app.py`` (started on a free port unless --url):
each of ``--users`` clients submits ``/attention_generate`` at the same instant and timestamps every streamed
message; the figures are each stream's first token (from the common start), its longest gap between two tokens,
and all the streams' tokens per second together, beside one user alone (alternated with the class runs, medians).
Greedy, so each stream's tokens are also compared with the same prompt generated alone. Targets (issue 24): every
first token <= 3 s, no gap over 3 s, total tokens/s >= 2x one user's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # as app.py

from benchmarks.serving import running_server, wait_until_warm  # noqa: E402

PROMPTS = [  # greedy, each runs the full 64 tokens without an end-of-text token
    "Once upon a time",
    "The history of the Roman Empire",
    "def fibonacci(n):",
    "Here is a recipe for a chocolate cake:",
    "The animal didn't cross the street because it",
    "In a galaxy far, far away",
    "The best way to learn a language is",
    "import numpy as np",
]


def _stream(client, prompt: str, tokens: int, start: float, out: dict) -> None:
    job = client.submit(prompt, tokens, api_name="/attention_generate")
    arrivals = [time.perf_counter() - start for _message in job]  # one message per token, then the final one
    payload = job.result()
    out.update(arrivals=arrivals, done=time.perf_counter() - start, steps=len(payload["steps"]),
               ids=[step["token_id"] for step in payload["steps"]])


def together(clients, tokens: int) -> list[dict]:
    """Every client submits at the same instant; one dict per stream."""
    results = [{} for _ in clients]
    start = time.perf_counter()
    threads = [threading.Thread(target=_stream, args=(c, PROMPTS[i], tokens, start, results[i])) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        token_times = result["arrivals"][: result["steps"]]
        result["first_s"] = token_times[0]
        result["longest_gap_s"] = max((b - a for a, b in zip(token_times, token_times[1:])), default=0.0)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--url", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from contextlib import nullcontext

    from gradio_client import Client

    figures = {"users": args.users, "tokens": args.tokens, "load_average_at_start": os.getloadavg()}
    server = nullcontext((args.url, None)) if args.url else running_server("app.py", {"NEURODECK_WARMUP": "1"}, timeout_s=300)
    with server as (url, _):
        clients = [Client(url, verbose=False, ssl_verify=False) for _ in range(args.users)]
        wait_until_warm(clients[0], timeout_s=300)
        alone_ids = {}
        for index in range(args.users):  # warm-up, and each prompt's tokens when generated alone
            alone_ids[index] = [s["token_id"] for s in clients[0].predict(PROMPTS[index], args.tokens,
                                                                           api_name="/attention_generate")["steps"]]
        solo_rates, class_rates, firsts, gaps, same = [], [], [], [], True
        for _ in range(args.repeats):  # alternated: one user alone, then the class
            solo = together(clients[:1], args.tokens)[0]
            solo_rates.append(solo["steps"] / solo["done"])
            runs = together(clients, args.tokens)
            class_rates.append(sum(r["steps"] for r in runs) / max(r["done"] for r in runs))
            firsts.append(max(r["first_s"] for r in runs))
            gaps.append(max(r["longest_gap_s"] for r in runs))
            same = same and all(r["ids"] == alone_ids[i] for i, r in enumerate(runs))
            figures.setdefault("runs", []).append({
                "solo_tokens_per_s": round(solo_rates[-1], 2),
                "first_token_s": [round(r["first_s"], 2) for r in runs],
                "longest_gap_s": [round(r["longest_gap_s"], 2) for r in runs],
                "class_tokens_per_s": round(class_rates[-1], 2),
            })
    median = statistics.median
    figures.update({
        "one_user_tokens_per_s": round(median(solo_rates), 2),
        "class_tokens_per_s": round(median(class_rates), 2),
        "ratio_class_vs_one_user": round(median(class_rates) / median(solo_rates), 2),
        "slowest_first_token_s": round(median(firsts), 2),
        "longest_gap_s": round(median(gaps), 2),
        "greedy_tokens_same_as_alone": same,
        "targets": "first token <= 3 s, gap <= 3 s, ratio >= 2",
        "load_average_at_end": os.getloadavg(),
    })
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
