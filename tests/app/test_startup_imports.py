"""Start-up stays as fast as an empty app: building every view imports no torch (the views import the engine's
heavy modules inside their handlers). App tier: it builds the whole app in a fresh interpreter (about 4 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_building_the_whole_app_imports_no_torch_nor_openvino():
    code = ("import sys\nfrom app import build_app\nbuild_app()\n"
            "print(sorted(m for m in ('torch', 'openvino', 'diffusers', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
