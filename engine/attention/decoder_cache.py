"""The KV cache, measured: the same greedy tokens timed with and without it, position by position."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch
from transformers import DynamicCache

from engine.attention.decoder import encode_prompt, forward_kwargs, token_text
from engine.attention.decoder_load import DecoderModel, load_decoder, wait_for_decoder
from engine.attention.decoder_settings import DEFAULT_PROMPT, KV_DEFAULT_TOKENS, MAX_NEW_TOKENS, as_flag, as_integer, check_prompt
from engine.core.device import gpu_task
from engine.core.registry import load_once


@dataclass(frozen=True)
class KVCacheTiming:
    model_name: str
    positions: tuple[int, ...]  # sequence length before each new token
    seconds_with_cache: tuple[float, ...]  # per token (the first includes the prompt's prefill)
    seconds_without_cache: tuple[float, ...]  # per token: the whole sequence re-run
    tokens: tuple[str, ...]  # the generated tokens (greedy)
    same_tokens: bool  # both ways produced the same tokens
    notes: tuple[str, ...] = ()

    @property
    def total_with_cache(self) -> float:
        return float(sum(self.seconds_with_cache))

    @property
    def total_without_cache(self) -> float:
        return float(sum(self.seconds_without_cache))


@gpu_task
def measure_kv_cache(
    decoder: DecoderModel,
    prompt: str,
    new_tokens: int = KV_DEFAULT_TOKENS,
    chat: bool = False,
    on_progress: Callable[[float, str], None] | None = None,
) -> KVCacheTiming:
    """Time each greedy token two ways: with the KV cache (the step runs only the newest token and reads
    the stored keys/values) and without it (the step re-runs the whole sequence). Both run at every
    position in turn, and both must pick the same token (``same_tokens``)."""
    text, notes = check_prompt(prompt)
    count = as_integer(new_tokens, "Tokens to time", KV_DEFAULT_TOKENS)
    if not 2 <= count <= MAX_NEW_TOKENS:
        raise ValueError(f"Tokens to time must be between 2 and {MAX_NEW_TOKENS}; got {count}.")
    _, prompt_ids, prompt_notes = encode_prompt(decoder, text, as_flag(chat))
    model = decoder.model
    device = next(model.parameters()).device
    extra = forward_kwargs(model)
    synchronise = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    # Interleaved, one position at a time, so a busy machine slows both ways alike.
    with_cache, without_cache, cached_ids, plain_ids = [], [], [], []
    cache = DynamicCache(config=model.config)
    feed = torch.tensor([prompt_ids], device=device)
    sequence = list(prompt_ids)
    with torch.inference_mode():
        for index in range(count):
            started = time.perf_counter()
            logits = model(input_ids=torch.tensor([sequence], device=device), use_cache=False, **extra).logits[0, -1]
            plain_ids.append(int(torch.argmax(logits)))
            synchronise()
            without_cache.append(time.perf_counter() - started)
            started = time.perf_counter()
            logits = model(input_ids=feed, cache=cache, use_cache=True, **extra).logits[0, -1]
            token = int(torch.argmax(logits))
            synchronise()
            with_cache.append(time.perf_counter() - started)
            cached_ids.append(token)
            sequence.append(token)
            feed = torch.tensor([[token]], device=device)
            if on_progress is not None:
                on_progress((index + 1) / count, f"token {index + 1} of {count}")
    del cache
    return KVCacheTiming(
        model_name=decoder.name,
        positions=tuple(len(prompt_ids) + i for i in range(count)),
        seconds_with_cache=tuple(with_cache),
        seconds_without_cache=tuple(without_cache),
        tokens=tuple(token_text(decoder.tokenizer, i) for i in cached_ids),
        same_tokens=cached_ids == plain_ids,
        notes=tuple(notes + prompt_notes),
    )


def kv_cache_timing(
    prompt: str = DEFAULT_PROMPT,
    new_tokens: int = KV_DEFAULT_TOKENS,
    chat: bool = False,
    *,
    model_id: str | None = None,
    on_progress: Callable[[float, str], None] | None = None,
) -> KVCacheTiming:
    """Load the model (reporting progress), then :func:`measure_kv_cache`."""
    check_prompt(prompt)  # bad input fails before any loading
    report = (lambda p: on_progress(0.0, p.stage)) if on_progress is not None else None
    decoder = wait_for_decoder(model_id, report)
    return measure_kv_cache(decoder, prompt, new_tokens, chat, on_progress)


def default_kv_cache_timing() -> KVCacheTiming:
    """The KV-cache figure shown when the view opens: measured once per process on the default prompt."""
    return load_once("decoder:default-kv-timing", lambda: measure_kv_cache(load_decoder(), DEFAULT_PROMPT, KV_DEFAULT_TOKENS))
