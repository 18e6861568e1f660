"""Three encoder-decoders over the character vocabulary, in NeuroDeck's save format.

* :class:`GRUSeq2Seq` - a bidirectional GRU encoder squeezes the whole source into one vector,
  a GRU decoder writes the target from it (Cho et al. 2014; no attention).
* :class:`AttentionGRUSeq2Seq` - the same encoder; the decoder re-reads every encoder state at
  every step through Bahdanau's additive attention (Bahdanau, Cho & Bengio 2015).
* :class:`TransformerSeq2Seq` - a small pre-LN transformer encoder-decoder with sinusoidal
  positions; it exposes encoder self-attention, decoder causal self-attention and cross-attention.

All three are diffusers ``ModelMixin`` + ``ConfigMixin`` models (``save_pretrained`` writes
``config.json`` + ``diffusion_pytorch_model.safetensors``). They share one interface:
``forward(src, src_lengths, tgt_in, return_attention)`` for teacher forcing and
``start`` / ``step`` for incremental greedy decoding (:mod:`.inference`).
Weights are initialised from a private ``torch.Generator`` (:func:`init_weights`), never the global RNG.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from engine.attention.seq2seq.tokens import PAD, VOCAB_SIZE
from engine.core.seeding import torch_generator

NEG_INF = float("-inf")


def source_mask(src: torch.Tensor) -> torch.Tensor:
    """(B, Ts) bool, True on real source characters."""
    return src != PAD


def causal_mask(length: int, device=None) -> torch.Tensor:
    """(T, T) bool, True where query i may see key j (j <= i)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


class _Seq2SeqMixin:
    """What every model here has in common."""

    kind: str  # "rnn" | "rnn_attention" | "transformer"
    has_attention: bool

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


# --------------------------------------------------------------------------------------------- GRUs
class _GRUEncoder(nn.Module):
    """Embedding + bidirectional GRU; returns annotations (B, Ts, 2H) and a summary (B, 2H)."""

    def __init__(self, vocab_size: int, embed_dim: int, hidden: int):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.gru = nn.GRU(embed_dim, hidden, batch_first=True, bidirectional=True)

    def forward(self, src: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embed(src), lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False
        )
        out, final = self.gru(packed)
        annotations, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        # final: (2, B, H): the forward GRU after the last character, the backward one after the first.
        summary = torch.cat([final[0], final[1]], dim=-1)
        return annotations, summary


class GRUSeq2Seq(_Seq2SeqMixin, ModelMixin, ConfigMixin):
    """GRU encoder-decoder without attention: the source reaches the decoder as ONE vector.

    The summary vector initialises the decoder and is fed again at every step (Cho et al. 2014),
    which is the most this architecture can do; it still has to fit the whole source in 2H numbers.
    """

    kind = "rnn"
    has_attention = False

    @register_to_config
    def __init__(self, vocab_size: int = VOCAB_SIZE, embed_dim: int = 64, encoder_hidden: int = 64,
                 decoder_hidden: int = 128):
        super().__init__()
        self.encoder = _GRUEncoder(vocab_size, embed_dim, encoder_hidden)
        self.bridge = nn.Linear(2 * encoder_hidden, decoder_hidden)
        self.target_embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.cell = nn.GRUCell(embed_dim + 2 * encoder_hidden, decoder_hidden)
        self.out = nn.Linear(decoder_hidden + 2 * encoder_hidden + embed_dim, vocab_size)

    def start(self, src: torch.Tensor, lengths: torch.Tensor) -> dict:
        _, summary = self.encoder(src, lengths)
        return {"context": summary, "hidden": torch.tanh(self.bridge(summary))}

    def step(self, state: dict, token: torch.Tensor) -> tuple[torch.Tensor, dict, None]:
        embedded = self.target_embed(token)
        hidden = self.cell(torch.cat([embedded, state["context"]], -1), state["hidden"])
        logits = self.out(torch.cat([hidden, state["context"], embedded], -1))
        return logits, {**state, "hidden": hidden}, None

    def forward(self, src, src_lengths, tgt_in, return_attention: bool = False):
        state = self.start(src, src_lengths)
        logits = []
        for t in range(tgt_in.shape[1]):
            step_logits, state, _ = self.step(state, tgt_in[:, t])
            logits.append(step_logits)
        logits = torch.stack(logits, 1)
        return (logits, {}) if return_attention else logits


