"""The logit lens: what the decoder would predict if it stopped after each layer.

Each block's output at one position (the residual stream, recorded with a hook on the block,
:mod:`engine.attention.hooks`) goes through the model's own final norm and LM head, and a softmax gives a
next-token distribution per layer. After the last block this is exactly the model's own prediction (the
same modules on the same tensor); the earlier layers show the answer forming (nostalgebraist 2020).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.attention.decoder import Candidate as Prediction  # (token, token_id, probability), as generation shows it
from engine.attention.decoder import token_text
from engine.attention.hooks import Probe, model_parts, probing
from engine.core.validation import check_number

DEFAULT_TOP_K = 5
MAX_TOP_K = 20


@dataclass(frozen=True)
class LogitLens:
    model_name: str
    tokens: tuple[str, ...]  # the prompt's tokens
    position: int  # 0-based position read (the prediction is for the token after it)
    top: tuple[tuple[Prediction, ...], ...]  # per layer 1..L, the top-k, most likely first
    final: Prediction  # the model's own most likely next token
    final_by_layer: tuple[float, ...]  # per layer, the probability of ``final``'s token
    max_difference: float  # max |last layer's distribution - softmax of the model's own logits|
    notes: tuple[str, ...] = ()

    @property
    def num_layers(self) -> int:
        return len(self.top)

    def as_json(self) -> dict:
        return {
            "model": self.model_name,
            "tokens": list(self.tokens),
            "position": self.position,
            "layers": [
                {"layer": layer + 1,
                 "top_k": [{"token": p.token, "token_id": p.token_id, "probability": round(p.probability, 6)} for p in top]}
                for layer, top in enumerate(self.top)
            ],
            "final_token": {"token": self.final.token, "token_id": self.final.token_id,
                            "probability_by_layer": [round(p, 6) for p in self.final_by_layer]},
            "max_abs_difference_last_layer": self.max_difference,
            "notes": list(self.notes),
        }


def check_position(position, count: int) -> int:
    """0-based position from -count..count-1 (-1 = the last token)."""
    value = int(check_number(position, f"position (this prompt has tokens 0..{count - 1}; -1 = the last)", -count,
                             count - 1, whole=True, default=-1))
    return value % count


def top_predictions(tokenizer, probabilities: torch.Tensor, count: int) -> tuple[Prediction, ...]:

    values, indices = torch.topk(probabilities, count)
    return tuple(Prediction(token_text(tokenizer, i), int(i), float(v)) for v, i in zip(values.tolist(), indices.tolist()))


@torch.inference_mode()
def logit_lens_ids(decoder, token_ids: list[int], position: int = -1, top_k: int = DEFAULT_TOP_K, notes=()) -> LogitLens:
    """The lens on an already loaded decoder (``position`` 0-based or negative, ``top_k`` 1..MAX_TOP_K)."""

    count = len(token_ids)
    position = check_position(position, count)
    top_k = int(check_number(top_k, f"top_k (1..{MAX_TOP_K})", 1, MAX_TOP_K, whole=True, default=DEFAULT_TOP_K))
    model = decoder.model
    parts = model_parts(model)
    if parts.family != "llama":
        raise ValueError("The logit lens reads Llama-style decoders (a final norm and an LM head).")
    probe = Probe(blocks=True)
    device = next(model.parameters()).device
    with probing(model, probe):
        output = model(input_ids=torch.tensor([token_ids], device=device), use_cache=False)
    hidden = torch.stack([probe.records[("block", layer)][0, position] for layer in range(parts.num_layers)])
    logits = model.lm_head(model.model.norm(hidden))  # the model's own final norm and LM head
    probabilities = torch.softmax(logits.double(), dim=-1)
    own = torch.softmax(output.logits[0, position].double(), dim=-1)
    final_id = int(torch.argmax(own))
    return LogitLens(
        model_name=decoder.name,
        tokens=tuple(token_text(decoder.tokenizer, i) for i in token_ids),
        position=position,
        top=tuple(top_predictions(decoder.tokenizer, row, top_k) for row in probabilities),
        final=Prediction(token_text(decoder.tokenizer, final_id), final_id, float(own[final_id])),
        final_by_layer=tuple(float(p) for p in probabilities[:, final_id]),
        max_difference=float((probabilities[-1] - own).abs().max()),
        notes=tuple(notes),
    )


def encode(decoder, prompt: str) -> tuple[list[int], list[str]]:
    """The prompt's token ids as the Decoder view feeds them (no chat template), and notes on cutting."""
    from engine.attention.decoder import encode_prompt
    from engine.attention.decoder_settings import check_prompt

    text, notes = check_prompt(prompt)
    _, ids, more = encode_prompt(decoder, text, chat=False)
    return ids, notes + more


def logit_lens(prompt: str, position=-1, top_k=DEFAULT_TOP_K) -> LogitLens:
    """The app's entry point: validate, load SmolLM2 once per process (registry), read the lens."""
    from engine.attention.decoder_load import load_decoder
    from engine.attention.decoder_settings import check_prompt

    from engine.attention.decoder_settings import MAX_PROMPT_TOKENS

    check_prompt(prompt)
    most = MAX_PROMPT_TOKENS + 2  # refused before loading; checked again against the prompt's own tokens
    check_number(position, "position (a token index, -1 = the last token)", -most, most - 1, whole=True, default=-1)
    check_number(top_k, f"top_k (1..{MAX_TOP_K})", 1, MAX_TOP_K, whole=True, default=DEFAULT_TOP_K)
    decoder = load_decoder()
    ids, notes = encode(decoder, prompt)
    return logit_lens_ids(decoder, ids, position, top_k, notes)


def lens_matrix(lens: LogitLens) -> np.ndarray:
    """(L, k) probabilities of each layer's top-k (for drawing)."""
    return np.array([[p.probability for p in top] for top in lens.top])
