"""Translate one date with the committed models: output, attention, what-if prefix, API payload.

:func:`translate` validates the text, decodes greedily (optionally forcing the first output
characters), then re-runs the decoder on its own output with teacher forcing to read the
attention of every step. Inputs that are not dates the models were trained on still get the
model's output, marked as a best guess with the reason (:func:`.data.recognise`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from engine.attention.seq2seq import data, tokens
from engine.attention.seq2seq.decoding import encode_sources, greedy_ids, strip_row, teacher_forced_attention
from engine.attention.seq2seq.results import MODEL_KINDS, MODEL_NAMES
from engine.core.threads import single_thread
from engine.core.validation import refuse_control_characters

REGISTRY_KEYS = {"transformer": "seq2seq-transformer", "rnn_attention": "seq2seq-rnn-attention", "rnn": "seq2seq-rnn"}
MAX_INPUT_CHARS = 60  # the longest date form is 37 characters
MAX_OUTPUT_STEPS, DEFAULT_TEXT, EXAMPLES = data.MAX_OUTPUT_STEPS, data.DEFAULT_TEXT, data.EXAMPLES
TARGET_CHARACTERS = set("0123456789-")


@dataclass(frozen=True)
class Translation:
    """One model's reading of one input; arrays are float64 and rows sum to 1."""

    model: str  # "transformer" | "rnn_attention" | "rnn"
    model_name: str
    source: str  # the text the model read (whitespace normalised)
    output: str  # the generated string (without </s>)
    source_tokens: tuple[str, ...]  # one per source character (a space shows as "␣")
    target_tokens: tuple[str, ...]  # one per decoder step: the character it wrote ("</s>" for the stop)
    decoder_input_tokens: tuple[str, ...]  # what the decoder read at each step: "<s>" then its outputs
    forced_prefix: str  # characters forced into the output (the what-if); "" for plain greedy
    probabilities: np.ndarray  # (T,) probability of each written token
    cross_attention: np.ndarray | None  # (L, H, T, S) transformer, (T, S) attention RNN, None for the plain RNN
    encoder_self_attention: np.ndarray | None  # (L, H, S, S), transformer only
    decoder_self_attention: np.ndarray | None  # (L, H, T, T), transformer only, causal
    expected: str | None  # the correct ISO date when the input is a known form and a real date
    best_guess: bool  # True when the input is not a date the models were trained on
    notes: tuple[str, ...] = field(default=())

    @property
    def correct(self) -> bool | None:
        return None if self.expected is None else self.output == self.expected

    @property
    def valid_date(self) -> bool:
        return data.is_iso_date(self.output)


