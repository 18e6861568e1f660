"""The benchmarks' and the stage test's "result on screen" check (benchmarks/bench_stage.RESULT_READY) is false while
a view waits for its result: a Label's own label, its empty box, a status timer and a pending block are not results."""

from __future__ import annotations

import time

import gradio as gr
import pytest

from benchmarks.bench_stage import RESULT_READY
from benchmarks.serving import free_port

pytestmark = pytest.mark.browser


def test_a_label_waiting_for_its_result_is_not_a_result(chromium):
    def slow_label():
        time.sleep(1.5)
        return {"espresso": 0.9, "cup": 0.1}

    def slow_text():
        time.sleep(1.5)
        return [("The", None), (" answer", "generated")]

    with gr.Blocks() as demo:
        label = gr.Label(label="Top-5 classes", elem_id="lab")
        tokens = gr.HighlightedText(label="The text, token by token", elem_id="toks")
        note = gr.HTML("Loading the example run...", elem_id="note")
        demo.load(slow_label, None, label).then(slow_text, None, tokens)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    page = chromium.new_page(viewport={"width": 1280, "height": 720})
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#lab", state="visible")
        assert page.evaluate(RESULT_READY, "lab") is False and page.evaluate(RESULT_READY, "toks") is False
        assert page.evaluate(RESULT_READY, "note") is False  # "Loading ..." is a placeholder
        page.wait_for_function(RESULT_READY, arg="lab", timeout=30_000)
        assert "espresso" in page.inner_text("#lab")
        page.wait_for_function(RESULT_READY, arg="toks", timeout=30_000)
        assert "answer" in page.inner_text("#toks")
    finally:
        page.close()
        demo.close()
