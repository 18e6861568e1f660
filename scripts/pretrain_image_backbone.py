"""Rebuild ``assets/image_backbone/`` (NeuroDeck's pre-trained image CNN).

    .venv/bin/python scripts/pretrain_image_backbone.py [--epochs 14] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


import torch

from engine.transfer.pretrain_cnn import PretrainConfig, pretrain_image_backbone
from engine.core.registry import ASSETS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=PretrainConfig.epochs)
    parser.add_argument("--crops-per-photo", type=int, default=PretrainConfig.crops_per_photo)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=ASSETS_DIR / "image_backbone")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = PretrainConfig(epochs=args.epochs, crops_per_photo=args.crops_per_photo)

    def report(epoch: int, epochs: int, loss: float, accuracy: float) -> None:
        print(f"epoch {epoch}/{epochs}  loss {loss:.3f}  photo-id acc {accuracy:.3f}", flush=True)

    backbone, metrics = pretrain_image_backbone(config, on_progress=report)
    backbone.save_pretrained(args.out, safe_serialization=True)
    (args.out / "pretrain_metrics.json").write_text(json.dumps({**metrics, "threads": args.threads}, indent=2))
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
