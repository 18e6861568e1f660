"""Continuous batching: every generation running at once shares one decoding loop, so a class of students
generating together costs little more than one of them.

One worker thread per model runs the loop (started when a generation arrives, ended when none is left). Between
two steps, newcomers join: their prompts are prefilled together (left-padded), each chooses its first token, and
their keys and values join the batch. Each step then feeds every member's newest token in one forward pass
(``input_ids`` (B, 1)). The members' caches differ in length, so the batched cache is left-padded: sequence b's
``n_b`` cached positions are the last ``n_b`` of the ``M`` columns, an attention mask hides the padding, and
``position_ids`` are each sequence's own position (rotary embeddings see the same positions as alone). A member
leaves as soon as its last token is chosen; the cache is repacked whenever membership changes (a generation that
starts alone keeps its prefill's cache as it is). Every member keeps its own sampling settings and
``torch.Generator``. Masked padding gets exactly zero weight, so greedy tokens match ``generate`` run alone (the tests
check it on real prompts of different lengths).

The model runs with eager attention, so every pass computes its attention probabilities anyway; the loop asks for
them (``output_attentions``) and hands each member its own, padding dropped (``Member.rows``): the prompt's square
block from the prefill, then one row per token fed. The last token is never fed, so ``Member.on_last`` hands the
caller, as soon as that token is chosen, the member's cached keys and values: one 1-token pass over them, outside the
loop, gives the last row.

Per step the loop does only the forward pass and the choice of each token; the public step (probabilities,
candidates, decoded text) is built from the :class:`Chosen` token in the reader's thread, in parallel with the
loop's next forward pass.

Tensor shapes: per layer, keys / values (B, kv_heads, M, head_dim); a step's input_ids (B, 1), mask (B, M + 1),
attentions (L, B, H, M + 1) once the layers are stacked.
"""

from __future__ import annotations

import atexit
import contextlib
import queue
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterator

import torch
from transformers import DynamicCache

from engine.attention.decoder_settings import BATCH_SIZE as MAX_BATCH  # more wait, in arrival order


@dataclass(frozen=True)
class Finished:
    """The end of one generation: why it stopped."""

    stop_reason: str


@dataclass(frozen=True)
class Chosen:
    """A token the loop chose, as the loop saw it; the reader builds the public step from it."""

    index: int
    token_id: int
    logits: torch.Tensor
    distribution: torch.Tensor | None
    seconds: float
    elapsed: float


@dataclass(eq=False)
class Member:
    """One generation in the loop. ``choose`` picks the token from the logits with the member's own settings
    (the distribution may be None when the step can rebuild it, e.g. greedy). ``step`` builds the public step
    object from a :class:`Chosen` token (the caller's code: candidates, decoded text); it runs in the reader's
    thread, so the loop goes on to the next forward pass meanwhile. ``on_last`` (optional) is called by the
    loop as soon as the last token is chosen, before the reader has streamed it, with the generated ids and the
    member's cached keys and values (:func:`cached_kv`: every position but the last token's).

    ``rows`` collects the member's attention probabilities, (L, H, queries, keys) tensors on the model's device: the
    prompt's (n, n) block, then one (1, n + i) row per token fed (the i-th); the loop appends each before it puts
    the token's :class:`Chosen`, so a reader that got :class:`Finished` sees them all."""

    prompt_ids: list[int]
    max_new_tokens: int
    eos_token_ids: frozenset[int]
    choose: Callable[[torch.Tensor], tuple[int, torch.Tensor | None]]
    step: Callable[[int, int, torch.Tensor, torch.Tensor | None, float, float], object]
    on_last: Callable[[list[int], list[tuple[torch.Tensor, torch.Tensor]]], None] | None = None
    events: queue.Queue = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    generated: list = field(default_factory=list)
    rows: list = field(default_factory=list)
    length: int = 0  # cached positions
    started: float = 0.0
    first_seconds: float = 0.0

    def results(self) -> Iterator:
        """The member's events as they come: steps, then :class:`Finished`; an error is raised here."""
        try:
            while True:
                event = self.events.get()
                if isinstance(event, BaseException):
                    raise event
                if isinstance(event, Chosen):
                    event = self.step(event.index, event.token_id, event.logits, event.distribution, event.seconds,
                                      event.elapsed)
                yield event
                if isinstance(event, Finished):
                    return
        finally:
            self.cancelled.set()  # the reader left (finished, failed or disconnected): the loop drops it


