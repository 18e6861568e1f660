"""Autoencoder tab: quality bars and latency, measured in one run.

    python benchmarks/bench_autoencoder.py [--threads 2] [--repeats 15] [--skip-latency | --latency-only]

Quality (committed models, full held-out sets):
  * denoising on the held-out photos: Gaussian sigma=0.1 (bar: PSNR gain >= 5 dB and beat the
    best Gaussian blur in PSNR and SSIM), plus salt & pepper, speckle and masking;
  * anomaly: image / pixel AUROC on the synthetic-defect evaluation set, F1 at the default threshold;
  * bottleneck: test MSE of the digits autoencoders vs PCA at latent sizes 2..32.
Latency: p50 round-trip through gradio_client of /ae_denoise (512x512) and /ae_anomaly (256x256),
reported next to the app's empty endpoint (/ping) measured against the same ``python app.py`` server
in the same run. ``--threads`` sets torch threads for the quality tables only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import numpy as np

SERVER_NOTE = "python app.py in its own process (one torch thread per request, as deployed)"
NOISE_SETTINGS = [("gaussian", 0.1), ("salt_pepper", 0.1), ("speckle", 0.3), ("masking", 0.2)]


def denoising_table() -> dict:
    from engine.autoencoder.denoise import evaluate_heldout, load_denoiser

    model = load_denoiser()
    return {f"{noise} {level}": evaluate_heldout(model, noise, level) for noise, level in NOISE_SETTINGS}


def anomaly_table() -> dict:
    from engine.autoencoder.anomaly import evaluate_anomaly, load_anomaly_model

    return evaluate_anomaly(*load_anomaly_model())


def bottleneck_table() -> dict:
    from engine.autoencoder.latent import bottleneck_curve

    return {str(k): {n: round(v, 6) for n, v in row.items()} for k, row in bottleneck_curve().items()}


def latency(repeats: int) -> dict:
    """p50 round trips against ``python app.py`` in its own process (as deployed: one torch thread per
    request), next to the app's empty ``/ping`` endpoint in the same run.

    Each call is also timed with a client that does not download the output files, to show how much
    of the round trip is fetching the returned images.
    """
    from gradio_client import handle_file
    from PIL import Image

    from benchmarks.serving import benchmark_clients, running_server, wait_until_warm
    from engine.autoencoder.anomaly import load_texture
    from engine.autoencoder.photos import load_photo

    folder = Path(tempfile.mkdtemp())
    photo = Image.fromarray((np.asarray(load_photo("chelsea")) * 255).astype(np.uint8)).resize((512, 512), Image.LANCZOS)
    photo.save(folder / "photo512.png")
    texture = (np.asarray(load_texture("gravel"))[:256, 256:] * 255).astype(np.uint8)
    Image.fromarray(texture).save(folder / "texture256.png")

    with running_server("app.py") as (url, _):
        # Row names keep the earlier layout: the browser-like client (ssl_verify=False) is unsuffixed.
        suffixes = {"gradio_client_defaults": " (gradio_client defaults)", "ssl_verify_false": "",
                    "ssl_verify_false_no_file_download": " (no file download)"}
        clients = {suffixes[name]: client for name, client in benchmark_clients(url).items()}
        wait_until_warm(next(iter(clients.values())))
        calls = {}
        for suffix, client in clients.items():
            calls["empty endpoint" + suffix] = lambda c=client: c.predict(api_name="/ping")
            calls["ae_denoise 512x512" + suffix] = lambda c=client: c.predict(handle_file(str(folder / "photo512.png")), api_name="/ae_denoise")
            calls["ae_anomaly 256x256" + suffix] = lambda c=client: c.predict(handle_file(str(folder / "texture256.png")), api_name="/ae_anomaly")
        results = {}
        for name, call in calls.items():
            for _ in range(3):  # warm-up: model load, caches
                call()
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                call()
                times.append((time.perf_counter() - started) * 1000)
            results[name] = {"p50_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1)}
    for name, row in results.items():  # each client against its own empty round trip
        suffix = name[name.index(" ("):] if " (" in name else ""
        row["x_empty"] = round(row["p50_ms"] / results["empty endpoint" + suffix]["p50_ms"], 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--latency-only", action="store_true", help="skip the quality tables")
    parser.add_argument("--json", type=Path, default=None, help="also write all figures here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.latency_only:
        text = json.dumps({"latency": {**latency(args.repeats), "server": SERVER_NOTE}}, indent=2)
        print(text)
        if args.json:
            args.json.write_text(text + "\n")
        return
    report = {"denoising_heldout_mean": denoising_table(), "anomaly": anomaly_table(), "bottleneck_test_mse": bottleneck_table()}
    gauss = report["denoising_heldout_mean"]["gaussian 0.1"]
    report["bars"] = {
        "denoise_psnr_gain_db (>=5)": round(gauss["autoencoder"]["psnr_db"] - gauss["noisy"]["psnr_db"], 2),
        "denoise_beats_blur_psnr": gauss["autoencoder"]["psnr_db"] > gauss["gaussian_blur"]["psnr_db"],
        "denoise_beats_blur_ssim": gauss["autoencoder"]["ssim"] > gauss["gaussian_blur"]["ssim"],
        "anomaly_image_auroc (>=0.95)": report["anomaly"]["image_auroc"],
        "anomaly_pixel_auroc (>=0.90)": report["anomaly"]["pixel_auroc"],
        "latent16_beats_pca16": report["bottleneck_test_mse"]["16"]["autoencoder_mse"] < report["bottleneck_test_mse"]["16"]["pca_mse"],
    }
    if not args.skip_latency:
        report["latency"] = latency(args.repeats)
        report["latency"]["server"] = SERVER_NOTE
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
