"""Write assets/imagenet_labels/: the 1000 ImageNet-1k class names, in the models' class-index order.

Source: timm's wheel, which ships ``timm/data/_info/imagenet_synsets.txt`` (the 1000 WordNet ids in
index order) and ``imagenet_synset_to_lemma.txt`` (id -> "lemma, lemma, ..."). The wheel is fetched
with ``pip download --no-deps timm`` into a temporary folder and read with ``zipfile``; timm is never
installed or imported.

    python -m scripts.make_imagenet_labels                       # latest timm wheel from PyPI
    python -m scripts.make_imagenet_labels --wheel path/to/timm-1.0.31-py3-none-any.whl
    python -m scripts.make_imagenet_labels --timm-version 1.0.31

Output ``imagenet_labels.json``: ``{"source": ..., "classes": [{"index", "synset", "label", "lemmas"}]}``.
``label`` is the first lemma; when two classes share it (e.g. "crane" the bird and the machine) the
second lemma (or, for the two cranes and the two maillots, a word from the WordNet gloss) is added in
parentheses so every label is unique.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

from engine.core.registry import ASSETS_DIR

SYNSETS = "timm/data/_info/imagenet_synsets.txt"
# Classes whose lemmas alone cannot tell them apart (WordNet glosses: a bird / a lifting machine;
# tights for dancers / a one-piece swimsuit).
READABLE = {"n02012849": "crane (bird)", "n03126707": "crane (machine)",
            "n03710637": "maillot (dancer's tights)", "n03710721": "maillot (tank suit)"}
LEMMAS = "timm/data/_info/imagenet_synset_to_lemma.txt"


def download_wheel(folder: Path, version: str | None) -> Path:
    spec = f"timm=={version}" if version else "timm"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", spec, "-d", str(folder)],
                   check=True, stdout=subprocess.DEVNULL)
    wheels = sorted(folder.glob("timm-*.whl"))
    if not wheels:
        raise SystemExit(f"pip did not download a timm wheel into {folder}")
    return wheels[-1]


def read_classes(wheel: Path) -> list[dict]:
    with zipfile.ZipFile(wheel) as archive:
        synsets = archive.read(SYNSETS).decode("utf-8").split()
        lemma_of = {}
        for line in archive.read(LEMMAS).decode("utf-8").splitlines():
            synset, _, lemmas = line.partition("\t")
            lemma_of[synset.strip()] = lemmas.strip()
    if len(synsets) != 1000 or len(set(synsets)) != 1000:
        raise SystemExit(f"expected 1000 distinct synsets, got {len(synsets)}")
    lemma_lists = [[part.strip() for part in lemma_of[s].split(",") if part.strip()] for s in synsets]
    first = Counter(lemmas[0] for lemmas in lemma_lists)
    classes, used = [], set()
    for index, (synset, lemmas) in enumerate(zip(synsets, lemma_lists)):
        label = READABLE.get(synset, lemmas[0])
        if synset not in READABLE and first[label] > 1:
            label = f"{label} ({lemmas[1]})" if len(lemmas) > 1 else f"{label} ({synset})"
        if label in used:
            label = f"{lemmas[0]} ({synset})"
        used.add(label)
        classes.append({"index": index, "synset": synset, "label": label, "lemmas": ", ".join(lemmas)})
    return classes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help="a timm wheel already on disk (skips pip download)")
    parser.add_argument("--timm-version", help="timm version to download (default: latest)")
    parser.add_argument("--out", type=Path, default=ASSETS_DIR / "imagenet_labels")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="neurodeck-timm-") as temp:
        wheel = args.wheel or download_wheel(Path(temp), args.timm_version)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        classes = read_classes(wheel)
    args.out.mkdir(parents=True, exist_ok=True)
    payload = {
        "source": f"{wheel.name} (sha256 {digest}): {SYNSETS} + {LEMMAS}",
        "classes": classes,
    }
    lines = ",\n".join(json.dumps(entry, ensure_ascii=False) for entry in classes)  # one class per line
    (args.out / "imagenet_labels.json").write_text(
        f'{{"source": {json.dumps(payload["source"])},\n"classes": [\n{lines}\n]}}\n', encoding="utf-8"
    )
    print(f"wrote {len(classes)} classes from {wheel.name} to {args.out / 'imagenet_labels.json'}")


if __name__ == "__main__":
    main()
