"""Test support: tiny local models, image headers and synthetic datasets (no downloads, seconds to build)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from engine.transfer.cnn import NeuroDeckCNN
from engine.transfer.backbones import Backbone
from engine.transfer.data import _finish


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds no pixel data (a decompression-bomb probe)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


WORDS = "the cat sat on mat dog lay rug a an is was it happy sad river bank paris france capital of what".split()


def tiny_bert(folder: Path) -> Path:
    """Save a random 2-layer x 2-head BERT with a word-level vocab to ``folder``."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ","] + WORDS
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    config = BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=128)
    model = BertModel(config)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_gpt2(folder: Path) -> Path:
    """Save a random 2-layer x 2-head GPT-2 with a tiny byte-level BPE tokenizer to ``folder``."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2Model, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(
        [" ".join(WORDS)] * 4, vocab_size=300, min_frequency=1, show_progress=False, special_tokens=["<|endoftext|>"]
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=trainer._tokenizer, eos_token="<|endoftext|>")
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=16, n_layer=2, n_head=2, n_positions=128,
                        bos_token_id=0, eos_token_id=0)
    model = GPT2Model(config)
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def tiny_vit(folder: Path, image_size: int = 32, patch_size: int = 8) -> Path:
    """Save a random 2-layer ViT classifier (3 labels) with its image processor to ``folder``."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    folder.mkdir(parents=True, exist_ok=True)
    config = ViTConfig(image_size=image_size, patch_size=patch_size, hidden_size=16, num_hidden_layers=2,
                       num_attention_heads=2, intermediate_size=32, num_labels=3,
                       id2label={0: "cat", 1: "dog", 2: "bird"}, label2id={"cat": 0, "dog": 1, "bird": 2})
    ViTForImageClassification(config).save_pretrained(folder, safe_serialization=True)
    ViTImageProcessor(size={"height": image_size, "width": image_size}).save_pretrained(folder)
    return folder


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

    from engine.core.registry import get_source, verified_path

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


# Hand-drawn digits as polylines in unit coordinates (x right, y down), drawn plainly: a 7 without a
# crossbar, a 1 as one stroke, an open-top 4. Used to check that drawings are read as what they show.
DIGIT_STROKES = {
    "0": [[(0.5, 0.15), (0.3, 0.25), (0.25, 0.5), (0.3, 0.75), (0.5, 0.85), (0.7, 0.75), (0.75, 0.5), (0.7, 0.25), (0.5, 0.15)]],
    "1": [[(0.5, 0.15), (0.5, 0.85)]],
    "2": [[(0.3, 0.3), (0.4, 0.17), (0.6, 0.17), (0.7, 0.3), (0.65, 0.45), (0.3, 0.85), (0.72, 0.85)]],
    "3": [[(0.3, 0.2), (0.6, 0.15), (0.7, 0.3), (0.5, 0.48), (0.7, 0.62), (0.65, 0.8), (0.3, 0.83)]],
    "4": [[(0.6, 0.85), (0.6, 0.15), (0.27, 0.6), (0.75, 0.6)]],
    "5": [[(0.7, 0.15), (0.35, 0.15), (0.32, 0.45), (0.6, 0.45), (0.7, 0.62), (0.6, 0.82), (0.3, 0.82)]],
    "6": [[(0.65, 0.15), (0.4, 0.35), (0.3, 0.65), (0.45, 0.85), (0.65, 0.75), (0.6, 0.55), (0.35, 0.6)]],
    "7": [[(0.28, 0.18), (0.72, 0.18), (0.45, 0.85)]],
    "8": [[(0.5, 0.5), (0.3, 0.32), (0.5, 0.15), (0.7, 0.32), (0.5, 0.5), (0.28, 0.68), (0.5, 0.86), (0.72, 0.68), (0.5, 0.5)]],
    "9": [[(0.68, 0.35), (0.5, 0.18), (0.32, 0.3), (0.45, 0.48), (0.68, 0.35), (0.65, 0.85)]],
}


def draw_digit(digit: str, side: int = 280, width: int = 12, scale: float = 1.0, offset=(0.0, 0.0),
               ink=(0, 0, 0), paper=(255, 255, 255)):
    """A PIL drawing of ``digit`` (see DIGIT_STROKES) with round strokes ``width`` px wide, like a sketchpad's."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (side, side), paper)
    draw = ImageDraw.Draw(image)
    for line in DIGIT_STROKES[digit]:
        points = [((0.5 + (x - 0.5) * scale + offset[0]) * side, (0.5 + (y - 0.5) * scale + offset[1]) * side) for x, y in line]
        draw.line(points, fill=ink, width=width, joint="curve")
        for px, py in points:
            draw.ellipse([px - width / 2, py - width / 2, px + width / 2, py + width / 2], fill=ink)
    return image
