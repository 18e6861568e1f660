"""Write the Space build's allow-list: the distributions the app imports (or reads files from), plus their dependencies.

    python -m scripts.space_allowlist            # rewrite tests/deploy/space_allowlist.txt
    python -m scripts.space_allowlist --check    # exit 1 if the committed file is stale

Run it in an environment installed by the README's line (``pip install --no-deps -r requirements.txt``): the
distribution behind each imported module and each distribution's ``Requires-Dist`` are read from what is
installed there. How the list is built:

1. Every ``import`` in the app's own code (``app.py``, ``engine/``, ``demos/``; imports inside functions too),
   read with ``ast``, minus the standard library and NeuroDeck's own packages. The same for the tests and
   the repository's tooling (``tests/``, ``scripts/``, ``benchmarks/``): those are marked ``tests`` (the lock
   installs them on the Space too, see docs/space.md).
2. The packages a library imports for a feature the app calls (``FEATURES`` below, each checked against
   the file that uses it), and the weight packages the registry reads files from (``kind="package"`` in
   ``engine/core/registry.py``): only their files are used, so their declared dependencies (llama.cpp,
   jupyter, opencv, sentence-transformers ...) are NOT followed. That is why the Space installs with
   ``--no-deps``.
3. The closure of ``Requires-Dist`` over the installed distributions (environment markers evaluated here,
   extras followed when a requirement names them). A declared dependency that is not installed is printed
   (the lock leaves it out on purpose) and not listed.

``tests/deploy/test_space_build.py`` checks the file is not stale, that every pin of requirements.txt is in
it, and that the Space's install (a pip dry run) resolves to nothing outside it.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
ALLOWLIST = ROOT / "tests" / "deploy" / "space_allowlist.txt"
APP_CODE = ("app.py", "engine", "demos")
TOOLING_CODE = ("tests", "scripts", "benchmarks")
OWN_PACKAGES = {"app", "engine", "demos", "tests", "scripts", "benchmarks", "conftest", "support"}
INSTALLER = {"pip", "setuptools", "wheel"}  # the venv's own tools, not part of the lock
# Packages the app uses without importing them: a library imports them for a feature the app calls.
# Each names the file and the text that shows the use; the script stops if that text is gone (stale entry).
FEATURES = {
    "gguf": ("engine/attention/decoder_load.py", "gguf_file=", "transformers reads SmolLM2's GGUF with it"),
    "accelerate": ("engine/core/registry.py", "init_empty_weights",
                   "diffusers' and transformers' from_pretrained build models with it (their [torch] extra)"),
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def python_files(parts: tuple[str, ...]) -> list[Path]:
    files: list[Path] = []
    for part in parts:
        path = ROOT / part
        files += [path] if path.is_file() else sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    return files


def imported_modules(files: list[Path]) -> dict[str, str]:
    """Top-level module -> the first file (relative) importing it, stdlib and our own packages left out."""
    found: dict[str, str] = {}
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in OWN_PACKAGES:
                    found.setdefault(top, path.relative_to(ROOT).as_posix())
    return found


def weight_packages() -> dict[str, str]:
    """Top-level package -> registry entry, for the models whose files come from a pip package."""
    sys.path.insert(0, str(ROOT))
    from engine.core.registry import SOURCES  # data only: importing the registry loads no model

    return {s.location.split("/")[0]: s.name for s in SOURCES.values() if s.kind == "package"}


def distributions_of(modules: dict[str, str]) -> dict[str, str]:
    """Distribution (canonical name) -> why, for modules that an installed distribution provides."""
    providers = metadata.packages_distributions()
    result: dict[str, str] = {}
    for module, why in sorted(modules.items()):
        for dist in providers.get(module, []):
            result.setdefault(canonical(dist), why)
    return result


def requirement_closure(roots: dict[str, str], leaves: set[str]) -> tuple[dict[str, str], set[str]]:
    """Follow Requires-Dist from ``roots`` (name -> why); ``leaves`` are listed without following them.

    Returns (name -> why) and the declared-but-not-installed requirement names.
    """
    found = dict(roots)
    missing: set[str] = set()
    queue = [(name, frozenset()) for name in roots if name not in leaves]
    seen: set[tuple[str, frozenset]] = set()
    while queue:
        name, extras = queue.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            missing.add(name)
            continue
        for line in requires:
            req = Requirement(line)
            marker_envs = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in marker_envs):
                continue
            dep = canonical(req.name)
            try:
                metadata.distribution(dep)
            except metadata.PackageNotFoundError:
                missing.add(dep)
                continue
            found.setdefault(dep, f"required by {name}")
            queue.append((dep, frozenset(req.extras)))
    return found, missing


def build() -> tuple[dict[str, tuple[str, str]], set[str]]:
    """name -> (group, why) where group is "app" or "tests"; and the declared deps the lock leaves out."""
    weights = weight_packages()
    app_roots = distributions_of(imported_modules(python_files(APP_CODE)))
    weight_dists = distributions_of({module: f"files read by the registry ({entry})" for module, entry in weights.items()})
    app_roots.update({name: why for name, why in weight_dists.items() if name not in app_roots})
    for name, (file, text, why) in FEATURES.items():
        if text not in (ROOT / file).read_text(encoding="utf-8"):
            raise SystemExit(f"FEATURES[{name!r}] is stale: {file} no longer contains {text!r}; update scripts/space_allowlist.py")
        app_roots.setdefault(name, f"{why} ({file})")
    # A weight package whose code we also import would have its dependencies followed; ours are files only.
    leaves = {name for name, why in app_roots.items() if why.startswith("files read")}
    app, missing = requirement_closure(app_roots, leaves)
    tool_roots = distributions_of(imported_modules(python_files(TOOLING_CODE)))
    tools, tool_missing = requirement_closure({k: v for k, v in tool_roots.items() if k not in app}, leaves)
    listed = {name: ("app", why) for name, why in app.items()}
    listed.update({name: ("tests", why) for name, why in tools.items() if name not in listed})
    for name in INSTALLER:
        listed.pop(name, None)
    return listed, (missing | tool_missing) - INSTALLER


def render(listed: dict[str, tuple[str, str]]) -> str:
    lines = [
        "# The Space build's allow-list, generated by `python -m scripts.space_allowlist` (do not edit by hand).",
        "# One distribution per line (canonical name), then why: 'app' = the app imports it, reads its files, or",
        "# an app package requires it; 'tests' = only the tests and tooling use it (the lock installs them too).",
    ]
    width = max(len(name) for name in listed)
    for name in sorted(listed):
        group, why = listed[name]
        lines.append(f"{name:<{width}}  # {group}: {why}")
    return "\n".join(lines) + "\n"


def read_allowlist(path: Path = ALLOWLIST) -> dict[str, str]:
    """name -> group ("app" or "tests") from the committed file."""
    result = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, comment = line.partition("#")
            result[name.strip()] = comment.strip().split(":")[0]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed allow-list is stale")
    args = parser.parse_args()
    listed, missing = build()
    text = render(listed)
    if missing:
        print("Declared but not installed (the lock leaves them out):", ", ".join(sorted(missing)))
    if args.check:
        stale = not ALLOWLIST.exists() or ALLOWLIST.read_text(encoding="utf-8") != text
        print(f"{ALLOWLIST.relative_to(ROOT)} is {'STALE: run python -m scripts.space_allowlist' if stale else 'up to date'}")
        return int(stale)
    ALLOWLIST.write_text(text, encoding="utf-8")
    print(f"wrote {ALLOWLIST.relative_to(ROOT)}: {len(listed)} distributions "
          f"({sum(g == 'app' for g, _ in listed.values())} app, {sum(g == 'tests' for g, _ in listed.values())} tests)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
