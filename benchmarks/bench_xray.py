"""X-ray figures (issue #21): agreement with reference computations, and the cost of each view on this CPU.

    python benchmarks/bench_xray.py [--repeats 3] [--json benchmarks/results/xray.json]

Agreement (max absolute differences, one run; they do not depend on the load):
- Q/K/V: softmax(q·kᵀ/√d + mask) of the hooked q and k against the model's output_attentions, and weights·v
  against the head outputs the model fed to its output projection, over every layer and head;
- logit lens: the last layer's distribution against the softmax of the model's own logits;
- ablation: the hooked ablation against a copy of the model whose o_proj weight columns for that head are zeroed
  (the whole next-token distribution), and the batched scan against one ablation at a time.
Timings: medians of ``--repeats`` runs, the variants alternated run by run, one torch thread (as app.py runs),
with the load average at start and end (the machine may be busy: compare ratios measured in the same run).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # as app.py
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this checkout's engine, whichever one is installed

SENTENCE = "The animal didn't cross the street because it was too tired."
PROMPT = "The capital of France is"
LONG_PROMPT = "Once upon a time, in a small village by the sea, there lived an old fisherman who"


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def agreement() -> dict:
    import numpy as np
    import torch

    from engine.attention import ablation, lens, qkv
    from engine.attention.decoder_load import load_decoder

    figures = {}
    for key, text in (("minilm", SENTENCE), ("smollm2", PROMPT), ("smollm2_long", LONG_PROMPT)):
        capture = qkv.capture(text, key.split("_")[0])
        heads = [capture.head(l, h) for l in range(capture.num_layers) for h in range(capture.num_heads)]
        figures[f"qkv_{key}"] = {
            "tokens": len(capture.tokens), "heads": len(heads),
            "max_abs_weights_vs_output_attentions": max(h.weight_difference for h in heads),
            "max_abs_weighted_sum_vs_model_head_output": max(h.output_difference for h in heads),
        }
    decoder = load_decoder()
    ids, _ = lens.encode(decoder, LONG_PROMPT)
    figures["logit_lens_max_abs_last_layer_vs_softmax"] = max(
        lens.logit_lens_ids(decoder, ids, position).max_difference for position in (-1, 0, len(ids) // 2))
    ids, _ = lens.encode(decoder, PROMPT)
    differences = []
    for layer, head in ((24, 5), (1, 5), (13, 1), (30, 9), (1, 0)):
        hooked = ablation._run(decoder.model, ids, {layer - 1: [(1, None if head == 0 else head - 1)]}, rows=2)[1]
        manual = copy.deepcopy(decoder.model)
        with torch.no_grad():
            weight = manual.model.layers[layer - 1].self_attn.o_proj.weight
            columns = slice(None) if head == 0 else slice((head - 1) * 64, head * 64)
            weight[:, columns] = 0.0
            logits = manual(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1]
        differences.append(float((torch.softmax(logits.double(), -1) - hooked).abs().max()))
        del manual
    figures["ablation_max_abs_hooked_vs_zeroed_weights"] = max(differences)
    scan = ablation.scan_ids(decoder, ids)
    singles = [(l, h, ablation.ablate_ids(decoder, ids, l + 1, h + 1).probability_after)
               for l, h in ((23, 4), (0, 4), (12, 0), (29, 8), (11, 7))]
    figures["scan_max_abs_batched_vs_single"] = max(abs(scan.after[l, h] - p) for l, h, p in singles)
    figures["scan_top_token"] = scan.token.token
    worst = np.unravel_index(int(scan.change.argmin()), scan.change.shape)
    figures["scan_head_that_matters_most"] = {"layer": int(worst[0]) + 1, "head": int(worst[1]) + 1,
                                              "change": round(float(scan.change[worst]), 4)}
    return figures


def timings(repeats: int) -> dict:
    from engine.attention import ablation, lens, qkv, xray_render
    from engine.attention.decoder_load import load_decoder

    decoder = load_decoder()
    ids, _ = lens.encode(decoder, PROMPT)
    capture = qkv.capture(SENTENCE, "minilm")
    tasks = {
        "qkv_minilm_view_s": lambda: xray_render.qkv_figure(qkv.head_computation(SENTENCE, 2, 3, "minilm"), 10),
        "qkv_smollm2_view_s": lambda: (lambda c: (xray_render.qkv_figure(c, -1), xray_render.rope_figure(c, -1)))(
            qkv.head_computation(PROMPT, 6, 4, "smollm2")),
        "qkv_redraw_no_model_call_s": lambda: xray_render.qkv_figure(capture.head(1, 2), 10, 4),
        "logit_lens_view_s": lambda: xray_render.lens_figure(lens.logit_lens(PROMPT)),
        "one_ablation_s": lambda: xray_render.ablation_figure(ablation.ablate(PROMPT, 24, 5)),
    }
    runs = {name: [] for name in tasks}
    for _ in range(repeats):
        for name, task in tasks.items():
            runs[name].append(_timed(task))
    scans = {f"scan_{rows}_rows_per_pass_s": rows for rows in (270, ablation.SCAN_BATCH_ROWS, 45, 9)}
    scan_runs = {name: [] for name in scans}
    for _ in range(repeats):
        for name, rows in scans.items():
            scan_runs[name].append(ablation.scan_ids(decoder, ids, batch_rows=rows).seconds)
    one_at_a_time = _timed(lambda: ablation.scan_ids(decoder, ids, batch_rows=1))  # once: 271 passes, slow
    median = statistics.median
    figures = {name: round(median(values), 4) for name, values in {**runs, **scan_runs}.items()}
    figures["scan_1_row_per_pass_s_single_run"] = round(one_at_a_time, 2)
    default = figures[f"scan_{ablation.SCAN_BATCH_ROWS}_rows_per_pass_s"]
    figures["scan_default_speed_up_over_one_head_per_pass"] = round(one_at_a_time / default, 1)
    figures["repeats"] = repeats
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    figures = {"load_average_at_start": os.getloadavg()[0], "torch_threads": torch.get_num_threads(),
               "prompt": PROMPT, "sentence": SENTENCE}
    figures["agreement"] = agreement()
    figures["timings"] = timings(args.repeats)
    figures["load_average_at_end"] = os.getloadavg()[0]
    text = json.dumps(figures, indent=2, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
