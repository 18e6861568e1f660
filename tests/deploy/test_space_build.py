"""The Hugging Face Space build, simulated: the Dockerfile's own pip commands, the allow-list, the server.

Fast tier: the Dockerfile installs with the README's line, the README's front matter makes a Docker Space,
and the allow-list covers exactly the pinned lock. App tier (pip and a server: seconds to a minute): the
allow-list is not stale, the Dockerfile's pip commands resolve (dry run, fresh venv) to wheels inside the
allow-list, and ``python app.py`` started as on a Space serves the page on every interface.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from pathlib import Path

import pytest

from benchmarks.bench_space import dockerfile_pip_commands, runnable_here
from benchmarks.serving import stop
from scripts import space_allowlist

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
README_INSTALL = "pip install --no-deps -r requirements.txt"
OWN_PROJECT = "neurodeck"  # `-e .`: the repository itself, installed from its folder


def readme_cpu_install() -> list[list[str]]:
    """The README's CPU install line (CPU torch first, then the lock), as argv per command."""
    match = re.search(r"`(pip install torch==[^`]*--index-url https://download\.pytorch\.org/whl/cpu && [^`]*)`", README)
    assert match, "README's install notes lost the CPU torch line that the Dockerfile runs"
    return [shlex.split(part) for part in match.group(1).split("&&")]


def front_matter() -> dict[str, str]:
    block = README.split("---")[1]
    return {k.strip(): v.strip().strip('"') for k, _, v in (line.partition(":") for line in block.splitlines()) if k}


def pinned_requirements() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return {space_allowlist.canonical(line.split("==")[0]) for line in lines if line.strip() and line[0] not in "#-"}


# ----------------------------------------------------------------------------------------------- fast tier
def test_dockerfile_runs_the_readme_install_and_the_app():
    assert dockerfile_pip_commands() == readme_cpu_install()
    assert dockerfile_pip_commands()[-1] == shlex.split(README_INSTALL)  # the README's own install command
    assert f"{README_INSTALL}   # install" in README  # ... which stays the README's first command
    assert re.search(r'^CMD \["python", "app.py"\]$', DOCKERFILE, re.M)


def test_readme_front_matter_makes_a_docker_space_on_the_apps_port():
    meta = front_matter()
    assert (meta["sdk"], meta["app_port"]) == ("docker", "7860")
    assert "GRADIO_SERVER_PORT=7860" in DOCKERFILE and "GRADIO_SERVER_NAME=0.0.0.0" in DOCKERFILE


def test_docker_context_leaves_local_environments_out():
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".venv", ".ci", ".git", "**/__pycache__"} <= ignored


def test_allowlist_is_exactly_the_pinned_lock():
    listed = set(space_allowlist.read_allowlist())
    pinned = pinned_requirements()
    assert not pinned - listed, f"pinned but used by nothing (remove the pin, or teach the walk): {sorted(pinned - listed)}"
    assert not listed - pinned, f"needed but not pinned in requirements.txt: {sorted(listed - pinned)}"


# -------------------------------------------------------------------------------- app tier (pip, a server)
@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A fresh venv (pip and setuptools, as Python 3.11 makes one), as in the Dockerfile; skipped without PyPI."""
    folder = tmp_path_factory.mktemp("space") / "venv"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    probe = subprocess.run([python, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps", "--retries", "0",
                            "--timeout", "15", "packaging"], capture_output=True, text=True, cwd=ROOT)
    if probe.returncode:
        pytest.skip(f"PyPI is unreachable from this machine, so the Space build cannot be simulated: {probe.stderr[-300:]}")
    return python


@pytest.mark.app
def test_allowlist_is_not_stale():
    listed, _ = space_allowlist.build()
    assert space_allowlist.render(listed) == space_allowlist.ALLOWLIST.read_text(encoding="utf-8"), (
        "tests/deploy/space_allowlist.txt is stale: run `python -m scripts.space_allowlist` and commit it")


@pytest.mark.app
def test_space_install_resolves_to_wheels_inside_the_allowlist(fresh_venv, tmp_path):
    """Exactly the Dockerfile's pip commands, as `--dry-run --ignore-installed --report` in a fresh venv."""
    # A Python 3.11 venv ships pip and setuptools (torch's wheel also declares setuptools): not part of the lock.
    allowed = set(space_allowlist.read_allowlist()) | {OWN_PROJECT} | space_allowlist.INSTALLER
    # What these commands read (`-r requirements.txt`, and pyproject.toml for `-e .`), in a scratch folder:
    # preparing `-e .` writes neurodeck.egg-info next to pyproject.toml, and the checkout stays untouched.
    app = tmp_path / "app"
    app.mkdir()
    for name in ("requirements.txt", "pyproject.toml"):
        (app / name).write_bytes((ROOT / name).read_bytes())
    notes = []
    for number, argv in enumerate(dockerfile_pip_commands()):
        args, note = runnable_here(argv)  # PyTorch's CPU index, if unreachable, is replaced by pip's own index
        notes += [note] if note else []
        report = tmp_path / f"report{number}.json"
        run = subprocess.run([fresh_venv, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                              "--report", report, *args], capture_output=True, text=True, cwd=app)
        assert run.returncode == 0, f"`{' '.join(argv)}` failed: {run.stderr[-2000:]}"
        for item in json.loads(report.read_text())["install"]:
            name = space_allowlist.canonical(item["metadata"]["name"])
            info = item["download_info"]
            if name == OWN_PROJECT:
                assert info.get("dir_info", {}).get("editable"), info  # the repository itself, `-e .`
                continue
            assert info["url"].split("#")[0].endswith(".whl"), f"{name} would be built from source: {info['url']}"
            assert name in allowed, f"{name} {item['metadata']['version']} is outside the allow-list ({number=})"
    print(*notes, sep="\n")


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode("utf-8", "replace")


@pytest.mark.app
def test_app_starts_as_on_a_space_and_serves_the_page(tmp_path):
    """`python app.py` from this environment (installed by the same line), with a Space's SPACE_ID."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in {"GRADIO_SERVER_NAME", "PORT"}}
    env.update(SPACE_ID="ci/neurodeck", GRADIO_SERVER_PORT=str(port), NEURODECK_WARMUP="0", PYTHONUNBUFFERED="1")
    log = tmp_path / "app.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    # 127.0.0.2 is loopback too, but a server bound to 127.0.0.1 only refuses it: this proves 0.0.0.0.
    url = f"http://127.0.0.2:{port}/"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, f"app.py exited: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "app.py did not answer within 240 s"
            try:
                status, page = _get(url)
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200 and '"title":"NeuroDeck"' in page  # the page's inline config: gradio sets <title> from it
        status, config = _get(url + "config")
        assert status == 200 and "Licence: non-commercial use only" in config  # shown on the Faces view
    finally:
        stop(process)
