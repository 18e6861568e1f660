"""Integrated gradients figures: speed, completeness gap per step count, agreement with a reference computation.

    python benchmarks/bench_attribution.py [--repeats 3] [--threads 1] [--quick]

Everything is measured in this one run, on this machine:
- EfficientNet-Lite0, 64 steps: seconds per explanation with captum's steps batched 16 at a time vs one
  big batch of 64 and vs the hand-written loop (one step per forward/backward), alternating, medians;
  Grad-CAM on the same picture as the cost baseline;
- the completeness gap |sum of attributions - (logit(image) - logit(black))| / |difference| at 16/32/64/128
  steps for three example photos (Gauss-Legendre, and the trapezoid rule for one), and for the other baselines;
- agreement: captum's midpoint rule vs :func:`engine.transfer.attribution.riemann_integrated_gradients`
  (written out by hand) at the same steps, and the text path without hooks vs captum's
  ``LayerIntegratedGradients`` on the embedding layer, on the Transfer tab's example text model;
- the digits ViT and the MiniLM text classifier: seconds and gaps.
Writes benchmarks/results/attribution.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

PHOTOS = ("coffee", "chelsea", "astronaut")
STEPS = (16, 32, 64, 128)
SENTENCES = ("The striker scored twice in the derby.", "Heavy rain and strong winds are expected tomorrow.",
             "Slow-cooked beans with garlic and fresh bread.")
OUT = Path(__file__).resolve().parent / "results" / "attribution.json"


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def load() -> float:
    return round(os.getloadavg()[0], 2)


def imagenet_speed(repeats: int) -> dict:
    from engine.transfer import attribution as A
    from engine.transfer.fewshot import photo_path
    from engine.transfer.gradcam import efficientnet_gradcam
    from engine.transfer.imagenet import imagenet_model, preprocess
    from engine.core.validation import load_image

    path = str(photo_path("coffee"))
    pixels, _ = preprocess(load_image(path))
    model = imagenet_model()
    forward = lambda batch: model(batch.contiguous(memory_format=torch.channels_last))  # noqa: E731
    target = int(torch.argmax(forward(pixels).detach()))
    baseline = A.image_baseline(pixels, "black")
    runs = {"batched_16": [], "batched_64": [], "hand_loop": [], "gradcam": []}
    A.imagenet_attribution(path, steps=4)  # warm-up
    loads = []
    for _ in range(repeats):  # alternating, so drift hits each variant alike
        loads.append(load())
        runs["batched_16"].append(timed(lambda: A.integrated_gradients(forward, pixels, baseline, target, 64, 16)))
        runs["batched_64"].append(timed(lambda: A.integrated_gradients(forward, pixels, baseline, target, 64, 64)))
        runs["hand_loop"].append(timed(lambda: A.riemann_integrated_gradients(forward, pixels, baseline, target, 64)))
        runs["gradcam"].append(timed(lambda: efficientnet_gradcam(model, pixels.contiguous(memory_format=torch.channels_last))))
    medians = {name: round(statistics.median(values), 3) for name, values in runs.items()}
    return {"steps": 64, "median_s": medians, "runs_s": {k: [round(v, 3) for v in vs] for k, vs in runs.items()},
            "speedup_batched16_vs_loop": round(medians["hand_loop"] / medians["batched_16"], 2),
            "ig64_over_gradcam": round(medians["batched_16"] / medians["gradcam"], 1), "load_average": loads}


def imagenet_gaps(quick: bool) -> dict:
    from engine.transfer import attribution as A
    from engine.transfer.fewshot import photo_path

    photos = PHOTOS[:1] if quick else PHOTOS
    rows = {}
    for name in photos:
        row = {}
        for steps in STEPS:
            result = A.imagenet_attribution(str(photo_path(name)), steps=steps)
            ig = result.attribution
            row[steps] = {"gap": round(ig.gap, 5), "sum": round(ig.attribution_sum, 4), "difference": round(ig.difference, 4)}
        rows[name] = {"label": result.target_label, "gausslegendre": row}
    first = str(photo_path(photos[0]))
    from engine.transfer.imagenet import imagenet_model, preprocess
    from engine.core.validation import load_image

    pixels, _ = preprocess(load_image(first))
    model = imagenet_model()
    forward = lambda batch: model(batch.contiguous(memory_format=torch.channels_last))  # noqa: E731
    target = int(torch.argmax(forward(pixels).detach()))
    trapezoid = {}
    for steps in STEPS:
        ig = A.integrated_gradients(forward, pixels, A.image_baseline(pixels, "black"), target, steps, method="riemann_trapezoid")
        trapezoid[steps] = round(ig.gap, 5)
    rows[photos[0]]["riemann_trapezoid"] = trapezoid
    baselines = {}
    for kind in A.BASELINES:
        ig = A.imagenet_attribution(first, steps=64, baseline=kind).attribution
        baselines[kind] = {"baseline_logit": round(ig.baseline_logit, 4), "sum": round(ig.attribution_sum, 4),
                           "gap": round(ig.gap, 5)}
    maps = {kind: A.imagenet_attribution(first, steps=64, baseline=kind).heatmap.ravel() for kind in A.BASELINES}
    correlation = {f"black_vs_{kind}": round(float(np.corrcoef(maps["black"], maps[kind])[0, 1]), 3)
                   for kind in ("blurred", "noise")}
    # Reference: captum's midpoint rule vs the loop written out by hand, same 32 nodes.
    base = A.image_baseline(pixels, "black")
    captum_mid = A.integrated_gradients(forward, pixels, base, target, 32, method="riemann_middle").attributions
    hand = A.riemann_integrated_gradients(forward, pixels, base, target, 32)
    scale = float(np.abs(hand).max())
    return {"gaps": rows, "baselines_64_steps": baselines, "heatmap_correlation_64_steps": correlation,
            "reference_32_steps": {"max_abs_difference_over_max_abs": round(float(np.abs(captum_mid - hand).max()) / scale, 7),
                                   "sum_captum": round(float(captum_mid.sum()), 5), "sum_hand": round(float(hand.sum()), 5)},
            "load_average": load()}


def text_figures(repeats: int) -> dict:
    from captum.attr import LayerIntegratedGradients

    from engine.transfer import attribution as A
    from engine.transfer.backbones import load_backbone
    from engine.transfer.example import example_run

    run = example_run()
    model, tokenizer = run.result.model.eval(), load_backbone("", "text").tokenizer
    rows = {}
    for sentence in SENTENCES:
        rows[sentence] = {}
        for steps in STEPS:
            result = A.text_attribution(model, tokenizer, sentence, steps=steps)
            rows[sentence][steps] = round(result.attribution.gap, 6)
        rows[sentence]["label"] = result.target_label
        rows[sentence]["words"] = [(w, round(s, 4)) for w, s in result.words()]
    seconds = [timed(lambda: A.text_attribution(model, tokenizer, SENTENCES[0], steps=64)) for _ in range(repeats)]
    # Hooks (captum's layer IG on the word embeddings) vs our hook-free inputs_embeds path.
    encoding = tokenizer([SENTENCES[0]], return_tensors="pt")
    ids, mask = encoding["input_ids"], encoding["attention_mask"]
    special = torch.tensor(tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True)).bool()
    base_ids = torch.where(special[None], ids, torch.full_like(ids, tokenizer.pad_token_id))
    ours = A.text_attribution(model, tokenizer, SENTENCES[0], steps=64)
    target = int(np.argmax([l == ours.target_label for l in model.config.labels]))
    layer = LayerIntegratedGradients(lambda i, a: model(input_ids=i, attention_mask=a), model.backbone.get_input_embeddings())
    with torch.enable_grad():
        reference = layer.attribute(ids, baselines=base_ids, target=target, additional_forward_args=(mask,), n_steps=64,
                                    method=A.QUADRATURE, internal_batch_size=64)[0].sum(-1).detach().double().numpy()
    return {"gaps_by_sentence": rows, "median_s_64_steps": round(statistics.median(seconds), 3),
            "hook_free_vs_layer_ig_max_abs_difference": float(np.abs(ours.scores - reference).max()),
            "token_score_scale": float(np.abs(reference).max()), "validation_accuracy": round(run.result.metrics.accuracy, 3), "load_average": load()}


def vit_figures(repeats: int) -> dict:
    from PIL import Image

    from engine.core.registry import ASSETS_DIR
    from engine.transfer import attribution as A

    rows = {}
    for digit in ("digit_3", "digit_7"):
        picture = Image.open(ASSETS_DIR / "examples" / f"{digit}.png").convert("RGB")
        rows[digit] = {steps: round(A.vit_integrated_gradients(picture, steps=steps).attribution.gap, 6) for steps in STEPS}
    picture = Image.open(ASSETS_DIR / "examples" / "digit_3.png").convert("RGB")
    seconds = [timed(lambda: A.vit_integrated_gradients(picture, steps=64)) for _ in range(repeats)]
    return {"gaps": rows, "median_s_64_steps": round(statistics.median(seconds), 3), "load_average": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="one photo, for a smoke run")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report = {"threads": args.threads, "load_average_start": load(), "cpu_count": os.cpu_count()}
    for name, job in (("text", lambda: text_figures(args.repeats)), ("vit", lambda: vit_figures(args.repeats)),
                      ("imagenet_speed", lambda: imagenet_speed(args.repeats)),
                      ("imagenet_completeness", lambda: imagenet_gaps(args.quick))):
        report[name] = job()
        print(name, json.dumps(report[name], indent=1, default=str), flush=True)
    report["load_average_end"] = load()
    if not args.quick:
        OUT.write_text(json.dumps(report, indent=1, default=str) + "\n")
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