def normalise_text(text) -> tuple[str, list[str]]:
    """Strip and collapse whitespace; refuse empty or over-long inputs with a clear message."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise ValueError(f"The input must be text, got {type(text).__name__}.")
    refuse_control_characters(text, "input")
    notes = []
    cleaned = "".join(" " if unicodedata.category(c)[0] in "Z" or c in "\t\n\r" else c for c in text)
    cleaned = "".join(c for c in cleaned if unicodedata.category(c) not in ("Cf", "Cc"))
    collapsed = re.sub(r" +", " ", cleaned).strip()
    if not collapsed:
        raise ValueError("The input is empty: type a date such as '3 March 2021' or 'Wednesday, March 3, 2021'.")
    if len(collapsed) > MAX_INPUT_CHARS:
        raise ValueError(
            f"The input has {len(collapsed):,} characters; these models read at most {MAX_INPUT_CHARS} "
            f"(the longest date form, 'the twenty-seventh of September, 2021', has 37). Type one date."
        )
    if collapsed != text:
        notes.append("Extra spaces and invisible characters were removed.")
    unknown = tokens.unknown_characters(collapsed)
    if unknown:
        notes.append(
            "Characters the models never saw were read as <unk>: " + " ".join(repr(c) for c in unknown) + "."
        )
    return collapsed, notes


def check_model(model: str) -> str:
    if model not in MODEL_KINDS:
        raise ValueError(f"Unknown model {model!r}; use one of {', '.join(MODEL_KINDS)}.")
    return model


def check_prefix(prefix) -> str:
    prefix = (prefix or "").strip()
    bad = sorted(set(prefix) - TARGET_CHARACTERS)
    if bad:
        raise ValueError(f"A forced prefix may only hold digits and '-' (the output alphabet); got {' '.join(map(repr, bad))}.")
    if len(prefix) > data.TARGET_LENGTH:
        raise ValueError(f"A forced prefix has at most {data.TARGET_LENGTH} characters (a whole date); got {len(prefix)}.")
    return prefix


REGISTRY_TASK = "seq2seq-dates"


def build_registered(source, folder):
    """Registry builder (``engine.core.registry.TASKS["seq2seq-dates"]``): a verified folder -> eval model."""
    from engine.attention.seq2seq.models import load_model

    return load_model(folder)


def load(model: str):
    """The committed model of kind ``model``, loaded once per process (sha256 checked once)."""
    from engine.core.registry import load as registry_load

    return registry_load(REGISTRY_TASK, REGISTRY_KEYS[check_model(model)])


def _verdict(source: str, output: str) -> tuple[str | None, bool, list[str]]:
    read = data.recognise(source)
    notes = []
    if read.in_training_distribution:
        expected = read.date.isoformat()
        return expected, False, notes
    notes.append(f"Best guess only: {source!r} is not a date these models know ({read.problem}).")
    if not data.is_iso_date(output):
        notes.append(f"The output {output!r} is not a real calendar date.")
    return None, True, notes


def translate(text, model: str = "transformer", forced_prefix: str = "", model_object=None) -> Translation:
    """Greedy translation of ``text`` by ``model``, with every attention matrix it used.

    ``forced_prefix`` (digits and '-') replaces the decoder's first choices: "what if the year
    started with 1?" ``model_object`` runs a given network instead of the committed one (tests,
    live training).
    """
    kind = check_model(model) if model_object is None else model_object.kind
    source, notes = normalise_text(text)
    prefix = check_prefix(forced_prefix)
    network = model_object if model_object is not None else load(kind)
    src, lengths = encode_sources([source])
    with single_thread():
        row = strip_row(greedy_ids(network, src, lengths, MAX_OUTPUT_STEPS, tokens.encode(prefix))[0])
        logits, attention = teacher_forced_attention(network, source, row)
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities = (shifted / shifted.sum(-1, keepdims=True))[np.arange(len(row)), row]
    output = tokens.decode(row)
    expected, best_guess, verdict_notes = _verdict(source, output)
    if prefix:
        notes.append(f"The first {len(prefix)} output character(s) were forced to {prefix!r}; the rest is the model's own.")
    if tokens.EOS not in row:
        notes.append(f"The model did not stop within {MAX_OUTPUT_STEPS} characters.")
    cross = attention.get("cross")
    return Translation(
        model=kind,
        model_name=MODEL_NAMES[kind],
        source=source,
        output=output,
        source_tokens=tuple(tokens.token_label(i) for i in tokens.encode(source)),
        target_tokens=tuple(tokens.token_label(i) for i in row),
        decoder_input_tokens=tuple(tokens.token_label(i) for i in [tokens.BOS] + row[:-1]),
        forced_prefix=prefix,
        probabilities=probabilities,
        cross_attention=cross,
        encoder_self_attention=attention.get("encoder_self"),
        decoder_self_attention=attention.get("decoder_self"),
        expected=expected,
        best_guess=best_guess,
        notes=tuple(notes + verdict_notes),
    )


def translate_all(text, forced_prefix: str = "") -> dict[str, Translation]:
    """The three committed models on the same input (validation errors raise once)."""
    return {kind: translate(text, kind, forced_prefix) for kind in MODEL_KINDS}


def _rounded(array: np.ndarray | None):
    return None if array is None else np.asarray(array, dtype=np.float64).round(6).tolist()


def payload(result: Translation) -> dict:
    """The API's JSON: output, tokens, and cross-attention ([layer][head][target][source] for the
    transformer, [target][source] for the attention RNN, absent for the plain RNN); rows sum to 1."""
    out = {
        "model": result.model,
        "model_name": result.model_name,
        "input": result.source,
        "output": result.output,
        "source_tokens": list(result.source_tokens),
        "target_tokens": list(result.target_tokens),
        "decoder_input_tokens": list(result.decoder_input_tokens),
        "token_probabilities": np.asarray(result.probabilities).round(6).tolist(),
        "forced_prefix": result.forced_prefix,
        "expected": result.expected,
        "correct": result.correct,
        "valid_date": result.valid_date,
        "best_guess": result.best_guess,
        "notes": list(result.notes),
    }
    if result.cross_attention is not None:
        out["cross_attention"] = _rounded(result.cross_attention)
    if result.encoder_self_attention is not None:
        out["encoder_self_attention"] = _rounded(result.encoder_self_attention)
        out["decoder_self_attention"] = _rounded(result.decoder_self_attention)
    return out
