"""Memory and disk after a class: RSS and gradio's cache folder through warm-up, a mixed load and an idle spell.

    python -m benchmarks.bench_memory [--clients 16] [--rounds 3] [--idle 600] [--arena-max N]

Starts the real server (``python app.py``) on a free port with a private gradio cache folder
(``GRADIO_TEMP_DIR``), so the folder holds this server's files only. After the warm-up, N gradio_client
sessions each run ``--rounds`` rounds of the mixed load: bench_load's /attention_text, /gan_generate and
/ae_anomaly (answers checked the same way), plus /gan_faces, /imagenet_classify, /ae_denoise,
/seq2seq_translate, /attention_generate, and /transfer_train then /transfer_predict on the built-in text
topics. Every client is then closed (as a class leaving: gradio runs the unload handlers) and the server
idles for ``--idle`` seconds. RSS (of app.py) and the cache folder's size are sampled throughout.

Printed: a table of RSS and cache size after warm-up, at the peak, at the end of the load and after the idle
spell, against issue 24's targets (RSS <= 2.5 GB, cache <= 150 MB after 10 minutes idle); the janitor's
trims (RSS before -> after ``malloc_trim``) and the live per-session stores it last logged (gradio sessions,
Transfer sessions, live runs: 0 once every session has ended and been freed). Other work on the machine
shares its cores; the load average is recorded before and after.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.bench_load import ENDPOINTS as LOAD_ENDPOINTS
from benchmarks.bench_load import Checker, _call, _client
from benchmarks.serving import ROOT, running_server, wait_until_warm

RSS_TARGET_BYTES = 2.5e9
CACHE_TARGET_BYTES = 150e6
PHOTOS = sorted((ROOT / "assets" / "examples" / "autoencoder" / "photos").glob("*.png"))
DATES = ["3 March 1999", "July 4, 1976", "12/25/2001", "1st of May 2020"]
PROMPTS = ["The capital of France is", "Once upon a time", "A neural network is", "The best way to learn is"]


def _extra(client, endpoint: str, index: int) -> None:
    """One request to an endpoint outside bench_load's mix (answers not compared: memory is measured here)."""
    from gradio_client import handle_file

    photo = handle_file(str(PHOTOS[index % len(PHOTOS)]))
    if endpoint == "/gan_faces":
        client.predict(index, 1, 0.7, 256, api_name="/gan_faces")
    elif endpoint == "/imagenet_classify":
        client.predict(photo, api_name="/imagenet_classify")
    elif endpoint == "/ae_denoise":
        client.predict(photo, "gaussian", 0.1, index, api_name="/ae_denoise")
    elif endpoint == "/seq2seq_translate":
        client.predict(DATES[index % len(DATES)], api_name="/seq2seq_translate")
    elif endpoint == "/attention_generate":
        client.predict(PROMPTS[index % len(PROMPTS)], 16, api_name="/attention_generate")
    elif endpoint == "/transfer":
        client.predict(None, "text-topics", "feature_extraction", "", 5, 0, 16, 2, 0, index, api_name="/transfer_train")
        client.predict("The striker scored twice in the derby.", api_name="/transfer_predict")
    else:
        raise ValueError(f"unknown endpoint {endpoint!r}")


EXTRA_ENDPOINTS = ("/gan_faces", "/imagenet_classify", "/ae_denoise", "/seq2seq_translate", "/attention_generate",
                   "/transfer")
MIX = (*LOAD_ENDPOINTS, *EXTRA_ENDPOINTS)


def _server_pid() -> int:
    """The ``python app.py`` this process started (running_server's child)."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        if any(part.endswith("app.py") for part in child.cmdline()):
            return child.pid
    raise RuntimeError("app.py's process was not found")


class Sampler(threading.Thread):
    """RSS of the server and its cache folder's size every ``every_s`` seconds."""

    def __init__(self, pid: int, folder: Path, every_s: float) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process, self.folder, self.every_s = psutil.Process(pid), folder, every_s
        self.samples: list[tuple[float, int, int]] = []  # (seconds since start, RSS, cache bytes)
        self.started = time.perf_counter()
        self.stopped = threading.Event()

    def sample(self) -> tuple[float, int, int]:
        from demos.common.disk import folder_bytes

        row = (round(time.perf_counter() - self.started, 1), self.process.memory_info().rss, folder_bytes(self.folder))
        self.samples.append(row)
        return row

    def run(self) -> None:
        while not self.stopped.wait(self.every_s):
            self.sample()


