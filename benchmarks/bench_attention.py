"""Attention tab figures: start-up, /attention_text latency, digits-ViT accuracy.

    python benchmarks/bench_attention.py [--repeats 30]

Everything is measured in this one run, on this machine, as ratios against baselines
measured the same way: an empty Gradio app's start-up, and the bare model forward pass
plus an empty-endpoint round-trip.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path


from benchmarks.serving import benchmark_clients, p50, p95, running_server, time_calls, wait_until_warm

SENTENCE_32_TOKENS = (  # 32 tokens with [CLS] and [SEP] for MiniLM's tokenizer
    "The quick brown fox jumps over the lazy dog while the patient old farmer watches it very "
    "closely from the wooden fence near the quiet river bank today!!"
)


def startup(runs: int) -> dict:
    app, empty = [], []
    for _ in range(runs):  # interleaved so drift hits both equally
        with running_server("benchmarks/empty_app.py") as (_, seconds):
            empty.append(seconds)
        with running_server("app.py") as (_, seconds):
            app.append(seconds)
    return {
        "empty_gradio_s": round(statistics.median(empty), 2),
        "neurodeck_s": round(statistics.median(app), 2),
        "ratio": round(statistics.median(app) / statistics.median(empty), 2),
        "target_ratio": 1.4,
    }


def text_latency(repeats: int) -> dict:
    import torch

    from engine.attention.text import load_text_model

    text_model = load_text_model()
    encoding = text_model.tokenizer(SENTENCE_32_TOKENS, return_tensors="pt")
    tokens = encoding["input_ids"].shape[1]

    def forward():
        with torch.no_grad():
            text_model.model(**encoding, output_attentions=True)

    forward_s = p50(time_calls(forward, repeats))
    with running_server("app.py", {"NEURODECK_WARMUP": "1"}) as (url, _):
        clients = benchmark_clients(url)  # each row below has its own empty-endpoint baseline
        wait_until_warm(next(iter(clients.values())))
        rows = {}
        for name, client in clients.items():
            ping = time_calls(lambda c=client: c.predict(api_name="/ping"), repeats)
            full = time_calls(lambda c=client: c.predict(SENTENCE_32_TOKENS, api_name="/attention_text"), repeats)
            baseline = forward_s + p50(ping)
            rows[name] = {
                "empty_endpoint_p50_ms": round(p50(ping) * 1000, 1),
                "attention_text_p50_ms": round(p50(full) * 1000, 1),
                "attention_text_p95_ms": round(p95(full) * 1000, 1),
                "ratio_p50_vs_forward_plus_empty": round(p50(full) / baseline, 2),
            }
    return {
        "tokens": tokens,
        "bare_forward_p50_ms": round(forward_s * 1000, 1),
        **rows,
        "target": "ratio <= 2 and p50 <= 300 ms",
    }


def vit_accuracy() -> dict:
    import torch

    from engine.core.datasets import digits_split, upscale_digits
    from engine.attention.image import load_image_model

    model = load_image_model().model
    split = digits_split()
    with torch.no_grad():
        predictions = model(pixel_values=upscale_digits(split.test_images)).logits.argmax(-1).numpy()
    return {"held_out_accuracy": round(float((predictions == split.test_labels).mean()), 4),
            "held_out_images": int(len(split.test_labels)), "target": 0.97}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))  # as app.py runs it
    started = time.perf_counter()
    figures = {
        "startup": startup(args.startup_runs),
        "attention_text": text_latency(args.repeats),
        "digits_vit": vit_accuracy(),
        "cpu_count": os.cpu_count(),
    }
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
