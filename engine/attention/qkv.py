"""Q, K and V step by step: how one attention head turns its input into its output.

One forward pass with hooks (:mod:`engine.attention.hooks`) records, for every layer, the outputs of the
model's own query, key and value projections, the mask and rotary embeddings the attention module received,
and the heads' outputs as they enter the output projection. A head's computation is then read from them:

    scores = q · kᵀ / √d     weights = softmax(scores + mask)     output = weights · v

For a Llama-style decoder (SmolLM2) q and k are rotated by the rotary position embedding (RoPE) first, with
the model module's own ``apply_rotary_pos_emb`` and the cos/sin its attention module received, and several
query heads share one key/value head (grouped-query attention). The weights computed here are compared with
the model's ``output_attentions`` and the weighted sum with the heads' outputs the model itself produced.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import torch

from engine.attention.hooks import Probe, model_parts, probing
from engine.core.validation import check_number, clean_text

MODELS = ("minilm", "smollm2")
SIZES = {"minilm": (6, 12), "smollm2": (30, 9)}  # (layers, heads) of the embedded models
MAX_TOKENS = 64  # as the Text and Decoder views


@dataclass(frozen=True)
class QKVCapture:
    """Everything one forward pass recorded, for every layer and head (float32 numpy arrays)."""

    model_key: str  # "minilm" or "smollm2"
    model_name: str
    family: str  # "bert" or "llama"
    tokens: tuple[str, ...]
    q_raw: np.ndarray  # (L, H, T, d) the query projection's output per head (before RoPE)
    k_raw: np.ndarray  # (L, KV, T, d)
    q: np.ndarray  # (L, H, T, d) as the scores use it (after RoPE for llama; the same as q_raw for bert)
    k: np.ndarray  # (L, KV, T, d)
    v: np.ndarray  # (L, KV, T, d)
    mask: np.ndarray  # (T, T) float64 the model added to the scores: 0, or -inf where a key is hidden
    heads: np.ndarray  # (L, H, T, d) the heads' outputs as the model fed them to its output projection
    attentions: np.ndarray  # (L, H, T, T) the model's output_attentions
    scale: float  # 1/sqrt(d)
    notes: tuple[str, ...] = ()

    @property
    def num_layers(self) -> int:
        return self.q.shape[0]

    @property
    def num_heads(self) -> int:
        return self.q.shape[1]

    @property
    def num_kv_heads(self) -> int:
        return self.k.shape[1]

    @property
    def head_dim(self) -> int:
        return self.q.shape[-1]

    @property
    def rotary(self) -> bool:
        return self.family == "llama"

    def kv_head(self, head: int) -> int:
        """0-based key/value head that serves 0-based query ``head`` (grouped-query attention)."""
        return head // (self.num_heads // self.num_kv_heads)

    def check_layer_head(self, layer, head) -> tuple[int, int]:
        """0-based (layer, head) from 1-based values; refuses what the model does not have."""
        layer = check_number(layer, f"layer ({self.model_name} has layers 1..{self.num_layers})", 1, self.num_layers, whole=True)
        head = check_number(head, f"head ({self.model_name} has heads 1..{self.num_heads})", 1, self.num_heads, whole=True)
        return int(layer) - 1, int(head) - 1

    def head(self, layer: int, head: int) -> "HeadComputation":
        """The computation of 0-based ``head`` in 0-based ``layer``."""
        kv = self.kv_head(head)
        q, k, v = (np.asarray(x, dtype=np.float64) for x in (self.q[layer, head], self.k[layer, kv], self.v[layer, kv]))
        scores = q @ k.T * self.scale
        shifted = scores + self.mask
        shifted -= shifted.max(axis=-1, keepdims=True)
        weights = np.exp(shifted)
        weights /= weights.sum(axis=-1, keepdims=True)
        return HeadComputation(
            capture=self, layer=layer, head=head, kv_head=kv, q=q, k=k, v=v,
            q_raw=np.asarray(self.q_raw[layer, head], dtype=np.float64), k_raw=np.asarray(self.k_raw[layer, kv], dtype=np.float64),
            scores=scores, weights=weights, model_weights=np.asarray(self.attentions[layer, head], dtype=np.float64),
            weighted_sum=weights @ v, output=np.asarray(self.heads[layer, head], dtype=np.float64),
        )


@dataclass(frozen=True)
class HeadComputation:
    """One head's computation, every query at once (rows are queries, 0-based layer / head / kv_head)."""

    capture: QKVCapture
    layer: int
    head: int
    kv_head: int
    q: np.ndarray  # (T, d) as the scores use it
    k: np.ndarray  # (T, d)
    v: np.ndarray  # (T, d)
    q_raw: np.ndarray  # (T, d) before RoPE
    k_raw: np.ndarray  # (T, d)
    scores: np.ndarray  # (T, T) q · kᵀ / √d, before the mask
    weights: np.ndarray  # (T, T) softmax(scores + mask), computed here
    model_weights: np.ndarray  # (T, T) the model's output_attentions
    weighted_sum: np.ndarray  # (T, d) weights · v, computed here
    output: np.ndarray  # (T, d) the head's output as the model computed it

    @property
    def masked(self) -> np.ndarray:
        """(T, T) True where the mask hides key j from query i."""
        return np.isneginf(self.capture.mask)

    @property
    def weight_difference(self) -> float:
        """max |softmax(q·kᵀ/√d + mask) − output_attentions| over every query and key."""
        return float(np.abs(self.weights - self.model_weights).max())

    @property
    def output_difference(self) -> float:
        """max |weights · v − the model's own head output|."""
        return float(np.abs(self.weighted_sum - self.output).max())

    def as_json(self, digits: int = 6) -> dict:
        """The API payload (1-based layer, head and kv_head)."""
        capture = self.capture

        def rounded(array) -> list:
            return np.round(np.asarray(array, dtype=np.float64), digits).tolist()

        payload = {
            "model": capture.model_name,
            "tokens": list(capture.tokens),
            "layer": self.layer + 1,
            "head": self.head + 1,
            "kv_head": self.kv_head + 1,
            "q": rounded(self.q),
            "k": rounded(self.k),
            "v": rounded(self.v),
            "scores": rounded(self.scores),
            "masked": self.masked.tolist(),
            "weights": rounded(self.model_weights),
            "output": rounded(self.output),
            "check": {
                "max_abs_difference_weights": self.weight_difference,
                "max_abs_difference_output": self.output_difference,
            },
            "notes": list(capture.notes),
        }
        if capture.rotary:
            payload["q_before_rope"] = rounded(self.q_raw)
            payload["k_before_rope"] = rounded(self.k_raw)
        return payload


