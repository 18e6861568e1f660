"""Predict with a trained transfer model: top-k class probabilities for one text or image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.transfer.backbones import Backbone, prepare_inputs
from engine.transfer.data import STORED_SIDE
from engine.transfer.model import TransferClassifier
from engine.core.validation import clean_text, load_photo
from PIL import Image


@dataclass(frozen=True)
class Prediction:
    labels: tuple[str, ...]  # top-k class names, most probable first
    probabilities: tuple[float, ...]  # matching probabilities in [0, 1]

    def to_dict(self) -> dict:
        return {"label": self.labels[0], "top_k": [{"label": l, "probability": round(p, 4)} for l, p in zip(self.labels, self.probabilities)]}


def item_from_input(modality: str, value):
    """Validate a user input into a dataset item: cleaned text, or (128, 128, 3) uint8 image."""
    if modality == "text":
        if not isinstance(value, str):
            raise ValueError("This model was trained on text: type a sentence to classify.")
        return clean_text(value, max_chars=1000).text
    if isinstance(value, str) and not value.strip():
        value = None
    image = load_photo(value)  # ImageNet classify's rule: at least 16 px a side, at most 12 MP
    return np.asarray(image.resize((STORED_SIDE, STORED_SIDE), Image.BILINEAR), dtype=np.uint8)


@torch.no_grad()
def predict_probabilities(model: TransferClassifier, backbone: Backbone, items) -> np.ndarray:
    """(N, C) float32 softmax probabilities for already-validated items."""
    model.eval()
    inputs = prepare_inputs(backbone, items)
    return torch.softmax(model(**inputs), -1).numpy().astype(np.float32)


def predict(model: TransferClassifier, backbone: Backbone, value, top_k: int = 3) -> Prediction:
    """Top-k prediction for one text (str) or image (path / PIL / array / gradio payload)."""
    item = item_from_input(backbone.modality, value)
    probabilities = predict_probabilities(model, backbone, [item])[0]
    labels = tuple(model.config.labels)
    order = np.argsort(-probabilities)[: max(1, min(int(top_k), len(labels)))]
    return Prediction(tuple(labels[i] for i in order), tuple(float(probabilities[i]) for i in order))
