"""A class on one link: requests/s and latencies for the issue-24 mix, this checkout against a base commit, one run.

    python -m benchmarks.bench_class [--levels 8 16 32] [--seconds 60] [--base 7e34053]
        [--json benchmarks/results/class.json]

Two real servers start (``python app.py`` with its warm-up): this checkout and, with --base, the base commit in a
temporary git worktree (same venv, same machine). Only one is loaded at a time: levels alternate base, this, base,
this... Each of N clients (its own gradio_client session) loops over the mix in turn, one request at a time, for
``--seconds``: /gan_generate, /gan_faces, /attention_text, /attention_generate (24 tokens), /seq2seq_translate,
/imagenet_classify, /ae_denoise. Reported per server and level: requests/s, errors, and p50 / p95 per endpoint;
then the ratio this / base. Target (issue 24): >= 1.5x the base's requests/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from benchmarks.serving import ROOT, p50, p95, running_server, wait_until_warm

PHOTO = ROOT / "assets" / "examples" / "autoencoder" / "photos" / "chelsea.png"
SENTENCES = ["The cat sat on the mat.", "Paris is the capital of France."]
PROMPTS = ["Once upon a time", "The capital of France is"]
DATES = ["3rd of March 2021", "July 4, 1999"]


def _call(client, endpoint: str, turn: int):
    from gradio_client import handle_file

    if endpoint == "gan_generate":
        return client.predict(turn % 50, "random", 16, 1.0, "", api_name="/gan_generate")
    if endpoint == "gan_faces":
        return client.predict(turn % 50, api_name="/gan_faces")
    if endpoint == "attention_text":
        return client.predict(SENTENCES[turn % 2], api_name="/attention_text")
    if endpoint == "attention_generate":
        return client.predict(PROMPTS[turn % 2], 24, api_name="/attention_generate")
    if endpoint == "seq2seq_translate":
        return client.predict(DATES[turn % 2], api_name="/seq2seq_translate")
    if endpoint == "imagenet_classify":
        return client.predict(handle_file(str(PHOTO)), api_name="/imagenet_classify")
    return client.predict(handle_file(str(PHOTO)), api_name="/ae_denoise")


MIX = ["gan_generate", "gan_faces", "attention_text", "attention_generate", "seq2seq_translate", "imagenet_classify",
       "ae_denoise"]


def level(url: str, clients: int, seconds: float) -> dict:
    from gradio_client import Client

    sessions = [Client(url, verbose=False, ssl_verify=False) for _ in range(clients)]
    times: dict[str, list[float]] = {name: [] for name in MIX}
    errors: dict[str, int] = {name: 0 for name in MIX}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(number: int) -> None:
        turn = number  # clients start at different places in the mix
        while time.perf_counter() < deadline:
            endpoint = MIX[turn % len(MIX)]
            started = time.perf_counter()
            try:
                _call(sessions[number], endpoint, turn)
                with lock:
                    times[endpoint].append(time.perf_counter() - started)
            except Exception:  # noqa: BLE001  (counted, reported)
                with lock:
                    errors[endpoint] += 1
            turn += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started  # the last requests finish after the deadline: counted in full
    done = sum(len(t) for t in times.values())
    return {
        "clients": clients, "seconds": round(elapsed, 1), "requests": done, "errors": sum(errors.values()),
        "requests_per_s": round(done / elapsed, 2),
        "endpoints": {name: {"calls": len(t), "errors": errors[name], "p50_s": round(p50(t), 2) if t else None,
                             "p95_s": round(p95(t), 2) if t else None} for name, t in times.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--base", default=None, help="a commit to compare with (e.g. the one before the change)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from gradio_client import Client

    figures = {"mix": MIX, "load_average_at_start": os.getloadavg(), "base": args.base, "levels": []}
    with ExitStack() as stack:
        servers = {}
        if args.base:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nd-base-"))) / "base"
            subprocess.run(["git", "worktree", "add", "--detach", "-q", str(folder), args.base], cwd=ROOT, check=True)
            stack.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT)
            servers["base"] = stack.enter_context(running_server("app.py", {"NEURODECK_WARMUP": "1"}, timeout_s=300, root=folder))[0]
        servers["this"] = stack.enter_context(running_server("app.py", {"NEURODECK_WARMUP": "1"}, timeout_s=300))[0]
        for url in servers.values():
            client = Client(url, verbose=False, ssl_verify=False)
            wait_until_warm(client, timeout_s=300)
            for turn, endpoint in enumerate(MIX):  # first calls: imports, model loads
                _call(client, endpoint, turn)
        for clients in args.levels:
            row = {"clients": clients}
            for name, url in servers.items():
                row[name] = level(url, clients, args.seconds)
                print(f"{name:>4} {clients:>3} clients: {row[name]['requests_per_s']} requests/s, "
                      f"{row[name]['errors']} errors, load average {os.getloadavg()[0]:.1f}", flush=True)
            if "base" in row:
                row["ratio_this_vs_base"] = round(row["this"]["requests_per_s"] / row["base"]["requests_per_s"], 2)
            figures["levels"].append(row)
    figures["load_average_at_end"] = os.getloadavg()
    figures["target"] = "requests/s >= 1.5x the base at every level"
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
