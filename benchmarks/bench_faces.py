"""Faces view figures: one face through the app vs bare OpenVINO, threads, faces/s, the w-average cost.

    python benchmarks/bench_faces.py [--repeats 8] [--out benchmarks/results/faces.json] [--noise-only]

Everything is measured in this one run, on this machine:

- ``threads``: single-face latency (mapping + synthesis, fresh seeds) and faces/s for a batch of 8
  for three OpenVINO settings: 1 thread, 2 threads on one stream, and 2 streams of 1 thread
  (two requests at once, as two app users or one 8-face batch spread over the request pool).
- ``noise_inputs``: the packaged IR compiled as it is (OpenVINO folds each layer's noise + bias into a C×H×W
  constant) against the app's model with the noise as inputs (``faces.noise_as_inputs``), with the app's setting:
  memory each compiled model holds (anonymous RSS after compiling, after a face, after ``release_memory``),
  one-face synthesis latency and CPU seconds (medians, the two alternated), the first face after a release, and whether the
  pixels are bit-identical.
- ``w_average``: estimating the average style from 4,096 mapped samples, and reading it back.
- ``app``: ``/gan_faces`` (1 face, 256 px, fresh seeds) through gradio_client against ``python app.py``,
  minus the ``/ping`` round trip, over the bare mapping + synthesis with the app's own setting,
  the three interleaved so that machine load drifts hit all of them alike. Target: <= 1.3x.
  Beside the wall-clock ratio, the same ratio in CPU seconds (the server process's CPU time per
  request from psutil, the bare run's from ``time.process_time``), which waiting for a busy
  machine's cores does not inflate.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.serving import p50, running_server, wait_until_warm
from engine.gan import faces

BATCH = 8


def _one_face(generator: faces.FaceGenerator, seed: int) -> None:
    generator.synthesize_raw(generator.map(faces.seed_z(seed)))


def _batch_seconds(generator: faces.FaceGenerator, seeds: list[int]) -> float:
    """Wall time for ``len(seeds)`` faces spread over as many threads as the generator has streams."""
    todo = list(seeds)
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not todo:
                    return
                seed = todo.pop()
            _one_face(generator, seed)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(generator.streams)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return time.perf_counter() - started


def thread_settings(repeats: int) -> dict:
    folder = faces.ir_folder()
    rows = {}
    seed = 10_000
    for threads, streams in ((1, 1), (2, 1), (1, 2)):
        generator = faces.FaceGenerator(folder, threads, streams)
        _one_face(generator, 0)  # first inference allocates buffers
        latencies = []
        for _ in range(repeats):
            seed += 1
            started = time.perf_counter()
            _one_face(generator, seed)
            latencies.append(time.perf_counter() - started)
        batch = _batch_seconds(generator, list(range(seed + 1, seed + 1 + BATCH)))
        seed += BATCH
        rows[f"{threads}_thread_x_{streams}_stream"] = {
            "threads_per_request": threads,
            "streams": streams,
            "compile_s": round(generator.compile_seconds, 2),
            "one_face_p50_s": round(p50(latencies), 3),
            "batch_of_8_s": round(batch, 2),
            "faces_per_s": round(BATCH / batch, 2),
        }
        print(json.dumps(rows), flush=True)
    return rows


def _anon_mb() -> float:
    """This process's anonymous resident memory (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as handle:
            return next(int(line.split()[1]) / 1024 for line in handle if line.startswith("RssAnon"))
    except (OSError, StopIteration):
        return 0.0


