"""GAN tab figures: quality bar, GAN Lab speed and mode coverage, streaming rate, live GAN, latency.

    python benchmarks/bench_gan.py [--samples 1000] [--seeds 5] [--repeats 20]

Everything is measured in this one run, on this machine. Speeds are printed beside the
issue's targets and beside baselines measured the same way in the same run: the /gan_generate
round-trip beside an empty endpoint's round-trip on the same server (a tiny Blocks holding
only the GAN tab and a hidden ``neurodeck_ping`` endpoint, started by this script), and
GAN Lab's steps/s beside the same loop forced onto 2 OpenMP threads.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


SERVE_ENV = "NEURODECK_GAN_BENCH_SERVE"


def serve() -> None:
    """Child-process mode: the GAN tab plus an empty endpoint, on $GRADIO_SERVER_PORT."""
    import gradio as gr

    from demos import gan

    with gr.Blocks() as demo:
        with gr.Tabs():
            gan.build_tab(demo)
        gr.api(lambda: "pong", api_name="neurodeck_ping", api_visibility="undocumented")
    demo.queue(default_concurrency_limit=2, max_size=64)
    demo.launch(server_name="127.0.0.1", server_port=int(os.environ["GRADIO_SERVER_PORT"]))


def quality(samples: int) -> dict:
    from engine.gan import inference as gan_inference

    started = time.perf_counter()
    result = gan_inference.measure_quality(samples=samples).as_dict()
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def lab_speed(steps: int = 1000) -> dict:
    import torch

    from engine.gan import lab as gan_lab

    torch.set_num_threads(2)  # the machine's 2 cores; the lab itself trains on 1 thread (engine.gan_threads)
    session = gan_lab.LabSession(gan_lab.LabConfig())
    session.train(50)
    wall, cpu = time.perf_counter(), time.process_time()
    session.train(steps)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    # Baseline in the same run: the same loop with 2 OpenMP threads (what you get without engine.gan_threads).
    baseline = gan_lab.LabSession(gan_lab.LabConfig())
    baseline._train(50, True)
    two = time.perf_counter()
    baseline._train(steps // 20, True)
    two = time.perf_counter() - two
    return {
        "steps_per_s_wall": round(steps / wall, 1),
        "steps_per_s_cpu_time": round(steps / cpu, 1),
        "target": 200,
        "ratio_to_target_wall": round(steps / wall / 200, 2),
        "two_thread_steps_per_s_wall": round(steps / 20 / two, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def lab_coverage(seeds: int) -> dict:
    from dataclasses import replace

    from engine.gan import lab as gan_lab

    def run(config, steps=3000):
        session = gan_lab.LabSession(config)
        first = None
        for _ in range(steps // 100):
            session.train(100)
            if first is None and session.coverage() >= 0.9:
                first = session.step
        return session.coverage(), first

    default = [run(gan_lab.LabConfig(seed=seed)) for seed in range(seeds)]
    collapse = [run(gan_lab.COLLAPSE_PRESET) for _ in range(2)]  # twice: it must collapse the same way
    fixes = {
        "preset + G lr 5e-3 -> 1e-3 (= Defaults)": replace(gan_lab.COLLAPSE_PRESET, g_lr=1e-3),
        "preset + loss -> wgan-gp, 5 D steps": replace(gan_lab.COLLAPSE_PRESET, loss="wgan-gp", d_steps=5),
        "preset + 3 D steps per G step": replace(gan_lab.COLLAPSE_PRESET, d_steps=3),
    }
    return {
        "default_ring8_coverage_at_3000": [round(c, 3) for c, _ in default],
        "default_first_step_at_90pct": [f for _, f in default],
        "default_min_coverage": round(min(c for c, _ in default), 3),
        "collapse_preset_coverage_at_3000_two_runs": [round(c, 3) for c, _ in collapse],
        "fixed_coverage_at_3000": {name: round(run(config)[0], 3) for name, config in fixes.items()},
    }


def frame_cost(frames: int = 20) -> dict:
    from engine.gan import lab as gan_lab
    from engine.gan import render as gan_render

    session = gan_lab.LabSession(gan_lab.LabConfig())
    session.train(300)
    started = time.perf_counter()
    for _ in range(frames):
        frame = session.snapshot(arrows=True)
        gan_render.render_lab_field(frame)
        gan_render.render_lab_charts(frame)
    return {"snapshot_plus_render_ms": round((time.perf_counter() - started) / frames * 1000, 1)}


def live_digits(limit_s: float = 60) -> dict:
    """Seconds of live training until the judge reads >= 80% / 90% of the live GAN's samples correctly."""
    from engine.gan import inference as gan_inference
    from engine.gan.judge import evaluate_generator
    from engine.gan.live import LiveDigitsGan

    judge = gan_inference.load_judge()
    session = LiveDigitsGan(seed=0)
    reached: dict[str, float | None] = {"80%": None, "90%": None}
    checkpoints = []
    while session.seconds < limit_s and reached["90%"] is None:
        session.train_for(2.0)
        agreement = evaluate_generator(session.trainer.ema, judge, samples=200).agreement
        checkpoints.append((round(session.seconds, 1), session.step, round(agreement, 3)))
        for key, bar in (("80%", 0.8), ("90%", 0.9)):
            if reached[key] is None and agreement >= bar:
                reached[key] = round(session.seconds, 1)
    return {"train_seconds_to_judge_agreement": reached, "checkpoints_(s,step,agreement)": checkpoints}


