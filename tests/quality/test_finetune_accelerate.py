"""scripts.finetune for real: one process vs `accelerate launch` with two CPU processes on the built-in text task.

Kept short (feature extraction on MiniLM, 140 sentences): most of each run is starting Python and loading
MiniLM. accelerate 1.15 starts several CPU processes through `--multi_gpu` (torchrun) with the script's own
`--cpu`; `accelerate launch --cpu --num_processes 2` would start one (see docs/finetune.md).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.transfer.export import load_exported

# Two training processes launched by accelerate (~25 s on 2 cores): the slow tier (pytest -m slow).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--data", "builtin:text-topics", "--strategy", "feature_extraction", "--epochs", "10", "--seed", "0"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "hf-home"),  # no user-level accelerate config can change the launch
           "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_two_cpu_processes_match_one_and_write_a_loadable_model(tmp_path):
    one = _run([sys.executable, "-m", "scripts.finetune", *ARGS, "--output", str(tmp_path / "one")], tmp_path)
    accelerate = str(Path(sys.executable).with_name("accelerate"))
    two = _run([accelerate, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
                "-m", "scripts.finetune", "--cpu", *ARGS, "--output", str(tmp_path / "two")], tmp_path)

    single = json.loads((tmp_path / "one" / "metrics.json").read_text())
    double = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert single["world_size"] == 1 and double["world_size"] == 2
    assert double["distributed_type"] == "MULTI_CPU" and double["batch_size_per_process"] == 8
    assert abs(double["validation_accuracy"] - single["validation_accuracy"]) <= 0.05
    assert double["validation_accuracy"] >= 0.85 and 1 <= double["epochs_run"] <= 10 == double["epochs"]
    assert "macro_f1" in double and len(double["history"]) == double["epochs_run"]
    assert two.stdout.count("epoch 1/10") == 1  # only the main process logs

    folder = tmp_path / "two"
    assert {"config.json", "diffusion_pytorch_model.safetensors", "labels.json", "README.md", "tokenizer.json"} <= {
        p.name for p in folder.iterdir()}
    from transformers import AutoTokenizer

    model, tokenizer = load_exported(folder), AutoTokenizer.from_pretrained(folder)
    labels = json.loads((folder / "labels.json").read_text())
    batch = tokenizer(["The striker scored twice in the derby.", "Heavy rain and strong winds are expected tonight."],
                      padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    assert [labels[i] for i in logits.argmax(-1).tolist()] == ["sports", "weather"]
    assert "2 process(es)" in (folder / "README.md").read_text()
