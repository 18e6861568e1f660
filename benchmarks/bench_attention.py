"""Attention tab figures: start-up, /attention_text latency, digits-ViT accuracy.

    python -m benchmarks.bench_attention [--repeats 15] [--startup-runs 3] [--only startup|text|vit]

Everything is measured in this one run, on this machine, as ratios against baselines
measured the same way, interleaved: an empty Gradio app's start-up, and the bare model forward pass
plus an empty-endpoint round-trip through each client set-up (gradio_client's defaults, gradio_client
with ssl_verify=False, and raw HTTP to /gradio_api/call/ with a read of the event stream).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path


from benchmarks.serving import RawHTTPClient, p50, p95, running_server, wait_until_warm

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
        "runs": runs,
        "target_ratio": 1.4,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def text_latency(repeats: int) -> dict:
    """/attention_text end to end against its floor (bare forward + empty round trip), per client set-up.

    Every round times, in turn, the bare forward and, for each client, /ping and /attention_text, so load
    drift hits every figure alike; medians over the rounds.
    """
    import numpy as np
    import torch
    from gradio_client import Client

    from engine.attention.text import load_text_model
    from engine.core.arrays import unpack_array

    text_model = load_text_model()
    encoding = text_model.tokenizer(SENTENCE_32_TOKENS, return_tensors="pt")
    tokens = encoding["input_ids"].shape[1]

    def forward():
        with torch.no_grad():
            text_model.model(**encoding, output_attentions=True)

    all_inputs = (SENTENCE_32_TOKENS, "", "minilm", 1, 1, "mean", 0, 1)  # raw HTTP sends every input
    with running_server("app.py", {"NEURODECK_WARMUP": "1"}) as (url, _):
        clients = {
            "gradio_client_defaults": Client(url, verbose=False),
            "gradio_client_ssl_verify_false": Client(url, verbose=False, ssl_verify=False),
            "raw_http_call_sse": RawHTTPClient(url),
        }
        wait_until_warm(clients["gradio_client_defaults"])
        calls = {"bare_forward": forward}
        for name, client in clients.items():
            inputs = all_inputs if isinstance(client, RawHTTPClient) else all_inputs[:1]
            calls[f"{name}/ping"] = lambda c=client: c.predict(api_name="/ping")
            calls[f"{name}/attention_text"] = lambda c=client, i=inputs: c.predict(*i, api_name="/attention_text")
        for name, client in clients.items():  # every client gets the whole answer, packed weights included
            inputs = all_inputs if isinstance(client, RawHTTPClient) else all_inputs[:1]
            attentions = unpack_array(client.predict(*inputs, api_name="/attention_text")[-1]["attentions"])
            assert attentions.shape == (6, 12, tokens, tokens) and np.allclose(attentions.sum(-1), 1, atol=1e-4), name
        samples = {name: [] for name in calls}
        for _ in range(2):  # untimed warm-up round
            for call in calls.values():
                call()
        for _ in range(repeats):
            for name, call in calls.items():
                started = time.perf_counter()
                call()
                samples[name].append(time.perf_counter() - started)
    forward_s = p50(samples["bare_forward"])
    rows = {}
    for name in clients:
        ping, full = p50(samples[f"{name}/ping"]), p50(samples[f"{name}/attention_text"])
        rows[name] = {
            "empty_round_trip_p50_ms": round(ping * 1000, 1),
            "attention_text_p50_ms": round(full * 1000, 1),
            "attention_text_p95_ms": round(p95(samples[f"{name}/attention_text"]) * 1000, 1),
            "ratio_p50_vs_forward_plus_empty": round(full / (forward_s + ping), 2),
        }
    return {
        "tokens": tokens,
        "rounds": repeats,
        "bare_forward_p50_ms": round(forward_s * 1000, 1),
        **rows,
        "target": "ratio <= 2 for every client",
        "load_average": [round(x, 2) for x in os.getloadavg()],
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
    parser.add_argument("--repeats", type=int, default=15, help="interleaved rounds for /attention_text (>= 5)")
    parser.add_argument("--startup-runs", type=int, default=3, help="interleaved start-ups of each app (>= 3)")
    parser.add_argument("--only", choices=["startup", "text", "vit"], action="append",
                        help="measure only these parts (repeatable; default: all)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))  # as app.py runs it
    parts = {"startup": lambda: startup(args.startup_runs), "text": lambda: text_latency(args.repeats),
             "vit": vit_accuracy}
    names = {"startup": "startup", "text": "attention_text", "vit": "digits_vit"}
    started = time.perf_counter()
    figures = {names[part]: parts[part]() for part in (args.only or parts)}
    figures["cpu_count"] = os.cpu_count()
    figures["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
