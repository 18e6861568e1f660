"""Every place NeuroDeck changes gradio's own behaviour, written against gradio 6.31.0.

Each patch exists because gradio 6.31 has no supported API for it (its supported options are used everywhere
else). ``tests/demos/test_gradio_patches.py`` fails when gradio's version or one of the patched attributes
changes, so an upgrade is a deliberate step:

- :func:`no_app_rebuild`: ``gr.Blocks()`` builds a FastAPI app for the empty Blocks and ``queue()`` rebuilds
  the one that the end of the Blocks has just built; ``launch()`` builds the one that is served.
- :func:`cached_signatures`: gradio inspects the same ``__init__`` signatures again for every component it
  builds and every block of every config; they are computed once.
- :func:`no_config_rebuild`: each FastAPI app build recomputes the whole config for MCP, even with MCP off,
  right after its caller computed it.
- :func:`admission_control`: a check in front of the queue's ``push`` (gradio's ``max_size`` is one global
  cap; per-session and per-endpoint caps have no option), policy in :mod:`demos.common.admission`.
- :func:`atomic_cache_writes`: an image output is saved under a name made of its content's hash, and gradio
  rewrote that file on every request, so two identical requests at once rewrote a file while it was being
  downloaded ("peer closed connection without sending complete message body").
- :func:`named_input_errors`: gradio's own input checks run before a handler and either hide their message
  (a Number sent "nan", an Image sent a string: the client gets ``null``) or do not name the field ("Value 3 is
  less than minimum value 10"). Each public input's ``preprocess`` is wrapped so the message names the field,
  quotes at most 80 characters of what was sent, and says what is allowed.
- :func:`event_driven_queue`: the queue's dispatcher polled every 1 ms whenever it had nothing to start (on
  Linux), so an idle server used ~5% of a core and, while a generation streamed, took the GIL from the decoding
  thread 1,000 times a second. It now sleeps until an event is pushed or a job ends.
- :func:`patient_localhost_check`: ``launch()`` HEADs the local URL once with a 3 s timeout and refuses to
  start when that times out; that renders the whole page, and on a busy 2-core machine can take longer.
- :func:`lazy_session_configs`: a new session's ``SessionState`` built the config of every block (~1,000 here,
  each with its API description) on the event loop, ~0.1 s of CPU per visitor; each is now built when first read.
- ``atomic_cache_writes`` also encodes an image once: gradio PNG-encoded the same pixels again for every visitor
  (~0.1 s for a face sheet) only to find, from the encoded bytes' hash, the file it had already written.

How gradio serves the page itself (its HTML and its script) is patched in :mod:`demos.common.gradio_page`.
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import os
import tempfile
import time
import types
import weakref
from pathlib import Path

import gradio as gr

from demos.common.admission import EXPENSIVE, refusal
from demos.common.lazy import BoundedMemo, LazyDict

GRADIO_VERSION = "6.31.0"  # the version these patches were written and tested against


@contextlib.contextmanager
def no_app_rebuild():
    """Skip the FastAPI apps that gradio builds and never serves (~0.45 s of start-up for this app's routes).

    ``gr.Blocks()`` builds one for the still-empty Blocks (its ``queue()``), ``queue()`` rebuilds the one that
    the end of the Blocks has just built, and ``launch()`` builds the one that is served; the queue itself is
    set up by ``queue()`` as usual. Wrap the ``gr.Blocks(...)`` call and the ``queue()`` call, not the ``with``.
    """
    from gradio.routes import App

    create_app = App.__dict__["create_app"]
    App.create_app = staticmethod(lambda blocks, *args, **kwargs: getattr(blocks, "app", None))
    try:
        yield
    finally:
        App.create_app = create_app


def no_config_rebuild() -> None:
    """Skip the config rebuild that each FastAPI app build does for MCP when MCP is off (~0.08 s each, twice).

    ``App.create_app`` ends with ``setup_mcp_server``, which recomputes the whole config (every component's
    props and API schema) "because the config should include the fact that the MCP server is enabled".
    Both callers (``Blocks.__exit__`` and ``launch()``) computed it just before; with MCP off only the
    ``mcp_server`` and ``i18n_translations`` fields can have changed since, and those are refreshed here.
    """
    from gradio.route_utils import API_PREFIX
    from gradio.routes import App

    setup = App.__dict__["setup_mcp_server"].__func__
    if getattr(setup, "neurodeck", False):
        return

    def setup_mcp_server(blocks, app_kwargs, mcp_server=None):
        if mcp_server is None:
            mcp_server = os.environ.get("GRADIO_MCP_SERVER", "False").lower() == "true"
        config = getattr(blocks, "config", None)
        if mcp_server or not isinstance(config, dict) or "components" not in config:
            return setup(blocks, app_kwargs, mcp_server)
        i18n = getattr(blocks, "i18n_instance", None)
        config["mcp_server"] = blocks.mcp_server
        config["i18n_translations"] = getattr(i18n, "translations_dict", None) if i18n is not None else None
        return API_PREFIX + "/mcp"

    setup_mcp_server.neurodeck = True
    App.setup_mcp_server = staticmethod(setup_mcp_server)


class _CachedInspect(types.ModuleType):
    """``inspect`` as gradio's modules see it, with ``signature`` and ``getfullargspec`` of plain functions kept.

    A function's signature does not change once it is wired, and gradio asks again for every component it
    builds (``getfullargspec`` of its ``__init__``) and every block of every config (``signature`` of its
    class's ``__init__``): 1,045 blocks and 237 events here, ~0.2 s of start-up (25% of ``build_app``).
    Weak keys: a function that goes away leaves the cache with it.
    """

    def __init__(self):
        super().__init__("inspect")
        self._signatures = weakref.WeakKeyDictionary()
        self._specs = weakref.WeakKeyDictionary()

    def __getattr__(self, name):
        return getattr(inspect, name)

    @staticmethod
    def _kept(cache, compute, fn, args, kwargs):
        if args or kwargs or type(fn) is not types.FunctionType:
            return compute(fn, *args, **kwargs)
        try:
            return cache[fn]
        except KeyError:
            cache[fn] = value = compute(fn)
            return value

    def signature(self, fn, *args, **kwargs):
        return self._kept(self._signatures, inspect.signature, fn, args, kwargs)

    def getfullargspec(self, fn, *args, **kwargs):
        return self._kept(self._specs, inspect.getfullargspec, fn, args, kwargs)


CACHED_INSPECT_MODULES = ("gradio.blocks", "gradio.component_meta", "gradio.helpers", "gradio.utils")


def cached_signatures() -> None:
    """Give gradio's Blocks, component and event modules an ``inspect`` that remembers function signatures."""
    import importlib

    cached = _CachedInspect()
    for name in CACHED_INSPECT_MODULES:
        module = importlib.import_module(name)
        if not isinstance(module.inspect, _CachedInspect):
            module.inspect = cached


def admission_control(demo: gr.Blocks) -> None:
    """Wrap ``demo``'s queue (after ``demo.queue(...)``) with the per-session and per-endpoint caps."""
    from gradio import route_utils

    queue = demo._queue
    push = queue.push
    joining: dict[str, int] = {}  # session hash / api name -> pushes awaiting gradio's push (one event loop: no lock)

    async def limited_push(body, request, username):
        try:
            api_name = getattr(route_utils.get_fn(queue.blocks, None, body), "api_name", None)
        except Exception:  # noqa: BLE001  (an unknown function: gradio's own push reports it)
            api_name = None
        session_hash = getattr(body, "session_hash", None)
        reason = refusal(queue, session_hash, api_name, joining)
        if reason is not None:
            return False, reason, "queue_full"
        keys = [key for key in (session_hash, api_name if api_name in EXPENSIVE else None) if key]
        for key in keys:
            joining[key] = joining.get(key, 0) + 1
        try:
            return await push(body, request, username)
        finally:
            for key in keys:
                joining[key] -= 1
                if not joining[key]:
                    del joining[key]

    queue.push = limited_push


def _write_once(folder: Path, name: str, data: bytes) -> str:
    """``folder/name`` holding ``data``: written under a unique name and renamed into place, only if missing.

    The folder is named by the content's hash, so an existing file already holds exactly these bytes; it is
    only touched (``delete_cache`` ages files by ctime), never rewritten while someone may be reading it.
    """
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / name).resolve()
    if path.exists():
        try:
            os.utime(path)
        except OSError:
            pass
        return str(path)
    handle, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(staging, path)
    return str(path)


ENCODED_IMAGES = 512  # images whose encoded file is remembered (one key and one path each)
_ENCODED = BoundedMemo(ENCODED_IMAGES)


def _pixels_key(img, cache_dir: str, name: str, format: str) -> tuple | None:
    """What the encoded bytes depend on (pixels, mode, size, palette, metadata), hashed; None for animations."""
    if format.lower() == "gif" or getattr(img, "n_frames", 1) > 1:
        return None
    pixels = hashlib.sha256(img.tobytes()).hexdigest()
    palette = repr(img.getpalette()) if img.mode in ("P", "PA") else ""
    info = repr(sorted((str(k), repr(v)) for k, v in img.info.items()))
    return cache_dir, name, format.lower(), img.mode, img.size, palette, info, pixels


def atomic_cache_writes() -> None:
    """Make gradio's content-addressed cache writes (PIL images, bytes) write-once and atomic, and encode the
    same image once (remembered by a hash of its pixels, mode, size, palette and metadata)."""
    from gradio import processing_utils as pu

    if getattr(pu.save_pil_to_cache, "_neurodeck_atomic", False):
        return

    def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
        key = _pixels_key(img, cache_dir, name, format)
        known = _ENCODED.get(key) if key is not None else None
        if known is not None and os.path.exists(known):
            try:
                os.utime(known)  # as _write_once does: the cache's janitor ages files by their time
            except OSError:
                pass
            return known
        data = pu.encode_pil_to_bytes(img, format)
        path = _write_once(Path(cache_dir) / pu.hash_bytes(data), f"{name}.{format}", data)
        if key is not None:
            _ENCODED.put(key, path)
        return path

    def save_bytes_to_cache(data: bytes, file_name: str, cache_dir: str) -> str:
        if not Path(file_name).suffix:
            file_name = file_name + pu.detect_audio_format(data)
        return _write_once(Path(cache_dir) / pu.hash_bytes(data), Path(file_name).name, data)

    save_pil_to_cache._neurodeck_atomic = True
    pu.save_pil_to_cache = save_pil_to_cache
    pu.save_bytes_to_cache = save_bytes_to_cache


def lazy_session_configs() -> None:
    """Build a session's per-block configs when first read, not all of them when the session begins.

    Gradio 6.31's ``SessionState.__init__`` (copied below, its dict comprehension replaced) builds the config of
    every block, API description included, for each new session, on the event loop.
    """
    from copy import copy

    from gradio import state_holder

    if getattr(state_holder.SessionState.__init__, "_neurodeck_lazy", False):
        return
    original = state_holder.SessionState.__init__

    def __init__(self, blocks) -> None:
        self.blocks_config = copy(blocks.default_config)
        config_for_block = self.blocks_config.config_for_block
        self.config_values = LazyDict(  # gradio: {k: config_for_block(k, [], v) for k, v in ... if k in blocks.blocks}
            lambda key, block: config_for_block(key, [], block),
            {k: v for k, v in self.blocks_config.blocks.items() if k in blocks.blocks})
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600

    __init__._neurodeck_lazy = True
    __init__._neurodeck_original = original
    state_holder.SessionState.__init__ = __init__


QUEUE_IDLE_S = 0.05  # the longest the dispatcher sleeps without being woken (a safety net: every change wakes it)


def event_driven_queue(demo: gr.Blocks) -> None:
    """Make ``demo``'s queue dispatcher (``Queue.start_processing``) wait for work instead of polling every 1 ms.

    It wakes when an event is pushed or a job ends (the only changes that can let it start an event), and at
    least every :data:`QUEUE_IDLE_S` anyway. The loop below is gradio 6.31's own, with its sleeps replaced.
    Call after ``demo.queue(...)``; it composes with :func:`admission_control` (either order).
    """
    import asyncio

    from gradio.utils import run_coro_in_background, set_task_name

    queue = demo._queue
    if getattr(queue, "event_driven", False):
        return
    wake = None  # an asyncio.Event of the server's loop, made when the dispatcher starts
    push, process_events = queue.push, queue.process_events

    def changed() -> None:
        if wake is not None:
            wake.set()

    async def woken_push(*args, **kwargs):
        try:
            return await push(*args, **kwargs)
        finally:
            changed()

    async def woken_process_events(*args, **kwargs):
        try:
            return await process_events(*args, **kwargs)
        finally:
            changed()

    async def idle() -> None:
        queue.dispatcher_wakeups += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), QUEUE_IDLE_S)
        wake.clear()  # on one event loop: a change after this line sets it again before the next wait

    async def start_processing() -> None:  # gradio.queueing.Queue.start_processing, 6.31.0
        nonlocal wake
        wake = asyncio.Event()
        self = queue
        try:
            while not self.stopped:
                if len(self) == 0 or None not in self.active_jobs:
                    await idle()
                    continue
                async with self.delete_lock:
                    event_batch = self.get_events()
                if not event_batch:
                    await idle()
                    continue
                events, batch, concurrency_id = event_batch
                self.active_jobs[self.active_jobs.index(None)] = events
                event_queue = self.event_queue_per_concurrency_id[concurrency_id]
                event_queue.current_concurrency += 1
                start_time = time.time()
                fn = events[0].fn
                event_queue.start_times_per_fn[fn].add(start_time)
                for event in events:
                    if (a := self.event_analytics.get(event._id)) is not None:
                        a["status"] = "processing"
                process_event_task = run_coro_in_background(self.process_events, events, batch, start_time, fn)
                set_task_name(process_event_task, events[0].session_hash, fn._id, events[0]._id, batch)
                self._asyncio_tasks.add(process_event_task)
                process_event_task.add_done_callback(self._asyncio_tasks.discard)
                if self.live_updates:
                    self.broadcast_estimations(concurrency_id)
        finally:
            self.stopped = True
            self._cancel_asyncio_tasks()

    queue.push, queue.process_events, queue.start_processing = woken_push, woken_process_events, start_processing
    queue.event_driven, queue.dispatcher_wakeups = True, 0


