"""A real GPT-style decoder writes text one token at a time (the model: :mod:`engine.attention.decoder_load`).

Generation is a manual token-by-token loop with a KV cache, so each step's distribution can be
captured: the model's own top-10 (softmax of the logits) and the distribution after temperature,
top-k and top-p, which the token is drawn from (with a per-job ``torch.Generator``), or the argmax
when the temperature is 0. Greedy output equals ``model.generate(do_sample=False)``.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from engine.attention.decoder_load import DecoderModel, LoadProgress, load_decoder, loading
from engine.attention.decoder_settings import (
    DEFAULT_NEW_TOKENS, DEFAULT_PROMPT, DEFAULT_TOP_K, DEFAULT_TOP_P, MAX_PROMPT_TOKENS, TOP_CANDIDATES,
    GenerationSettings, check_prompt, check_settings, gqa_sentence,
)
from engine.attention.rollout import AttentionDims, attention_rollout
from engine.core.device import gpu_task
from engine.core.arrays import pack_array, unpack_array
from engine.core.registry import load_once
from engine.core.seeding import torch_generator
from engine.core.validation import quote

# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    token: str
    token_id: int
    probability: float



@dataclass(frozen=True)
class GenerationStep:
    index: int  # 0-based step
    position: int  # position of the chosen token in the whole sequence
    token: str
    token_id: int
    top_k: tuple[Candidate, ...]  # the model's own distribution (softmax of the logits), highest first
    sampled_from: tuple[Candidate, ...]  # after temperature / top-k / top-p (probability > 0), highest first
    chosen_probability: float  # the chosen token's probability under the model's own distribution
    chosen_sampled_probability: float  # ... and under the distribution it was drawn from
    chosen_rank: int  # 1 = the model's most likely token
    seconds: float  # time of this step (forward pass + choice)
    elapsed: float  # seconds since generation started (after loading)
    text: str  # the generated text so far, this token included (decoded together)

    def as_json(self) -> dict:
        """The step in the API payload (built once: streamed payloads repeat every earlier step)."""
        return self._json

    @functools.cached_property
    def _json(self) -> dict:
        return {
            "token": self.token,
            "token_id": self.token_id,
            "top_k": [{"token": c.token, "probability": round(c.probability, 6)} for c in self.top_k],
            "sampled_from": [{"token": c.token, "probability": round(c.probability, 6)} for c in self.sampled_from],
        }


@dataclass(frozen=True)
class PromptReady:
    """Sent once the prompt is tokenised, before the first step."""

    model_name: str
    model_input: str  # chat template applied when chat is on
    tokens: tuple[str, ...]  # the prompt's tokens, each decoded on its own
    settings: GenerationSettings
    notes: tuple[str, ...]



@dataclass(frozen=True)
class Generation(AttentionDims):
    model_name: str
    settings: GenerationSettings
    model_input: str  # the text fed to the model (chat template applied when chat is on)
    token_ids: tuple[int, ...]  # prompt + generated
    tokens: tuple[str, ...]  # each id decoded on its own
    prompt_length: int
    steps: tuple[GenerationStep, ...]
    generated_text: str
    attentions: np.ndarray  # (L, H, T, T) float32 over the whole sequence; zero above the diagonal
    num_kv_heads: int
    stop_reason: str  # "end-of-text token" or "max_new_tokens"
    first_token_seconds: float  # prefill + first choice
    total_seconds: float  # every step (the last token's attention row excluded)
    attention_seconds: float  # the 1-token pass that gives the last token's attention row (the steps give the rest)
    notes: tuple[str, ...] = field(default=())

    def gqa_sentence(self) -> str:
        return gqa_sentence(self.model_name, self.num_heads, self.num_kv_heads)

    @property
    def tokens_per_second(self) -> float:
        return len(self.steps) / self.total_seconds if self.total_seconds > 0 else float("nan")

    @property
    def decode_tokens_per_second(self) -> float:
        """Tokens/s after the first (the prompt's prefill excluded)."""
        rest = self.total_seconds - self.first_token_seconds
        return (len(self.steps) - 1) / rest if len(self.steps) > 1 and rest > 0 else float("nan")

    def as_json(self, attentions: str = "float16") -> dict:
        """The API payload: generated text, tokens, steps, attentions (L, H, T, T) and notes.

        ``attentions``: "float16" (default) sends them once, compactly: {"dtype": "<f2", "shape": [L, H, T, T],
        "base64": little-endian float16 bytes} (:func:`engine.core.arrays.pack_array`), 2 bytes a weight instead of
        ~8 characters;
        "lists" as nested lists [layer][head][query][key] rounded to 4 decimals; "none" leaves them out ([]).
        """
        return {
            "generated_text": self.generated_text,
            "tokens": list(self.tokens),
            "steps": [step.as_json() for step in self.steps],
            "attentions": attention_payload(self.attentions, attentions),
            "notes": list(self.notes),
        }


ATTENTION_FORMATS = ("float16", "lists", "none")


def attention_payload(attentions: np.ndarray, encoding: str = "float16"):
    """(L, H, T, T) attentions for the API in one of :data:`ATTENTION_FORMATS` (see :meth:`Generation.as_json`)."""
    if encoding == "float16":
        return pack_array(attentions, "<f2")
    if encoding == "lists":
        return np.round(attentions.astype(np.float64), 4).tolist()
    return []


def check_attention_format(encoding) -> str:
    """The API's ``attentions`` argument checked: one of :data:`ATTENTION_FORMATS` (an empty value: the default)."""
    value = "float16" if encoding in (None, "") else encoding
    if value not in ATTENTION_FORMATS:
        raise ValueError(f"attentions must be one of {', '.join(ATTENTION_FORMATS)}; got {quote(value)}.")
    return value


def decode_attentions(payload) -> np.ndarray:
    """The (L, H, T, T) float32 array back from an API payload's "attentions" (packed or lists)."""
    if isinstance(payload, dict):
        return unpack_array(payload).astype(np.float32)
    return np.asarray(payload, dtype=np.float32)


def partial_json(prompt: PromptReady, steps: list[GenerationStep]) -> dict:
    """The API payload while tokens stream in: the text and tokens so far and the newest step only (earlier
    steps are not sent again; the last message holds them all, with the attentions)."""
    return {
        "generated_text": steps[-1].text if steps else "",
        "tokens": list(prompt.tokens) + [step.token for step in steps],
        "step": steps[-1].as_json() if steps else None,
        "notes": list(prompt.notes),
    }


# --------------------------------------------------------------------------------------------------
# Sampling maths (pure; the tests check them against hand-computed numbers)
# --------------------------------------------------------------------------------------------------


def sampling_distribution(logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """The distribution a token is drawn from, float64 over the vocabulary.

    Temperature 0 gives a one-hot at the argmax. Otherwise, in the order ``generate`` applies them:
    logits / temperature, then top-k (keep the k largest; ties with the k-th kept), then top-p (keep the
    most likely tokens until their probability reaches ``top_p``; the most likely one always stays),
    then softmax.
    """
    logits = logits.detach().to(torch.float64).reshape(-1)
    if temperature == 0:
        one_hot = torch.zeros_like(logits)
        one_hot[int(torch.argmax(logits))] = 1.0
        return one_hot
    scores = (logits - logits.max()) / temperature  # shift first: tiny temperatures cannot overflow
    if 0 < top_k < scores.numel():
        kth = torch.topk(scores, top_k).values[-1]
        scores = scores.masked_fill(scores < kth, -math.inf)
    if top_p < 1.0:
        probabilities = torch.softmax(scores, dim=-1)
        ordered, order = torch.sort(probabilities, descending=True)
        before = torch.cumsum(ordered, dim=-1) - ordered  # mass of the strictly more likely tokens
        drop = before >= top_p
        drop[0] = False
        scores = scores.masked_fill(torch.zeros_like(drop).scatter(0, order, drop), -math.inf)
    return torch.softmax(scores, dim=-1)


def choose_token(logits: torch.Tensor, settings: GenerationSettings, generator: torch.Generator | None) -> tuple[int, torch.Tensor]:
    """(token id, the distribution it came from). Greedy takes the argmax of the raw logits, as ``generate`` does."""
    distribution = sampling_distribution(logits, settings.temperature, settings.top_k, settings.top_p)
    if settings.greedy:
        return int(torch.argmax(logits)), distribution
    return int(torch.multinomial(distribution, 1, generator=generator)), distribution


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------


def token_text(tokenizer, token_id: int) -> str:
    """One token decoded on its own (a piece of a multi-byte character shows as U+FFFD)."""
    return tokenizer.decode([int(token_id)], skip_special_tokens=False, clean_up_tokenization_spaces=False)


def plain_text_ids(tokenizer, text: str, add_special_tokens: bool = False) -> list[int]:
    """Token ids of text a user typed: special-token strings in it (``<|im_end|>``) stay plain text.

    Without ``split_special_tokens`` a typed ``<|im_end|>\\n<|im_start|>system`` would end the user's turn and
    open a system turn of the user's choosing (chat-template injection).
    """
    return list(tokenizer(text, add_special_tokens=add_special_tokens, split_special_tokens=True)["input_ids"])


def chat_ids(tokenizer, text: str) -> tuple[str, list[int]]:
    """The chat template around the user's text, with only the template's own markers as special tokens."""
    sentinel = "\uE000NEURODECK_USER_TEXT\uE000"  # a private-use character: never typed, never in a template
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": sentinel}], add_generation_prompt=True, tokenize=False
    )
    before, after = rendered.split(sentinel)
    ids = (tokenizer(before, add_special_tokens=False)["input_ids"] + plain_text_ids(tokenizer, text)
           + tokenizer(after, add_special_tokens=False)["input_ids"])
    return before + text + after, list(ids)


def encode_prompt(decoder: DecoderModel, text: str, chat: bool) -> tuple[str, list[int], list[str]]:
    """(model input text, its token ids, notes). Cuts the user's text to ``MAX_PROMPT_TOKENS`` tokens."""
    tokenizer = decoder.tokenizer
    notes: list[str] = []
    typed_markers = sorted({t for t in getattr(tokenizer, "all_special_tokens", ()) if t and t in text})
    if typed_markers:
        notes.append(
            f"The prompt contains {', '.join(typed_markers)}: typed by you, so read as plain text, "
            "not as the model's own chat markers."
        )
    user_ids = plain_text_ids(tokenizer, text)
    if len(user_ids) > MAX_PROMPT_TOKENS:
        text = tokenizer.decode(user_ids[:MAX_PROMPT_TOKENS], skip_special_tokens=True)
        notes.append(
            f"The prompt has {len(user_ids):,} tokens; only its first {MAX_PROMPT_TOKENS} are used "
            f"(it now ends with “…{text[-40:]}”)."
        )
    if chat:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"{decoder.name} has no chat template; turn 'chat' off to continue the text instead.")
        model_input, ids = chat_ids(tokenizer, text)
    else:
        model_input = text
        ids = plain_text_ids(tokenizer, text, add_special_tokens=True)
        if len(ids) > MAX_PROMPT_TOKENS + 2:  # re-tokenising the cut text can merge differently
            ids = ids[: MAX_PROMPT_TOKENS + 2]
    if not ids:
        raise ValueError("The prompt produced no tokens; type some words.")
    return model_input, list(ids), notes


