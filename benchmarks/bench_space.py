"""The Space's build time and the app's memory at idle, measured here (docs/space.md).

    python -m benchmarks.bench_space --build     # the Dockerfile's pip commands, for real, into a fresh venv
    python -m benchmarks.bench_space --memory    # RSS of `python app.py` as on a Space, at start and at idle

``--build`` runs the Dockerfile's own pip commands (real installs, no pip cache) into a fresh venv in a
temporary folder and prints the seconds each took and the venv's size; ``--memory`` starts ``python app.py``
from this environment with a Space's ``SPACE_ID`` and prints the server's resident memory (process and
children) once the page answers, its highest sample during the background warm-up, and again at idle after it.
A Space's first start has an empty cache (the decoder's GGUF is converted once): measure that case with
``NEURODECK_CACHE=$(mktemp -d) python -m benchmarks.bench_space --memory``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_pip_commands() -> list[list[str]]:
    """Each `pip install ...` of the Dockerfile's RUN lines (continuations joined, `&&` split), as argv."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    commands = []
    for line in text.splitlines():
        if line.strip().startswith("RUN "):
            for part in line.strip()[4:].split("&&"):
                argv = shlex.split(part)
                if argv[:2] == ["pip", "install"]:
                    commands.append(argv)
    return commands


def reachable(url: str, timeout: float = 3.0) -> bool:
    parts = urllib.parse.urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def runnable_here(argv: list[str]) -> tuple[list[str], str]:
    """The pip arguments of one Dockerfile command; an index this machine cannot reach (PyTorch's CPU index
    here) is left out so pip's own configured index answers. Returns (args after `pip install`, note)."""
    args = argv[2:]
    if "--index-url" in args:
        at = args.index("--index-url")
        if not reachable(args[at + 1]):
            note = f"{args[at + 1]} unreachable here: `{' '.join(argv)}` resolved from pip's configured index"
            return args[:at] + args[at + 2:], note
    return args, ""


def measure_build() -> dict:
    folder = Path(tempfile.mkdtemp(prefix="space-build-"))
    try:
        source = folder / "app"  # what the Dockerfile copies: the committed tree
        source.mkdir()
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", source], input=archive, check=True)
        started = time.perf_counter()
        venv.create(folder / "venv", with_pip=True)
        figures = {"load_before": os.getloadavg(), "venv_s": round(time.perf_counter() - started, 1), "steps": []}
        for argv in dockerfile_pip_commands():
            args, note = runnable_here(argv)
            began = time.perf_counter()
            subprocess.run([folder / "venv" / "bin" / "python", "-m", "pip", "install", "--quiet", *args], cwd=source,
                           env=dict(os.environ, PIP_NO_CACHE_DIR="1"), check=True)
            figures["steps"].append({"command": " ".join(argv), "seconds": round(time.perf_counter() - began, 1),
                                     **({"note": note} if note else {})})
        figures["total_s"] = round(time.perf_counter() - started, 1)
        size = subprocess.run(["du", "-sm", folder / "venv"], capture_output=True, text=True, check=True).stdout
        figures["venv_mb"] = int(size.split()[0])
        figures["load_after"] = os.getloadavg()
        return figures
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def rss_mb(pid: int) -> float:
    import psutil

    process = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


def median_rss(pid: int, samples: int = 5) -> float:
    values = []
    for _ in range(samples):
        values.append(rss_mb(pid))
        time.sleep(1)
    return round(statistics.median(values), 1)


def measure_memory() -> dict:
    from gradio_client import Client

    from benchmarks.serving import free_port, stop

    port = free_port()
    env = dict(os.environ, SPACE_ID="local/neurodeck", GRADIO_SERVER_PORT=str(port), PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        started = time.perf_counter()
        while True:
            try:
                client = Client(url, verbose=False)
                break
            except Exception:  # noqa: BLE001  (not up yet)
                if process.poll() is not None or time.perf_counter() - started > 300:
                    raise RuntimeError("app.py did not start") from None
                time.sleep(1)
        figures = {"load_before": os.getloadavg(), "page_s": round(time.perf_counter() - started, 1),
                   "rss_at_start_mb": median_rss(process.pid)}
        peak = figures["rss_at_start_mb"]
        while client.predict(api_name="/ping") != "pong":  # the warm-up has imported the engine, loaded the defaults
            if time.perf_counter() - started > 600:
                raise RuntimeError("the warm-up did not finish within 600 s")
            peak = max(peak, rss_mb(process.pid))  # sampled every ~2 s: a lower bound of the true peak
            time.sleep(2)
        figures["rss_peak_during_warm_up_mb"] = round(peak, 1)
        figures["warm_s"] = round(time.perf_counter() - started, 1)
        time.sleep(10)
        figures["rss_idle_after_warm_up_mb"] = median_rss(process.pid)
        figures["load_after"] = os.getloadavg()
        return figures
    finally:
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", action="store_true", help="time the Dockerfile's pip commands in a fresh venv")
    parser.add_argument("--memory", action="store_true", help="the app's RSS at start and at idle, as on a Space")
    args = parser.parse_args()
    if not (args.build or args.memory):
        parser.error("pick --build and/or --memory")
    figures = {}
    if args.build:
        figures["build"] = measure_build()
    if args.memory:
        figures["memory"] = measure_memory()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