def patient_localhost_check() -> None:
    """Gradio's launch() HEADs the local URL once with a 3 s timeout and refuses to start when that times
    out. That HEAD renders the whole page (~0.2 s of this app's start-up, while the first visitor's request
    waits for the same CPU): ask a route that answers at once instead, and on a busy 2-core machine retry a
    few times before giving up (the server itself is already listening)."""
    from gradio import networking
    from gradio.route_utils import API_PREFIX

    check = networking.url_ok
    if getattr(check, "patient", False):
        return

    def answers(url: str) -> bool:
        import httpx

        try:  # launch() has just called this route itself; it only says whether startup events ran
            return httpx.get(f"{url.rstrip('/')}{API_PREFIX}/startup-events", timeout=3, verify=False).is_success
        except httpx.HTTPError:
            return False

    def patient(url: str) -> bool:
        return any(answers(url) or check(url) for _ in range(5))

    patient.patient = True
    networking.url_ok = patient


def _allowed(block) -> str:
    """What ``block`` accepts, in words (for an input error)."""
    low, high = getattr(block, "minimum", None), getattr(block, "maximum", None)
    if isinstance(block, (gr.Number, gr.Slider)):
        if isinstance(block, gr.Slider):
            whole = float(block.step or 1).is_integer() and float(low or 0).is_integer()
        else:
            whole = block.precision == 0
        kind = "a whole number" if whole else "a number"
        if low is not None and high is not None:
            return f"{kind} from {low:,} to {high:,}"
        return kind
    if isinstance(block, (gr.Dropdown, gr.Radio)):
        choices = [str(c[1] if isinstance(c, (tuple, list)) else c) for c in (block.choices or [])]
        shown = ", ".join(repr(c) for c in choices[:12]) + (" …" if len(choices) > 12 else "")
        return f"one of {shown}"
    if isinstance(block, (gr.Image, gr.ImageEditor)):
        return "an image file (in gradio_client: handle_file('photo.png')) uploaded to this server"
    if isinstance(block, gr.File):
        return "a file uploaded to this server (in gradio_client: handle_file('data.csv'))"
    if isinstance(block, gr.Checkbox):
        return "true or false"
    if isinstance(block, gr.Textbox):
        return "text"
    return f"a value for a {type(block).__name__}"


