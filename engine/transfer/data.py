"""Bring your own data for transfer learning: zips of class folders, per-class uploads, CSVs,
and NeuroDeck's built-in offline datasets.

Everything is read into memory; nothing is ever extracted to disk, so a hostile zip cannot
write outside the session's folder. Unreadable files are skipped and listed in a report;
structural problems (traversal, symlinks, bombs, too few classes) raise ``ValueError``
with a message that says how to fix the data.
"""

from __future__ import annotations

import csv
import functools
import io
import stat
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

import numpy as np
from PIL import Image

from engine.core.settings import LIMITS
from engine.core.registry import ASSETS_DIR
from engine.core.validation import load_image
from engine.transfer.checks import check_class_sizes

Modality = Literal["image", "text"]

MAX_FILES = 2_000  # images per dataset (zip entries or uploads)
MAX_TOTAL_BYTES = 200 * 2**20  # uncompressed bytes read from one zip / upload set
MAX_ZIP_RATIO = 200  # an entry that expands more than this from its compressed size is a bomb
MAX_IMAGE_PIXELS = LIMITS.dataset_image_pixels  # per image, checked from the header before decoding
STORED_SIDE = 128  # uploaded images are kept as 128x128 RGB uint8 (backbones resize again)
MAX_CSV_BYTES = 10 * 2**20
MAX_CSV_ROWS = 5_000
MAX_TEXT_CHARS = LIMITS.dataset_text_chars  # per CSV row; longer texts are cut
MIN_PER_CLASS = LIMITS.transfer_min_per_class  # the validation split takes one per class
IMBALANCE_WARN_RATIO = 3.0  # largest/smallest class count above this is reported
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


