"""The baseline for start-up benchmarks: an empty Gradio Blocks app launched the way app.py is."""

import os

import gradio as gr

if __name__ == "__main__":
    with gr.Blocks(title="empty") as demo:
        gr.Markdown("empty")
    demo.launch(server_name="127.0.0.1", server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
