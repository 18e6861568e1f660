"""Characters are the tokens: one small vocabulary shared by sources and targets.

Index 0 is padding, 1 starts a target (``<s>``), 2 ends one (``</s>``), 3 stands for a character
the models never saw (``<unk>``). The rest are the characters dates and the copy task use.
"""

from __future__ import annotations

import string

import numpy as np

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
CHARACTERS = " ,.-" + string.digits + string.ascii_lowercase + string.ascii_uppercase
VOCAB: tuple[str, ...] = SPECIALS + tuple(CHARACTERS)
VOCAB_SIZE = len(VOCAB)
_INDEX = {token: i for i, token in enumerate(VOCAB)}


def encode(text: str) -> list[int]:
    """Character ids of ``text`` (no specials); unknown characters become ``UNK``."""
    return [_INDEX.get(char, UNK) for char in text]


def unknown_characters(text: str) -> list[str]:
    """Distinct characters of ``text`` outside the vocabulary, in order of first appearance."""
    seen: list[str] = []
    for char in text:
        if char not in _INDEX and char not in seen:
            seen.append(char)
    return seen


def decode(ids) -> str:
    """Text of ``ids``, stopping at the first ``</s>`` and skipping ``<pad>`` / ``<s>``."""
    chars = []
    for i in ids:
        i = int(i)
        if i == EOS:
            break
        if i in (PAD, BOS):
            continue
        chars.append(VOCAB[i] if 0 <= i < VOCAB_SIZE else SPECIALS[UNK])
    return "".join(chars)


def token_label(i: int) -> str:
    """How token ``i`` is shown on an axis (a space shows as '␣')."""
    token = VOCAB[int(i)]
    return "␣" if token == " " else token


def pad_batch(sequences: list[list[int]], pad: int = PAD) -> tuple[np.ndarray, np.ndarray]:
    """(N, T) int64 ids right-padded with ``pad``, and (N,) lengths."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    batch = np.full((len(sequences), int(lengths.max(initial=1))), pad, dtype=np.int64)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
    return batch, lengths


def target_ids(text: str) -> tuple[list[int], list[int]]:
    """Decoder input ``<s> + text`` and decoder target ``text + </s>`` for teacher forcing."""
    ids = encode(text)
    return [BOS] + ids, ids + [EOS]