@dataclass(frozen=True)
class DataReport:
    counts: dict  # class name -> number of usable examples
    skipped: tuple[tuple[str, str], ...]  # (file or row, reason) for everything left out
    warnings: tuple[str, ...]  # e.g. label imbalance, decoding fallbacks

    @property
    def imbalance_ratio(self) -> float:
        values = list(self.counts.values())
        return max(values) / max(1, min(values)) if values else 1.0

    def to_markdown(self, max_skipped: int = 20) -> str:
        lines = [f"**{sum(self.counts.values())} examples in {len(self.counts)} classes:** "
                 + ", ".join(f"{name} ({count})" for name, count in self.counts.items())]
        lines += [f"- ⚠️ {warning}" for warning in self.warnings]
        if self.skipped:
            lines.append(f"\n**Skipped {len(self.skipped)} item(s):**")
            lines += [f"- `{name}`: {reason}" for name, reason in self.skipped[:max_skipped]]
            if len(self.skipped) > max_skipped:
                lines.append(f"- ... and {len(self.skipped) - max_skipped} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class TransferDataset:
    modality: Modality
    items: tuple  # texts (str) or images ((H, W, 3) uint8 arrays)
    labels: np.ndarray  # (N,) int64 in 0..C-1
    class_names: tuple[str, ...]  # C names, index = label
    report: DataReport
    name: str = "uploaded data"  # shown in the UI and the model card
    item_names: tuple[str, ...] = field(default=())  # file names / row numbers for the gallery
    train_per_class: int = 0  # > 0: a fixed few-shot split (this many per class train, the rest held out)

    def __len__(self) -> int:
        return len(self.items)


def _finish(modality, items, names, class_of, skipped, warnings, dataset_name, *, max_classes: int | None = None,
            unit: str = "classes") -> TransferDataset:
    """Check class counts (at most ``max_classes``, default ``LIMITS.transfer_classes``; enough examples in each)
    and build the dataset; classes are sorted by name."""
    counts = Counter(class_of)
    if not items:
        details = "; ".join(f"{n}: {r}" for n, r in skipped[:3])
        raise ValueError(
            f"No usable {modality} examples were found" + (f" ({len(skipped)} skipped, e.g. {details})" if skipped else "")
            + ". Upload readable files (PNG/JPEG/WebP/BMP/GIF/TIFF images, or CSV rows with text)."
        )
    if len(counts) < 2:
        raise ValueError(
            f"Only one class was found ({next(iter(counts))!r}). Transfer learning needs at least 2 classes "
            f"with at least {MIN_PER_CLASS} examples each: add a second class."
        )
    check_class_sizes(counts, max_classes=max_classes, unit=unit)
    class_names = tuple(sorted(counts))
    index = {name: i for i, name in enumerate(class_names)}
    report = DataReport(counts={name: counts[name] for name in class_names}, skipped=tuple(skipped), warnings=())
    if report.imbalance_ratio > IMBALANCE_WARN_RATIO:
        warnings = list(warnings) + [
            f"Labels are imbalanced: the largest class has {report.imbalance_ratio:.1f}x the examples of the "
            "smallest. Accuracy can look good while the small class is ignored; watch macro-F1."
        ]
    report = DataReport(counts=report.counts, skipped=report.skipped, warnings=tuple(warnings))
    return TransferDataset(
        modality=modality, items=tuple(items), labels=np.array([index[c] for c in class_of], dtype=np.int64),
        class_names=class_names, report=report, name=dataset_name, item_names=tuple(names),
    )


def _decode_image(data: bytes | str | Path) -> np.ndarray:
    """Decode safely and return (STORED_SIDE, STORED_SIDE, 3) uint8."""
    image = load_image(data, max_pixels=MAX_IMAGE_PIXELS)
    return np.asarray(image.resize((STORED_SIDE, STORED_SIDE), Image.BILINEAR), dtype=np.uint8)


def _check_zip_entry(info: zipfile.ZipInfo) -> None:
    """Refuse the whole archive on traversal, absolute paths or symlinks."""
    name = info.filename
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or "\\" in name:
        raise ValueError(f"The zip entry {name!r} has an absolute or Windows path; zips must hold relative class folders.")
    if ".." in PurePosixPath(name).parts:
        raise ValueError(f"The zip entry {name!r} tries to escape the archive ('..'); the zip was refused.")
    mode = (info.external_attr >> 16) & 0xFFFF
    if stat.S_ISLNK(mode):
        raise ValueError(f"The zip entry {name!r} is a symbolic link; links are refused. Zip the real image files.")


def load_image_zip(path: str | Path, name: str | None = None, *, max_files: int | None = None,
                   max_bytes: int | None = None, max_classes: int | None = None) -> TransferDataset:
    """Read a ``.zip`` of class-named folders (``cats/1.png``, ``dogs/2.jpg``; one wrapping folder is fine).

    Raises ``ValueError`` for a non-zip, traversal, symlinks, zip bombs, too many files or
    too few or too many classes; unreadable or non-image files are skipped and reported. ``max_files`` /
    ``max_bytes`` / ``max_classes`` replace the server's MAX_FILES / MAX_TOTAL_BYTES / ``LIMITS.transfer_classes``
    (``scripts.finetune`` on a workstation).
    """
    path = Path(path)
    max_files = MAX_FILES if max_files is None else int(max_files)
    max_bytes = MAX_TOTAL_BYTES if max_bytes is None else int(max_bytes)
    if not zipfile.is_zipfile(path):
        raise ValueError("That file is not a .zip archive. Zip a folder that holds one sub-folder per class.")
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        for info in infos:
            _check_zip_entry(info)
        files = [i for i in infos if not i.is_dir() and not _is_junk(i.filename)]
        if len(files) > max_files:
            raise ValueError(f"The zip holds {len(files):,} files; the limit is {max_files:,}. Use fewer images per class.")
        declared = sum(i.file_size for i in files)
        if declared > max_bytes:
            raise ValueError(
                f"The zip expands to {declared / 2**20:.0f} MB; the limit is {max_bytes // 2**20} MB "
                "(zip bombs are refused). Use smaller or fewer images."
            )
        for info in files:
            if info.compress_size and info.file_size / info.compress_size > MAX_ZIP_RATIO and info.file_size > 2**20:
                raise ValueError(
                    f"The zip entry {info.filename!r} expands {info.file_size / info.compress_size:.0f}x; "
                    "this looks like a zip bomb and the archive was refused."
                )
        strip_top = _common_top_folder([i.filename for i in infos])
        folders = {_class_of(i.filename, strip_top) for i in infos if i.is_dir()} - {None}
        # Class count and sizes from the file list, before decoding anything (1,000 classes is refused at once).
        check_class_sizes(Counter(label for label in (_class_of(i.filename, strip_top) for i in files
                                                      if PurePosixPath(i.filename).suffix.lower() in IMAGE_SUFFIXES)
                                  if label is not None), max_classes=max_classes, unit="class folders")
        items, names, class_of, skipped = [], [], [], []
        total = 0
        for info in files:
            label = _class_of(info.filename, strip_top)
            if label is None:
                skipped.append((info.filename, "not inside a class folder"))
                continue
            if PurePosixPath(info.filename).suffix.lower() not in IMAGE_SUFFIXES:
                skipped.append((info.filename, "not an image file type"))
                continue
            # Read no more than the declared size + 1: a lying header cannot make us inflate more.
            with archive.open(info) as handle:
                data = handle.read(info.file_size + 1)
            total += len(data)
            if len(data) > info.file_size or total > max_bytes:
                raise ValueError("The zip's contents are larger than its headers declare; the archive was refused.")
            try:
                items.append(_decode_image(data))
            except ValueError as error:
                skipped.append((info.filename, str(error).split(";")[0]))
                continue
            names.append(info.filename)
            class_of.append(label)
    empty = sorted(folders - set(class_of))
    if empty and items:
        raise ValueError(
            f"Class folder(s) {', '.join(map(repr, empty))} hold no readable images. "
            f"Put at least {MIN_PER_CLASS} images in each class folder, or remove it."
        )
    return _finish("image", items, names, class_of, skipped, [], name or path.name, max_classes=max_classes,
                   unit="class folders")


def _is_junk(filename: str) -> bool:
    parts = PurePosixPath(filename).parts
    return any(part == "__MACOSX" or part.startswith(".") for part in parts)


def _common_top_folder(names: list[str]) -> bool:
    """True when every entry sits under one wrapping folder that itself holds class folders."""
    real = [PurePosixPath(n).parts for n in names if not _is_junk(n)]
    tops = {parts[0] for parts in real if parts}
    return len(tops) == 1 and any(len(parts) >= 3 for parts in real)


def _class_of(filename: str, strip_top: bool) -> str | None:
    parts = PurePosixPath(filename).parts[1 if strip_top else 0 :]
    if filename.endswith("/"):
        return parts[0] if len(parts) == 1 else None
    return parts[-2].strip() or None if len(parts) >= 2 else None


def load_image_classes(files_by_class: dict[str, list], name: str = "uploaded classes") -> TransferDataset:
    """Teachable-Machine style: ``{class name: [image paths / bytes / PIL / arrays]}``."""
    items, names, class_of, skipped = [], [], [], []
    total_files = sum(len(files or []) for files in files_by_class.values())
    if total_files > MAX_FILES:
        raise ValueError(f"{total_files:,} images were given; the limit is {MAX_FILES:,}.")
    if len(files_by_class) > LIMITS.transfer_classes:
        check_class_sizes(dict.fromkeys(files_by_class, MIN_PER_CLASS))  # the count message, before decoding
    for raw_name, files in files_by_class.items():
        class_name = (raw_name or "").strip()
        if not class_name:
            raise ValueError("A class has no name: type a name for every class.")
        if not files:
            raise ValueError(f"Class {class_name!r} is empty: add at least {MIN_PER_CLASS} images or remove the class.")
        for number, source in enumerate(files):
            label = source if isinstance(source, (str, Path)) else f"{class_name} #{number + 1}"
            try:
                items.append(_decode_image(source))
            except ValueError as error:
                skipped.append((Path(str(label)).name, str(error).split(";")[0]))
                continue
            names.append(Path(str(label)).name)
            class_of.append(class_name)
    return _finish("image", items, names, class_of, skipped, [], name)


def classes_from_slots(names, files, snapshots, count: int) -> dict[str, list]:
    """The class builder's first ``count`` slots as ``{class name: [image files]}``.

    ``names[i]`` and ``files[i]`` are slot i's name and uploaded files; ``snapshots`` maps a slot
    (int or its string, as it comes back from the browser) to webcam snapshot paths.
    """
    snapshots = snapshots or {}
    by_class: dict[str, list] = {}
    for slot in range(int(count)):
        name = (names[slot] or "").strip()
        if name in by_class:
            raise ValueError(f"Two classes are named {name!r}; give every class a different name.")
        by_class[name] = list(files[slot] or []) + list(snapshots.get(slot, snapshots.get(str(slot), [])))
    return by_class


def _decode_csv_bytes(raw: bytes) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else per-line UTF-8 / Windows-1252 fallback."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), []
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    lines, fallback = [], 0
    for line in raw.split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("cp1252", errors="replace"))
            fallback += 1
    text = "\n".join(lines).lstrip("\ufeff")
    return text, [f"{fallback} line(s) were not valid UTF-8 and were decoded as Windows-1252 (mixed encodings)."]


