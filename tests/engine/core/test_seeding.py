"""Per-job randomness: same seed, same result, however many threads draw at once."""

from __future__ import annotations

import threading

import torch

from engine.core.seeding import JobRng
from engine.gan import lab


def test_job_rng_replays_manual_seed_without_touching_the_global_rng():
    torch.manual_seed(0)
    expected = torch.nn.Linear(7, 5).weight.detach().clone()
    torch.manual_seed(99)
    outside = torch.random.get_rng_state()
    with JobRng(0).active():
        got = torch.nn.Linear(7, 5).weight.detach().clone()
    assert torch.equal(got, expected)
    assert torch.equal(torch.random.get_rng_state(), outside)


def test_job_rng_blocks_continue_one_stream():
    torch.manual_seed(4)
    expected = torch.rand(6)
    job = JobRng(4)
    with job.active():
        first = torch.rand(3)
    torch.rand(100)  # someone else draws in between
    with job.active():
        second = torch.rand(3)
    assert torch.equal(torch.cat([first, second]), expected)


def _weights(session: lab.LabSession) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in [*session.generator.parameters(), *session.discriminator.parameters()]])


def test_concurrent_same_seed_lab_sessions_are_identical():
    reference = _weights(lab.LabSession(lab.LabConfig(seed=0)))
    results: dict[str, list[torch.Tensor]] = {"same": [], "other": []}
    start = threading.Barrier(3)

    def build(seed: int, key: str) -> None:
        start.wait()
        for _ in range(10):
            results[key].append(_weights(lab.LabSession(lab.LabConfig(seed=seed))))

    threads = [threading.Thread(target=build, args=(0, "same")) for _ in range(2)]
    threads.append(threading.Thread(target=build, args=(1, "other")))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results["same"]) == 20 and all(torch.equal(w, reference) for w in results["same"])
    assert not torch.equal(results["other"][0], reference)
