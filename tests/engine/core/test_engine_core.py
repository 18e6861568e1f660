"""Foundation pieces: device choice, registry, safe loading, seeding."""

import threading
import time

import pytest
import torch

from engine.core import device as device_module
from engine.core import registry, settings
from engine.core.registry import check_model_id, load_pretrained
from engine.core.seeding import seed_everything, torch_generator


class _Env:
    """monkeypatch's setenv/delenv, then the settings are read again."""

    def __init__(self, monkeypatch):
        self._monkeypatch = monkeypatch

    def setenv(self, name, value):
        self._monkeypatch.setenv(name, value)
        settings.reload()

    def delenv(self, name, raising=True):
        self._monkeypatch.delenv(name, raising=raising)
        settings.reload()


@pytest.fixture()
def fresh_device(monkeypatch):
    device_module.pick_device.cache_clear()
    yield _Env(monkeypatch)
    device_module.pick_device.cache_clear()


def test_device_override_and_refusal(fresh_device):
    fresh_device.setenv("NEURODECK_DEVICE", "cpu")
    assert device_module.pick_device() == torch.device("cpu")
    if not torch.cuda.is_available():
        device_module.pick_device.cache_clear()
        fresh_device.setenv("NEURODECK_DEVICE", "cuda")
        with pytest.raises(ValueError, match="CUDA is not available"):
            device_module.pick_device()


def test_device_default_order(fresh_device):
    fresh_device.delenv("NEURODECK_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert device_module.pick_device().type == expected


def test_gpu_task_is_identity_off_spaces(monkeypatch):
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)

    def work():
        return 1

    assert device_module.gpu_task(work) is work


def test_minilm_checksum_is_verified_and_mismatch_refused(tmp_path):
    source = registry.get_source("minilm")
    assert registry.verified_path(source).joinpath("model.safetensors").is_file()
    (tmp_path / "model.safetensors").write_bytes(b"tampered")
    # An absolute location wins over ASSETS_DIR when joined, so the fake asset lives in tmp_path.
    fake = registry.ModelSource(name="fake", task="t", kind="asset", location=str(tmp_path), sha256="0" * 64)
    with pytest.raises(ValueError, match="Checksum mismatch"):
        registry.verified_path(fake)
    with pytest.raises(ValueError, match="Unknown model 'nope'"):
        registry.get_source("nope")


def test_load_once_builds_once_under_concurrency():
    calls = []

    def slow_factory():
        calls.append(1)
        time.sleep(0.2)
        return object()

    results = []
    threads = [threading.Thread(target=lambda: results.append(registry.load_once("test:slow", slow_factory))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len({id(r) for r in results}) == 1


def test_load_bounded_evicts_least_recently_used():
    built = []
    for key in ["a", "b", "a", "c"]:
        registry.load_bounded("bounded:" + key, lambda key=key: built.append(key) or key, capacity=2)
    registry.load_bounded("bounded:b", lambda: built.append("b2") or "b", capacity=2)
    assert built == ["a", "b", "c", "b2"]  # "b" was evicted when "c" arrived; "a" was used more recently


def test_model_id_checks_and_local_folder_errors(tmp_path):
    assert check_model_id(" google/vit-base-patch16-224 ") == "google/vit-base-patch16-224"
    for bad in ["", "a/b/c", "../x", "has space/x"]:
        with pytest.raises(ValueError):
            check_model_id(bad)
    with pytest.raises(ValueError, match="Could not load the local model folder"):
        from transformers import AutoModel

        load_pretrained(AutoModel.from_pretrained, str(tmp_path))


def test_seeding_is_reproducible():
    seed_everything(3)
    first = torch.rand(3)
    seed_everything(3)
    assert torch.equal(first, torch.rand(3))
    assert torch.equal(torch.rand(2, generator=torch_generator(5)), torch.rand(2, generator=torch_generator(5)))


def test_server_paths_are_refused_unless_allowed(monkeypatch, tmp_path):
    env = _Env(monkeypatch)
    env.delenv("NEURODECK_ALLOW_LOCAL_MODELS", raising=False)
    for path in [str(tmp_path), "/etc", "../../etc", str(tmp_path / "no-such-folder")]:
        # the same answer whether or not the path exists: the message never probes the server's disk
        with pytest.raises(ValueError, match="not a valid Hugging Face model id") as refused:
            check_model_id(path)
        assert "exist" not in str(refused.value) and "path on the server" not in str(refused.value)
    assert check_model_id("assets/digits_vit") == "assets/digits_vit"  # a well-formed Hub id, not a folder
    with pytest.raises(ValueError, match="at most 200"):
        check_model_id("a" * 5000)
    env.setenv("NEURODECK_ALLOW_LOCAL_MODELS", "1")
    assert check_model_id(str(tmp_path)) == str(tmp_path)
