"""First requests to every tab, all at once, right after start-up, while the warm-up thread imports the engine.

Regression test: diffusers and transformers build their namespaces lazily, and concurrent first imports
once failed with "cannot import name 'ConfigMixin' from 'diffusers'".
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client, handle_file

from benchmarks.serving import running_server, wait_until_warm
from engine.core.registry import ASSETS_DIR

# Needs its own cold server (~25 s): the slow tier (pytest -m slow). The shared server's tests cover
# the warm paths; this one covers the start-up race.
pytestmark = pytest.mark.slow


def test_concurrent_first_requests_to_every_tab_succeed(tmp_path):
    log = tmp_path / "app.log"
    with running_server("app.py", timeout_s=240, log_path=log) as (url, _):
        digit = str(ASSETS_DIR / "examples" / "digit_3.png")
        photo = str(sorted((ASSETS_DIR / "examples" / "autoencoder" / "photos").glob("*.png"))[0])
        calls = {
            "gan": lambda: Client(url, verbose=False).predict(3, api_name="/gan_generate")[1]["seed"],
            "text": lambda: Client(url, verbose=False).predict("A first sentence.", api_name="/attention_text")[-1]["tokens"][0],
            "image": lambda: Client(url, verbose=False).predict(handle_file(digit), api_name="/attention_image")[-1]["label"],
            "denoise": lambda: sorted(Client(url, verbose=False).predict(handle_file(photo), api_name="/ae_denoise")[-1]),
        }
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            futures = {name: pool.submit(call) for name, call in calls.items()}
            results = {name: future.result() for name, future in futures.items()}
        # After the first requests, the warm-up still finishes (and then freezes the heap for the GC).
        wait_until_warm(Client(url, verbose=False), timeout_s=180)
    assert "Traceback" not in log.read_text()
    assert results["gan"] == 3
    assert results["text"] == "[CLS]"
    assert results["image"] == "3"
    assert "autoencoder" in results["denoise"]
