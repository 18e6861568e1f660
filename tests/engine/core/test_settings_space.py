"""Where the server listens: locally on 127.0.0.1:7860, on a Hugging Face Space on 0.0.0.0 and the Space's port."""

from __future__ import annotations

import pytest

from engine.core import settings

SERVER_ENV = ("SPACE_ID", "GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "PORT", "HF_HUB_OFFLINE")


@pytest.fixture()
def clean_env(monkeypatch):
    for name in SERVER_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_locally_the_server_stays_on_localhost(clean_env):
    config = settings.reload()
    assert (config.on_space, config.server_name, config.server_port) == (False, "127.0.0.1", 7860)


def test_on_a_space_the_server_binds_every_interface_and_stays_online(clean_env):
    clean_env.setenv("SPACE_ID", "someone/neurodeck")
    config = settings.reload()
    assert config.on_space and config.space_id == "someone/neurodeck"
    assert (config.server_name, config.server_port) == ("0.0.0.0", 7860)
    assert config.hub_offline is False  # Hub ids work on a Space unless it sets HF_HUB_OFFLINE itself


def test_port_comes_from_gradio_then_port(clean_env):
    clean_env.setenv("PORT", "8080")
    assert settings.reload().server_port == 8080
    clean_env.setenv("GRADIO_SERVER_PORT", "7861")
    assert settings.reload().server_port == 7861
    clean_env.setenv("GRADIO_SERVER_NAME", "10.0.0.5")
    clean_env.setenv("SPACE_ID", "someone/neurodeck")
    assert settings.reload().server_name == "10.0.0.5"  # an explicit name wins, on a Space too


def test_a_bad_port_is_a_clear_error_and_a_foreign_port_is_ignored(clean_env):
    clean_env.setenv("PORT", "http://proxy:3128")  # someone else's variable: not ours to refuse
    assert settings.reload().server_port == 7860
    clean_env.setenv("GRADIO_SERVER_PORT", "78600")
    with pytest.raises(ValueError, match="GRADIO_SERVER_PORT='78600' is not a port"):
        settings.reload()
