"""NeuroDeck: a live demo of advanced deep-learning architectures.

``build_app()`` assembles the tabs; the server only launches under ``__main__``.
Run ``python app.py`` and open http://127.0.0.1:7860 (or ``$GRADIO_SERVER_PORT``).
"""

from __future__ import annotations

import gc
import logging
import os
import threading

# One OpenMP thread per request, set before torch is imported: the queue runs up to two requests
# at once on the reference 2-core machine, and two-thread kernels competing for a busy core ran
# 5-10x slower here (MiniLM forward: 19 ms on one thread, 169 ms on two under load).
os.environ.setdefault("OMP_NUM_THREADS", "1")
# After every request gradio's queue rebuilds its monitoring summary (a pandas DataFrame of up to 10,000 past
# events, grouped); NeuroDeck serves no monitoring page, so refresh it every 100 requests, not every one.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")

import gradio as gr  # noqa: E402

from demos import attention, autoencoder, gan, stage, transfer  # noqa: E402
from demos.common import gradio_page, gradio_patches, memory  # noqa: E402
from demos.common.cards import CARD_CSS  # noqa: E402
from engine.core import settings  # noqa: E402
from engine.core.settings import LIMITS  # noqa: E402
from engine.core.validation import MAX_UPLOAD_BYTES  # noqa: E402

QUEUE_CONCURRENCY = 2  # one worker per CPU core on the reference 2-core machine
QUEUE_MAX_SIZE = 64  # requests beyond this get "queue full" instead of waiting forever
# Gradio's cache (outputs, uploads, exports): every 5 minutes, files older than 15 are deleted; the janitor
# (demos/common/memory.py) also holds this app's files there under a size cap (docs/load.md, Bounds).
CACHE_SWEEP_S, CACHE_MAX_AGE_S = 300, 900

WARM_UP_DONE = threading.Event()  # set when warm_up() has finished (or was skipped)


def ping() -> str:
    """Does nothing; its round-trip is the baseline for latency benchmarks.

    Says "pong" once the background warm-up is over, "warming up" before: benchmarks wait for "pong"
    so the warm-up's imports and its final garbage collection do not land inside their timings.
    """
    return "pong" if WARM_UP_DONE.is_set() else "warming up"


TABS = (gan, autoencoder, attention, transfer)  # each a package: build(demo) -> TabHandles (demos/common/contract.py)


def build_app() -> gr.Blocks:
    """Assemble every tab into one Blocks app (not launched). ``demo.neurodeck_views`` holds the stage's views."""
    gradio_patches.cached_signatures()  # gradio re-inspects the same signatures for every component and config
    gradio_patches.no_config_rebuild()  # the config is built once per FastAPI app, not twice
    with gradio_patches.no_app_rebuild():  # gr.Blocks() builds a FastAPI app for the empty Blocks; never served
        demo = gr.Blocks(title="NeuroDeck", delete_cache=(CACHE_SWEEP_S, CACHE_MAX_AGE_S))
    with demo:
        header = stage.build_header()  # what NeuroDeck is, where to start, presenter mode, copy link
        with gr.Tabs(elem_id="app-tabs") as app_tabs:
            tabs = [tab.build(demo) for tab in TABS]
        # Deep links, a result in every view on open, presenter mode, "copy link", cross links: through the handles.
        demo.neurodeck_views = stage.wire(demo, header, tabs, app_tabs)
        # An empty endpoint: benchmarks subtract its round-trip to isolate model + rendering time.
        gr.api(ping, api_name="ping", api_visibility="undocumented")
    with gradio_patches.no_app_rebuild():  # built at the end of the Blocks and again by launch()
        demo.queue(default_concurrency_limit=QUEUE_CONCURRENCY, max_size=QUEUE_MAX_SIZE)
    gradio_patches.admission_control(demo)  # per-session and per-expensive-endpoint caps on waiting requests
    gradio_patches.event_driven_queue(demo)  # the dispatcher waits for work instead of polling every 1 ms
    gradio_patches.atomic_cache_writes()  # an image is encoded once, and written once, atomically
    gradio_patches.lazy_session_configs()  # a new session builds a block's config only when it is read
    gradio_patches.named_input_errors(demo)  # gradio's own input checks name the field and what it allows
    gradio_page.indexed_frontend()  # the page's script finds components and their events through an index
    gradio_page.kept_answers()  # the page and gradio's static files are built once, not for every visitor
    gradio_page.lean_page_config()  # the page's embedded config leaves out what only API clients read
    return demo


