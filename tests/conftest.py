"""Shared fixtures: offline mode, and one live NeuroDeck server for all app tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Tests never touch the network: Hub ids must fail fast with a clear message.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout_s}s")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """Start `python app.py` on a free port, exactly as the README says, and yield its URL."""
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), PYTHONUNBUFFERED="1")
    log_path = tmp_path_factory.mktemp("server") / "app.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for_http(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if os.environ.get("NEURODECK_SHOW_SERVER_LOG"):
            print(log_path.read_text())


@pytest.fixture()
def client(app_url):
    """A fresh gradio_client session against the shared server."""
    from gradio_client import Client

    return Client(app_url, verbose=False)


@pytest.fixture()
def server_alive(app_url):
    """Call after bad-input tests: asserts the server still answers HTTP 200."""

    def check() -> None:
        with urllib.request.urlopen(app_url, timeout=10) as response:
            assert response.status == 200

    return check