def _additive_mask(mask, count: int) -> np.ndarray:
    """The mask the attention module received, as (T, T) float64: 0 where visible, -inf where hidden."""
    if mask is None:
        return np.zeros((count, count))
    mask = mask.detach()
    while mask.dim() > 2:
        mask = mask[0]
    mask = mask[-count:, -count:]
    if mask.dtype == torch.bool:  # True = may attend
        return np.where(mask.cpu().numpy(), 0.0, -np.inf)
    values = mask.double().cpu().numpy()
    # The eager mask uses the dtype's lowest value, not -inf: softmax gives exactly 0 either way.
    return np.where(values <= torch.finfo(mask.dtype).min / 2, -np.inf, values)


@torch.inference_mode()
def capture_ids(model, token_ids: list[int], tokens, model_key: str, model_name: str, notes=()) -> QKVCapture:
    """Run ``model`` once on ``token_ids`` and record every layer's q, k, v, mask and head outputs."""
    parts = model_parts(model)
    count = len(token_ids)
    device = next(model.parameters()).device
    probe = Probe(layers=frozenset(range(parts.num_layers)))
    extra = {}
    if parts.family == "llama":
        from engine.attention.decoder import forward_kwargs

        extra = {"use_cache": False, **forward_kwargs(model)}
    with probing(model, probe):
        output = model(input_ids=torch.tensor([token_ids], device=device), output_attentions=True, **extra)
    records = probe.records
    heads, kv, d = parts.num_heads, parts.num_kv_heads, parts.head_dim

    def per_head(tensor, n):  # (1, T, n*d) -> (1, n, T, d)
        return tensor.reshape(1, count, n, d).transpose(1, 2)

    q_raw, k_raw, q_all, k_all, v_all, outs = [], [], [], [], [], []
    rotate = getattr(sys.modules[type(parts.attention[0]).__module__], "apply_rotary_pos_emb", None)
    for layer in range(parts.num_layers):
        q = per_head(records[("q", layer)], heads)
        k = per_head(records[("k", layer)], kv)
        q_raw.append(q[0])
        k_raw.append(k[0])
        if parts.family == "llama":
            cos, sin = records[("attention", layer)]["position_embeddings"]
            q, k = rotate(q, k, cos, sin)
        q_all.append(q[0])
        k_all.append(k[0])
        v_all.append(per_head(records[("v", layer)], kv)[0])
        outs.append(per_head(records[("heads", layer)], heads)[0])

    def stack(items):
        return torch.stack(items).float().cpu().numpy()

    return QKVCapture(
        model_key=model_key, model_name=model_name, family=parts.family, tokens=tuple(tokens),
        q_raw=stack(q_raw), k_raw=stack(k_raw), q=stack(q_all), k=stack(k_all), v=stack(v_all),
        mask=_additive_mask(records[("attention", 0)]["mask"], count), heads=stack(outs),
        attentions=torch.stack([a[0] for a in output.attentions]).float().cpu().numpy(), scale=parts.scale,
        notes=tuple(notes),
    )


