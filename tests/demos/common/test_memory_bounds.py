"""Bounds on what a class leaves behind (issue 24): gradio's cache under a size cap, ended sessions freed,
memory handed back when idle, no per-id leftovers in the model registry."""

from __future__ import annotations

import os
import sys
import threading
import time
import types

import pytest

from demos.common import disk, memory, outputs
from engine.core import idle, registry


def _files(folder, count, base, size=1000, step=10):
    """``count`` files of ``size`` bytes, file i last touched at base + i * step (oldest first)."""
    paths = []
    for i in range(count):
        sub = folder / f"hash{i}"
        sub.mkdir()
        path = sub / f"image{i}.png"
        path.write_bytes(b"x" * size)
        os.utime(path, (base + i * step, base + i * step))
        paths.append(path)
    return paths


def test_sweep_removes_the_oldest_files_beyond_the_cap_and_their_folders(tmp_path):
    base = time.time() + 100
    paths = _files(tmp_path, 4, base)
    result = disk.sweep(paths, cap_bytes=2000, min_age_s=10, now=base + 1000)
    assert sorted(result.removed) == sorted(str(p) for p in paths[:2])
    assert (result.bytes_before, result.bytes_after) == (4000, 2000)
    assert [p.exists() for p in paths] == [False, False, True, True]
    assert not paths[0].parent.exists()  # gradio's one-file hash folder went too


def test_sweep_never_removes_fresh_or_pinned_files(tmp_path):
    base = time.time() + 100
    paths = _files(tmp_path, 4, base)
    # Cap 0, but at base + 25 with a 10 s grace only the files touched at base and base + 10 are old enough;
    # the oldest one is pinned (a component's default value).
    result = disk.sweep(paths, cap_bytes=0, min_age_s=10, keep=[str(paths[0])], now=base + 25)
    assert result.removed == (str(paths[1]),)
    assert [p.exists() for p in paths] == [True, False, True, True]
    assert result.bytes_after == 3000  # still over the cap: nothing else may go


def test_sweep_under_the_cap_removes_nothing(tmp_path):
    base = time.time() + 100
    paths = _files(tmp_path, 3, base)
    assert disk.sweep(paths, cap_bytes=10_000, min_age_s=0, now=base + 1000).removed == ()
    assert all(p.exists() for p in paths)


def test_reuse_touches_an_existing_file_and_reports_a_missing_one(tmp_path):
    path = tmp_path / "face.png"
    assert not disk.reuse(path)
    path.write_bytes(b"x")
    os.utime(path, (1, 1))
    assert disk.reuse(path) and path.stat().st_mtime > time.time() - 60


def _fake_demo(tracked, pinned, uploads=()):
    block = types.SimpleNamespace(keep_in_cache=set(pinned))
    return types.SimpleNamespace(temp_file_sets=[set(tracked)], upload_file_set=set(uploads), blocks={1: block})


