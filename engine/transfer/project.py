"""Training projects: the Transfer tab's exact settings as a file and as a command that runs under accelerate.

One frozen :class:`ProjectSettings` holds what a training run needs besides the machine: the data
(``builtin:<key>``, a ``.zip`` of class folders or a ``.csv``), the backbone and every
:class:`~engine.transfer.train.TrainConfig` field but the tab's time cap. It goes to JSON
(:meth:`ProjectSettings.to_json`) and to a command line (:meth:`ProjectSettings.to_argv`) that
:func:`parse_command`, the parser of ``python -m scripts.finetune``, reads back into the same settings.

:func:`write_project` writes the zip the tab's "Export as a training project" button downloads:
``project.json`` (settings, commands, the tab's result), ``data_manifest.json`` (classes, counts,
item names, a content fingerprint), the data itself when it is small (the examples the tab trained
on, re-encoded losslessly: PNGs in class folders or a text,label CSV) and a README with the commands.

Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import io
import json
import re
import shlex
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from engine.transfer.data import BUILTIN_DATASETS, STORED_SIDE, TransferDataset
from engine.transfer.options import STRATEGIES

PROJECT_FORMAT = "neurodeck-training-project"
PROJECT_VERSION = 1
EMBED_LIMIT_BYTES = 20 * 2**20  # data up to this size travels inside the project; beyond it, a manifest only
BUILTIN_PREFIX = "builtin:"
# Workstation limits for the command (the app's upload limits protect a shared server; see engine.transfer.data).
CLI_MAX_FILES = 250_000
CLI_MAX_MB = 50_000
CLI_MAX_ROWS = 1_000_000
CLI_MAX_CLASSES = 10_000  # a workstation run is not bound by the tab's LIMITS.transfer_classes
# Names load_builtin gives its datasets -> their keys (checked by identity in builtin_key; unknown -> data is embedded).
_BUILTIN_NAMES = {
    "NeuroDeck topics": "text-topics",
    "scikit-image textures": "textures",
    "scikit-image lfw_subset": "lfw-faces",
    "Objects (few-shot, packaged photos)": "objects-few-shot",
}


@dataclass(frozen=True)
class ProjectSettings:
    """The tab's settings for one strategy: data + backbone + TrainConfig (its ``max_seconds`` cap aside).

    Defaults equal :class:`~engine.transfer.train.TrainConfig`'s (a test keeps the two in step).
    """

    data: str  # "builtin:<key>", or a path to a .zip of class folders (images) / a .csv with text,label columns
    backbone: str = ""  # "minilm", "efficientnet-lite0", "neurodeck-cnn", a Hub id or a local folder; "" = default
    strategy: str = "feature_extraction"
    unfreeze_blocks: int = 2
    epochs: int = 15
    learning_rate: float | None = None  # None = the strategy's default
    batch_size: int = 16  # per optimiser step, over all processes together (split between them)
    weight_decay: float = 1e-4
    dropout: float = 0.1
    augment: bool = True
    patience: int = 4
    val_fraction: float = 0.25
    seed: int = 0
    keep_best: bool = True
    validate_every: int = 1

    def __post_init__(self) -> None:
        problems = []
        if not str(self.data).strip():
            problems.append("data is empty (a .zip, a .csv or builtin:<key>)")
        if self.strategy not in STRATEGIES:
            problems.append(f"strategy {self.strategy!r} is not one of {', '.join(STRATEGIES)}")
        for name, low in (("unfreeze_blocks", 1), ("epochs", 1), ("batch_size", 1), ("patience", 0), ("validate_every", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                problems.append(f"{name} must be an integer >= {low} (got {value!r})")
        if self.learning_rate is not None and not self.learning_rate > 0:
            problems.append(f"learning_rate must be > 0 or None (got {self.learning_rate!r})")
        if not 0.0 < self.val_fraction < 1.0:
            problems.append(f"val_fraction must be between 0 and 1 (got {self.val_fraction!r})")
        if not 0.0 <= self.dropout < 1.0:
            problems.append(f"dropout must be in [0, 1) (got {self.dropout!r})")
        if not self.weight_decay >= 0.0:
            problems.append(f"weight_decay must be >= 0 (got {self.weight_decay!r})")
        if problems:
            raise ValueError("Invalid training settings: " + "; ".join(problems) + ".")

    # ------------------------------------------------------------------ conversions
    @classmethod
    def train_fields(cls) -> tuple[str, ...]:
        """The TrainConfig fields this carries (all but max_seconds)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.name not in ("data", "backbone"))

    @classmethod
    def from_train_config(cls, config, data: str, backbone: str) -> "ProjectSettings":
        """From a TrainConfig (the tab's ``result.config``), a data spec and the backbone key."""
        return cls(data=data, backbone=backbone, **{name: getattr(config, name) for name in cls.train_fields()})

    def train_config(self, max_seconds: float | None = None):
        """The :class:`~engine.transfer.train.TrainConfig` these settings describe."""
        from engine.transfer.train import TrainConfig

        return TrainConfig(max_seconds=max_seconds, **{name: getattr(self, name) for name in self.train_fields()})

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, values: dict) -> "ProjectSettings":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"Unknown setting(s) {', '.join(unknown)} in the project; known: {', '.join(sorted(known))}.")
        return cls(**values)

    def to_argv(self) -> list[str]:
        """Every setting as ``scripts.finetune`` flags (floats written with repr, so they read back exactly)."""
        argv = ["--data", self.data]
        if self.backbone:
            argv += ["--backbone", self.backbone]
        argv += ["--strategy", self.strategy, "--unfreeze-blocks", str(self.unfreeze_blocks), "--epochs", str(self.epochs)]
        if self.learning_rate is not None:
            argv += ["--learning-rate", repr(float(self.learning_rate))]
        argv += [
            "--batch-size", str(self.batch_size), "--weight-decay", repr(float(self.weight_decay)),
            "--dropout", repr(float(self.dropout)), "--augment" if self.augment else "--no-augment",
            "--patience", str(self.patience), "--val-fraction", repr(float(self.val_fraction)), "--seed", str(self.seed),
            "--keep-best" if self.keep_best else "--no-keep-best", "--validate-every", str(self.validate_every),
        ]
        return argv


