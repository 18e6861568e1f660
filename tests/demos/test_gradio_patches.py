"""The gradio patches are written against one gradio version: these fail when gradio changes under them."""

from __future__ import annotations

import inspect
from pathlib import Path

import gradio as gr
import pytest

from demos.common import gradio_patches


def test_patches_name_the_installed_gradio_version():
    assert gr.__version__ == gradio_patches.GRADIO_VERSION, (
        f"gradio {gr.__version__} is installed; demos/common/gradio_patches.py was written for "
        f"{gradio_patches.GRADIO_VERSION}: re-check each patch against the new version, then update GRADIO_VERSION")


def test_patched_gradio_attributes_still_have_the_shapes_the_patches_expect():
    from gradio import networking, processing_utils, route_utils
    from gradio.queueing import Queue
    from gradio.routes import App

    assert isinstance(App.__dict__["create_app"], staticmethod)  # no_app_rebuild swaps it
    assert isinstance(App.__dict__["setup_mcp_server"], staticmethod)  # no_config_rebuild replaces it
    assert list(inspect.signature(App.setup_mcp_server).parameters) == ["blocks", "app_kwargs", "mcp_server"]
    import importlib  # cached_signatures swaps each module's `inspect`
    assert all(importlib.import_module(name).inspect for name in gradio_patches.CACHED_INSPECT_MODULES)
    assert list(inspect.signature(Queue.push).parameters)[1:] == ["body", "request", "username"]  # admission_control
    assert callable(route_utils.get_fn)
    assert list(inspect.signature(processing_utils.save_pil_to_cache).parameters)[:4] == ["img", "cache_dir", "name", "format"]
    assert list(inspect.signature(processing_utils.save_bytes_to_cache).parameters) == ["data", "file_name", "cache_dir"]
    assert callable(processing_utils.hash_bytes) and callable(processing_utils.encode_pil_to_bytes)
    assert list(inspect.signature(networking.url_ok).parameters) == ["url"]  # patient_localhost_check wraps it
    from gradio.blocks import Blocks  # named_input_errors wraps preprocess_data and each input's preprocess
    assert list(inspect.signature(Blocks.preprocess_data).parameters)[:4] == ["self", "block_fn", "inputs", "state"]
    assert list(inspect.signature(gr.Number.preprocess).parameters) == ["self", "payload"]
    source = inspect.getsource(Queue.start_processing)  # event_driven_queue copies this loop, sleeps replaced
    assert source.count("await asyncio.sleep(self.sleep_when_free)") == 3 and "self.get_events()" in source
    assert list(inspect.signature(Queue.process_events).parameters) == ["self", "events", "batch", "begin_time", "fn"]


def test_no_app_rebuild_restores_gradio_afterwards():
    from gradio.routes import App

    before = App.__dict__["create_app"]
    with gradio_patches.no_app_rebuild():
        assert App.__dict__["create_app"] is not before
    assert App.__dict__["create_app"] is before


def test_named_input_errors_name_the_field_and_what_it_allows():
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with gr.Blocks() as demo:
        steps = gr.Number(10, label="Steps", precision=0, minimum=1, maximum=50)
        strength = gr.Slider(0, 1, value=0.5, label="Strength")
        picture = gr.Image(label="Picture", type="pil")
        out = gr.Textbox()
        gr.Button().click(lambda a, b, c: "", [steps, strength, picture], out, api_name="f")
    gradio_patches.named_input_errors(demo)
    gradio_patches.named_input_errors(demo)  # twice: wrapped once
    with pytest.raises(gr.Error, match=r"Steps: could not read 'nan' \(TypeError\)\. Allowed: a whole number from 1 to 50"):
        steps.preprocess("nan")
    with pytest.raises(gr.Error, match="Steps: Value 99 is greater than maximum value 50. Allowed: a whole number"):
        steps.preprocess(99)
    with pytest.raises(gr.Error, match="Strength: .*Allowed: a number from 0 to 1"):
        strength.preprocess(3.5)
    assert steps.preprocess(7) == 7
    fn = next(iter(demo.fns.values()))
    with pytest.raises(gr.Error, match="Picture: could not read 'hello'. Allowed: an image file"):
        # in a thread of its own: other tests (playwright, anyio) may leave an event loop running in this one
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, demo.preprocess_data(fn, [7, 0.5, "hello"], None)).result()


def test_cached_signatures_keep_plain_functions_and_pass_everything_else_through():
    import functools

    gradio_patches.cached_signatures()
    from gradio import blocks

    def handler(a, b=2):
        return a + b

    assert blocks.inspect.signature(handler) is blocks.inspect.signature(handler)
    assert list(blocks.inspect.signature(handler).parameters) == ["a", "b"]
    partial = functools.partial(handler, 1)
    assert list(blocks.inspect.signature(partial).parameters) == ["b"]  # not a plain function: not kept
    assert blocks.inspect.getfullargspec(handler).args == ["a", "b"]
    assert blocks.inspect.Parameter is inspect.Parameter  # the rest is inspect's own


def test_a_launched_app_serves_the_same_config_gradio_would_build(tmp_path):
    """With the Blocks' own app skipped and the MCP config rebuilds skipped, the served config is still current."""
    from benchmarks.serving import free_port

    gradio_patches.cached_signatures()
    gradio_patches.no_config_rebuild()
    gradio_patches.patient_localhost_check()
    with gradio_patches.no_app_rebuild():
        demo = gr.Blocks(title="patched")
    assert demo.app is None  # gr.Blocks() built no FastAPI app for the empty Blocks
    with demo:
        text = gr.Textbox(label="In")
        gr.Button().click(lambda value: value, text, gr.Textbox(label="Out"), api_name="echo")
    with gradio_patches.no_app_rebuild():
        demo.queue()
    try:
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True,
                    max_file_size=1000, show_error=True)
        assert demo.config == demo.get_config_file()
        assert demo.config["max_file_size"] == 1000 and demo.config["show_error"] is True
    finally:
        demo.close()


def test_event_driven_queue_starts_waiting_events_without_polling():
    """Three calls on a one-at-a-time endpoint: each starts when the previous ends (a finished job wakes the
    dispatcher), and an idle queue is woken a few times a second at most, not every millisecond."""
    import threading
    import time

    from gradio_client import Client

    from benchmarks.serving import free_port

    release = threading.Event()

    def slow(value):
        release.wait(10)
        return value * 2

    with gr.Blocks() as demo:
        number = gr.Number(precision=0)
        gr.Button().click(slow, number, gr.Number(precision=0), api_name="slow", concurrency_limit=1)
    demo.queue()
    gradio_patches.event_driven_queue(demo)
    gradio_patches.event_driven_queue(demo)  # twice: patched once
    queue = demo._queue
    idle, waits = queue.start_processing, []
    try:
        _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
        client = Client(url, verbose=False)
        jobs = [client.submit(n, api_name="/slow") for n in (1, 2, 3)]
        time.sleep(0.1)
        release.set()
        assert [job.result(timeout=30) for job in jobs] == [2, 4, 6]
        counted = queue.dispatcher_wakeups
        time.sleep(0.3)
        waits.append(queue.dispatcher_wakeups - counted)
    finally:
        demo.close()
    assert queue.start_processing is idle and waits[0] <= 0.3 / gradio_patches.QUEUE_IDLE_S + 5  # polling: ~300