def page_css() -> str:
    """The stage's rules, the result cards', and each tab's own."""
    return stage.CSS + CARD_CSS + "".join(getattr(tab, "CSS", "") for tab in TABS)


# Engine modules that pull in torch, transformers or diffusers, imported once in the background.
WARM_MODULES = (
    "attention.text", "attention.image", "attention.render", "attention.decoder", "attention.decoder_cache",
    "attention.decoder_render",
    "gan.inference", "gan.lab", "gan.live", "gan.render",
    "autoencoder.models", "autoencoder.anomaly", "autoencoder.denoise", "autoencoder.latent", "autoencoder.hub",
    "transfer.train", "transfer.session", "transfer.render", "transfer.export", "transfer.predict", "transfer.attention",
    "transfer.imagenet", "transfer.gradcam",
)


def warm_up() -> None:
    """Import the engine and load the Attention defaults after the server is up.

    Start-up stays as fast as an empty app, and the first user rarely pays the load. Imports
    take the same lock as the tabs' lazy imports (``engine.core.imports``), one module at a time.
    A failure is logged and skipped: the request that needs the module reports it to its user.
    """

    from engine.core.imports import import_engine

    log = logging.getLogger("neurodeck")
    for name in WARM_MODULES:
        try:
            import_engine(f"engine.{name}")
        except Exception as error:  # noqa: BLE001
            log.warning("warm-up: could not import engine.%s (%s: %s)", name, type(error).__name__, error)
    try:
        from engine.attention.image import load_image_model
        from engine.attention.text import load_text_model

        load_text_model()
        load_image_model()
    except Exception as error:  # noqa: BLE001
        log.warning("warm-up: could not load the Attention models (%s: %s)", type(error).__name__, error)
    try:
        from engine.attention.decoder_load import load_decoder

        load_decoder()  # SmolLM2: the first start converts its GGUF to safetensors once (~30 s); later starts read the cache
    except Exception as error:  # noqa: BLE001
        log.warning("warm-up: could not load the decoder (%s: %s)", type(error).__name__, error)
    # torch, transformers, gradio and plotly leave ~1M long-lived objects. A response that builds
    # ~75k small objects (the attention JSON) set off a full collection that re-scanned all of them
    # (p95 ~450 ms); frozen objects are skipped by the collector.
    gc.collect()
    gc.freeze()
    WARM_UP_DONE.set()


def main() -> None:
    memory.tune_allocator()  # before any thread allocates: fewer malloc arenas, less memory kept after a class
    gradio_patches.patient_localhost_check()
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("neurodeck").setLevel(logging.INFO)  # one line per expected user error
    demo = build_app()
    from demos.common.errors import hub_download_notice
    from engine.core import registry

    registry.HUB_LOAD_OBSERVERS.append(hub_download_notice)  # a Hub id's first load tells its user what the wait is
    config = settings.get()  # on a Space (SPACE_ID set): 0.0.0.0 and the Space's port; locally 127.0.0.1:7860
    demo.launch(
        prevent_thread_lock=True,
        server_name=config.server_name,
        server_port=config.server_port,
        max_file_size=MAX_UPLOAD_BYTES,
        theme=gr.themes.Soft(),
        css=page_css(),
        head=stage.HEAD,  # presenter mode from the address bar, before anything renders
        state_session_capacity=LIMITS.gradio_sessions,  # gradio keeps ~3 MB per session (default cap: 10,000)
    )
    memory.start_janitor(demo)  # frees ended sessions and old cache files; gives memory back when idle
    if config.warm_up:
        threading.Thread(target=warm_up, name="neurodeck-warm-up", daemon=True).start()
    else:
        WARM_UP_DONE.set()
    demo.block_thread()


if __name__ == "__main__":
    main()