def serving(repeats: int, stream_seconds: float) -> dict:
    from gradio_client import Client

    from benchmarks.serving import p50, p95, running_server, time_calls

    with running_server(__file__, env_extra={SERVE_ENV: "1"}) as (url, _):
        # download_files=False: the client gets the 64 image URLs, as a browser does, and does not fetch
        # them one by one (that would time 64 extra sequential HTTP requests, not the endpoint).
        client = Client(url, verbose=False, download_files=False)
        ping = time_calls(lambda: client.predict(api_name="/neurodeck_ping"), repeats, warmup=3)
        seeds = iter(range(10**6))  # a new seed every call: no output file is reused
        generate = time_calls(lambda: client.predict(next(seeds), "random", 64, 1.0, api_name="/gan_generate"),
                              repeats, warmup=3)
        one = time_calls(lambda: client.predict(next(seeds), "random", 1, 1.0, api_name="/gan_generate"), repeats, warmup=0)
        ping_again = time_calls(lambda: client.predict(api_name="/neurodeck_ping"), repeats, warmup=0)
        ping_all = ping + ping_again
        # Streaming rate of Play, as a client sees it.
        job = client.submit(api_name="/gan_lab_run")
        started = time.perf_counter()
        while len(job.outputs()) < 1:
            time.sleep(0.02)
        first = time.perf_counter()
        count_at_first = len(job.outputs())
        time.sleep(stream_seconds)
        updates = len(job.outputs()) - count_at_first
        elapsed = time.perf_counter() - first
        job.cancel()
        last_stats = job.outputs()[-1][2]
    return {
        "ping_p50_ms": round(p50(ping_all) * 1000, 1),
        "gan_generate_64_p50_ms": round(p50(generate) * 1000, 1),
        "gan_generate_64_p95_ms": round(p95(generate) * 1000, 1),
        "difference_p50_ms": round((p50(generate) - p50(ping_all)) * 1000, 1),
        "gan_generate_1_p50_ms": round(p50(one) * 1000, 1),  # same path with 1 image: isolates per-image cost
        "target_difference_ms": 100,
        "lab_stream_updates_per_s": round(updates / elapsed, 2),
        "lab_stream_first_frame_s": round(first - started, 2),
        "lab_steps_in_stream": last_stats["step"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1000, help="generated digits for the quality bar")
    parser.add_argument("--seeds", type=int, default=5, help="GAN Lab seeds for the ring-of-8 coverage check")
    parser.add_argument("--repeats", type=int, default=20, help="timed round-trips per endpoint")
    parser.add_argument("--stream-seconds", type=float, default=6.0)
    parser.add_argument("--skip", nargs="*", default=[], help="sections to skip: quality lab coverage frame live serving")
    args = parser.parse_args()
    results: dict = {}
    sections = [
        ("quality", lambda: quality(args.samples)),
        ("lab", lab_speed),
        ("coverage", lambda: lab_coverage(args.seeds)),
        ("frame", frame_cost),
        ("live", live_digits),
        ("serving", lambda: serving(args.repeats, args.stream_seconds)),
    ]
    for name, run in sections:
        if name in args.skip:
            continue
        started = time.perf_counter()
        results[name] = run()
        print(f"## {name} ({time.perf_counter() - started:.0f}s)\n{json.dumps(results[name], indent=2)}", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    if os.environ.get(SERVE_ENV):
        serve()
    else:
        main()
