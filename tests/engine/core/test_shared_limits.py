"""Engine side of issue 14: loads that never block others, bounded downloads, fair live runs, checked numbers."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from engine.core import registry, settings
from engine.core.streams import FairShare, RunSlots, RunStopped
from engine.core.validation import check_number, check_seed


def test_a_slow_load_never_blocks_another_key():
    release, started = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(10)
        return "slow"

    worker = threading.Thread(target=registry.load_bounded, args=("test:slow-id", slow))
    worker.start()
    try:
        assert started.wait(5)
        # While the first id is still "downloading", another id (and a cache hit) load at once.
        assert registry.load_bounded("test:other-id", lambda: "other") == "other"
        assert registry.load_bounded("test:other-id", lambda: "never called") == "other"
        assert worker.is_alive()
    finally:
        release.set()
        worker.join(5)


def test_offline_is_detected_once_and_every_hub_id_then_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    settings.reload()
    probes = []

    def unreachable(*args, **kwargs):
        probes.append(args)
        raise OSError("no route to host")

    monkeypatch.setattr(registry.socket, "create_connection", unreachable)
    monkeypatch.setitem(registry._probe, "at", -1e9)
    for model_id in ("someone/a-model", "someone/another-model", "bert-base-uncased"):
        with pytest.raises(ValueError, match="no network"):
            registry.load_pretrained(lambda *a, **k: pytest.fail("the loader must not run"), model_id)
    assert len(probes) == 1  # one 2 s probe, then the cached answer


def test_hub_models_over_the_download_cap_are_refused_before_downloading(monkeypatch):
    import huggingface_hub

    sizes = {"model.safetensors": 3 * 2**30, "pytorch_model.bin": 3 * 2**30, "config.json": 700}
    info = SimpleNamespace(siblings=[SimpleNamespace(rfilename=n, size=s) for n, s in sizes.items()])
    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", lambda self, *a, **k: info)
    with pytest.raises(ValueError, match="3.0 GB of safetensors weights"):
        registry.check_download_size("someone/huge-model")
    info.siblings[0].size = 400 * 2**20  # 400 MB: fine
    registry.check_download_size("someone/small-model")


@pytest.mark.parametrize("value", ["", "abc", None, float("nan"), float("inf"), 1e30, 2**70, -1, 2.5, True])
def test_seeds_are_whole_numbers_in_range_with_a_readable_message(value):
    with pytest.raises(ValueError, match=r"The seed must be a whole number from 0 to 4,294,967,295; got"):
        check_seed(value)


def test_numbers_accept_numeric_strings_and_defaults():
    assert check_seed("42") == 42 and check_seed(7.0) == 7
    assert check_number("", "count", 1, 9, whole=True, default=3) == 3
    assert check_number("0.5", "rate", 0, 1) == 0.5


def test_fair_share_serves_streams_round_robin():
    share, order = FairShare(1), []

    def stream(name):
        for _ in range(3):
            with share.turn():
                order.append(name)

    threads = [threading.Thread(target=stream, args=(n,)) for n in "abc"]
    with share.turn():  # hold the only slot while the three streams line up, in a known order
        for count, thread in enumerate(threads, start=1):
            thread.start()
            deadline = time.monotonic() + 10
            while share.waiting < count and time.monotonic() < deadline:
                time.sleep(0.001)
    for thread in threads:
        thread.join(10)
    # Nobody waits for another stream to finish: each turn goes to the one that waited longest.
    assert "".join(order) == "abcabcabc"


def test_a_waiting_stream_leaves_when_stopped_and_a_session_keeps_one_run():
    share, stop = FairShare(1), threading.Event()
    with share.turn():
        stop.set()
        with pytest.raises(RunStopped):
            with share.turn(stop):
                pass
    slots = RunSlots()
    first = slots.start("session-1", "live")
    finisher = threading.Timer(0.2, lambda: slots.finish(first))  # the old run ends at its next frame
    finisher.start()
    second = slots.start("session-1", "live")
    assert first.stop.is_set() and not second.stop.is_set() and slots.count("live") == 1
    other = slots.start("session-2", "live")
    assert slots.count("live") == 2
    slots.finish(second), slots.finish(other)
