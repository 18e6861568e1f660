"""Issue 24 #7: a model trained by one client is used from another session (or none) through its model handle."""

from __future__ import annotations

import json
import urllib.request
import zipfile

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError


def _call(app_url: str, api_name: str, arguments: dict):
    """gradio's plain HTTP API, as curl uses it (docs/finetune.md): POST the named arguments, read the event stream.
    No session_hash is sent, so every call is a session of its own."""
    base = app_url.rstrip("/") + "/gradio_api/call"
    request = urllib.request.Request(f"{base}/v2/{api_name}", data=json.dumps(arguments).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.load(response)["event_id"]
    with urllib.request.urlopen(f"{base}/{api_name}/{event_id}", timeout=300) as response:
        stream = response.read().decode()
    event, data = [line.split(": ", 1)[1] for line in stream.strip().splitlines() if ": " in line][-2:]
    return event, json.loads(data)


def test_a_second_client_predicts_and_exports_with_the_first_clients_model_handle(app_url, server_alive):
    trainer, other = Client(app_url, verbose=False), Client(app_url, verbose=False)
    trained = trainer.predict(None, "text-topics", api_name="/transfer_train")
    handle = trained["model_handle"]
    assert isinstance(handle, str) and handle
    with pytest.raises(AppError, match="No model has been trained"):
        other.predict("The striker scored twice in the derby.", None, 2, api_name="/transfer_predict")
    prediction = other.predict("The striker scored twice in the derby.", None, 2, handle, api_name="/transfer_predict")
    assert prediction["label"] == "sports" and prediction["labels"] == trained["labels"]
    exported = other.predict("", handle, api_name="/transfer_export")
    with zipfile.ZipFile(exported) as archive:
        assert any(name.endswith(".safetensors") for name in archive.namelist())
    with pytest.raises(AppError, match=r"Model handle 'nd-model-nope' is unknown or expired; train again with "
                                       r"/transfer_train"):
        other.predict("hello", None, 3, "nd-model-nope", api_name="/transfer_predict")
    server_alive()


def test_curl_style_calls_without_a_session_train_then_predict(app_url, server_alive):
    event, data = _call(app_url, "transfer_train", {"data_file": None, "builtin_key": "text-topics"})
    assert event == "complete", data
    handle = data[0]["model_handle"]
    event, data = _call(app_url, "transfer_predict", {"text": "Heavy rain and wind all afternoon.", "model_handle": handle})
    assert event == "complete" and data[0]["label"] == "weather", data
    event, data = _call(app_url, "transfer_project", {"strategy": {"a": 1}})
    assert event == "error" and "strategy must be" in data["error"], data
    server_alive()
