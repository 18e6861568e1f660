"""Attention after fine-tuning: the same sentence's attention in the base MiniLM and in the fine-tuned one.

Both come from ``engine.attention.text.attention_from_model`` (``output_attentions=True``,
eager attention). We compare the attention *rollout* row of ``[CLS]`` and the attention each
token receives in the last layer (mean over heads and queries).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.attention.rollout import attention_rollout
from engine.attention.text import TextModel, attention_from_model, load_text_model
from engine.transfer.model import TransferClassifier


@dataclass(frozen=True)
class AttentionShift:
    tokens: tuple[str, ...]  # T display tokens, [CLS] and [SEP] included
    before: np.ndarray  # (T,) float64 [CLS] rollout row in the base model; sums to 1
    after: np.ndarray  # (T,) same, fine-tuned model
    before_last: np.ndarray  # (T,) attention received in the last layer (mean over heads and queries), base model
    after_last: np.ndarray  # (T,) same, fine-tuned model

    @property
    def change(self) -> float:
        """Total variation distance between the two [CLS] rollout rows, in [0, 1]."""
        return float(0.5 * np.abs(self.after - self.before).sum())


def _summarise(attentions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rollout = attention_rollout(attentions)
    received = attentions[-1].mean(axis=(0, 1)).astype(np.float64)
    return rollout[0], received / received.sum()


def finetuned_text_model(model: TransferClassifier, tokenizer, name: str = "fine-tuned MiniLM") -> TextModel:
    """``model``'s (fine-tuned) transformer backbone as a :class:`TextModel` for the Attention views."""
    if model.config.backbone_type != "bert":
        raise ValueError("Attention after fine-tuning is available for the MiniLM text backbone only: "
                         "train on a text dataset in the Transfer tab.")
    return TextModel(name=name, tokenizer=tokenizer, model=model.backbone.eval(), is_causal=False)


def attention_shift(model: TransferClassifier, tokenizer, text: str) -> AttentionShift:
    """Compare the base embedded MiniLM with ``model``'s fine-tuned backbone on ``text``."""
    tuned = finetuned_text_model(model, tokenizer)
    base = load_text_model(None)
    before = attention_from_model(base, text)
    after = attention_from_model(tuned, text)
    if before.tokens != after.tokens:
        raise ValueError("The base and fine-tuned tokenizers disagree; cannot compare attention.")
    before_cls, before_last = _summarise(before.attentions)
    after_cls, after_last = _summarise(after.attentions)
    return AttentionShift(before.tokens, before_cls, after_cls, before_last, after_last)
