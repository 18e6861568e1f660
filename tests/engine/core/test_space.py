"""On a Hugging Face Space: where the server listens (0.0.0.0 and the Space's port; locally 127.0.0.1:7860), and
a Hub model's first load announced to its user."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.core import registry, settings

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


def test_a_hub_models_first_load_is_announced_once_with_its_size(monkeypatch):
    import huggingface_hub

    info = SimpleNamespace(siblings=[SimpleNamespace(rfilename="model.safetensors", size=420 * 2**20),
                                     SimpleNamespace(rfilename="config.json", size=700)])
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, *a, **k: info)
    heard = []

    def broken(*args):
        raise RuntimeError("an observer's bug")

    monkeypatch.setattr(registry, "HUB_LOAD_OBSERVERS", [broken, lambda *args: heard.append(args)])
    monkeypatch.setattr(registry, "_announced", set())
    registry.check_download_size("someone/small-model")
    registry.check_download_size("someone/small-model")  # the second load of the same id says nothing
    assert heard == [("someone/small-model", 420 * 2**20)]  # and a failing observer did not stop the load
    info.siblings[0].size = 3 * 2**30
    with pytest.raises(ValueError, match="3.0 GB of safetensors weights"):
        registry.check_download_size("someone/huge-model")
    assert len(heard) == 1  # a refused id is not announced


def test_the_download_notice_is_harmless_outside_a_request(capsys):
    from demos.common.errors import hub_download_notice

    hub_download_notice("someone/small-model", 420 * 2**20)  # e.g. the warm-up thread: gradio prints it
    assert "'someone/small-model' from the Hugging Face Hub for the first time on this server: 420 MB" in capsys.readouterr().out