def load_text_csv(path: str | Path, name: str | None = None, *, max_bytes: int | None = None,
                  max_rows: int | None = None, max_classes: int | None = None) -> TransferDataset:
    """Read a CSV with a header row holding ``text`` and ``label`` columns (delimiter sniffed).

    ``max_bytes`` / ``max_rows`` / ``max_classes`` replace the server's MAX_CSV_BYTES / MAX_CSV_ROWS /
    ``LIMITS.transfer_classes`` (``scripts.finetune``).
    """
    path = Path(path)
    max_bytes = MAX_CSV_BYTES if max_bytes is None else int(max_bytes)
    max_rows = MAX_CSV_ROWS if max_rows is None else int(max_rows)
    if not path.is_file():
        raise ValueError("The CSV file could not be found on the server; upload it again.")
    if path.stat().st_size > max_bytes:
        raise ValueError(f"The CSV is larger than {max_bytes // 2**20} MB; use fewer rows.")
    raw = path.read_bytes()
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ValueError("That file is binary, not a CSV. Upload a text CSV with 'text' and 'label' columns.")
    text, warnings = _decode_csv_bytes(raw)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    columns = [(h or "").strip().lower() for h in (header or [])]
    if "text" not in columns or "label" not in columns:
        raise ValueError(
            f"The CSV needs a header row with 'text' and 'label' columns; found {columns[:8] or 'no header'}. "
            "Rename your columns (e.g. text,label) and upload again."
        )
    text_col, label_col = columns.index("text"), columns.index("label")
    items, names, class_of, skipped = [], [], [], []
    for row_number, row in enumerate(reader, start=2):
        if len(items) >= max_rows:
            warnings.append(f"Only the first {max_rows:,} rows were used.")
            break
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(text_col, label_col):
            skipped.append((f"row {row_number}", "has too few columns"))
            continue
        value, label = row[text_col].strip(), row[label_col].strip()
        if not value or not label:
            skipped.append((f"row {row_number}", "empty text" if not value else "empty label"))
            continue
        items.append(value[:MAX_TEXT_CHARS])
        names.append(f"row {row_number}")
        class_of.append(label)
    return _finish("text", items, names, class_of, skipped, warnings, name or path.name, max_classes=max_classes,
                   unit="labels")


