"""Load: mixed clients on /attention_text, /gan_generate and /ae_anomaly, then streams plus an interactive user.

    python -m benchmarks.bench_load [--levels 8 16 32] [--seconds 60] [--stream-seconds 40] [--footprint]

Starts the real server (``python app.py``) on a free loopback port, waits for its warm-up, and measures:

1. For each level (8, 16, 32 clients, each its own gradio_client session, 60 s each): every client loops
   over the three endpoints with a few fixed inputs until the time is up (bounded: no retries, one request
   at a time per client). Each answer is checked: attention rows sum to 1 and match the first answer for
   that sentence, a seed's digits are identical every time (pixels compared), an anomaly score is the same
   for the same image. Reported per endpoint: calls, errors, wrong answers, throughput, p50 / p95.
2. Five simultaneous streams (three GAN Lab Plays, two Train live runs) plus one interactive user calling
   /attention_text and /gan_generate in a loop: each stream's first-frame time and the user's p50 / p95.

Other work on the machine shares its cores; the JSON records the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.serving import ROOT, p50, p95, running_server, wait_until_warm
from engine.core.arrays import unpack_array

SENTENCES = ["The cat sat on the mat.", "Paris is the capital of France.",
             "The striker scored twice in the derby.", "A small fish swims in the pond."]
SEEDS = [1, 2, 3, 4]
TEXTURES = sorted((ROOT / "assets" / "examples" / "autoencoder" / "textures").glob("*.png"))[:4]


def _client(url: str, attempts: int = 5):
    """A gradio_client session; a generous timeout, since the machine may be busy (connecting is retried)."""
    from gradio_client import Client

    for attempt in range(attempts):
        try:
            return Client(url, verbose=False, ssl_verify=False, httpx_kwargs={"timeout": 120})
        except Exception:  # noqa: BLE001  (a busy server can be slow to hand out its config)
            if attempt == attempts - 1:
                raise
            time.sleep(2)


def _digits(gallery) -> bytes:
    from PIL import Image

    return b"".join(np.asarray(Image.open(item["image"]).convert("L")).tobytes() for item in gallery)


class Checker:
    """First answer per input is the reference; later answers must match it."""

    def __init__(self) -> None:
        self.reference: dict = {}
        self.lock = threading.Lock()

    def same(self, key, value, compare) -> bool:
        with self.lock:
            if key not in self.reference:
                self.reference[key] = value
                return True
            reference = self.reference[key]
        return compare(reference, value)


def _call(client, endpoint: str, index: int, checker: Checker) -> bool:
    """One request; returns whether the answer was correct (raises on an error)."""
    from gradio_client import handle_file

    if endpoint == "/attention_text":
        payload = client.predict(SENTENCES[index], api_name="/attention_text")[-1]
        attentions = unpack_array(payload["attentions"]).astype(np.float64)
        rows_ok = bool(np.allclose(attentions.sum(-1), 1.0, atol=1e-4))
        return rows_ok and checker.same(("text", index), attentions, lambda a, b: a.shape == b.shape and np.allclose(a, b, atol=1e-5))
    if endpoint == "/gan_generate":
        gallery, info = client.predict(SEEDS[index], "random", 16, 1.0, "", api_name="/gan_generate")
        return info["seed"] == SEEDS[index] and checker.same(("gan", index), _digits(gallery), lambda a, b: a == b)
    _, _, info = client.predict(handle_file(str(TEXTURES[index])), api_name="/ae_anomaly")
    return checker.same(("ae", index), (info["score"], info["is_anomaly"]), lambda a, b: abs(a[0] - b[0]) < 1e-6 and a[1] == b[1])


ENDPOINTS = ("/attention_text", "/gan_generate", "/ae_anomaly")


def mixed_level(url: str, clients: int, seconds: float, checker: Checker) -> dict:
    records = {name: {"latencies": [], "errors": [], "wrong": 0} for name in ENDPOINTS}
    lock = threading.Lock()
    sessions = [_client(url) for _ in range(clients)]  # connected before the clock starts
    state = {"deadline": float("inf")}
    go = threading.Event()

    def worker(number: int) -> None:
        client = sessions[number]
        go.wait()
        step = number
        while time.perf_counter() < state["deadline"]:
            endpoint, index = ENDPOINTS[step % 3], (step // 3) % 4
            step += 1
            started = time.perf_counter()
            try:
                correct = _call(client, endpoint, index, checker)
                error = None
            except Exception as exc:  # noqa: BLE001  (counted, never retried)
                correct, error = False, f"{type(exc).__name__}: {str(exc)[:120]}"
            elapsed = time.perf_counter() - started
            with lock:
                record = records[endpoint]
                if error:
                    record["errors"].append(error)
                else:
                    record["latencies"].append(elapsed)
                    record["wrong"] += 0 if correct else 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    state["deadline"] = started + seconds
    go.set()  # every client connected; the clock starts now
    for thread in threads:
        thread.join(timeout=seconds + 120)
    wall = time.perf_counter() - started
    summary = {}
    for name, record in records.items():
        latencies = record["latencies"]
        summary[name] = {
            "calls": len(latencies) + len(record["errors"]), "errors": len(record["errors"]), "wrong": record["wrong"],
            "throughput_per_s": round(len(latencies) / wall, 2),
            "p50_s": round(p50(latencies), 3) if latencies else None,
            "p95_s": round(p95(latencies), 3) if latencies else None,
            "first_errors": record["errors"][:3],
        }
    total = sum(s["calls"] - s["errors"] for s in summary.values())
    return {"clients": clients, "seconds": round(wall, 1), "throughput_per_s": round(total / wall, 2),
            "errors": sum(s["errors"] for s in summary.values()), "wrong": sum(s["wrong"] for s in summary.values()),
            "endpoints": summary}


LAB_ARGS = ("ring", None, 2, 64, 2, 64, 2, 0.001, 0.001, "adam", "non-saturating", 1, 0, False, 100_000)


def streams_and_interactive(url: str, seconds: float, checker: Checker) -> dict:
    streams = [("/gan_lab_run", LAB_ARGS)] * 3 + [("/gan_live_train", (i, 110)) for i in range(2)]
    clients = [_client(url) for _ in streams]
    interactive = _client(url)
    started = time.perf_counter()
    jobs = [client.submit(*args, api_name=name) for client, (name, args) in zip(clients, streams)]
    first_frame: list[float | None] = [None] * len(jobs)

    def watch() -> None:  # its own thread, so a slow interactive call never delays the reading
        while time.perf_counter() - started < seconds and None in first_frame:
            for i, job in enumerate(jobs):
                if first_frame[i] is None and job.outputs():
                    first_frame[i] = round(time.perf_counter() - started, 2)
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    latencies, errors, wrong = [], [], 0
    step = 0
    while time.perf_counter() - started < seconds:
        endpoint, index = ("/attention_text", "/gan_generate")[step % 2], (step // 2) % 4
        step += 1
        call_started = time.perf_counter()
        try:
            wrong += 0 if _call(interactive, endpoint, index, checker) else 1
            latencies.append(time.perf_counter() - call_started)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"{type(exc).__name__}: {str(exc)[:120]}")
        time.sleep(0.2)  # a person clicking, not a tight loop
    watcher.join(5)
    frames = [len(job.outputs()) for job in jobs]
    for job in jobs:
        job.cancel()
    return {
        "streams": [name for name, _ in streams], "first_frame_s": first_frame, "frames_in_window": frames,
        "interactive_calls": len(latencies), "interactive_errors": errors[:3], "interactive_wrong": wrong,
        "interactive_p50_s": round(p50(latencies), 3) if latencies else None,
        "interactive_p95_s": round(p95(latencies), 3) if latencies else None, "seconds": seconds,
    }


def session_footprint() -> dict:
    """Memory one Transfer session holds after the default training (text-topics, feature extraction), measured."""
    import psutil

    from engine.transfer import session as sessions
    from engine.transfer.data import load_builtin
    from engine.transfer.train import TrainConfig

    process = psutil.Process()
    session = sessions.get_session("footprint")
    sessions.set_dataset(session, load_builtin("text-topics"))
    before = process.memory_info().rss
    sessions.wait_for_training(session, ["feature_extraction"], TrainConfig(epochs=15), "")
    text_bytes = sessions.session_bytes(session)
    rss_growth = process.memory_info().rss - before
    sessions.drop_session("footprint")
    return {"text_topics_feature_extraction_bytes": text_bytes, "rss_growth_bytes_first_session": rss_growth,
            "sessions_in_budget": sessions.LIMITS.transfer_session_bytes // max(text_bytes, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--stream-seconds", type=float, default=40)
    parser.add_argument("--footprint", action="store_true", help="also measure one Transfer session's memory (in-process)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "load.json"))
    args = parser.parse_args()
    result = {"cpu_count": os.cpu_count(), "load_average_before": os.getloadavg()}
    if args.footprint:
        result["transfer_session"] = session_footprint()
        print(json.dumps(result["transfer_session"]), flush=True)
    checker = Checker()
    with running_server("app.py", {"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}, timeout_s=300) as (url, _):
        wait_until_warm(_client(url), timeout_s=300)
        probe = _client(url)
        for endpoint in ENDPOINTS:  # the references, computed with no other load
            for index in range(4):
                _call(probe, endpoint, index, checker)
        result["mixed"] = []
        for level in args.levels:
            result["mixed"].append(mixed_level(url, level, args.seconds, checker))
            print(json.dumps(result["mixed"][-1], indent=1), flush=True)
        result["streams"] = streams_and_interactive(url, args.stream_seconds, checker)
        print(json.dumps(result["streams"], indent=1), flush=True)
    result["load_average_after"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