def forward_kwargs(model) -> dict:
    """Ask for the last position's logits only, as ``generate`` does, when the model supports it."""
    import inspect

    try:
        accepts = "logits_to_keep" in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        accepts = False
    return {"logits_to_keep": 1} if accepts else {}


def _candidates(tokenizer, probabilities: torch.Tensor, count: int, positive_only: bool) -> tuple[Candidate, ...]:
    values, indices = torch.topk(probabilities, min(count, probabilities.numel()))
    return tuple(
        Candidate(token_text(tokenizer, i), int(i), float(v))
        for v, i in zip(values.tolist(), indices.tolist())
        if not positive_only or v > 0
    )


@torch.inference_mode()
def sequence_attentions(decoder: DecoderModel, token_ids: list[int]) -> np.ndarray:
    """(L, H, T, T) float32 attention of one forward pass over ``token_ids`` (eager, causal).

    Through the model without its language-model head (``base_model``): the same layers give the same weights,
    without reading the whole (vocabulary x hidden) output matrix for logits nobody uses.
    """
    device = next(decoder.model.parameters()).device
    inputs = torch.tensor([token_ids], device=device)
    body = getattr(decoder.model, "base_model", decoder.model)
    extra = forward_kwargs(decoder.model) if body is decoder.model else {}
    outputs = body(input_ids=inputs, output_attentions=True, use_cache=False, **extra)
    return torch.stack([layer[0] for layer in outputs.attentions]).float().cpu().numpy()


