"""Reading (and, for ablation, editing) a transformer's own tensors with forward hooks.

The X-ray views (:mod:`engine.attention.qkv`, :mod:`engine.attention.lens`, :mod:`engine.attention.ablation`)
take every number from the model's own modules: the outputs of the query/key/value projections, the mask and
rotary embeddings the attention module receives, the per-head outputs that enter the output projection, and
each block's output. Hooks are registered only for the duration of one call (:func:`probing`) and act only
for the forward pass of the caller: a ``ContextVar`` names the active :class:`Probe`, so another request
running the same shared model in another thread (the Decoder's generation) passes through untouched, as
transformers' own output capture does. Two families are known: Llama-style decoders and BERT encoders.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field

import torch
from torch import nn

_ACTIVE: ContextVar["Probe | None"] = ContextVar("neurodeck_xray_probe", default=None)


@dataclass(frozen=True)
class Parts:
    """Where one model keeps the pieces the X-ray reads (lists indexed by 0-based layer)."""

    family: str  # "llama" (decoder, rotary, grouped-query) or "bert" (encoder)
    blocks: list[nn.Module]
    attention: list[nn.Module]  # receives the mask (and, for llama, the rotary cos/sin)
    q: list[nn.Linear]
    k: list[nn.Linear]
    v: list[nn.Linear]
    out: list[nn.Linear]  # mixes the heads: its input is the heads' outputs side by side
    num_heads: int
    num_kv_heads: int
    head_dim: int
    scale: float  # the scores' factor, 1/sqrt(head_dim)

    @property
    def num_layers(self) -> int:
        return len(self.blocks)


def model_parts(model: nn.Module) -> Parts:
    """The X-ray's view of a Llama-style causal LM (``model.model.layers``) or a BERT (``encoder.layer``)."""
    config = model.config
    heads = int(config.num_attention_heads)
    base = getattr(model, "model", None)
    if base is not None and hasattr(base, "layers") and hasattr(base.layers[0], "self_attn"):
        blocks = list(base.layers)
        attn = [block.self_attn for block in blocks]
        first = attn[0]
        head_dim = int(first.head_dim)
        return Parts("llama", blocks, attn, [a.q_proj for a in attn], [a.k_proj for a in attn], [a.v_proj for a in attn],
                     [a.o_proj for a in attn], heads, int(getattr(config, "num_key_value_heads", None) or heads), head_dim,
                     float(first.scaling))
    bert = getattr(model, "bert", model)
    encoder = getattr(bert, "encoder", None)
    if encoder is not None and hasattr(encoder, "layer") and hasattr(encoder.layer[0].attention, "self"):
        blocks = list(encoder.layer)
        attn = [block.attention.self for block in blocks]
        head_dim = int(attn[0].attention_head_size)
        return Parts("bert", blocks, attn, [a.query for a in attn], [a.key for a in attn], [a.value for a in attn],
                     [block.attention.output.dense for block in blocks], heads, heads, head_dim, float(attn[0].scaling))
    raise ValueError(f"The X-ray reads Llama-style decoders and BERT encoders; {type(model).__name__} is neither.")


@dataclass
class Probe:
    """What one forward pass should record and change.

    ``layers``: 0-based layers whose q/k/v, attention inputs and head outputs are recorded.
    ``blocks``: record every block's output (the residual stream after the block).
    ``ablate``: 0-based layer -> [(batch row, 0-based head or None for every head)]: that slice of the heads'
    outputs is set to zero before the output projection, in that batch row only.
    """

    layers: frozenset[int] = frozenset()
    blocks: bool = False
    ablate: dict[int, list[tuple[int, int | None]]] = field(default_factory=dict)
    records: dict = field(default_factory=dict)  # (what, layer) -> tensor or dict, filled by the hooks

    def active(self) -> bool:
        return _ACTIVE.get() is self


def _record_output(probe: Probe, key):
    def hook(module, args, output):
        if probe.active():
            probe.records[key] = (output[0] if isinstance(output, tuple) else output).detach()
    return hook


def _record_attention_inputs(probe: Probe, layer: int):
    def hook(module, args, kwargs):
        if probe.active():
            probe.records[("attention", layer)] = {
                "mask": kwargs.get("attention_mask"),
                "position_embeddings": kwargs.get("position_embeddings"),
            }
    return hook


def _heads_in(probe: Probe, layer: int, head_dim: int):
    """Pre-hook on the output projection: record its input (the heads' outputs) and apply the ablations."""
    def hook(module, args):
        if not probe.active():
            return None
        heads = args[0]
        zeroed = probe.ablate.get(layer)
        if zeroed:
            heads = heads.clone()
            for row, head in zeroed:
                if head is None:
                    heads[row] = 0.0
                else:
                    heads[row, ..., head * head_dim : (head + 1) * head_dim] = 0.0
        if layer in probe.layers:
            probe.records[("heads", layer)] = heads.detach()
        return (heads, *args[1:]) if zeroed else None
    return hook


@contextlib.contextmanager
def probing(model: nn.Module, probe: Probe):
    """Run the body's forward passes with ``probe`` active (this thread/context only); hooks removed after."""
    parts = model_parts(model)
    handles = []
    try:
        for layer in sorted(probe.layers):
            for what, module in (("q", parts.q[layer]), ("k", parts.k[layer]), ("v", parts.v[layer])):
                handles.append(module.register_forward_hook(_record_output(probe, (what, layer))))
            handles.append(parts.attention[layer].register_forward_pre_hook(
                _record_attention_inputs(probe, layer), with_kwargs=True))
        for layer in sorted(set(probe.layers) | set(probe.ablate)):
            handles.append(parts.out[layer].register_forward_pre_hook(_heads_in(probe, layer, parts.head_dim)))
        if probe.blocks:
            for layer, block in enumerate(parts.blocks):
                handles.append(block.register_forward_hook(_record_output(probe, ("block", layer))))
        token = _ACTIVE.set(probe)
        try:
            with torch.inference_mode():
                yield probe
        finally:
            _ACTIVE.reset(token)
    finally:
        for handle in handles:
            handle.remove()