@dataclass(frozen=True)
class RunOptions:
    """How and where one command runs (not part of the tab's settings)."""

    output: str  # folder the model is written to
    cpu: bool = False  # force the CPU even when a GPU is there (also the way to run several CPU processes)
    mixed_precision: str | None = None  # "no", "fp16", "bf16"; None = accelerate's (launch flag / config)
    max_seconds: float | None = None  # stop training after this long, keeping the best epoch
    max_files: int = CLI_MAX_FILES  # images in a zip
    max_mb: int = CLI_MAX_MB  # uncompressed zip / CSV size
    max_rows: int = CLI_MAX_ROWS  # CSV rows


# ---------------------------------------------------------------------- command line

def _at_least(low: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low} (got {text})")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (got {text})")
    return value


def _dropout(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1) (got {text})")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0.0:
        raise argparse.ArgumentTypeError(f"must be >= 0 (got {text})")
    return value


def _learning_rate(text: str) -> float | None:
    if text.strip().lower() in {"default", "0", "0.0", "none"}:
        return None
    value = float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"must be > 0, or 'default' for the strategy's default (got {text})")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0.0:
        raise argparse.ArgumentTypeError(f"must be > 0 (got {text})")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m scripts.finetune`` / ``accelerate launch -m scripts.finetune``."""
    d = ProjectSettings(data="-")
    parser = argparse.ArgumentParser(
        prog="python -m scripts.finetune",
        description="NeuroDeck's transfer-learning training (the Transfer tab's engine) as a command. Runs as one "
                    "process, or under `accelerate launch` on several processes/GPUs: data is sharded between "
                    "processes, gradients are averaged by accelerate, only the main process evaluates and saves.",
        epilog="Examples:\n"
               "  python -m scripts.finetune --data builtin:text-topics --epochs 15 --output model\n"
               "  accelerate launch --multi_gpu --num_processes 4 -m scripts.finetune --data photos.zip "
               "--strategy full_fine_tune --output model\n"
               "  accelerate launch --multi_gpu --num_processes 2 -m scripts.finetune --cpu --data texts.csv --output model\n"
               "(accelerate 1.15 starts several CPU processes only through --multi_gpu + this script's --cpu, or mpirun:\n"
               " `accelerate launch --cpu --num_processes 2` runs one process.)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data and model (the tab's settings)")
    data.add_argument("--data", required=True,
                      help="a .zip of class folders (images), a .csv with text,label columns, or builtin:<key> "
                           f"({', '.join(BUILTIN_DATASETS)})")
    data.add_argument("--backbone", default=d.backbone,
                      help="'minilm' (text); 'efficientnet-lite0', 'neurodeck-cnn', a Hugging Face image model id "
                           "or a local save_pretrained folder (images); default: the modality's embedded backbone")
    data.add_argument("--strategy", choices=STRATEGIES, default=d.strategy)
    data.add_argument("--unfreeze-blocks", type=_at_least(1), default=d.unfreeze_blocks,
                      help="fine_tune_last_n: how many of the last backbone blocks train (default %(default)s)")
    data.add_argument("--epochs", type=_at_least(1), default=d.epochs, help="passes over the training split (default %(default)s)")
    data.add_argument("--learning-rate", type=_learning_rate, default=d.learning_rate,
                      help="AdamW learning rate; 'default' = the strategy's (head 1e-2, last-N 1e-3, full 3e-4, scratch 1e-3)")
    data.add_argument("--batch-size", type=_at_least(1), default=d.batch_size,
                      help="examples per optimiser step over ALL processes (split between them, so it must be a "
                           "multiple of the number of processes; default %(default)s)")
    data.add_argument("--weight-decay", type=_non_negative, default=d.weight_decay, help="AdamW weight decay (default %(default)s)")
    data.add_argument("--dropout", type=_dropout, default=d.dropout, help="dropout before the head (default %(default)s)")
    data.add_argument("--augment", action=argparse.BooleanOptionalAction, default=d.augment,
                      help="images, strategies that run the backbone: flips + small affine moves (default on)")
    data.add_argument("--patience", type=_at_least(0), default=d.patience,
                      help="early stopping: epochs without a lower validation loss; 0 = off (default %(default)s)")
    data.add_argument("--val-fraction", type=_fraction, default=d.val_fraction,
                      help="stratified held-out share (default %(default)s)")
    data.add_argument("--seed", type=int, default=d.seed, help="split, initialisation, order, augmentation (default %(default)s)")
    data.add_argument("--keep-best", action=argparse.BooleanOptionalAction, default=d.keep_best,
                      help="keep the epoch with the lowest validation loss (default on); --no-keep-best keeps the last")
    data.add_argument("--validate-every", type=_at_least(1), default=d.validate_every,
                      help="epochs between validation passes (default %(default)s)")
    run = parser.add_argument_group("this run")
    run.add_argument("--output", required=True, help="folder for the model (replaced if it exists)")
    run.add_argument("--cpu", action="store_true", help="train on the CPU even when a GPU is there")
    run.add_argument("--mixed-precision", choices=("no", "fp16", "bf16"), default=None,
                     help="default: accelerate's setting (its --mixed_precision flag or config)")
    run.add_argument("--max-seconds", type=_positive_float, default=None, help="stop after this long, keeping the best epoch")
    run.add_argument("--max-files", type=_at_least(1), default=CLI_MAX_FILES, help="most images read from a zip (default %(default)s)")
    run.add_argument("--max-mb", type=_at_least(1), default=CLI_MAX_MB, help="largest uncompressed zip / CSV in MB (default %(default)s)")
    run.add_argument("--max-rows", type=_at_least(1), default=CLI_MAX_ROWS, help="most CSV rows read (default %(default)s)")
    return parser


def parse_command(argv: list[str] | None = None) -> tuple[ProjectSettings, RunOptions]:
    """Parse ``scripts.finetune`` arguments (``argv`` None = ``sys.argv[1:]``)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    values = vars(args)
    try:
        settings = ProjectSettings(**{f.name: values[f.name] for f in dataclasses.fields(ProjectSettings)})
    except ValueError as error:
        parser.error(str(error))
    options = RunOptions(**{f.name: values[f.name] for f in dataclasses.fields(RunOptions)})
    return settings, options


