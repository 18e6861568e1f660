"""Result cards for the discriminator snapshots (engine/gan/snapshots.py): plain words that follow the
measured AUROCs and each D's own range on real digits. Also reachable as ``engine.gan.render.<name>``."""

from __future__ import annotations

import math

from engine.core.draw import KeyFigure, KeyFigures
from engine.gan.render import _class_word, _rounded


def separation_phrase(auroc: float, what: str) -> str:
    """D's separation of real digits from ``what`` (e.g. "scribbled digits") in words that follow its AUROC."""
    if auroc is None or not math.isfinite(auroc):
        return f"was not measured on {what}"
    if auroc >= 0.9:
        return f"tells real digits from {what} apart sharply"
    if auroc >= 0.75:
        return f"mostly tells real digits from {what} apart"
    if auroc >= 0.6:
        return f"barely tells real digits from {what} apart"
    if auroc > 0.4:
        return f"cannot tell real digits from {what} apart"
    return f"scores {what} higher than real digits"


def _snapshot_list(figures) -> list[dict]:
    record = figures.as_dict() if hasattr(figures, "as_dict") else figures
    return sorted(record["snapshots"], key=lambda item: item["step"])


def snapshot_summary(figures) -> KeyFigures:
    """The D snapshots' separation (``record.SnapshotFigures`` or its ``as_dict()``), early against final.

    The headline compares the earliest and the final D on what D is trained for (real vs the generator
    it faced), then on scribbled digits; every verb is chosen from the AUROC it describes.
    """
    snapshots = _snapshot_list(figures)
    early, final = snapshots[0], snapshots[-1]
    n = figures["real_count"] if isinstance(figures, dict) else figures.real_count
    sentences = []
    for key, what in (("auroc_generated", "its generator's digits"), ("auroc_scribbled", "scribbled digits")):
        a, b = early.get(key, float("nan")), final.get(key, float("nan"))
        if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
            continue
        sentence = (f"Early D (step {early['step']:,}) {separation_phrase(a, what)} (AUROC {a:.2f}); "
                    f"the final D (step {final['step']:,}) {separation_phrase(b, what)} "
                    f"(AUROC {b:.2f})")
        if key == "auroc_generated" and a >= 0.75 and b < 0.6:
            sentence += ": at equilibrium D cannot separate them, which is what a GAN trains for"
        elif key == "auroc_generated" and a - b >= 0.2:
            sentence += ": as its generator improved, D lost most of its edge (at equilibrium it would be 0.50)"
        sentences.append(sentence + ".")
    squeeze = final["real_high"] - final["real_low"]
    if squeeze < 0.15 and final.get("auroc_scribbled", 0) >= 0.75:
        sentences.append(f"The final D's scores are squeezed near 50% (real digits {final['real_low']:.0%}–"
                         f"{final['real_high']:.0%}, scribbled ones about {final['scribbled_median']:.0%}), "
                         "but its ranking still puts scribbles below real digits.")
    elif final.get("auroc_scribbled", 1) < 0.6:
        sentences.append(f"A scribble barely moves the final D's score: real digits {final['real_low']:.0%}–"
                         f"{final['real_high']:.0%}, scribbled ones about {final['scribbled_median']:.0%}.")
    items = []
    for index, item in enumerate(snapshots):
        which = "final D" if index == len(snapshots) - 1 else "D"
        generated = item.get("auroc_generated", float("nan"))
        value = f"{generated:.2f}" if generated is not None and math.isfinite(generated) else "–"
        items.append(KeyFigure(
            f"{which} at step {item['step']:,}: AUROC real vs generated", value,
            f"scribbled {item['auroc_scribbled']:.2f}, noised {item['auroc_noised']:.2f}; real digits score "
            f"{item['real_low']:.0%}–{item['real_high']:.0%}, scribbled about {item['scribbled_median']:.0%}"))
    headline = " ".join(sentences) + f" (AUROC: 1 = every real digit scores above every other, 0.5 = chance; {n} real digits.)"
    return KeyFigures(headline=headline, figures=tuple(items))


def snapshot_scores_summary(info: dict, figures) -> KeyFigures:
    """One image under every D snapshot (``snapshots.SnapshotScores.info()``), each score against that D's
    own range on real digits (from ``figures``, the committed ``SnapshotFigures`` or its dict)."""
    ranges = {item["step"]: item for item in _snapshot_list(figures)}
    digit, source = int(info["class"]), info["class_from"]
    given = "the judge's reading" if source == "judge" else "the class you chose"
    parts, items = [], []
    scores = info["snapshots"]
    for index, item in enumerate(scores):
        step, value = int(item["step"]), float(item["realness"])
        measured = ranges.get(step)
        which = "the final D" if index == len(scores) - 1 else ("the early D" if index == 0 else "D")
        if measured is None:
            position, note = "", "no measured range for this step"
        else:
            low, high = measured["real_low"], measured["real_high"]
            if _rounded(value) < _rounded(low):
                position = "below real digits"
            elif _rounded(value) > _rounded(high):
                position = "above real digits"
            else:
                position = "within real digits' range"
            note = f"real digits score {low:.0%}–{high:.0%} under this D: {position}"
        parts.append(f"{which} (step {step:,}) {value:.0%}" + (f", {position}" if position else ""))
        items.append(KeyFigure(f"{'Final D' if index == len(scores) - 1 else 'D'} at step {step:,}", f"{value:.0%}", note,
                               "bad" if position == "below real digits" else ""))
    headline = f"Realness as {_class_word(digit)} ({given}) under each D: " + "; ".join(parts) + "."
    return KeyFigures(headline=headline, figures=tuple(items))