def test_app_cache_sweep_covers_tracked_uploaded_and_own_files_only(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    old = time.time() - 3600
    own = tmp_path / "neurodeck_gan" / "abc"
    own.mkdir(parents=True)
    names = {"tracked": tmp_path / "t.png", "pinned": tmp_path / "p.png", "upload": tmp_path / "u.png",
             "own": own / "digit_00.png", "foreign": tmp_path / "someone_else.png"}
    for path in names.values():
        path.write_bytes(b"x" * 1000)
        os.utime(path, (old, old))
    demo = _fake_demo([str(names["tracked"]), str(names["pinned"])], [str(names["pinned"])], [str(names["upload"])])
    files, pinned = disk.app_files(demo)
    assert files == {str(names[k]) for k in ("tracked", "pinned", "upload", "own")} and pinned == {str(names["pinned"])}
    result = disk.sweep_app_cache(demo, cap_bytes=0, min_age_s=0)  # ctime is now: a 0 s grace lets them go
    assert len(result.removed) == 3
    assert names["pinned"].exists() and names["foreign"].exists()
    assert not any(names[k].exists() for k in ("tracked", "upload", "own"))


def test_malloc_trim_is_safe_to_call_from_several_threads():
    garbage = [bytes(4096) for _ in range(20_000)]  # ~80 MB from malloc (too big for Python's small-object pool)
    del garbage
    results = []
    threads = [threading.Thread(target=lambda: results.append(memory.malloc_trim())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(isinstance(r, bool) for r in results)
    assert memory.rss_bytes() > 0 or not sys.platform.startswith("linux")


def test_malloc_trim_is_a_no_op_off_linux(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert memory.malloc_trim() is False
    assert memory.tune_allocator() is False


def test_tune_allocator_caps_glibc_arenas_unless_the_environment_set_them(monkeypatch):
    calls = []

    def mallopt(parameter, value):
        calls.append((parameter, value))
        return 1

    monkeypatch.setattr(memory, "_glibc_function", lambda name: mallopt if name == "mallopt" else None)
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert memory.tune_allocator() is True and calls == [(-8, 2)]  # M_ARENA_MAX, one arena per core
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")  # glibc read the operator's choice at start: left alone
    assert memory.tune_allocator() is False and len(calls) == 1


def test_the_app_tunes_the_allocator_before_it_builds_anything():
    import inspect

    import app

    source = inspect.getsource(app.main)
    assert "memory.tune_allocator()" in source
    assert source.index("memory.tune_allocator()") < source.index("build_app()")


@pytest.fixture
def holder():
    import datetime

    import gradio as gr
    from gradio.state_holder import StateHolder

    with gr.Blocks() as demo:
        gr.State(1)
    states = StateHolder()
    states.set_blocks(demo)
    now = datetime.datetime.now()
    for name, minutes_ago in (("old-open", 40), ("closed-long-ago", 10), ("closed-just-now", 1), ("busy-closed", 40),
                              ("fresh", 0)):
        states[name]  # created as gradio does on a session's first request
        states.time_last_used[name] = now - datetime.timedelta(minutes=minutes_ago)
    for name in ("closed-long-ago", "closed-just-now", "busy-closed"):
        states.session_data[name].is_closed = True
    return states


def test_sessions_closed_or_idle_long_enough_are_freed(holder):
    freed = memory.prune_sessions(holder, busy={"busy-closed"}, closed_keep_s=300, idle_s=1800, capacity=100)
    assert sorted(freed) == ["closed-long-ago", "old-open"]
    assert set(holder.session_data) == {"closed-just-now", "busy-closed", "fresh"}
    assert set(holder.time_last_used) == set(holder.session_data)


def test_sessions_beyond_capacity_go_least_recently_used_first(holder):
    memory.prune_sessions(holder, closed_keep_s=10**6, idle_s=10**6, capacity=2)
    assert list(holder.session_data) == ["busy-closed", "fresh"]  # the two most recently created


def test_housekeeping_runs_on_an_app_without_sessions_and_sweeps_display_files(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    gifs = tmp_path / "gifs"
    gifs.mkdir()
    stale = gifs / "a.gif"
    stale.write_bytes(b"x")
    os.utime(stale, (1, 1))
    sweeper = outputs.OldFileSweeper(gifs, "*.gif", 600)
    try:
        done = memory.housekeeping(_fake_demo([], []))
    finally:
        outputs.SWEEPERS.remove(sweeper)
    assert not stale.exists() and done["cache_files_removed"] == 0


def test_janitor_trims_once_when_the_process_goes_idle(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    monkeypatch.setattr(memory, "CHECK_EVERY_S", 0.05)
    monkeypatch.setattr(memory, "IDLE_AFTER_S", 0.1)
    demo = _fake_demo([], [])
    demo._queue = types.SimpleNamespace(event_ids_to_events={"e1": types.SimpleNamespace(session_hash="s1")})
    releases = []

    class Model:  # a loaded model that frees buffers it rebuilds on next use (engine.core.idle)
        def release(self):
            releases.append(time.monotonic())
            return True

    model = Model()
    idle.register(model.release)
    janitor = memory.start_janitor(demo)  # a request is running (the CPU it uses does not matter)
    try:
        time.sleep(0.5)
        assert janitor.trims == [] and releases == []  # never while an event waits or runs
        demo._queue.event_ids_to_events.clear()  # it ended
        deadline = time.monotonic() + 5
        while not janitor.trims and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    finally:
        janitor.stopped.set()
        janitor.join(2)
    assert len(janitor.trims) == 1  # once per idle spell, not every check
    assert len(releases) == 1  # the models were asked to free their buffers with that trim


def test_failed_hub_ids_leave_no_lock_behind():
    def fail():
        raise ValueError("no such model")

    for number in range(50):
        with pytest.raises(ValueError):
            registry.load_bounded(f"test:missing-{number}", fail)
    assert not [key for key in registry._bounded_locks if key.startswith("test:missing-")]
    assert registry.load_bounded("test:present", lambda: "model") == "model"
    assert "test:present" not in registry._bounded_locks


def test_busy_sessions_are_those_with_events_waiting_or_running_and_freed_ones_leave_the_queue():
    running = types.SimpleNamespace(session_hash="running")
    queue = types.SimpleNamespace(event_ids_to_events={"e1": running},
                                  pending_event_ids_session={"running": {"e1"}, "done": {"e0"}})
    demo = types.SimpleNamespace(_queue=queue)
    assert memory._busy_sessions(demo) == {"running"}  # "done" only has ended events, which gradio never forgets
    memory._forget_queue_ids(demo, ["done"])
    assert queue.pending_event_ids_session == {"running": {"e1"}}


def test_the_gradio_internals_the_janitor_reads_still_exist():
    """memory.py reads gradio 6.31's session store and queue dicts (no public API frees a closed page's state):
    this fails, instead of the janitor silently freeing nothing, if a gradio upgrade renames them."""
    import gradio as gr

    from demos.common import gradio_patches

    with gr.Blocks() as demo:
        gr.Textbox()
    demo.queue()
    assert gr.__version__ == gradio_patches.GRADIO_VERSION
    assert isinstance(demo.state_holder.session_data, dict)
    assert isinstance(demo._queue.event_ids_to_events, dict)
    assert isinstance(demo._queue.pending_event_ids_session, dict)