def command_line(settings: ProjectSettings, output: str = "model", launcher: str = "accelerate",
                 num_processes: int = 1, cpu: bool = False) -> str:
    """A shell command running ``settings``: launcher "python" (one process) or "accelerate"."""
    run = [*settings.to_argv(), *(["--cpu"] if cpu else []), "--output", output]
    if launcher == "python":
        return shlex.join(["python", "-m", "scripts.finetune", *run])
    launch = ["accelerate", "launch"]
    if num_processes > 1:
        launch += ["--multi_gpu", "--num_processes", str(num_processes)]
    return shlex.join([*launch, "-m", "scripts.finetune", *run])


# ---------------------------------------------------------------------- data

def builtin_key(dataset: TransferDataset) -> str | None:
    """The built-in key ``dataset`` was loaded from, or None (checked by identity with load_builtin's cache)."""
    from engine.transfer.data import load_builtin

    key = _BUILTIN_NAMES.get(dataset.name)
    if key is None or key not in BUILTIN_DATASETS:
        return None
    try:
        return key if load_builtin(key) is dataset else None
    except ValueError:
        return None


def fingerprint(dataset: TransferDataset) -> str:
    """sha256 of the examples, their class names and order: equal fingerprints = the same training data."""
    digest = hashlib.sha256()
    digest.update(json.dumps([dataset.modality, list(dataset.class_names)]).encode())
    digest.update(np.asarray(dataset.labels, dtype=np.int64).tobytes())
    for item in dataset.items:
        if isinstance(item, str):
            digest.update(item.encode("utf-8") + b"\x00")
        else:
            array = np.ascontiguousarray(item, dtype=np.uint8)
            digest.update(str(array.shape).encode() + array.tobytes())
    return digest.hexdigest()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", PurePosixPath(str(text)).stem).strip("-._")[:60] or "data"