def noise_inputs(repeats: int) -> dict:
    """Folded noise (the IR as packaged) against noise as inputs: memory held, latency, same pixels."""
    import ctypes
    import statistics

    import openvino as ov

    folder = faces.ir_folder()
    threads, streams = faces._threads_setting()
    config = {"INFERENCE_NUM_THREADS": threads * streams, "NUM_STREAMS": streams, "INFERENCE_PRECISION_HINT": "f32"}
    core = ov.Core()
    w = faces.load_face_generator().map(faces.seed_z(0)).reshape(1, faces.STYLE_DIM)
    variants, memory = {}, {}
    for name in ("folded", "inputs"):
        model = core.read_model(str(folder / "SynthesisNetwork.xml"))
        noise = faces.noise_as_inputs(model) if name == "inputs" else {}
        before = _anon_mb()
        compiled = core.compile_model(model, "CPU", config)
        compiled_mb = _anon_mb() - before
        request = compiled.create_infer_request()
        for key, array in noise.items():
            request.set_tensor(key, ov.Tensor(array, shared_memory=True))
        image = request.infer({0: w})[0].copy()
        after_face_mb = _anon_mb() - before
        compiled.release_memory()
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        memory[name] = {"compiled_mb": round(compiled_mb), "after_one_face_mb": round(after_face_mb),
                        "after_release_mb": round(_anon_mb() - before)}
        variants[name] = (compiled, request, image)
    times: dict[str, list[float]] = {"folded": [], "inputs": []}
    cpu: dict[str, list[float]] = {"folded": [], "inputs": []}  # CPU seconds: not inflated by waiting for a core
    for index in range(2 * repeats):  # alternated, so load drifts hit both alike
        for name in (("folded", "inputs") if index % 2 else ("inputs", "folded")):
            started, started_cpu = time.perf_counter(), time.process_time()
            variants[name][1].infer({0: w})
            times[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - started_cpu)
    after_release = []
    for _ in range(repeats):
        variants["inputs"][0].release_memory()
        started = time.perf_counter()
        variants["inputs"][1].infer({0: w})
        after_release.append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    return {"setting": f"{threads} thread x {streams} streams", "memory": memory,
            "synthesis_median_s": {name: round(value, 3) for name, value in medians.items()},
            "inputs_over_folded": round(medians["inputs"] / medians["folded"], 3),
            "synthesis_cpu_median_s": {name: round(value, 3) for name, value in cpu_medians.items()},
            "inputs_over_folded_cpu": round(cpu_medians["inputs"] / cpu_medians["folded"], 3),
            "inputs_first_face_after_release_median_s": round(statistics.median(after_release), 3),
            "bit_identical": bool(np.array_equal(variants["folded"][2], variants["inputs"][2]))}


def w_average_cost() -> dict:
    generator = faces.load_face_generator()
    started = time.perf_counter()
    generator.map_batch(np.zeros((1, faces.STYLE_DIM), np.float32))  # compiles the batched mapping copy
    compile_s = time.perf_counter() - started
    started = time.perf_counter()
    faces.estimate_w_avg(generator.map_batch)
    estimate_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        faces.cached_w_avg("bench", lambda: faces.estimate_w_avg(generator.map_batch), faces.W_AVG_SAMPLES, Path(folder))
        started = time.perf_counter()
        cached = faces.cached_w_avg("bench", lambda: 1 / 0, faces.W_AVG_SAMPLES, Path(folder))
        read_s = time.perf_counter() - started
    return {"samples": faces.W_AVG_SAMPLES, "batched_mapping_compile_s": round(compile_s, 3),
            "estimate_s": round(estimate_s, 3), "read_from_disk_cache_s": round(read_s, 5), "source": cached.source}


