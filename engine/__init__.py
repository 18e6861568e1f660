"""NeuroDeck engine: models, training, metrics and rendering helpers.

Nothing here imports gradio, and nothing heavy runs at import time: models are
loaded lazily, once per process, through :mod:`engine.core.registry`.
"""
