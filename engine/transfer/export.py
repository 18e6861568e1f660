"""Export a trained transfer model as a folder/zip that ``from_pretrained`` loads, and push it to the Hub.

The folder holds ``config.json`` + ``diffusion_pytorch_model.safetensors`` (diffusers' ModelMixin
naming), ``labels.json``, the tokenizer files for text models, and a model card ``README.md``
with the data summary and the validation metrics. Load it with::

    from engine.transfer.model import TransferClassifier
    model = TransferClassifier.from_pretrained(folder, use_safetensors=True)

``TransferClassifier`` is NeuroDeck's own class (a diffusers ``ModelMixin``, which gives it
``save_pretrained`` / ``from_pretrained``): no diffusers pipeline or ``transformers`` Auto class loads
the folder, so the card names ``neurodeck`` as its library, and its snippet (:func:`usage_snippet`)
is what the tests execute against a real export.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from engine.core.registry import is_offline
from engine.transfer.data import TransferDataset
from engine.transfer.model import TransferClassifier
from engine.transfer.train import TrainResult

LIBRARY_NAME = "neurodeck"  # what loads an export: engine.transfer.model.TransferClassifier from this repository
SNIPPET_FOLDER = "path/to/this/folder"  # the placeholder in the card's snippet (the unzipped export)
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}/[\w.\-]{1,96}$")


def usage_snippet(modality: str, image_size: int) -> str:
    """Python that loads the export from :data:`SNIPPET_FOLDER` and classifies one example (printed)."""
    lines = [
        "import json",
        "import torch",
        "from engine.transfer.model import TransferClassifier  # from the NeuroDeck repository (pip install -e .)",
        "",
        f'folder = "{SNIPPET_FOLDER}"',
        "model = TransferClassifier.from_pretrained(folder, use_safetensors=True).eval()",
        'labels = json.load(open(f"{folder}/labels.json"))',
    ]
    if modality == "text":
        lines += [
            "from transformers import AutoTokenizer",
            "tokenizer = AutoTokenizer.from_pretrained(folder)",
            'batch = tokenizer(["Your sentence here."], padding=True, truncation=True, max_length=64, return_tensors="pt")',
            "with torch.no_grad():",
            '    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])',
        ]
    else:
        lines += [
            f"pixels = torch.rand(1, 3, {image_size}, {image_size})  # your pictures: (N, 3, {image_size}, {image_size}) RGB in [0, 1]",
            "with torch.no_grad():",
            "    logits = model(pixel_values=pixels)",
        ]
    lines.append("print(labels[int(logits.argmax(-1)[0])], logits.softmax(-1).tolist())")
    return "\n".join(lines)


def model_card(result: TrainResult, dataset: TransferDataset, trained_with: str = "NeuroDeck's Transfer-learning tab") -> str:
    """A Hugging Face model card (markdown with YAML front matter)."""
    metrics = result.metrics
    rows = "\n".join(
        f"| {label} | {p:.3f} | {r:.3f} | {int(s)} |"
        for label, p, r, s in zip(dataset.class_names, metrics.precision, metrics.recall, metrics.support)
    )
    counts = ", ".join(f"{name}: {count}" for name, count in dataset.report.counts.items())
    config = result.config
    return f"""---
library_name: {LIBRARY_NAME}
tags: [neurodeck, transfer-learning, {dataset.modality}-classification]
---
# NeuroDeck transfer-learning model

Trained with {trained_with} on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.

- **Backbone:** {result.model.config.backbone_name}
- **Strategy:** {result.strategy} (lr {config.learning_rate or 'default'}, batch {config.batch_size}, epochs run {len(result.history)}/{config.epochs}, weight decay {config.weight_decay}, dropout {config.dropout}, stop: {result.stop_reason}, kept epoch {result.best_epoch})
- **Data:** {dataset.name}; {len(dataset)} {dataset.modality} examples; {counts}; {len(result.train_index)} train / {len(result.val_index)} validation (stratified, seed {config.seed})
- **Validation accuracy:** {metrics.accuracy:.4f}; **macro-F1:** {metrics.macro_f1:.4f}; train accuracy {result.train_accuracy:.4f}
- **Training time:** {result.train_seconds:.1f} s (+ {result.feature_seconds:.1f} s feature extraction)

| class | precision | recall | support |
|---|---|---|---|
{rows}

Confusion matrix (rows = true, columns = predicted, order {list(dataset.class_names)}): `{metrics.confusion.tolist()}`

## Use

This folder loads with NeuroDeck's `TransferClassifier` (`engine/transfer/model.py` in the NeuroDeck
repository; it subclasses diffusers' `ModelMixin` for saving and loading, but no diffusers pipeline or
transformers Auto class can load it). Replace the folder path:

```python
{usage_snippet(dataset.modality, result.model.config.image_size)}
```
Text models use the tokenizer files in this folder (max 64 tokens). Image models take `pixel_values`
(N, 3, {result.model.config.image_size}, {result.model.config.image_size}) float RGB in [0, 1] (resize your pictures first).
"""


def export_folder(result: TrainResult, dataset: TransferDataset, folder: Path, tokenizer=None,
                  trained_with: str = "NeuroDeck's Transfer-learning tab") -> Path:
    """Write the model folder (see module docstring) and return it."""
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    result.model.save_pretrained(folder, safe_serialization=True)
    (folder / "labels.json").write_text(json.dumps(list(dataset.class_names), indent=2))
    (folder / "metrics.json").write_text(json.dumps(result.summary(), indent=2))
    (folder / "README.md").write_text(model_card(result, dataset, trained_with))
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    return folder


def export_zip(result: TrainResult, dataset: TransferDataset, work_dir: Path, tokenizer=None, name: str = "neurodeck-transfer") -> Path:
    """Export into ``work_dir/name/`` and zip it to ``work_dir/name.zip`` (returned)."""
    work_dir = Path(work_dir)
    folder = export_folder(result, dataset, work_dir / name, tokenizer)
    archive = work_dir / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(folder.iterdir()):
            handle.write(path, arcname=path.name)
    return archive


def load_exported(folder: str | Path) -> TransferClassifier:
    """Load an exported folder (unzipped) in eval mode."""
    return TransferClassifier.from_pretrained(Path(folder), use_safetensors=True).eval()


def push_to_hub(folder: str | Path, repo_id: str, token: str) -> str:
    """Upload an exported folder to a (new or existing) Hub model repo; returns its URL."""
    repo_id, token = (repo_id or "").strip(), (token or "").strip()
    if not _REPO_ID.match(repo_id):
        raise ValueError("Type the Hub repo as 'your-username/model-name'.")
    if not token:
        raise ValueError("Paste a Hugging Face write token (Settings -> Access Tokens) to push to the Hub.")
    if is_offline():
        raise ValueError("This app is running offline (HF_HUB_OFFLINE=1), so it cannot push to the Hub; download the zip instead.")
    from huggingface_hub import HfApi

    try:
        api = HfApi(token=token)
        api.create_repo(repo_id, exist_ok=True, repo_type="model")
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model",
                          commit_message="Upload NeuroDeck transfer-learning model")
    except Exception as error:  # noqa: BLE001  (auth, network and permission errors all mean "could not push")
        raise ValueError(f"Could not push to {repo_id!r}: {type(error).__name__}. Check the token has write access and you are online.") from error
    return f"https://huggingface.co/{repo_id}"
