"""The decoder's settings and their validation: limits, defaults, :class:`GenerationSettings`.

Torch-free, so the Decoder view can read its defaults and limits when the UI is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.core import settings as app_settings
from engine.core.validation import clean_text

DEFAULT_DECODER = "smollm2"  # registry key of the packaged GGUF
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the same model in full precision, online only

MAX_NEW_TOKENS = 128
BATCH_SIZE = 8  # generations decoded together in one loop (engine/attention/decoder_batch.py); more wait
DEFAULT_NEW_TOKENS = 32
DEFAULT_TOP_K = 50
DEFAULT_TOP_P = 0.95
MAX_TEMPERATURE = 5.0  # higher values are clamped (the user is told): the distribution is already near uniform
MAX_PROMPT_CHARS = 2_000  # longer prompts are cut before tokenising (the user is told)
MAX_PROMPT_TOKENS = 64  # the attention views and the API's attentions grow with the square of the length
TOP_CANDIDATES = 10  # candidates captured per step
MAX_SEED = app_settings.LIMITS.seed_max
DEFAULT_PROMPT = "The capital of France is"
KV_DEFAULT_TOKENS = 48

GQA_SENTENCE = (
    "**Grouped-query attention:** {model} has {heads} query heads per layer but only {kv} key/value heads; "
    "each group of {group} query heads shares one key and one value projection, so the KV cache stores "
    "{kv} heads per layer instead of {heads} ({ratio} of the memory) while every query head still has its own pattern."
)


def gqa_sentence(model_name: str, heads: int, kv_heads: int) -> str:
    """One sentence on grouped-query attention, from the model's own head counts."""
    if kv_heads >= heads:
        return f"{model_name} gives each of its {heads} query heads its own key/value head (no grouped-query attention)."
    ratio = f"1/{heads // kv_heads}" if heads % kv_heads == 0 else f"{kv_heads}/{heads}"
    return GQA_SENTENCE.format(model=model_name, heads=heads, kv=kv_heads, group=heads // kv_heads, ratio=ratio)


@dataclass(frozen=True)
class GenerationSettings:
    max_new_tokens: int = DEFAULT_NEW_TOKENS
    temperature: float = 0.0  # 0 = greedy (argmax)
    top_k: int = DEFAULT_TOP_K  # 0 = off
    top_p: float = DEFAULT_TOP_P  # 1 = off
    seed: int = 0
    chat: bool = False  # apply the model's chat template to the prompt

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def describe(self) -> str:
        if self.greedy:
            return "greedy (temperature 0: always the most likely token)"
        top_k = f"top-k {self.top_k}" if self.top_k else "no top-k"
        top_p = f"top-p {self.top_p:g}" if self.top_p < 1 else "no top-p"
        return f"sampling: temperature {self.temperature:g}, {top_k}, {top_p}, seed {self.seed}"


def as_number(value, what: str, default):
    """``value`` as a finite float (``default`` when empty); ``what`` names it in the error."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, got {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number, got {value!r}.") from None
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{what} must be a finite number, got {value!r}.")
    return number


def as_integer(value, what: str, default: int) -> int:
    """``value`` as a whole number (``default`` when empty)."""
    number = as_number(value, what, default)
    if number != int(number):
        raise ValueError(f"{what} must be a whole number, got {value!r}.")
    return int(number)


def as_flag(value) -> bool:
    """A yes/no setting from a bool or its usual spellings ("true", "0", "off", ...)."""
    if isinstance(value, str):
        if value.strip().lower() in {"", "0", "false", "no", "off"}:
            return False
        if value.strip().lower() in {"1", "true", "yes", "on"}:
            return True
        raise ValueError(f"chat must be true or false, got {value!r}.")
    return bool(value)


def check_settings(
    max_new_tokens=DEFAULT_NEW_TOKENS, temperature=0.0, top_k=DEFAULT_TOP_K, top_p=DEFAULT_TOP_P, seed=0, chat=False
) -> tuple[GenerationSettings, list[str]]:
    """Validate the sampling settings; returns them with notes on anything clamped.

    Raises ``ValueError`` for values that have no sensible reading: negative or NaN temperature,
    top-p outside (0, 1], max_new_tokens below 1, a negative top-k or seed.
    """
    notes: list[str] = []
    new_tokens = as_integer(max_new_tokens, "max_new_tokens", DEFAULT_NEW_TOKENS)
    if new_tokens < 1:
        raise ValueError(f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS}; got {new_tokens}.")
    if new_tokens > MAX_NEW_TOKENS:
        notes.append(f"max_new_tokens {new_tokens:,} is above the limit of {MAX_NEW_TOKENS}; generating at most {MAX_NEW_TOKENS} tokens.")
        new_tokens = MAX_NEW_TOKENS
    temp = as_number(temperature, "Temperature", 0.0)
    if temp < 0:
        raise ValueError(f"Temperature must be 0 (greedy) or positive; got {temp:g}.")
    if temp > MAX_TEMPERATURE:
        notes.append(f"Temperature {temp:g} is above {MAX_TEMPERATURE:g}; {MAX_TEMPERATURE:g} was used (the distribution is already nearly flat).")
        temp = MAX_TEMPERATURE
    k = as_integer(top_k, "top_k", DEFAULT_TOP_K)
    if k < 0:
        raise ValueError(f"top_k must be 0 (off) or a positive whole number; got {k}.")
    p = as_number(top_p, "top_p", DEFAULT_TOP_P)
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1] (1 = off, 0.9 = keep the most likely tokens covering 90%); got {p:g}.")
    s = as_integer(seed, "Seed", 0)
    if not 0 <= s <= MAX_SEED:
        raise ValueError(f"Seed must be a whole number from 0 to {MAX_SEED}; got {s}.")
    return GenerationSettings(new_tokens, float(temp), k, float(p), s, as_flag(chat)), notes


def check_prompt(prompt) -> tuple[str, list[str]]:
    """NFC-normalised prompt, cut to ``MAX_PROMPT_CHARS`` characters (with a note). Empty prompts raise."""
    cleaned = clean_text(prompt, field="prompt", max_chars=MAX_PROMPT_CHARS)
    notes = []
    if cleaned.was_cut:
        notes.append(
            f"The prompt was cut from {cleaned.original_chars:,} to {MAX_PROMPT_CHARS:,} characters: "
            f"everything after character {MAX_PROMPT_CHARS:,} was dropped."
        )
    return cleaned.text, notes