class AttentionGRUSeq2Seq(_Seq2SeqMixin, ModelMixin, ConfigMixin):
    """GRU encoder-decoder with Bahdanau (additive) attention.

    At each step: e_j = v . tanh(W s_{t-1} + U h_j), a = softmax(e) over real source characters,
    c_t = sum_j a_j h_j; the GRU reads [y_{t-1}; c_t]; the output layer reads [s_t; c_t; y_{t-1}].
    """

    kind = "rnn_attention"
    has_attention = True

    @register_to_config
    def __init__(self, vocab_size: int = VOCAB_SIZE, embed_dim: int = 64, encoder_hidden: int = 64,
                 decoder_hidden: int = 128, attention_dim: int = 64):
        super().__init__()
        self.encoder = _GRUEncoder(vocab_size, embed_dim, encoder_hidden)
        self.bridge = nn.Linear(2 * encoder_hidden, decoder_hidden)
        self.target_embed = nn.Embedding(vocab_size, embed_dim, padding_idx=PAD)
        self.query_proj = nn.Linear(decoder_hidden, attention_dim, bias=False)  # W
        self.key_proj = nn.Linear(2 * encoder_hidden, attention_dim)  # U (its bias is the additive bias)
        self.energy = nn.Linear(attention_dim, 1, bias=False)  # v
        self.cell = nn.GRUCell(embed_dim + 2 * encoder_hidden, decoder_hidden)
        self.out = nn.Linear(decoder_hidden + 2 * encoder_hidden + embed_dim, vocab_size)

    def start(self, src: torch.Tensor, lengths: torch.Tensor) -> dict:
        annotations, summary = self.encoder(src, lengths)
        return {
            "annotations": annotations,
            "keys": self.key_proj(annotations),  # computed once per source
            "mask": source_mask(src),
            "hidden": torch.tanh(self.bridge(summary)),
        }

    def attend(self, state: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Context (B, 2H) and weights (B, Ts) from the previous decoder state."""
        energies = self.energy(torch.tanh(self.query_proj(state["hidden"])[:, None] + state["keys"])).squeeze(-1)
        weights = torch.softmax(energies.masked_fill(~state["mask"], NEG_INF), dim=-1)
        return torch.bmm(weights[:, None], state["annotations"]).squeeze(1), weights

    def step(self, state: dict, token: torch.Tensor) -> tuple[torch.Tensor, dict, torch.Tensor]:
        embedded = self.target_embed(token)
        context, weights = self.attend(state)
        hidden = self.cell(torch.cat([embedded, context], -1), state["hidden"])
        logits = self.out(torch.cat([hidden, context, embedded], -1))
        return logits, {**state, "hidden": hidden}, weights

    def forward(self, src, src_lengths, tgt_in, return_attention: bool = False):
        state = self.start(src, src_lengths)
        logits, weights = [], []
        for t in range(tgt_in.shape[1]):
            step_logits, state, step_weights = self.step(state, tgt_in[:, t])
            logits.append(step_logits)
            weights.append(step_weights)
        logits = torch.stack(logits, 1)
        if return_attention:
            return logits, {"cross": torch.stack(weights, 1)}  # (B, Tt, Ts)
        return logits


# -------------------------------------------------------------------------------------- transformer
def sinusoidal_positions(length: int, dim: int) -> torch.Tensor:
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class MultiHeadAttention(nn.Module):
    """Plain scaled dot-product attention that returns its weights (B, heads, Tq, Tk)."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"model_dim {dim} must be divisible by num_heads {heads}.")
        self.heads, self.head_dim = heads, dim // heads
        self.query, self.key, self.value, self.output = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``mask``: bool, broadcastable to (B, Tq, Tk), True where a query may look."""
        b, tq, _ = x.shape
        tk = memory.shape[1]
        q = self.query(x).view(b, tq, self.heads, self.head_dim).transpose(1, 2)
        k = self.key(memory).view(b, tk, self.heads, self.head_dim).transpose(1, 2)
        v = self.value(memory).view(b, tk, self.heads, self.head_dim).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        weights = torch.softmax(scores.masked_fill(~mask[:, None], NEG_INF), dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(b, tq, -1)
        return self.output(out), weights


class _FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int):
        super().__init__(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))


class EncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ff: int):
        super().__init__()
        self.self_norm, self.self_attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.ff_norm, self.ff = nn.LayerNorm(dim), _FeedForward(dim, ff)

    def forward(self, x, mask):
        h = self.self_norm(x)
        attended, weights = self.self_attn(h, h, mask)
        x = x + attended
        return x + self.ff(self.ff_norm(x)), weights


class DecoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int, ff: int):
        super().__init__()
        self.self_norm, self.self_attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.cross_norm, self.cross_attn = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.ff_norm, self.ff = nn.LayerNorm(dim), _FeedForward(dim, ff)

    def forward(self, y, memory, self_mask, cross_mask):
        h = self.self_norm(y)
        attended, self_weights = self.self_attn(h, h, self_mask)
        y = y + attended
        attended, cross_weights = self.cross_attn(self.cross_norm(y), memory, cross_mask)
        y = y + attended
        return y + self.ff(self.ff_norm(y)), self_weights, cross_weights


class TransformerSeq2Seq(_Seq2SeqMixin, ModelMixin, ConfigMixin):
    """Small pre-LN transformer encoder-decoder (default 2+2 layers, 4 heads, width 64)."""

    kind = "transformer"
    has_attention = True

    @register_to_config
    def __init__(self, vocab_size: int = VOCAB_SIZE, model_dim: int = 64, num_heads: int = 4, ff_dim: int = 256,
                 encoder_layers: int = 2, decoder_layers: int = 2, max_positions: int = 128):
        super().__init__()
        self.source_embed = nn.Embedding(vocab_size, model_dim, padding_idx=PAD)
        self.target_embed = nn.Embedding(vocab_size, model_dim, padding_idx=PAD)
        self.register_buffer("positions", sinusoidal_positions(max_positions, model_dim), persistent=False)
        self.encoder = nn.ModuleList(EncoderLayer(model_dim, num_heads, ff_dim) for _ in range(encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(model_dim, num_heads, ff_dim) for _ in range(decoder_layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(model_dim), nn.LayerNorm(model_dim)
        self.out = nn.Linear(model_dim, vocab_size)
        self.scale = math.sqrt(model_dim)

    def _embed(self, table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        if ids.shape[1] > self.positions.shape[0]:
            raise ValueError(f"Sequence of {ids.shape[1]} tokens is longer than max_positions={self.positions.shape[0]}.")
        return table(ids) * self.scale + self.positions[: ids.shape[1]]

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        mask = source_mask(src)[:, None, :]  # (B, 1, Ts): padding is never attended to
        x = self._embed(self.source_embed, src)
        weights = []
        for layer in self.encoder:
            x, w = layer(x, mask)
            weights.append(w)
        return self.encoder_norm(x), mask, weights

    def decode(self, memory, memory_mask, tgt_in):
        y = self._embed(self.target_embed, tgt_in)
        self_mask = causal_mask(tgt_in.shape[1], tgt_in.device)[None]
        self_weights, cross_weights = [], []
        for layer in self.decoder:
            y, sw, cw = layer(y, memory, self_mask, memory_mask)
            self_weights.append(sw)
            cross_weights.append(cw)
        return self.out(self.decoder_norm(y)), self_weights, cross_weights

    def forward(self, src, src_lengths=None, tgt_in=None, return_attention: bool = False):
        memory, mask, encoder_weights = self.encode(src)
        logits, self_weights, cross_weights = self.decode(memory, mask, tgt_in)
        if not return_attention:
            return logits
        return logits, {
            "encoder_self": torch.stack(encoder_weights, 1),  # (B, L, H, Ts, Ts)
            "decoder_self": torch.stack(self_weights, 1),  # (B, L, H, Tt, Tt)
            "cross": torch.stack(cross_weights, 1),  # (B, L, H, Tt, Ts)
        }

    def start(self, src: torch.Tensor, lengths: torch.Tensor) -> dict:
        memory, mask, _ = self.encode(src)
        return {"memory": memory, "mask": mask, "prefix": src.new_zeros(src.shape[0], 0)}

    def step(self, state: dict, token: torch.Tensor) -> tuple[torch.Tensor, dict, torch.Tensor]:
        # Re-decodes the whole prefix each step: targets are short and the decoder is causal, so
        # the result equals a cached decoder's, with less code.
        prefix = torch.cat([state["prefix"], token[:, None]], 1)
        logits, _, cross = self.decode(state["memory"], state["mask"], prefix)
        return logits[:, -1], {**state, "prefix": prefix}, cross[-1][:, :, -1]


MODEL_CLASSES = {cls.kind: cls for cls in (GRUSeq2Seq, AttentionGRUSeq2Seq, TransformerSeq2Seq)}
MODEL_KINDS = tuple(MODEL_CLASSES)  # ("rnn", "rnn_attention", "transformer")


@torch.no_grad()
def init_weights(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise every parameter from ``generator``: Xavier for matrices, zeros for biases.

    Layer-norm scales stay at one. Nothing touches the global RNG, so two users' runs never
    disturb each other and a seed always gives the same model.
    """
    for name, parameter in model.named_parameters():
        if parameter.dim() >= 2:
            nn.init.xavier_uniform_(parameter, generator=generator)
        elif "norm" not in name:
            parameter.zero_()
    return model


def build_model(kind: str, seed: int = 0, **config) -> nn.Module:
    """A freshly initialised model of ``kind`` ("rnn", "rnn_attention", "transformer")."""
    cls = MODEL_CLASSES.get(kind)
    if cls is None:
        raise ValueError(f"Unknown model {kind!r}; use one of {', '.join(MODEL_KINDS)}.")
    model = cls(**config)
    return init_weights(model, torch_generator(seed))


def load_model(folder: str | Path) -> nn.Module:
    """Load a saved model of any of the three kinds from ``folder`` (its config names the class)."""
    folder = Path(folder)
    class_name = json.loads((folder / "config.json").read_text())["_class_name"]
    for cls in MODEL_CLASSES.values():
        if cls.__name__ == class_name:
            model = cls.from_pretrained(folder, use_safetensors=True)
            return model.eval()
    raise ValueError(f"{folder} holds a {class_name}, which is not a seq2seq model NeuroDeck knows.")


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean token cross-entropy, ignoring padding."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=PAD)