def _check_folder_name(name: str) -> None:
    if (not name or name != name.strip() or "/" in name or "\\" in name or name.startswith(".")
            or name in {"__MACOSX"} or "\x00" in name):
        raise ValueError(f"The class name {name!r} cannot be a folder name in the project's data zip; rename the class "
                         "(no slashes, no leading dot or spaces) and train again.")


def serialize_dataset(dataset: TransferDataset) -> tuple[str, bytes]:
    """(file name, bytes): the examples exactly as the tab holds them, in a form ``scripts.finetune`` reads back
    into the same dataset (same items, order, classes): a zip of ``<class>/<n>.png`` or a text,label CSV."""
    class_of = [dataset.class_names[int(label)] for label in dataset.labels]
    if dataset.modality == "text":
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(["text", "label"])
        writer.writerows(zip(dataset.items, class_of))
        return f"{_slug(dataset.name)}.csv", buffer.getvalue().encode("utf-8")
    for name in dataset.class_names:
        _check_folder_name(name)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNGs are compressed already
        for number, (item, label) in enumerate(zip(dataset.items, class_of)):
            png = io.BytesIO()
            Image.fromarray(np.asarray(item, dtype=np.uint8)).save(png, format="PNG", compress_level=3)
            archive.writestr(f"{label}/{number:06d}.png", png.getvalue())
    return f"{_slug(dataset.name)}.zip", buffer.getvalue()


