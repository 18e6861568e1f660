"""Greedy decoding, batched, with an optional forced prefix; and attention by teacher forcing.

Shared by the app (:mod:`.inference`), the evaluation (:mod:`.evaluate`) and live training.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from engine.attention.seq2seq import tokens
from engine.attention.seq2seq.tokens import BOS, EOS, PAD


NEVER_WRITTEN = [PAD, BOS]


def encode_sources(texts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    src, lengths = tokens.pad_batch([tokens.encode(t) for t in texts])
    return torch.from_numpy(src), torch.from_numpy(lengths)


@torch.no_grad()
def greedy_ids(model, src: torch.Tensor, lengths: torch.Tensor, max_steps: int,
               forced: Sequence[int] = ()) -> np.ndarray:
    """(N, <= max_steps) int64: each row's generated ids up to and including ``</s>``, then ``<pad>``.

    At step t < len(forced) the decoder is fed ``forced[t]`` instead of its own choice (the
    "what-if" prefix); from then on it continues greedily from that prefix.
    """
    was_training = model.training
    model.eval()
    try:
        state = model.start(src, lengths)
        token = torch.full((src.shape[0],), BOS, dtype=torch.long)
        done = torch.zeros(src.shape[0], dtype=torch.bool)
        produced = []
        for t in range(max_steps):
            logits, state, _ = model.step(state, token)
            logits[:, NEVER_WRITTEN] = float("-inf")  # an untrained model could pick them; they are not text
            choice = logits.argmax(-1)
            if t < len(forced):
                choice = torch.full_like(choice, int(forced[t]))
            choice = torch.where(done, torch.full_like(choice, PAD), choice)
            produced.append(choice)
            done |= choice == EOS
            token = choice
            if bool(done.all()):
                break
        return torch.stack(produced, 1).numpy()
    finally:
        model.train(was_training)


def greedy_texts(model, texts: Sequence[str], max_steps: int, batch_size: int = 500) -> list[str]:
    """Greedy outputs for many sources, in batches."""
    outputs: list[str] = []
    for start in range(0, len(texts), batch_size):
        src, lengths = encode_sources(texts[start : start + batch_size])
        outputs += [tokens.decode(row) for row in greedy_ids(model, src, lengths, max_steps)]
    return outputs


def strip_row(ids: np.ndarray) -> list[int]:
    """One generated row without its padding (keeps the ``</s>`` if one was produced)."""
    row = []
    for i in ids:
        if int(i) == PAD:
            break
        row.append(int(i))
        if int(i) == EOS:
            break
    return row


@torch.no_grad()
def teacher_forced_attention(model, source: str, produced: list[int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Logits and attention for one source when the decoder reads ``<s>`` + ``produced[:-1]``.

    Rows of every target-side array line up with ``produced``: row t is the step that wrote
    ``produced[t]``. Returns float64 arrays without the batch axis.
    """
    was_training = model.training
    model.eval()
    try:
        src, lengths = encode_sources([source])
        tgt_in = torch.tensor([[BOS] + list(produced[:-1])], dtype=torch.long)
        logits, attention = model(src, lengths, tgt_in, return_attention=True)
        return logits[0].double().numpy(), {k: v[0].double().numpy() for k, v in attention.items()}
    finally:
        model.train(was_training)
