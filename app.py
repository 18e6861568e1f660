"""NeuroDeck: a live demo of advanced deep-learning architectures.

``build_app()`` assembles the tabs; the server only launches under ``__main__``.
Run ``python app.py`` and open http://127.0.0.1:7860 (or ``$GRADIO_SERVER_PORT``).
"""

from __future__ import annotations

import os

import gradio as gr

from demos import attention
from engine.validation import MAX_UPLOAD_BYTES

QUEUE_CONCURRENCY = 2  # one worker per CPU core on the reference 2-core machine
QUEUE_MAX_SIZE = 64  # requests beyond this get "queue full" instead of waiting forever

INTRO = """
# NeuroDeck
Advanced deep-learning architectures, live. Every model here is real and runs offline;
every number is computed on the spot.
"""


def build_app() -> gr.Blocks:
    """Assemble every tab into one Blocks app (not launched)."""
    with gr.Blocks(title="NeuroDeck") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs():
            attention.build_tab()
    demo.queue(default_concurrency_limit=QUEUE_CONCURRENCY, max_size=QUEUE_MAX_SIZE)
    return demo


def main() -> None:
    demo = build_app()
    demo.launch(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        max_file_size=MAX_UPLOAD_BYTES,
        theme=gr.themes.Soft(),
    )


if __name__ == "__main__":
    main()