def _field_name(block) -> str:
    """How an error names an input: its label, else its elem_id, else its component type."""
    return block.label or getattr(block, "elem_id", None) or type(block).__name__


def named_input_errors(demo: gr.Blocks) -> None:
    """Wrap the ``preprocess`` of every input of ``demo``'s events so that a value gradio itself refuses gives
    an error naming the field and what it allows (once per component)."""
    from demos.common.errors import short
    from engine.core.validation import quote

    for fn in demo.fns.values():
        for block in fn.inputs:
            original = getattr(block, "preprocess", None)
            if original is None or getattr(original, "_neurodeck_named", False):
                continue
            name = _field_name(block)

            def preprocess(payload, _original=original, _block=block, _name=name):
                try:
                    return _original(payload)
                except gr.Error as error:
                    raise gr.Error(short(f"{_name}: {error.message} Allowed: {_allowed(_block)}."),
                                   print_exception=False) from None
                except Exception as error:  # noqa: BLE001 (gradio's own parsing: ValueError, TypeError, pydantic ...)
                    raise gr.Error(f"{_name}: could not read {quote(payload)} ({type(error).__name__}). "
                                   f"Allowed: {_allowed(_block)}.", print_exception=False) from None

            preprocess._neurodeck_named = True
            block.preprocess = preprocess

    # A payload of the wrong shape (a string where an image's FileData belongs) fails gradio's pydantic check
    # before any preprocess: find the input that does not validate and name it.
    preprocess_data = demo.preprocess_data
    if getattr(preprocess_data, "_neurodeck_named", False):
        return

    async def named_preprocess_data(block_fn, inputs, state, *args, **kwargs):
        try:
            return await preprocess_data(block_fn, inputs, state, *args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:
            from gradio.exceptions import InvalidPathError

            if isinstance(error, InvalidPathError):  # a FileData naming a file on the server (gradio said null)
                for block, value in zip(block_fn.inputs, inputs):
                    path = value.get("path") if isinstance(value, dict) else None
                    if path:
                        name = _field_name(block)
                        raise gr.Error(f"{name}: {quote(path)} is not a file uploaded to this app. Upload the file "
                                       "first (gradio_client's handle_file does it, or POST it to /gradio_api/upload) "
                                       "and send the path the upload returns.", print_exception=False) from None
            for block, value in zip(block_fn.inputs, inputs):
                model = getattr(block, "data_model", None)
                if model is None or value is None:
                    continue
                try:
                    model.model_validate(value, context={"validate_meta": True})
                except Exception:  # noqa: BLE001 (pydantic's ValidationError: this is the input gradio refused)
                    name = _field_name(block)
                    raise gr.Error(f"{name}: could not read {quote(value)}. Allowed: {_allowed(block)}.",
                                   print_exception=False) from None
            raise

    named_preprocess_data._neurodeck_named = True
    demo.preprocess_data = named_preprocess_data