def capture_text_model(text_model, text: str, model_key: str = "minilm") -> QKVCapture:
    """:func:`capture_ids` for an encoder from :mod:`engine.attention.text` (one sentence, special tokens added)."""
    from engine.attention.text import _display_token

    cleaned = clean_text(text, field="text")
    notes = [f"The text was cut from {cleaned.original_chars:,} to {len(cleaned.text):,} characters."] if cleaned.was_cut else []
    ids = text_model.tokenizer(cleaned.text)["input_ids"]
    if len(ids) > MAX_TOKENS:
        notes.append(f"The text has {len(ids)} tokens; only the first {MAX_TOKENS} are used.")
        ids = ids[: MAX_TOKENS - 1] + ids[-1:]  # keep the closing [SEP]
    tokens = [_display_token(t) for t in text_model.tokenizer.convert_ids_to_tokens(ids)]
    return capture_ids(text_model.model, ids, tokens, model_key, text_model.name, notes)


def capture_decoder(decoder, text: str, model_key: str = "smollm2") -> QKVCapture:
    """:func:`capture_ids` for a decoder from :mod:`engine.attention.decoder_load` (the prompt as typed, no chat template)."""
    from engine.attention.decoder import encode_prompt, token_text
    from engine.attention.decoder_settings import check_prompt

    prompt, notes = check_prompt(text)
    _, ids, prompt_notes = encode_prompt(decoder, prompt, chat=False)
    tokens = [token_text(decoder.tokenizer, i) for i in ids]
    return capture_ids(decoder.model, ids, tokens, model_key, decoder.name, notes + prompt_notes)


def check_model(model) -> str:
    key = str(model or "minilm").strip().lower()
    if key not in MODELS:
        raise ValueError(f"model must be \"minilm\" (the Text view's encoder) or \"smollm2\" (the Decoder's); got {str(model)[:80]!r}.")
    return key


def capture(text: str, model: str = "minilm") -> QKVCapture:
    """The app's entry point: validate, load the model once per process (registry), record."""
    key = check_model(model)
    if key == "minilm":
        clean_text(text, field="text")  # refuse empty text before loading anything
        from engine.attention.text import load_text_model

        return capture_text_model(load_text_model(None), text, key)
    from engine.attention.decoder_load import load_decoder
    from engine.attention.decoder_settings import check_prompt

    check_prompt(text)
    return capture_decoder(load_decoder(), text, key)


def head_computation(text: str, layer=1, head=1, model: str = "minilm") -> HeadComputation:
    """One head's computation on ``text`` (1-based ``layer`` and ``head``)."""
    key = check_model(model)
    layers, heads = SIZES[key]  # refused before loading; checked again against the loaded model
    check_number(layer, f"layer ({key} has layers 1..{layers})", 1, layers, whole=True)
    check_number(head, f"head ({key} has heads 1..{heads})", 1, heads, whole=True)
    result = capture(text, key)
    return result.head(*result.check_layer_head(layer, head))