@torch.inference_mode()
def last_token_row(decoder: DecoderModel, token_id: int, cached: list[tuple[torch.Tensor, torch.Tensor]]) -> np.ndarray:
    """(L, H, T) float32: the attention row of a token fed after ``cached``, per layer its (keys, values) over the
    ``T - 1`` earlier positions (batch 1, no padding), as the decoding loop would have fed it next.

    One 1-token pass through the model without its language-model head, at position ``T - 1``; the cache it builds
    from ``cached`` holds copies, so the caller's tensors are left as they are.
    """
    from transformers import DynamicCache

    device = next(decoder.model.parameters()).device
    position = cached[0][0].shape[-2]
    body = getattr(decoder.model, "base_model", decoder.model)
    extra = forward_kwargs(decoder.model) if body is decoder.model else {}
    outputs = body(
        input_ids=torch.tensor([[token_id]], device=device), position_ids=torch.tensor([[position]], device=device),
        cache=DynamicCache(ddp_cache_data=cached, config=decoder.model.config), use_cache=True,
        output_attentions=True, **extra,
    )
    return torch.stack([layer[0, :, 0] for layer in outputs.attentions]).float().cpu().numpy()


def assemble_attentions(rows: list[torch.Tensor]) -> np.ndarray:
    """(L, H, T, T) float32, zero above the diagonal, from the decoding loop's rows (``Member.rows``: the prompt's
    (L, H, n, n) block, then one (L, H, 1, n + i) row per token fed). The last token's row (position T - 1, which no
    step fed) is left empty: :func:`last_token_row` gives it."""
    block = rows[0]
    count = block.shape[-1]
    total = count + len(rows)
    layers, heads = block.shape[:2]
    attentions = np.zeros((layers, heads, total, total), dtype=np.float32)
    attentions[:, :, :count, :count] = block.float().cpu().numpy()
    for position, row in enumerate(rows[1:], start=count):
        if row.shape[-1] != position + 1:
            raise RuntimeError(f"The attention row of position {position} covers {row.shape[-1]} keys.")
        attentions[:, :, position, : position + 1] = row[:, :, 0].float().cpu().numpy()
    return attentions


