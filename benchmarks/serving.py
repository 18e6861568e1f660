"""Shared helpers for benchmarks that start a server and time round-trips."""

from __future__ import annotations

import json

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen, grace_s: float = 20) -> None:
    """Terminate ``process``; kill it if it has not exited after ``grace_s`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()


@contextmanager
def running_server(script: str, env_extra: dict | None = None, timeout_s: float = 180, log_path: Path | None = None,
                   root: Path = ROOT):
    """Start ``python script`` in ``root`` (a checkout) on a free port; yield (url, seconds until the first HTTP 200).

    The server's output goes to ``log_path`` (discarded when None).
    """
    port = free_port()
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), **(env_extra or {}))
    started = time.perf_counter()
    log = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115  (closed below)
    process = subprocess.Popen([sys.executable, script], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{script} exited early with code {process.returncode}")
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError(f"{script} did not answer HTTP 200 within {timeout_s}s")
            try:  # a long timeout: a page that takes over 1 s to render was asked again, piling up renders
                with urllib.request.urlopen(url, timeout=30) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        yield url, time.perf_counter() - started
    finally:
        stop(process)
        if log_path:
            log.close()


def measure_app(measure, url: str = "", env_extra: dict | None = None, json_path: Path | None = None) -> dict:
    """``measure(url)`` against a running NeuroDeck at ``url``, or against a fresh ``python app.py``; prints the
    figures as JSON and also writes them to ``json_path`` when given."""
    import json

    if url:
        figures = measure(url)
    else:
        with running_server("app.py", env_extra, timeout_s=240) as (started_url, _):
            figures = measure(started_url)
    print(json.dumps(figures, indent=2))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def benchmark_clients(url: str) -> dict:
    """The three gradio_client set-ups every latency benchmark reports, by name.

    gradio_client opens a new httpx client for each upload, queue join and file download, and by
    default each one loads the CA bundle (~20 ms) although the server is plain http on localhost;
    ssl_verify=False skips only that load, so it is the closest to what a browser sees. A browser
    also fetches output files in parallel, so a client that does not download them is timed too.
    """
    from gradio_client import Client

    return {
        "gradio_client_defaults": Client(url, verbose=False),
        "ssl_verify_false": Client(url, verbose=False, ssl_verify=False),
        "ssl_verify_false_no_file_download": Client(url, verbose=False, ssl_verify=False, download_files=False),
    }


def wait_until_warm(client, timeout_s: float = 120) -> None:
    """Poll ``/ping`` until app.py says its background warm-up is over."""
    started = time.perf_counter()
    while client.predict(api_name="/ping") != "pong":
        if time.perf_counter() - started > timeout_s:
            raise TimeoutError(f"app.py was still warming up after {timeout_s}s")
        time.sleep(0.25)


def time_calls(call, repeats: int, warmup: int = 2) -> list[float]:
    """Seconds per call, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


class RawHTTPClient:
    """The lightest client: plain HTTP to /gradio_api/call/<api> and a read of its server-sent events.

    One kept-alive httpx connection and one session hash of its own (gradio keeps per-session queues;
    without a hash every call opens a new session, which made even /ping take 100-400 ms here).
    """

    def __init__(self, url: str):
        import uuid

        import httpx

        self.url, self.http, self.session = url.rstrip("/"), httpx.Client(timeout=120), uuid.uuid4().hex

    def defaults(self, api_name: str) -> list:
        """The endpoint's parameter defaults, from the app's API description (read once); [] if not described."""
        if not hasattr(self, "_info"):
            self._info = self.http.get(f"{self.url}/gradio_api/info").json()["named_endpoints"]
        described = self._info.get("/" + api_name.strip("/"))  # a private endpoint (/ping) is not described
        return [p.get("parameter_default") for p in described["parameters"]] if described else []

    def events(self, *data, api_name: str):
        """(event name, decoded data) of each server-sent event: "generating" per streamed message, then "complete"
        (the last one yielded); an "error" event raises."""
        api = api_name.strip("/")
        data = list(data) + self.defaults(api_name)[len(data):]  # as gradio_client does: the rest at their defaults
        answer = self.http.post(f"{self.url}/gradio_api/call/{api}", json={"data": data, "session_hash": self.session})
        answer.raise_for_status()
        event = ""
        with self.http.stream("GET", f"{self.url}/gradio_api/call/{api}/{answer.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line[len("event:"):].strip()
                elif line.startswith("data:") and event in ("generating", "complete", "error"):
                    if event == "error":
                        raise RuntimeError(f"{api_name} failed: {line[:200]}")
                    yield event, json.loads(line[len("data:"):])
                    if event == "complete":
                        return
        raise RuntimeError(f"{api_name}: the event stream ended without a result")

    def predict(self, *data, api_name: str):
        for _event, payload in self.events(*data, api_name=api_name):
            result = payload
        return result
