"""Head ablation: switch one attention head (or a whole layer) off and see the next-token distribution change.

A head's output is its slice of the input of the output projection (``o_proj``); a forward pre-hook sets
that slice to zero (:mod:`engine.attention.hooks`), so the head contributes nothing to the residual stream.
The batch carries one prompt per row: row 0 unchanged, every other row with a different head zeroed, so one
forward pass measures many ablations. The scan ablates each of the model's heads in turn (270 for SmolLM2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from engine.attention.hooks import Probe, model_parts, probing
from engine.attention.lens import Prediction, encode, top_predictions
from engine.core.validation import check_number

TOP_K = 10
# Heads per forward pass in the scan: 10 SmolLM2 layers, so 3 passes and a progress report after each. One pass of
# all 270 was ~1.3x faster on this CPU but reports nothing until the end (a 64-token prompt takes tens of
# seconds); 45 or 9 per pass were slower (benchmarks/bench_xray.py, docs/xray.md).
SCAN_BATCH_ROWS = 90
SIZES = (30, 9)  # SmolLM2's layers and heads, to refuse bad numbers before loading


@dataclass(frozen=True)
class Ablation:
    model_name: str
    tokens: tuple[str, ...]
    layer: int  # 1-based
    head: int  # 1-based; 0 = every head of the layer
    token: Prediction  # the top next token before ablation (probability before)
    probability_after: float  # that token's probability with the head off
    top_before: tuple[Prediction, ...]
    top_after: tuple[Prediction, ...]
    after_of_before: tuple[float, ...]  # the probability of each of top_before's tokens with the head off
    notes: tuple[str, ...] = ()

    def as_json(self) -> dict:
        def listed(predictions):
            return [{"token": p.token, "token_id": p.token_id, "probability": round(p.probability, 6)} for p in predictions]

        return {
            "model": self.model_name, "tokens": list(self.tokens), "layer": self.layer, "head": self.head,
            "token": self.token.token, "token_id": self.token.token_id,
            "probability_before": round(self.token.probability, 6), "probability_after": round(self.probability_after, 6),
            "top_k_before": listed(self.top_before), "top_k_after": listed(self.top_after), "notes": list(self.notes),
        }


@dataclass(frozen=True)
class AblationScan:
    model_name: str
    tokens: tuple[str, ...]
    token: Prediction  # the top next token with every head on
    after: np.ndarray  # (L, H) that token's probability with head (l, h) off
    new_top_ids: np.ndarray  # (L, H) the most likely next token with that head off
    new_top_tokens: tuple[tuple[str, ...], ...]  # the same as text
    seconds: float  # the whole scan (every forward pass)
    batches: int
    rows: int  # prompts run (heads + the unchanged one)

    @property
    def change(self) -> np.ndarray:
        """(L, H) change in the top token's probability (negative: the head was helping it)."""
        return self.after - self.token.probability


def check_layer_head(layer, head, layers: int, heads: int) -> tuple[int, int | None]:
    """0-based layer and head (None: the whole layer) from 1-based values; head 0 means the whole layer."""
    layer = int(check_number(layer, f"layer (this model has layers 1..{layers})", 1, layers, whole=True))
    head = int(check_number(head, f"head (1..{heads}, or 0 for every head of the layer)", 0, heads, whole=True))
    return layer - 1, None if head == 0 else head - 1


@torch.inference_mode()
def _run(model, token_ids: list[int], ablate: dict, rows: int) -> torch.Tensor:
    """(rows, vocab) float64 next-token probabilities, the prompt in every row, with ``ablate`` applied."""
    from engine.attention.decoder import forward_kwargs

    device = next(model.parameters()).device
    batch = torch.tensor([token_ids] * rows, device=device)
    with probing(model, Probe(ablate=ablate)):
        logits = model(input_ids=batch, use_cache=False, **forward_kwargs(model)).logits[:, -1]
    return torch.softmax(logits.double(), dim=-1)


