"""Tiny backbones and synthetic datasets for the transfer-learning tests (no downloads, seconds to train)."""

from __future__ import annotations

import numpy as np
import torch

from engine.image_backbone import NeuroDeckCNN
from engine.transfer_backbones import Backbone
from engine.transfer_data import _finish


def stripes_dataset(per_class: int = 12, seed: int = 0, side: int = 16):
    """Two classes: horizontal vs vertical stripes with noise, (side, side, 3) uint8."""
    rng = np.random.default_rng(seed)
    items, classes = [], []
    for label in ("horizontal", "vertical"):
        for _ in range(per_class):
            phase = rng.integers(0, 4)
            line = ((np.arange(side) + phase) // 2 % 2).astype(np.float64)
            image = np.tile(line[:, None], (1, side)) if label == "horizontal" else np.tile(line[None, :], (side, 1))
            image = np.clip(image * 0.8 + rng.normal(0, 0.1, image.shape) + 0.1, 0, 1)
            items.append(np.repeat((image * 255).astype(np.uint8)[..., None], 3, axis=-1))
            classes.append(label)
    return _finish("image", items, [f"img{i}" for i in range(len(items))], classes, [], [], "stripes")


def tiny_cnn_backbone(seed: int = 0) -> Backbone:
    torch.manual_seed(seed)
    cnn = NeuroDeckCNN(widths=(4, 8, 8), image_size=16)
    return Backbone(
        key="tiny-cnn", name="tiny CNN", modality="image", backbone_type="neurodeck_cnn",
        backbone_config={"in_channels": 3, "widths": [4, 8, 8], "image_size": 16}, feature_dim=8,
        state_dict={k: v.clone() for k, v in cnn.state_dict().items()}, image_size=16,
    )


def tiny_bert_backbone(seed: int = 0) -> Backbone:
    from transformers import AutoTokenizer, BertConfig, BertModel

    from engine.registry import get_source, verified_path

    tokenizer = AutoTokenizer.from_pretrained(verified_path(get_source("minilm")))
    config = dict(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=32, max_position_embeddings=64)
    torch.manual_seed(seed)
    bert_config = BertConfig(**config)
    bert_config._attn_implementation = "eager"
    model = BertModel(bert_config, add_pooling_layer=False)
    return Backbone(
        key="tiny-bert", name="tiny BERT", modality="text", backbone_type="bert", backbone_config=config,
        feature_dim=16, state_dict={k: v.clone() for k, v in model.state_dict().items()}, tokenizer=tokenizer,
    )


def words_dataset(per_class: int = 8):
    """Two trivially separable text classes."""
    animals = ["the cat sleeps", "a dog barks", "the horse runs", "a cow eats grass", "the bird sings",
               "a fish swims", "the sheep grazes", "a mouse hides", "the lion roars", "a frog jumps"]
    vehicles = ["the car drives fast", "a bus stops", "the train departs", "a truck unloads", "the bike is red",
                "a plane lands", "the boat sails", "a tram rings", "the van is parked", "a taxi waits"]
    items = animals[:per_class] + vehicles[:per_class]
    classes = ["animal"] * per_class + ["vehicle"] * per_class
    return _finish("text", items, [f"row {i}" for i in range(len(items))], classes, [], [], "words")
