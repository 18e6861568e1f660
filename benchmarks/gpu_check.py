"""GPU check: the engine's models give the same answers on CUDA as on CPU, and how fast.

    python benchmarks/gpu_check.py            # needs a CUDA GPU; prints JSON

Runs each check on CPU and on CUDA in one process (models are moved explicitly, so
``NEURODECK_DEVICE`` is not needed) and reports the max absolute difference and timings.
Needs torch + transformers, and diffusers for the GAN/AE checks (skipped if missing).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path


import numpy as np
import torch

SECOND_DEVICE = os.environ.get("GPU_CHECK_SECOND_DEVICE", "cuda")  # "cpu" dry-runs the script without a GPU


def timed(fn, repeats: int = 20) -> tuple[object, float]:
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, (time.perf_counter() - started) / repeats


def compare(name: str, build, run) -> dict:
    """``build(device) -> model``; ``run(model, device) -> np.ndarray``."""
    cpu_model = build(torch.device("cpu"))
    cpu_out, cpu_s = timed(lambda: run(cpu_model, torch.device("cpu")))
    gpu_model = build(torch.device(SECOND_DEVICE))
    gpu_out, gpu_s = timed(lambda: run(gpu_model, torch.device(SECOND_DEVICE)))
    diff = float(np.abs(np.asarray(cpu_out) - np.asarray(gpu_out)).max())
    return {"check": name, "max_abs_diff": diff, "cpu_ms": round(cpu_s * 1000, 2),
            f"{SECOND_DEVICE}_ms": round(gpu_s * 1000, 2)}


def digits_vit_check() -> dict:
    from transformers import AutoModelForImageClassification

    from engine.core.datasets import digits_split, upscale_digits
    from engine.core.registry import ASSETS_DIR

    pixels = upscale_digits(digits_split().test_images)

    def build(device):
        model = AutoModelForImageClassification.from_pretrained(ASSETS_DIR / "digits_vit", attn_implementation="eager")
        return model.eval().to(device)

    @torch.no_grad()
    def run(model, device):
        out = model(pixel_values=pixels.to(device), output_attentions=True)
        return torch.cat([out.logits.softmax(-1).flatten(), out.attentions[-1].flatten()]).cpu().numpy()

    result = compare("digits ViT: probabilities + last-layer attentions, 360 test digits", build, run)
    labels = torch.as_tensor(digits_split().test_labels)
    model = build(torch.device(SECOND_DEVICE))
    with torch.no_grad():
        accuracy = (model(pixel_values=pixels.to(SECOND_DEVICE)).logits.argmax(-1).cpu() == labels).float().mean()
    result["second_device_accuracy"] = round(float(accuracy), 4)
    return result


def text_attention_check() -> dict:
    from transformers import BertConfig, BertModel

    # A random 2-layer x 2-head BERT (benchmarks import no test code; tests/support.py has the same model).
    config = BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128, attn_implementation="eager")
    folder = Path(tempfile.mkdtemp()) / "bert"
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    ids = torch.randint(5, 20, (1, 48))

    def build(device):
        return BertModel.from_pretrained(folder, attn_implementation="eager").eval().to(device)

    @torch.no_grad()
    def run(model, device):
        return torch.stack(model(input_ids=ids.to(device), output_attentions=True).attentions).cpu().numpy()

    return compare("tiny BERT attentions (eager), 48 tokens", build, run)


def gan_generator_check() -> dict:
    from engine.gan.models import ConditionalGenerator
    from engine.core.registry import ASSETS_DIR

    z = torch.randn(64, 64, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(64) % 10

    def build(device):
        return ConditionalGenerator.from_pretrained(ASSETS_DIR / "gan_digits" / "generator").eval().to(device)

    @torch.no_grad()
    def run(model, device):
        return model(z.to(device), labels.to(device)).cpu().numpy()

    return compare("GAN generator: 64 digits at 32x32", build, run)


def denoiser_check() -> dict:
    from engine.autoencoder.models import DenoisingAutoencoder
    from engine.core.registry import ASSETS_DIR

    photo = torch.rand(1, 3, 512, 512, generator=torch.Generator().manual_seed(0))

    def build(device):
        return DenoisingAutoencoder.from_pretrained(ASSETS_DIR / "ae_denoiser").eval().to(device)

    @torch.no_grad()
    def run(model, device):
        return model(photo.to(device)).cpu().numpy()

    return compare("denoising autoencoder: one 512x512 photo", build, run)


def main() -> None:
    if SECOND_DEVICE == "cuda" and not torch.cuda.is_available():
        raise SystemExit("No CUDA device: this check needs a GPU (GPU_CHECK_SECOND_DEVICE=cpu for a dry run).")
    from engine.core.device import pick_device

    report = {"device": torch.cuda.get_device_name(0) if SECOND_DEVICE == "cuda" else "cpu (dry run)", "pick_device": str(pick_device()), "torch": torch.__version__,
              "checks": []}
    for check in (text_attention_check, digits_vit_check, gan_generator_check, denoiser_check):
        try:
            report["checks"].append(check())
        except ImportError as error:  # e.g. diffusers not installed on the GPU machine
            report["checks"].append({"check": check.__name__, "skipped": str(error)})
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