def mixed_load(url: str, clients: int, rounds: int, endpoints: tuple[str, ...], checker: Checker) -> dict:
    """Each client calls every endpoint ``rounds`` times (its own order), then is closed."""
    sessions = [_client(url) for _ in range(clients)]
    errors: list[str] = []
    wrong = [0]
    calls = [0]
    lock = threading.Lock()

    def worker(number: int) -> None:
        client = sessions[number]
        for step in range(rounds * len(endpoints)):
            endpoint, index = endpoints[(step + number) % len(endpoints)], (step + number) % 4
            try:
                if endpoint in LOAD_ENDPOINTS:
                    correct = _call(client, endpoint, index, checker)
                else:
                    _extra(client, endpoint, index)
                    correct = True
                with lock:
                    calls[0] += 1
                    wrong[0] += 0 if correct else 1
            except Exception as exc:  # noqa: BLE001  (counted, never retried)
                with lock:
                    calls[0] += 1
                    errors.append(f"{endpoint}: {type(exc).__name__}: {str(exc)[:120]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in sessions:  # a class leaving: the heartbeat closes, gradio runs the unload handlers
        client.close()
    return {"clients": clients, "rounds": rounds, "calls": calls[0], "errors": len(errors), "wrong": wrong[0],
            "first_errors": errors[:5], "seconds": round(time.perf_counter() - started, 1)}


def janitor_lines(log_path: Path) -> dict:
    """The janitor's trims and the per-session stores it last logged."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    trims = [(float(a), float(b)) for a, b in re.findall(r"trimmed RSS (\d+) -> (\d+) MB", text)]
    stores = re.findall(r"janitor: .*?(\{'gradio_sessions'[^}]*\})", text)
    return {"trims_mb": trims, "last_stores": ast.literal_eval(stores[-1]) if stores else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="times each client calls every endpoint")
    parser.add_argument("--idle", type=float, default=600, help="seconds of idling after the load")
    parser.add_argument("--sample-every", type=float, default=5)
    parser.add_argument("--endpoints", nargs="+", default=list(MIX), choices=list(MIX))
    parser.add_argument("--arena-max", type=int, default=0, help="start the server with MALLOC_ARENA_MAX=N")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "memory.json"))
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="neurodeck-bench-gradio-"))
    log_path = cache.parent / (cache.name + ".log")
    env = {"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "GRADIO_TEMP_DIR": str(cache)}
    if args.arena_max:
        env["MALLOC_ARENA_MAX"] = str(args.arena_max)
    result = {"cpu_count": os.cpu_count(), "load_average_before": os.getloadavg(), "arena_max": args.arena_max or None}
    checker = Checker()
    try:
        with running_server("app.py", env, timeout_s=300, log_path=log_path) as (url, _):
            probe = _client(url)
            wait_until_warm(probe, timeout_s=300)
            for endpoint in LOAD_ENDPOINTS:  # the references, computed with no other load
                for index in range(4):
                    _call(probe, endpoint, index, checker)
            probe.close()
            sampler = Sampler(_server_pid(), cache, args.sample_every)
            warm = sampler.sample()
            sampler.start()
            result["load"] = mixed_load(url, args.clients, args.rounds, tuple(args.endpoints), checker)
            end_of_load = sampler.sample()
            print(json.dumps(result["load"]), flush=True)
            time.sleep(args.idle)
            sampler.stopped.set()
            after_idle = sampler.sample()
            result["janitor"] = janitor_lines(log_path)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    peak_rss = max(row[1] for row in sampler.samples)
    peak_cache = max(row[2] for row in sampler.samples)
    result["figures"] = {
        "after_warm_up": {"rss_mb": warm[1] / 1e6, "cache_mb": warm[2] / 1e6},
        "peak": {"rss_mb": peak_rss / 1e6, "cache_mb": peak_cache / 1e6},
        "end_of_load": {"rss_mb": end_of_load[1] / 1e6, "cache_mb": end_of_load[2] / 1e6},
        f"after_{args.idle:g}_s_idle": {"rss_mb": after_idle[1] / 1e6, "cache_mb": after_idle[2] / 1e6},
    }
    result["samples"] = sampler.samples
    result["load_average_after"] = os.getloadavg()
    print(f"\n{args.clients} clients x {args.rounds} rounds of {len(args.endpoints)} endpoints; "
          f"load average {result['load_average_before'][0]:.1f} before, {result['load_average_after'][0]:.1f} after")
    print(f"{'':24} {'RSS MB':>9} {'cache MB':>9}")
    for name, row in result["figures"].items():
        print(f"{name:24} {row['rss_mb']:9.0f} {row['cache_mb']:9.1f}")
    print(f"{'target after idle':24} {RSS_TARGET_BYTES / 1e6:9.0f} {CACHE_TARGET_BYTES / 1e6:9.1f}   "
          f"{'met' if after_idle[1] <= RSS_TARGET_BYTES and after_idle[2] <= CACHE_TARGET_BYTES else 'NOT met'}")
    print(f"janitor trims (RSS MB before -> after): {result['janitor']['trims_mb']}")
    print(f"live per-session stores at its last log line: {result['janitor']['last_stores']}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
