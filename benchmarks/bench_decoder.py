"""Decoder (SmolLM2-135M-Instruct) figures: tokens/s through the app vs bare ``model.generate``,
first-token latency, cold (GGUF) and warm (cache) load times, peak memory.

    python benchmarks/bench_decoder.py [--repeats 3] [--tokens 32] [--json benchmarks/results/decoder.json]

Everything is measured in this one run, on this machine, with one torch thread (as app.py runs);
bare and served generations alternate run by run.
Cold and warm loads run in fresh processes: cold converts the GGUF into an empty temporary cache
folder, warm loads that folder. The app is the real ``python app.py`` server, called through
gradio_client; its tokens stream back one message per token.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # as app.py, so bare and served runs compare like for like

from benchmarks.serving import ROOT, RawHTTPClient, running_server, wait_until_warm  # noqa: E402

PROMPT = "Once upon a time"  # greedy, it runs past 32 tokens without an end-of-text token

LOAD_SCRIPT = """
import json, resource, sys, time
started = time.perf_counter()
from engine.attention import decoder, decoder_load
imported = time.perf_counter()
model = decoder_load.load_decoder()
loaded = time.perf_counter()
result = decoder.generate(model, sys.argv[1], max_new_tokens=int(sys.argv[2]))
done = time.perf_counter()
print(json.dumps({
    "import_s": imported - started, "load_s": loaded - imported, "generate_s": done - loaded,
    "tokens": len(result.steps), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def load_times(tokens: int) -> dict:
    """Cold (GGUF -> float32 safetensors) and warm (from that cache) loads, each in a fresh process."""
    runs = {}
    with tempfile.TemporaryDirectory(prefix="neurodeck-bench-cache-") as cache:
        env = dict(os.environ, NEURODECK_CACHE=cache, OMP_NUM_THREADS="1")
        for name in ("cold", "warm"):
            output = subprocess.run(
                [sys.executable, "-c", LOAD_SCRIPT, PROMPT, str(tokens)], cwd=ROOT, env=env,
                capture_output=True, text=True, check=True,
            ).stdout
            runs[name] = json.loads(output.strip().splitlines()[-1])
    return {
        "cold_load_from_gguf_s": round(runs["cold"]["load_s"], 2),
        "warm_load_from_cache_s": round(runs["warm"]["load_s"], 2),
        "cold_over_warm": round(runs["cold"]["load_s"] / runs["warm"]["load_s"], 1),
        "engine_import_s": round(runs["warm"]["import_s"], 2),
        "peak_rss_cold_mb": round(runs["cold"]["peak_rss_mb"]),
        "peak_rss_warm_plus_generation_mb": round(runs["warm"]["peak_rss_mb"]),
    }


def generation(tokens: int, repeats: int) -> dict:
    """Bare ``model.generate`` in this process and ``/attention_generate`` through the served app,
    alternated run by run so that a change in the machine's load hits both alike."""
    import torch
    from gradio_client import Client

    from engine.attention.decoder import generate
    from engine.attention.decoder_load import load_decoder

    decoder = load_decoder()
    inputs = decoder.tokenizer(PROMPT, return_tensors="pt")

    def engine():  # the app's loop in this process: top-10 capture, attention rows, no server
        started = time.perf_counter()
        result = generate(decoder, PROMPT, max_new_tokens=tokens)
        assert len(result.steps) == tokens
        return time.perf_counter() - started

    def bare(count):
        started = time.perf_counter()
        with torch.inference_mode():
            output = decoder.model.generate(**inputs, max_new_tokens=count, do_sample=False)
        produced = output.shape[1] - inputs["input_ids"].shape[1]
        assert produced == count, f"bare generate stopped after {produced} tokens; pick another prompt"
        return time.perf_counter() - started

    def served(client):
        started = time.perf_counter()
        job = client.submit(PROMPT, tokens, api_name="/attention_generate")
        arrivals = [time.perf_counter() - started for _message in job]
        payload = job.result()
        done = time.perf_counter() - started
        assert len(payload["steps"]) == tokens and payload["attentions"]
        return done, arrivals

    def served_raw(raw):  # plain HTTP and server-sent events, as curl or a browser reads them
        started = time.perf_counter()
        arrivals, payload = [], None
        for _event, payload in raw.events(PROMPT, tokens, api_name="/attention_generate"):
            arrivals.append(time.perf_counter() - started)
        assert len(payload[0]["steps"]) == tokens and payload[0]["attentions"]
        return arrivals[-1], arrivals

    bare_runs, bare_firsts, engine_runs, app_runs, app_firsts, finals = [], [], [], [], [], []
    raw_runs, raw_firsts = [], []
    with running_server("app.py", {"NEURODECK_WARMUP": "1"}, timeout_s=300) as (url, _):
        client = Client(url, verbose=False, ssl_verify=False)
        raw = RawHTTPClient(url)
        wait_until_warm(client, timeout_s=300)
        bare(4)
        client.predict(PROMPT, 4, api_name="/attention_generate")  # first calls: imports, caches
        raw.predict(PROMPT, 4, api_name="/attention_generate")
        for _ in range(repeats):
            bare_runs.append(bare(tokens))
            bare_firsts.append(bare(1))
            engine_runs.append(engine())
            done, arrivals = served(client)
            app_runs.append(done)
            app_firsts.append(arrivals[0])  # the first token's message
            finals.append(done - arrivals[-2])  # after the last token: its attention row, the payload
            done, arrivals = served_raw(raw)
            raw_runs.append(done)
            raw_firsts.append(arrivals[0])
    median = statistics.median
    return {
        "bare_generate": {
            "tokens_per_s": round(tokens / median(bare_runs), 2),
            "first_token_s": round(median(bare_firsts), 3),
            "runs_s": [round(t, 2) for t in bare_runs],
        },
        "engine_in_process": {
            "tokens_per_s": round(tokens / median(engine_runs), 2),
            "runs_s": [round(t, 2) for t in engine_runs],
        },
        "app": {
            "end_to_end_tokens_per_s": round(tokens / median(app_runs), 2),
            "first_token_s": round(median(app_firsts), 3),
            "final_message_s": round(median(finals), 3),
            "messages_per_run": len(arrivals),
            "runs_s": [round(t, 2) for t in app_runs],
            "first_token_runs_s": [round(t, 3) for t in app_firsts],
        },
        "app_raw_http": {  # no gradio_client: it polls its message queue every 50 ms (gradio_client/utils.py)
            "end_to_end_tokens_per_s": round(tokens / median(raw_runs), 2),
            "first_token_s": round(median(raw_firsts), 3),
            "runs_s": [round(t, 2) for t in raw_runs],
            "first_token_runs_s": [round(t, 3) for t in raw_firsts],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--no-load", action="store_true", help="skip the cold / warm load times (two fresh processes)")
    args = parser.parse_args()
    figures = {"prompt": PROMPT, "new_tokens": args.tokens, "load_average_at_start": os.getloadavg()[0]}
    if not args.no_load:
        figures["load"] = load_times(args.tokens)
    figures.update(generation(args.tokens, args.repeats))
    bare = figures["bare_generate"]["tokens_per_s"]
    figures["ratio_app_end_to_end_vs_bare"] = round(figures["app"]["end_to_end_tokens_per_s"] / bare, 2)
    figures["ratio_engine_vs_bare"] = round(figures["engine_in_process"]["tokens_per_s"] / bare, 2)
    figures["ratio_first_token_app_vs_bare"] = round(figures["app"]["first_token_s"] / figures["bare_generate"]["first_token_s"], 2)
    raw = figures["app_raw_http"]
    figures["ratio_raw_http_end_to_end_vs_bare"] = round(raw["end_to_end_tokens_per_s"] / bare, 2)
    figures["ratio_first_token_raw_http_vs_bare"] = round(raw["first_token_s"] / figures["bare_generate"]["first_token_s"], 2)
    figures["target"] = "end to end >= 0.9x bare generate, first token <= 1.3x bare (issue 24)"
    figures["load_average_at_end"] = os.getloadavg()[0]
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