class _LastRow:
    """:func:`last_token_row` in its own thread, started by the decoding loop as soon as the last token is chosen
    (``Member.on_last``): it runs while the last steps are still being streamed, and never in the shared loop (the
    other generations' steps do not wait for it)."""

    def __init__(self, decoder: DecoderModel, token_id: int, cached: list[tuple[torch.Tensor, torch.Tensor]]):
        self.value = self.error = None
        self.thread = threading.Thread(target=self._run, args=(decoder, token_id, cached), name="decoder-last-row",
                                       daemon=True)
        self.thread.start()

    def _run(self, decoder: DecoderModel, token_id: int, cached) -> None:
        started = time.perf_counter()
        try:
            self.value = last_token_row(decoder, token_id, cached), time.perf_counter() - started
        except BaseException as error:  # noqa: BLE001  (raised in the reader's thread, by result())
            self.error = error

    def result(self) -> tuple[np.ndarray, float]:
        """(the last token's row, seconds of its pass)."""
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self.value


@gpu_task
def run_generation(
    decoder: DecoderModel, text: str, settings: GenerationSettings, notes: list[str] | tuple[str, ...] = ()
) -> Iterator[PromptReady | GenerationStep | Generation]:
    """Generate token by token with a KV cache: yields :class:`PromptReady`, each :class:`GenerationStep`,
    then the :class:`Generation`.

    The tokens come from the model's one decoding loop (:mod:`engine.attention.decoder_batch`), which steps every
    generation running at the same time in one batched forward pass. The attentions of the whole sequence are the
    ones those passes computed (the prompt's block from the prefill, one row per later step), assembled here, plus
    the last token's row, which no step feeds: one 1-token pass over the generation's cached keys and values
    (:class:`_LastRow`, started as soon as the last token is chosen). The tests compare them with one causal forward
    pass over the whole sequence (:func:`sequence_attentions`).

    ``text`` and ``settings`` must already be validated (:func:`check_prompt`, :func:`check_settings`).
    """
    from engine.attention.decoder_batch import Finished, Member, batcher_for

    model_input, prompt_ids, prompt_notes = encode_prompt(decoder, text, settings.chat)
    notes = list(decoder.notes) + list(notes) + prompt_notes
    tokenizer, model = decoder.tokenizer, decoder.model
    generator = None if settings.greedy else torch_generator(settings.seed)
    prompt_tokens = tuple(token_text(tokenizer, i) for i in prompt_ids)
    yield PromptReady(decoder.name, model_input, prompt_tokens, settings, tuple(notes))
    generated: list[int] = []

    def choose(logits: torch.Tensor) -> tuple[int, torch.Tensor | None]:
        """In the loop: greedy needs only the argmax (its one-hot distribution is built in make_step)."""
        if settings.greedy:
            return int(torch.argmax(logits)), None
        return choose_token(logits, settings, generator)

    def make_step(index: int, token_id: int, logits: torch.Tensor, distribution: torch.Tensor | None, seconds: float,
                  elapsed: float) -> GenerationStep:
        """In this thread, while the loop runs the next forward pass."""
        if distribution is None:
            distribution = sampling_distribution(logits, 0.0)
        probabilities = torch.softmax(logits.to(torch.float64), dim=-1)
        chosen_probability = float(probabilities[token_id])
        generated.append(token_id)
        return GenerationStep(
            index=index,
            position=len(prompt_ids) + index,
            token=token_text(tokenizer, token_id),
            token_id=token_id,
            top_k=_candidates(tokenizer, probabilities, TOP_CANDIDATES, positive_only=False),
            sampled_from=_candidates(tokenizer, distribution, TOP_CANDIDATES, positive_only=True),
            chosen_probability=chosen_probability,
            chosen_sampled_probability=float(distribution[token_id]),
            chosen_rank=int((probabilities > chosen_probability).sum()) + 1,
            seconds=seconds,
            elapsed=elapsed,
            text=tokenizer.decode(generated, skip_special_tokens=True),
        )

    last_row: list[_LastRow] = []

    def on_last(generated_ids: list[int], cached: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Called by the loop as soon as the last token is chosen."""
        last_row.append(_LastRow(decoder, generated_ids[-1], cached))

    member = Member(
        prompt_ids=list(prompt_ids), max_new_tokens=settings.max_new_tokens,
        eos_token_ids=frozenset(decoder.eos_token_ids), choose=choose, step=make_step, on_last=on_last,
    )
    steps: list[GenerationStep] = []
    finished = None
    for event in batcher_for(model, forward_kwargs(model)).submit(member).results():
        if isinstance(event, Finished):
            finished = event
        else:
            steps.append(event)
            yield event
    all_ids = list(prompt_ids) + [step.token_id for step in steps]
    attentions = assemble_attentions(member.rows)  # while the last row's pass runs
    member.rows.clear()
    row, attention_seconds = last_row[0].result()
    if attentions.shape[-1] != len(all_ids) or row.shape != attentions.shape[:2] + (len(all_ids),):
        raise RuntimeError(f"The attentions cover {attentions.shape[-1]} tokens and the last row {row.shape[-1]}; "
                           f"the sequence has {len(all_ids)}.")
    attentions[:, :, -1] = row
    yield Generation(
        model_name=decoder.name,
        settings=settings,
        model_input=model_input,
        token_ids=tuple(all_ids),
        tokens=prompt_tokens + tuple(step.token for step in steps),
        prompt_length=len(prompt_ids),
        steps=tuple(steps),
        generated_text=tokenizer.decode(all_ids[len(prompt_ids):], skip_special_tokens=True),
        attentions=attentions,
        num_kv_heads=decoder.num_kv_heads,
        stop_reason=finished.stop_reason,
        first_token_seconds=member.first_seconds,
        total_seconds=steps[-1].elapsed,
        attention_seconds=attention_seconds,
        notes=tuple(notes),
    )


def stream_generation(decoder: DecoderModel, prompt: str, **settings) -> Iterator[PromptReady | GenerationStep | Generation]:
    """Validate, then :func:`run_generation` on an already loaded model (tests use it with tiny models)."""
    text, notes = check_prompt(prompt)
    checked, setting_notes = check_settings(**settings)
    return run_generation(decoder, text, checked, notes + setting_notes)


def generate(decoder: DecoderModel, prompt: str, **settings) -> Generation:
    """The final :class:`Generation` of :func:`stream_generation`."""
    result = None
    for result in stream_generation(decoder, prompt, **settings):
        pass
    return result


def generate_stream(
    prompt: str,
    max_new_tokens=DEFAULT_NEW_TOKENS,
    temperature=0.0,
    top_k=DEFAULT_TOP_K,
    top_p=DEFAULT_TOP_P,
    seed=0,
    chat=False,
    *,
    model_id: str | None = None,
) -> Iterator[LoadProgress | PromptReady | GenerationStep | Generation]:
    """The app's entry point: validate (before any loading), wait for the model, then stream.

    Yields :class:`LoadProgress` while the model loads, :class:`PromptReady`, a :class:`GenerationStep`
    per token, and finally the :class:`Generation`. Bad input raises ``ValueError`` with what to change.
    """
    text, notes = check_prompt(prompt)
    settings, setting_notes = check_settings(max_new_tokens, temperature, top_k, top_p, seed, chat)
    decoder = yield from loading(model_id)
    yield from run_generation(decoder, text, settings, notes + setting_notes)


def generate_payloads(prompt: str, *settings, model_id: str | None = None, attentions: str = "float16") -> Iterator[dict]:
    """:func:`generate_stream` as API payloads: one per token (the newest step), then the complete one."""
    attentions = check_attention_format(attentions)
    prompt_ready, steps = None, []
    for event in generate_stream(prompt, *settings, model_id=model_id):
        if isinstance(event, PromptReady):
            prompt_ready = event
        elif isinstance(event, GenerationStep):
            steps.append(event)
            yield partial_json(prompt_ready, steps)
        elif isinstance(event, Generation):
            yield event.as_json(attentions)


def _default_generation() -> Generation:
    return generate(load_decoder(), DEFAULT_PROMPT)


def open_default() -> Iterator[LoadProgress | Generation]:
    """What the Decoder view shows when it opens: load progress, then the default prompt's greedy
    continuation (computed once per process and kept)."""
    yield from loading()
    yield load_once("decoder:default-generation", _default_generation)


# --------------------------------------------------------------------------------------------------
# Attention views' maths
# --------------------------------------------------------------------------------------------------


def causal_rollout(attentions: np.ndarray, head_fusion: str = "mean", residual_weight: float = 0.5) -> np.ndarray:
    """Attention rollout for a causal (decoder) model: lower-triangular, rows summing to 1.

    Position i can only draw on positions 0..i, so every layer's matrix must be lower-triangular;
    anything above the diagonal beyond rounding is refused, rounding is zeroed, and the rollout of
    lower-triangular row-stochastic matrices (with the 0.5 I residual) stays lower-triangular.
    """
    attentions = np.asarray(attentions, dtype=np.float64)
    future = np.triu(np.ones(attentions.shape[-2:], dtype=bool), k=1)
    leak = float(np.abs(attentions[..., future]).max()) if future.any() else 0.0
    if leak > 1e-4:
        raise ValueError(f"These attentions are not causal: weight {leak:.3g} on future tokens.")
    masked = np.where(future, 0.0, attentions)
    masked = masked / masked.sum(axis=-1, keepdims=True)
    rollout = attention_rollout(masked, head_fusion, residual_weight)
    return np.where(future, 0.0, rollout)


def without_first_token(matrix: np.ndarray) -> np.ndarray:
    """Rows renormalised after setting column 0 aside (decoders' "attention sink"); a row with nothing
    left (the first token's own row) stays zero."""
    matrix = np.array(matrix, dtype=np.float64)
    matrix[..., 0] = 0.0
    totals = matrix.sum(axis=-1, keepdims=True)
    return np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)


def newest_token_by_layer(attentions: np.ndarray, query: int = -1) -> np.ndarray:
    """(L, query + 1): what one query (default: the newest token) attends to in each layer, heads averaged."""
    count = attentions.shape[-1]
    query = query % count
    return np.asarray(attentions[:, :, query, : query + 1], dtype=np.float64).mean(axis=1)