def load_data(spec: str, options: RunOptions | None = None) -> TransferDataset:
    """``builtin:<key>``, a ``.zip`` of class folders or a ``.csv``: the tab's loaders, with workstation limits."""
    from engine.transfer import data

    spec = str(spec).strip()
    if spec.startswith(BUILTIN_PREFIX):
        return data.load_builtin(spec[len(BUILTIN_PREFIX):])
    options = options or RunOptions(output="-")
    path = Path(spec).expanduser()
    if not path.is_file():
        raise ValueError(f"The data file {spec!r} does not exist; pass a .zip of class folders, a .csv with text,label "
                         f"columns, or builtin:<key> ({', '.join(BUILTIN_DATASETS)}).")
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return data.load_image_zip(path, max_files=options.max_files, max_bytes=options.max_mb * 2**20,
                                   max_classes=CLI_MAX_CLASSES)
    if suffix in {".csv", ".tsv", ".txt"}:
        return data.load_text_csv(path, max_bytes=options.max_mb * 2**20, max_rows=options.max_rows,
                                  max_classes=CLI_MAX_CLASSES)
    return data.load_upload(path)  # raises the tab's message for other types


# ---------------------------------------------------------------------- the project zip

def write_project(config, dataset: TransferDataset, backbone_key: str, work_dir: str | Path, *,
                  tab_summary: dict | None = None, name: str | None = None,
                  embed_limit: int = EMBED_LIMIT_BYTES) -> Path:
    """Write ``work_dir/<name>.zip`` (returned): project.json, data_manifest.json, data/ (when small), README.md.

    ``config`` is the TrainConfig the tab trained with (``result.config``), ``backbone_key`` the backbone's
    resolved key (``Backbone.key``), ``tab_summary`` the tab's ``TrainResult.summary()`` for comparison.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    name = name or f"neurodeck-{dataset.modality}-{config.strategy}-project"
    key = builtin_key(dataset)
    data_file, data_bytes = (None, b"") if key else serialize_dataset(dataset)
    embedded = data_file is not None and len(data_bytes) <= embed_limit
    if key:
        data_spec = BUILTIN_PREFIX + key
    elif embedded:
        data_spec = f"data/{data_file}"
    else:
        data_spec = f"data/{_slug(dataset.name)}{'.csv' if dataset.modality == 'text' else '.zip'}"
    settings = ProjectSettings.from_train_config(config, data=data_spec, backbone=backbone_key)
    manifest = {
        "name": dataset.name,
        "modality": dataset.modality,
        "source": data_spec if key else ("embedded" if embedded else "not included (too large): supply it yourself"),
        "file": data_spec if not key else None,
        "file_sha256": hashlib.sha256(data_bytes).hexdigest() if embedded else None,
        "file_bytes": len(data_bytes) if data_file else None,
        "examples": len(dataset),
        "classes": dict(dataset.report.counts),
        "fingerprint_sha256": fingerprint(dataset),
        # Uploads are held at STORED_SIDE x STORED_SIDE, which reloads pixel for pixel; other sizes are resized on load.
        "exact_round_trip": dataset.modality == "text" or all(
            np.shape(item)[:2] == (STORED_SIDE, STORED_SIDE) for item in dataset.items),
        "train_per_class": dataset.train_per_class if hasattr(dataset, "train_per_class") else 0,
        "items": [[item_name, dataset.class_names[int(label)]]
                  for item_name, label in zip(dataset.item_names or [""] * len(dataset), dataset.labels)],
    }
    commands = {
        "one_process": command_line(settings, launcher="python"),
        "accelerate": command_line(settings),
        "accelerate_4_gpus": command_line(settings, num_processes=4),
        "accelerate_2_cpu_processes": command_line(settings, num_processes=2, cpu=True),
    }
    project = {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "settings": settings.to_json(),
        "commands": commands,
        "tab_result": {k: v for k, v in (tab_summary or {}).items() if k != "confusion"},
    }
    archive = work_dir / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        handle.writestr(f"{name}/README.md", project_readme(settings, manifest, commands, tab_summary, embedded or bool(key)))
        handle.writestr(f"{name}/project.json", json.dumps(project, indent=2))
        handle.writestr(f"{name}/data_manifest.json", json.dumps(manifest, indent=1))
        if embedded:
            handle.writestr(f"{name}/{data_spec}", data_bytes, compress_type=zipfile.ZIP_STORED if data_file.endswith(".zip") else zipfile.ZIP_DEFLATED)
    return archive


def export_session_project(session, strategy: str | None = None) -> Path:
    """The tab's one call: a project zip of the session's model ``strategy`` (default: its best), written in
    the session's private folder. Raises ``ValueError`` before training."""
    result = session.result(strategy or None)
    if session.dataset is None:
        raise ValueError("Load a dataset and train first; the project holds the data and the settings you trained with.")
    return write_project(result.config, session.dataset, result.backbone_key, session.work_dir,
                         tab_summary=result.summary())