def cached_kv(cache: DynamicCache, index: int, length: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per layer, sequence ``index``'s (keys, values) over its ``length`` cached positions: batch 1, the left
    padding dropped. Views: the loop never writes into its cache's tensors (``DynamicCache.update`` concatenates
    into new ones; leaving, trimming and repacking index, slice or pad into new ones), so they keep their values
    while the loop goes on."""
    return [(layer.keys[index : index + 1, :, -length:], layer.values[index : index + 1, :, -length:])
            for layer in cache.layers]


class Batcher:
    """The decoding loop of one model (see the module docstring). ``submit`` is thread-safe."""

    def __init__(self, model, extra: dict):
        self.model = model
        self.extra = extra  # forward keyword arguments (logits_to_keep)
        self.device = next(model.parameters()).device
        self.lock = threading.Lock()
        self.pending: list[Member] = []
        self.members: list[Member] = []
        self.cache: DynamicCache | None = None
        self.running = False
        self.thread: threading.Thread | None = None
        self.holds = 0
        self.steps_run = 0  # batched forward passes (tests and benchmarks read it)
        self.largest_batch = 0

    def submit(self, member: Member) -> Member:
        with self.lock:
            self.pending.append(member)
            self._start()
        return member

    def _start(self) -> None:
        if not self.running and not self.holds and self.pending and not _EXITING.is_set():  # the caller holds the lock
            self.running = True
            self.thread = threading.Thread(target=self._loop, name="decoder-batch", daemon=True)
            self.thread.start()

    @contextlib.contextmanager
    def held(self):
        """While held, arrivals wait; on release they start together (tests and benchmarks use it to form a
        batch deterministically). Only holds an idle loop back: a running one keeps admitting."""
        with self.lock:
            self.holds += 1
        try:
            yield self
        finally:
            with self.lock:
                self.holds -= 1
                self._start()

    # -- the loop ------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self.lock:
                room = MAX_BATCH - len(self.members)
                joining, self.pending = self.pending[:room], self.pending[room:]
                if _EXITING.is_set():  # the process is ending: stop between two steps
                    for member in self.members + joining + self.pending:
                        member.events.put(RuntimeError("The server is shutting down; try again in a moment."))
                    self.members, self.pending, joining = [], [], []
                if not joining and not self.members:
                    self.running = False
                    self.cache = None
                    return
            try:
                self._admit(joining)
                if self.members:
                    self._step()
            except BaseException as error:  # noqa: BLE001  (every waiting reader gets it; the loop goes on)
                for member in self.members + joining:
                    member.events.put(error)
                self.members, self.cache = [], None

    def _admit(self, joining: list[Member]) -> None:
        """Prefill every newcomer's prompt in one forward pass (left-padded like the decoding steps), choose each
        one's first token and add its keys and values to the batch."""
        joining = [member for member in joining if not member.cancelled.is_set()]
        if not joining:
            return
        started = time.perf_counter()
        longest = max(len(member.prompt_ids) for member in joining)
        feed = torch.zeros((len(joining), longest), dtype=torch.long, device=self.device)
        mask = torch.zeros_like(feed)
        positions = torch.zeros_like(feed)
        for index, member in enumerate(joining):
            count = len(member.prompt_ids)
            feed[index, longest - count :] = torch.tensor(member.prompt_ids, device=self.device)
            mask[index, longest - count :] = 1
            positions[index, longest - count :] = torch.arange(count, device=self.device)
            member.started = started
            member.length = count
        cache = DynamicCache(config=self.model.config)
        with torch.inference_mode():
            output = self.model(input_ids=feed, attention_mask=mask, position_ids=positions, cache=cache, use_cache=True,
                                output_attentions=True, **self.extra)
            attentions = torch.stack(output.attentions)  # (L, B, H, longest, longest)
            for index, member in enumerate(joining):  # each prompt's block, its padding rows and columns dropped
                member.rows.append(attentions[:, index, :, -member.length :, -member.length :].clone())
        seconds = time.perf_counter() - started
        logits = output.logits[:, -1].float().cpu()
        del output, attentions  # the whole batch's weights: each member keeps its own copy
        for index, member in enumerate(joining):
            self._choose(member, logits[index], seconds, cache, index)
        if self.members or len(joining) > 1:
            self._repack(joining, cache)
        else:  # alone: the prefill's cache has no padding, so it is the batch's cache as it is
            self.members, self.cache = joining, cache
        self._leave()

    def _choose(self, member: Member, logits: torch.Tensor, seconds: float, cache: DynamicCache, index: int) -> None:
        """The member's next token from its logits; ``cache`` holds its keys and values as sequence ``index``."""
        token_id, distribution = member.choose(logits)
        step = len(member.generated)
        elapsed = time.perf_counter() - member.started
        if step == 0:
            member.first_seconds = elapsed
        member.generated.append(token_id)
        last = token_id in member.eos_token_ids or len(member.generated) >= member.max_new_tokens
        if last and member.on_last is not None:  # before the reader can see the last token
            member.on_last(list(member.generated), cached_kv(cache, index, member.length))
        member.events.put(Chosen(step, token_id, logits, distribution, seconds, elapsed))
        if last:
            member.events.put(Finished("end-of-text token" if token_id in member.eos_token_ids else "max_new_tokens"))
            member.cancelled.set()  # its last token needs no step: it leaves the batch

    def _repack(self, joining: list[Member], joined: DynamicCache) -> None:
        """Rebuild the left-padded batched cache from the members' and the newcomers' (their prefill's) caches."""
        parts = [cached_kv(self.cache, index, member.length) for index, member in enumerate(self.members)]
        parts += [cached_kv(joined, index, member.length) for index, member in enumerate(joining)]
        self.members = self.members + joining
        longest = max(member.length for member in self.members)
        layers = []
        for layer in range(len(parts[0])):
            keys, values = [], []
            for member, part in zip(self.members, parts):
                pad = longest - member.length
                k, v = part[layer]
                keys.append(torch.nn.functional.pad(k, (0, 0, pad, 0)))
                values.append(torch.nn.functional.pad(v, (0, 0, pad, 0)))
            layers.append((torch.cat(keys), torch.cat(values)))
        self.cache = DynamicCache(ddp_cache_data=layers, config=self.model.config)

    def _step(self) -> None:
        members = self.members
        longest = max(member.length for member in members)
        mask = torch.zeros((len(members), longest + 1), dtype=torch.long, device=self.device)
        for index, member in enumerate(members):
            mask[index, longest - member.length :] = 1
        feed = torch.tensor([[member.generated[-1]] for member in members], device=self.device)
        positions = torch.tensor([[member.length] for member in members], device=self.device)
        started = time.perf_counter()
        with torch.inference_mode():
            output = self.model(input_ids=feed, attention_mask=mask, position_ids=positions, cache=self.cache,
                                use_cache=True, output_attentions=True, **self.extra)
            attentions = torch.stack(output.attentions)[:, :, :, 0]  # (L, B, H, M + 1): the fed tokens' rows
        self.steps_run += 1
        self.largest_batch = max(self.largest_batch, len(members))
        logits = output.logits[:, -1].float().cpu()
        del output
        for index, member in enumerate(members):
            member.length += 1
            if not member.cancelled.is_set():  # its row over its own keys (the fed token's included)
                member.rows.append(attentions[:, index, :, None, -member.length :].clone())
                self._choose(member, logits[index], time.perf_counter() - started, self.cache, index)
        self._leave()

    def _leave(self) -> None:
        """Drop the finished and the abandoned members from the batch; keep the rest."""
        staying = [(i, m) for i, m in enumerate(self.members) if not m.cancelled.is_set()]
        if len(staying) == len(self.members):
            return
        if not staying:
            self.members, self.cache = [], None
            return
        keep = torch.tensor([i for i, _ in staying], device=self.device)
        for layer in self.cache.layers:
            layer.keys, layer.values = layer.keys[keep], layer.values[keep]
        self.members = [m for _, m in staying]
        self._trim()

    def _trim(self) -> None:
        """Drop the padding columns no member uses any more (after the longest one left)."""
        longest = max(member.length for member in self.members)
        for layer in self.cache.layers:
            if layer.keys.shape[-2] > longest:
                layer.keys, layer.values = layer.keys[:, :, -longest:], layer.values[:, :, -longest:]


_EXITING = threading.Event()


@atexit.register
def _stop_loops() -> None:
    """At exit, let each loop finish its step: a thread killed inside a forward pass aborts the interpreter."""
    _EXITING.set()
    for batcher in list(_BATCHERS.values()):
        if batcher.thread is not None:
            batcher.thread.join(timeout=10)


_BATCHERS: "weakref.WeakKeyDictionary[torch.nn.Module, Batcher]" = weakref.WeakKeyDictionary()
_BATCHERS_LOCK = threading.Lock()


def batcher_for(model, extra: dict) -> Batcher:
    """The model's one decoding loop (one per loaded model, gone with the model)."""
    with _BATCHERS_LOCK:
        batcher = _BATCHERS.get(model)
        if batcher is None:
            batcher = _BATCHERS[model] = Batcher(model, extra)
        return batcher