# ---------------------------------------------------------------- built-in datasets

BUILTIN_DATASETS = {
    "text-topics": "Topics (text): sports / food / technology / weather sentences written for NeuroDeck",
    "textures": "Textures (images): 64x64 patches of scikit-image brick / grass / gravel",
    "lfw-faces": "Faces vs non-faces (images): scikit-image lfw_subset, 25x25 grayscale",
    "objects-few-shot": "Objects, few-shot (images): 7 objects from packaged photos, new views on random "
                        "backgrounds; 8 training pictures per class, 12 held out",
}


@functools.lru_cache(maxsize=None)
def load_builtin(name: str) -> TransferDataset:
    """One of :data:`BUILTIN_DATASETS`, built from files that ship with NeuroDeck or its packages."""
    if name == "text-topics":
        return load_text_csv(ASSETS_DIR / "transfer_text" / "topics.csv", name="NeuroDeck topics")
    if name == "textures":
        return texture_patches()
    if name == "lfw-faces":
        return lfw_faces()
    if name == "objects-few-shot":
        return objects_few_shot()
    raise ValueError(f"Unknown built-in dataset {name!r}; choose one of {', '.join(BUILTIN_DATASETS)}.")


def texture_patches(side: int = 64) -> TransferDataset:
    """Non-overlapping side x side patches on a grid over each 512x512 texture (64 per class)."""
    import skimage.data

    items, names, class_of = [], [], []
    for texture in ("brick", "grass", "gravel"):
        image = np.asarray(getattr(skimage.data, texture)())
        for top in range(0, image.shape[0] - side + 1, side):
            for left in range(0, image.shape[1] - side + 1, side):
                patch = image[top : top + side, left : left + side]
                items.append(np.repeat(patch[..., None], 3, axis=-1))
                names.append(f"{texture} @({top},{left})")
                class_of.append(texture)
    return _finish("image", items, names, class_of, [], [], "scikit-image textures")


def lfw_faces() -> TransferDataset:
    """scikit-image's ``lfw_subset``: 100 faces then 100 non-face patches, 25x25 gray in [0, 1]."""
    import skimage.data

    faces = skimage.data.lfw_subset()
    items = [np.repeat((face * 255).round().astype(np.uint8)[..., None], 3, axis=-1) for face in faces]
    class_of = ["face"] * 100 + ["non-face"] * (len(faces) - 100)
    names = [f"lfw #{i}" for i in range(len(faces))]
    return _finish("image", items, names, class_of, [], [], "scikit-image lfw_subset")


def objects_few_shot() -> TransferDataset:
    """The few-shot object task of :mod:`engine.transfer.fewshot` (always the same 140 pictures)."""
    from dataclasses import replace

    from engine.transfer import fewshot

    items, class_of, names = fewshot.object_views()
    dataset = _finish("image", items, names, class_of, [], [], "Objects (few-shot, packaged photos)")
    note = (f"Few-shot: {fewshot.TRAIN_PER_CLASS} pictures per class train and the other "
            f"{fewshot.HELD_OUT_PER_CLASS} are held out (drawn with the seed); the validation fraction does not apply.")
    report = DataReport(counts=dataset.report.counts, skipped=(), warnings=(note,))
    return replace(dataset, report=report, train_per_class=fewshot.TRAIN_PER_CLASS)


def load_upload(path: str | Path) -> TransferDataset:
    """Dispatch on the file type: ``.zip`` -> images, ``.csv``/``.tsv``/``.txt`` -> text."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return load_image_zip(path)
    if suffix in {".csv", ".tsv", ".txt"}:
        return load_text_csv(path)
    raise ValueError(
        f"Unsupported data file type {suffix or '(none)'!r}: upload a .zip of class folders (images) "
        "or a .csv with 'text' and 'label' columns."
    )