def read_project(path: str | Path) -> ProjectSettings:
    """The settings in a ``project.json`` (or a project zip)."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if PurePosixPath(n).name == "project.json"]
            if not names:
                raise ValueError("That zip has no project.json; export it again from the Transfer tab.")
            document = json.loads(archive.read(names[0]))
    else:
        document = json.loads(path.read_text())
    if document.get("format") != PROJECT_FORMAT:
        raise ValueError(f"{path.name} is not a NeuroDeck training project (format {document.get('format')!r}).")
    return ProjectSettings.from_json(document["settings"])


def project_readme(settings: ProjectSettings, manifest: dict, commands: dict, tab_summary: dict | None,
                   has_data: bool) -> str:
    """The README inside a project zip."""
    counts = ", ".join(f"{name} ({count})" for name, count in manifest["classes"].items())
    if settings.data.startswith(BUILTIN_PREFIX):
        data_note = f"The data is NeuroDeck's built-in `{settings.data}` dataset: nothing to download."
    elif has_data:
        data_note = (f"The data is in `{settings.data}`: the {manifest['examples']} examples exactly as the tab held them "
                     f"(sha256 {manifest['file_sha256'][:16]}…).")
    else:
        data_note = (f"The data ({manifest['file_bytes'] / 2**20:.0f} MB re-encoded) was too large to include. "
                     f"`data_manifest.json` lists every example; put your original file at `{settings.data}` "
                     "(or change `--data`).")
    tab = ""
    if tab_summary:
        tab = (f"\n## What the tab got\n\nValidation accuracy {tab_summary.get('accuracy', 0):.4f}, macro-F1 "
               f"{tab_summary.get('macro_f1', 0):.4f}, {tab_summary.get('epochs_run', '?')} epoch(s) "
               f"(best {tab_summary.get('best_epoch', '?')}, ended by {tab_summary.get('stop_reason', '?')}). "
               "One process with the same seed gives the same model; several processes give a close one.\n")
    return f"""# NeuroDeck training project

Exported from NeuroDeck's Transfer-learning tab: {manifest['name']} ({manifest['modality']},
{manifest['examples']} examples: {counts}), backbone `{settings.backbone}`, strategy `{settings.strategy}`.

- `project.json`: the exact settings (`settings`), these commands, and the tab's result.
- `data_manifest.json`: classes, counts, every example's name and a content fingerprint.
{"- `" + settings.data + "`: the data." if has_data and not settings.data.startswith(BUILTIN_PREFIX) else ""}

{data_note}

## Run it

Install NeuroDeck (`pip install --no-deps -r requirements.txt` in its repository; `accelerate` is pinned
there), unzip this project and run from its folder:

```bash
# several GPUs (data sharded between processes, gradients averaged by accelerate)
{commands['accelerate_4_gpus']}

# one process: CPU or one GPU (the same model as the tab for the same seed)
{commands['accelerate']}
{commands['one_process']}

# several CPU processes (accelerate starts them through --multi_gpu; this script's --cpu keeps them on the CPU)
{commands['accelerate_2_cpu_processes']}
```

Add `--mixed-precision bf16` (or accelerate's `--mixed_precision`) on GPUs. `--batch-size` is the batch of one
optimiser step over all processes together, so the recipe does not change with the number of processes.

## What it writes

`model/`: `config.json` + `diffusion_pytorch_model.safetensors` (load with
`TransferClassifier.from_pretrained("model", use_safetensors=True)` from `engine.transfer.model`),
`labels.json`, the model card `README.md`, tokenizer files for text models, and `metrics.json`
(validation accuracy, macro-F1, epochs, `world_size`, per-epoch history).
{tab}"""
