"""Committed figures of the encoder-decoder lab, read from the models' training.json (no torch).

The accuracy-against-length curves are precomputed by ``scripts/train_seq2seq.py`` when it trains
each model (held-out dates, held-out copy sequences) and committed with the weights; this module
only reads and draws them, so the tab can show them at build time without importing torch.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.attention.seq2seq import render

MODEL_KINDS = ("transformer", "rnn_attention", "rnn")
MODEL_NAMES = {
    "transformer": "Transformer (2+2 layers, 4 heads)",
    "rnn_attention": "GRU + Bahdanau attention",
    "rnn": "GRU, no attention",
}
ASSET_FOLDER = Path(__file__).resolve().parents[3] / "assets" / "seq2seq"


def _records(task_folder: Path) -> dict[str, dict]:
    records = {}
    for kind in MODEL_KINDS:
        path = task_folder / kind / "training.json"
        if path.is_file():
            records[kind] = json.loads(path.read_text())
    return records


def _length_figure(records: dict, title: str, axis: str, samples_name: str) -> str | None:
    """Exact match against length for the models in ``records`` (None when no model has a record)."""
    if not records:
        return None
    n = next(iter(records.values()))["evaluation"]["samples"]
    return render.accuracy_vs_length(
        {k: r["evaluation"]["by_length"] for k, r in records.items()}, title, axis,
        note=f"precomputed by scripts/train_seq2seq.py on {n:,} {samples_name}")


def why_attention() -> tuple[str | None, str | None, str]:
    """Accuracy against length, precomputed when the models were trained (read from their training.json).

    Returns (dates figure, copy-task figure, Markdown table of per-form accuracy and training time).
    """
    dates, copies = _records(ASSET_FOLDER), _records(ASSET_FOLDER / "copy")
    date_figure = _length_figure(dates, "Dates: exact match against input length", "input length (characters)",
                                 "held-out dates")
    copy_figure = _length_figure(copies, "Copying 5-60 symbols: exact match against length",
                                 "sequence length (symbols)", "held-out sequences")
    lines = []
    if dates:
        lines.append("| held-out dates, exact match | " + " | ".join(MODEL_NAMES[k] for k in dates) + " |")
        lines.append("|---|" + "---|" * len(dates))
        lines.append("| **all forms and casings** | " + " | ".join(f"**{r['evaluation']['exact_match']:.2%}**" for r in dates.values()) + " |")
        forms = next(iter(dates.values()))["evaluation"]["per_form"]
        for form in forms:
            lines.append(f"| {form} | " + " | ".join(f"{r['evaluation']['per_form'][form]:.2%}" for r in dates.values()) + " |")
        lines.append("| parameters | " + " | ".join(f"{r['record']['parameters']:,}" for r in dates.values()) + " |")
        lines.append("| training steps | " + " | ".join(f"{r['config']['steps']:,}" for r in dates.values()) + " |")
        lines.append("| training wall time (shared 2-core box, 1 thread) | "
                     + " | ".join(f"{r['record']['train_seconds']:.0f} s" for r in dates.values()) + " |")
        lines.append("| training CPU time | " + " | ".join(
            f"{r['record']['cpu_seconds']:.0f} s" if "cpu_seconds" in r["record"] else "not recorded" for r in dates.values()) + " |")
    if copies:
        lines.append("")
        lines.append("| copy task, exact match at 55-60 symbols | " + " | ".join(MODEL_NAMES[k] for k in copies) + " |")
        lines.append("|---|" + "---|" * len(copies))
        lines.append("| | " + " | ".join(f"{r['evaluation']['by_length'][-1]['exact_match']:.1%}" for r in copies.values()) + " |")
    return date_figure, copy_figure, "\n".join(lines)
