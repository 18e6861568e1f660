"""Every repository path named in README.md and docs/ exists (the README once named files long gone)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "assets").rglob("README.md"))]
TOP = ("app.py", "engine/", "demos/", "scripts/", "benchmarks/", "tests/", "assets/", "docs/", ".ci/")
# `path`, `path::name`, `path:line`, [text](path) and bare words starting with a top-level folder
CANDIDATE = re.compile(r"`([^`\s]+)`|\]\(([^)\s#]+)\)|(?<![\w/.-])((?:engine|demos|scripts|benchmarks|tests|assets|docs)/[\w./-]+)")


def named_paths(text: str) -> set[str]:
    out = set()
    for match in CANDIDATE.finditer(text):
        token = next(group for group in match.groups() if group)
        token = token.split("::")[0].rstrip(".,;:)")
        token = re.sub(r":\d+$", "", token)
        if "://" in token or any(ch in token for ch in "*<>{}$?") or not token.startswith(TOP) and token != "app.py":
            continue
        out.add(token)
    return out


def test_named_paths_exist():
    missing = []
    for doc in DOCS:
        base = doc.parent
        for token in sorted(named_paths(doc.read_text())):
            module = re.sub(r"\.\w+$", "", token) + ".py"  # engine/x/y.name: a name in engine/x/y.py
            if not any(path.exists() for path in (ROOT / token, base / token, ROOT / module)):
                missing.append(f"{doc.relative_to(ROOT)}: {token}")
    assert not missing, "\n".join(missing)


def test_the_check_reads_the_forms_the_docs_use():
    text = "see `engine/gan/train.py::train`, tests/support.DIGIT_STROKES, [a](docs/stage.md), demos/stage.py, `app.py` and http://x/y.py"
    assert named_paths(text) == {"engine/gan/train.py", "tests/support.DIGIT_STROKES", "docs/stage.md", "demos/stage.py", "app.py"}