def ablate_ids(decoder, token_ids: list[int], layer, head, notes=()) -> Ablation:
    """Zero head ``head`` (1-based; 0 = the whole layer) of 1-based ``layer`` and compare the next token."""
    from engine.attention.decoder import token_text

    parts = model_parts(decoder.model)
    layer0, head0 = check_layer_head(layer, head, parts.num_layers, parts.num_heads)
    probabilities = _run(decoder.model, token_ids, {layer0: [(1, head0)]}, rows=2)
    before, after = probabilities[0], probabilities[1]
    top_before = top_predictions(decoder.tokenizer, before, TOP_K)
    return Ablation(
        model_name=decoder.name, tokens=tuple(token_text(decoder.tokenizer, i) for i in token_ids),
        layer=layer0 + 1, head=0 if head0 is None else head0 + 1, token=top_before[0],
        probability_after=float(after[top_before[0].token_id]), top_before=top_before,
        top_after=top_predictions(decoder.tokenizer, after, TOP_K),
        after_of_before=tuple(float(after[p.token_id]) for p in top_before), notes=tuple(notes),
    )


def scan_ids(decoder, token_ids: list[int], batch_rows: int = SCAN_BATCH_ROWS,
             on_progress: Callable[[float, str], None] | None = None) -> AblationScan:
    """Ablate every head in turn (one batch row per head), ``batch_rows`` heads per forward pass."""
    from engine.attention.decoder import token_text

    model = decoder.model
    parts = model_parts(model)
    layers, heads = parts.num_layers, parts.num_heads
    every = [(layer, head) for layer in range(layers) for head in range(heads)]
    batch_rows = max(1, int(batch_rows))
    started = time.perf_counter()
    before = _run(model, token_ids, {}, rows=1)[0]
    top = top_predictions(decoder.tokenizer, before, 1)[0]
    after = np.zeros((layers, heads))
    winners = np.zeros((layers, heads), dtype=np.int64)
    chunks = [every[i : i + batch_rows] for i in range(0, len(every), batch_rows)]
    for index, chunk in enumerate(chunks):
        ablate: dict[int, list] = {}
        for row, (layer, head) in enumerate(chunk):
            ablate.setdefault(layer, []).append((row, head))
        probabilities = _run(model, token_ids, ablate, rows=len(chunk))
        for row, (layer, head) in enumerate(chunk):
            after[layer, head] = float(probabilities[row, top.token_id])
            winners[layer, head] = int(torch.argmax(probabilities[row]))
        if on_progress is not None:
            on_progress((index + 1) / len(chunks), f"{min(len(every), (index + 1) * batch_rows)} of {len(every)} heads")
    seconds = time.perf_counter() - started
    names = {int(i): token_text(decoder.tokenizer, int(i)) for i in np.unique(winners)}
    new_top_tokens = tuple(tuple(names[int(i)] for i in row) for row in winners)
    return AblationScan(decoder.name, tuple(token_text(decoder.tokenizer, i) for i in token_ids), top, after, winners,
                        new_top_tokens, seconds, len(chunks) + 1, len(every) + 1)


def _load(prompt: str):
    from engine.attention.decoder_load import load_decoder
    from engine.attention.decoder_settings import check_prompt

    check_prompt(prompt)
    decoder = load_decoder()
    ids, notes = encode(decoder, prompt)
    return decoder, ids, notes


def ablate(prompt: str, layer=1, head=1) -> Ablation:
    """The app's entry point for one ablation on SmolLM2 (1-based layer; head 1-based, 0 = the whole layer)."""
    check_layer_head(layer, head, *SIZES)  # before loading; checked again against the loaded model
    decoder, ids, notes = _load(prompt)
    return ablate_ids(decoder, ids, layer, head, notes)


def scan(prompt: str, on_progress: Callable[[float, str], None] | None = None) -> AblationScan:
    """The app's entry point for the scan of every head of SmolLM2."""
    decoder, ids, _ = _load(prompt)
    return scan_ids(decoder, ids, on_progress=on_progress)
