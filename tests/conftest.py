"""Shared fixtures: offline mode, and one live NeuroDeck server for all app tests."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {"app": "app", "browser": "browser"}  # tests/<folder>/ -> marker


def pytest_collection_modifyitems(items):
    """Mark tests by folder, so the tiers in pytest.ini select them without per-file markers."""
    for item in items:
        parts = Path(item.fspath).resolve().relative_to(TESTS).parts
        if parts and parts[0] in FOLDER_MARKERS:
            item.add_marker(FOLDER_MARKERS[parts[0]])

# Tests never touch the network: Hub ids must fail fast with a clear message.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Tests load tiny models that they save_pretrained into tmp folders (the app refuses server paths by default).
os.environ["NEURODECK_ALLOW_LOCAL_MODELS"] = "1"


@pytest.fixture(autouse=True)
def _settings_follow_the_environment():
    """Tests that change NEURODECK_* with monkeypatch reload the settings; read them again afterwards."""
    yield
    from engine.core import settings

    settings.reload()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory):
    """Start `python app.py` on a free port, exactly as the README says, and yield its URL."""
    from benchmarks.serving import running_server

    if os.environ.get("NEURODECK_TEST_URL"):  # an already running server (e.g. to show a test failing on old code)
        yield os.environ["NEURODECK_TEST_URL"]
        return
    log_path = tmp_path_factory.mktemp("server") / "app.log"
    try:
        with running_server("app.py", {"PYTHONUNBUFFERED": "1"}, timeout_s=240, log_path=log_path) as (url, _):
            yield url
    finally:
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
