"""Measuring the models: exact match on held-out dates (per form, casing, length), the copy task
against length, and an alignment score for cross-attention.

Alignment score: for each output character that carries a date field (the 4 year digits, the 2
month digits, the 2 day digits of YYYY-MM-DD) take the attention mass that character's row puts on
the source span of that same field ("March" for the month, "2021" for the year, "3rd" or "third"
for the day), and average over the 8 characters. 1.0 = every field is read from exactly the right
place; a uniform row scores the field's share of the source (about 0.15-0.3). For the transformer
the score is taken per layer and head and the best head is reported: heads divide the work, and
one clean head is what "visibly aligned" means on screen.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from engine.attention.seq2seq import data
from engine.attention.seq2seq.decoding import greedy_texts

ALIGNED_THRESHOLD = 0.6  # score at which we call the cross-attention "visibly aligned" (uniform: ~0.15)
DATE_LENGTH_BUCKETS = ((8, 12), (13, 17), (18, 22), (23, 27), (28, 32), (33, 40))
COPY_LENGTH_BUCKETS = tuple((lo, lo + 4) for lo in range(5, 60, 5))[:-1] + ((55, 60),)
DATE_MAX_STEPS = data.TARGET_LENGTH + 4  # room for a model that forgets to stop


def _bucket(length: int, buckets) -> str | None:
    for lo, hi in buckets:
        if lo <= length <= hi:
            return f"{lo}-{hi}"
    return None


def _rate(hits: list[bool]) -> float:
    return round(float(np.mean(hits)), 5) if hits else float("nan")


def date_accuracy(model, samples: list[data.DateSample], batch_size: int = 500) -> dict:
    """Exact match of greedy outputs against the ISO targets, overall and broken down."""
    outputs = greedy_texts(model, [s.source for s in samples], DATE_MAX_STEPS, batch_size)
    hits = [o == s.target for o, s in zip(outputs, samples)]
    per_form, per_casing, per_cell, per_length = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for sample, hit in zip(samples, hits):
        per_form[sample.form].append(hit)
        per_casing[sample.casing].append(hit)
        per_cell[f"{sample.form}/{sample.casing}"].append(hit)
        per_length[_bucket(len(sample.source), DATE_LENGTH_BUCKETS)].append(hit)
    errors = [{"source": s.source, "target": s.target, "output": o} for o, s, h in zip(outputs, samples, hits) if not h]
    return {
        "exact_match": _rate(hits),
        "samples": len(samples),
        "per_form": {form: _rate(per_form[form]) for form in data.FORMS if per_form[form]},
        "per_casing": {casing: _rate(per_casing[casing]) for casing in data.CASINGS if per_casing[casing]},
        "worst_form_casing": min(((_rate(v), k) for k, v in per_cell.items()), default=(float("nan"), ""))[::-1],
        "by_length": [
            {"lengths": f"{lo}-{hi}", "exact_match": _rate(per_length[f"{lo}-{hi}"]), "count": len(per_length[f"{lo}-{hi}"])}
            for lo, hi in DATE_LENGTH_BUCKETS if per_length[f"{lo}-{hi}"]
        ],
        "errors": errors[:20],
        "error_count": len(errors),
    }


def copy_accuracy(model, evaluation: list[tuple[int, str, str]], batch_size: int = 250) -> dict:
    """Exact match and per-symbol accuracy on the copy task, by length bucket."""
    by_length = defaultdict(list)
    for item in evaluation:
        by_length[item[0]].append(item)
    exact, symbols = defaultdict(list), defaultdict(list)
    for length, items in sorted(by_length.items()):
        outputs = greedy_texts(model, [s for _, s, _ in items], length + 4, batch_size)
        for (_, _, target), output in zip(items, outputs):
            bucket = _bucket(length, COPY_LENGTH_BUCKETS)
            exact[bucket].append(output == target)
            symbols[bucket].append(np.mean([a == b for a, b in zip(output.ljust(len(target)), target)]))
    return {
        "samples": len(evaluation),
        "exact_match": _rate([h for v in exact.values() for h in v]),
        "by_length": [
            {"lengths": f"{lo}-{hi}", "exact_match": _rate(exact[f"{lo}-{hi}"]),
             "symbol_accuracy": _rate(symbols[f"{lo}-{hi}"]), "count": len(exact[f"{lo}-{hi}"])}
            for lo, hi in COPY_LENGTH_BUCKETS if exact[f"{lo}-{hi}"]
        ],
    }


def field_rows(sample: data.DateSample) -> list[tuple[int, int, int]]:
    """(target position, source start, source end) for every field character of the target."""
    spans = {field: (start, end) for field, start, end in sample.spans}
    return [(p, *spans[field]) for field, (lo, hi) in data.TARGET_FIELDS.items() for p in range(lo, hi)]


def alignment_score(cross: np.ndarray, sample: data.DateSample) -> float:
    """Mean attention mass on the right source field, for a (T_target, T_source) matrix."""
    cross = np.asarray(cross, dtype=np.float64)
    rows = field_rows(sample)
    if cross.shape[0] < data.TARGET_LENGTH:
        raise ValueError(f"Need at least {data.TARGET_LENGTH} target rows, got {cross.shape[0]}.")
    return float(np.mean([cross[p, start:end].sum() for p, start, end in rows]))


def best_head_alignment(cross: np.ndarray, sample: data.DateSample) -> tuple[float, tuple[int, int] | None]:
    """Alignment of a (T, S) matrix, or the best head's of an (L, H, T, S) stack with its (layer, head), 0-based."""
    cross = np.asarray(cross)
    if cross.ndim == 2:
        return alignment_score(cross, sample), None
    scores = np.array([[alignment_score(head, sample) for head in layer] for layer in cross])
    layer, head = np.unravel_index(int(scores.argmax()), scores.shape)
    return float(scores[layer, head]), (int(layer), int(head))


def uniform_alignment(sample: data.DateSample) -> float:
    """The score a uniform attention row would get on ``sample`` (the 'nothing learned' baseline)."""
    size = len(sample.source)
    return alignment_score(np.full((data.TARGET_LENGTH + 1, size), 1.0 / size), sample)