def _server_cpu() -> float:
    """CPU seconds used so far by this process's children (the app server started by running_server)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def app_vs_bare(repeats: int) -> dict:
    from gradio_client import Client

    bare = faces.load_face_generator()  # the app's own setting (DEFAULT_THREADS x DEFAULT_STREAMS)
    faces.w_average(bare)
    with tempfile.TemporaryDirectory() as cache, \
            running_server("app.py", {"NEURODECK_CACHE_DIR": cache}, timeout_s=300) as (url, _):
        client = Client(url, verbose=False, ssl_verify=False)
        wait_until_warm(client, timeout_s=300)
        for seed in (1, 2):  # the first call compiles the model and estimates the w average
            client.predict(seed, api_name="/gan_faces")
        bare_s, app_s, ping_s = [], [], []
        bare_cpu, app_cpu, ping_cpu = [], [], []
        for i in range(repeats):
            cpu, started = time.process_time(), time.perf_counter()
            _one_face(bare, 20_000 + i)
            bare_s.append(time.perf_counter() - started)
            bare_cpu.append(time.process_time() - cpu)
            cpu, started = _server_cpu(), time.perf_counter()
            client.predict(api_name="/ping")
            ping_s.append(time.perf_counter() - started)
            ping_cpu.append(_server_cpu() - cpu)
            cpu, started = _server_cpu(), time.perf_counter()
            client.predict(30_000 + i, api_name="/gan_faces")
            app_s.append(time.perf_counter() - started)
            app_cpu.append(_server_cpu() - cpu)
            print(f"bare {bare_s[-1]:.3f} s ({bare_cpu[-1]:.3f} CPU)  ping {ping_s[-1]:.3f} s ({ping_cpu[-1]:.3f} CPU)  "
                  f"app {app_s[-1]:.3f} s ({app_cpu[-1]:.3f} CPU)", flush=True)
        batch_s = []
        for run in range(2):  # 8 faces in one request (fresh seeds), as the UI's "Faces: 8" asks
            started = time.perf_counter()
            client.predict(40_000 + run * BATCH, BATCH, api_name="/gan_faces")
            batch_s.append(time.perf_counter() - started)
    app_minus_ping = p50(app_s) - p50(ping_s)
    return {
        "client": "gradio_client, ssl_verify=False (downloads the image like a browser)",
        "bare_mapping_plus_synthesis_p50_s": round(p50(bare_s), 3),
        "ping_p50_s": round(p50(ping_s), 3),
        "app_one_face_p50_s": round(p50(app_s), 3),
        "app_minus_ping_s": round(app_minus_ping, 3),
        "ratio": round(app_minus_ping / p50(bare_s), 2),
        "target_ratio": 1.3,
        "bare_cpu_p50_s": round(p50(bare_cpu), 3),
        "app_server_cpu_p50_s": round(p50(app_cpu), 3),
        "ping_server_cpu_p50_s": round(p50(ping_cpu), 3),
        "cpu_ratio": round((p50(app_cpu) - p50(ping_cpu)) / p50(bare_cpu), 2),
        "wall_samples_s": {"bare": [round(x, 3) for x in bare_s], "ping": [round(x, 3) for x in ping_s],
                           "app": [round(x, 3) for x in app_s]},
        "app_batch_of_8_s": round(p50(batch_s), 2),
        "app_batch_of_8_faces_per_s": round(BATCH / p50(batch_s), 2),
        "openvino_threads_per_request": bare.threads,
        "openvino_streams": bare.streams,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/faces.json"))
    parser.add_argument("--skip-app", action="store_true", help="engine figures only")
    parser.add_argument("--noise-only", action="store_true", help="the noise_inputs comparison only (printed)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load_before = os.getloadavg()
    results = {"machine": {"cpus": os.cpu_count(), "load_average_1min_before": round(load_before[0], 2)}}
    results["noise_inputs"] = noise_inputs(args.repeats)
    print(json.dumps(results["noise_inputs"]), flush=True)
    if args.noise_only:
        print(json.dumps({"load_average_1min_after": round(os.getloadavg()[0], 2), **results["machine"]}))
        return
    results["w_average"] = w_average_cost()
    print(json.dumps(results["w_average"]), flush=True)
    results["threads"] = thread_settings(args.repeats)
    if not args.skip_app:
        results["app"] = app_vs_bare(args.repeats)
    results["machine"]["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    text = json.dumps(results, indent=2)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
