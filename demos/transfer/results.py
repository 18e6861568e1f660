"""What a transfer session holds, drawn for the "Train your own" view (not a view itself).

:func:`view` gives one value per :data:`VIEW_NAMES` widget: the status card, charts, tables, and the
widgets that fit the data's kind (images: backbone, image input, misclassified pictures; text: sentence
input, misclassified sentences, attention after fine-tuning).
"""

from __future__ import annotations

import gradio as gr

from demos.common.cards import figure_cards
from demos.common.payloads import drawn_plot
from engine.core.imports import IMPORT_LOCK
from engine.transfer.options import STRATEGY_LABELS

RESULT_HEADERS = ["strategy", "val accuracy", "macro-F1", "train accuracy", "fitted its training data", "train−val gap",
                  "train s", "feature extraction s", "epochs", "ended by"]
PER_CLASS_HEADERS = ["class", "precision", "recall", "F1", "support"]
# The widgets a rendering fills, in order (the train view's names for them).
DETAIL_NAMES = ("confusion", "per_class", "wrong_note", "gallery", "wrong_texts")
VIEW_NAMES = ("status", "curves", "comparison", *DETAIL_NAMES, "results_table", "kfold_info", "model_pick",
              "data_report", "backbone", "predict_text", "predict_image", "attention_box", "prediction")


def _engine():
    with IMPORT_LOCK:
        from engine.transfer import example, render
    return example, render


def strategy_name(strategy: str) -> str:
    """The strategy's label without its explanation: "Feature extraction", "Full fine-tune", ..."""
    return STRATEGY_LABELS.get(strategy, strategy).split(" (")[0]


def status_card(headline: str, result=None, tone: str = "") -> str:
    """The view's main result: a sentence, and the key figures of ``result`` (a TrainResult) when given."""
    if result is None:
        return figure_cards((), headline=headline, tone=tone)
    metrics = result.metrics
    figures = [("Best strategy", strategy_name(result.strategy)),
               ("Validation accuracy", f"{metrics.accuracy:.1%}", f"{len(result.val_index)} held-out examples"),
               ("Macro-F1", f"{metrics.macro_f1:.3f}"),
               ("Train − validation gap", f"{result.gap:+.1%}", "large = overfitting"),
               ("Training time", f"{result.train_seconds + result.feature_seconds:.1f} s")]
    return figure_cards(figures, headline=headline, tone=tone)


def curves(histories: dict):
    with IMPORT_LOCK:
        from engine.transfer import render
    return render.curves_figure(histories)


def fitted_cell(result, render) -> str:
    """The results table's "fitted its training data" cell: yes at train accuracy >= the engine's threshold."""
    return "yes" if render.fitted(result) else "no"


def results_rows(session, render) -> list[list]:
    rows = []
    for strategy, result in session.results.items():
        if not render.is_trained(result):  # stopped before epoch 1: random weights, not a result
            untrained = render.NOT_TRAINED
            rows.append([strategy, untrained, untrained, untrained, "no", untrained, round(result.train_seconds, 2),
                         round(result.feature_seconds, 2), 0, result.stop_reason])
            continue
        rows.append([strategy, round(result.metrics.accuracy, 4), round(result.metrics.macro_f1, 4),
                     round(result.train_accuracy, 4), fitted_cell(result, render), round(result.gap, 4),
                     round(result.train_seconds, 2),
                     round(result.feature_seconds, 2), len(result.history), result.stop_reason])
    return rows


def details(session, strategy: str | None) -> tuple:
    """Confusion matrix, per-class table, and the misclassified validation examples of one strategy."""
    _, render = _engine()
    result = session.result(strategy or None)
    dataset = session.dataset
    metrics = result.metrics
    per_class = [[label, round(float(p), 4), round(float(r), 4), round(float(f), 4), int(s)] for label, p, r, f, s in
                 zip(dataset.class_names, metrics.precision, metrics.recall, metrics.f1, metrics.support)]
    wrong = render.misclassified(result, dataset)
    images = dataset.modality == "image"
    kind, name = ("images" if images else "texts"), strategy_name(result.strategy)
    if wrong:
        note = f"**Misclassified validation {kind}** ({name}): {len(wrong)}, most confident first."
    else:
        note = f"**Misclassified validation {kind}** ({name}): none misclassified."
    figure = render.confusion_figure(metrics.confusion, dataset.class_names,
                                     f"Validation confusion: {name}")
    gallery = gr.update(value=[(item, caption) for item, caption in wrong] if images else None,
                        visible=images and bool(wrong))
    texts = gr.update(value=[[item, caption] for item, caption in wrong] if not images else [],
                      visible=not images and bool(wrong))
    return figure, per_class, note, gallery, texts


def _headline(session, best, example) -> tuple[str, str]:
    if example.is_example(session):
        return (f"Pre-computed example run, the same for every visitor: {strategy_name(best.strategy).lower()} on "
                f"{session.dataset.name}. Pick your data and press Train to run your own."), ""
    stopped = any(r.stop_reason != "completed" for r in session.results.values())
    return (f"Done. Best: {strategy_name(best.strategy)}, validation accuracy {best.metrics.accuracy:.1%}, macro-F1 "
            f"{best.metrics.macro_f1:.3f}." + (" Some runs ended early; the best epoch was kept." if stopped else "")), "good"


def view(session, headline: str | None = None) -> tuple:
    """Every :data:`VIEW_NAMES` value for what ``session`` holds; ``headline`` replaces the status sentence."""
    example, render = _engine()
    dataset = session.dataset
    images = dataset is not None and dataset.modality == "image"
    fits = {"backbone": gr.update(visible=images), "predict_text": gr.update(visible=not images),
            "predict_image": gr.update(visible=images), "attention_box": gr.update(visible=not images)}
    report = ""
    if dataset is not None:
        kind = "images" if images else "text (backbone: all-MiniLM-L6-v2)"
        report = f"**{dataset.name}**: {kind}. " + dataset.report.to_markdown()
    best = render.best_trained(session.results)
    values = dict(fits, data_report=report, kfold_info=session.kfold.describe() if session.kfold else "",
                  prediction=None)  # the last prediction came from another model
    if best is None:
        if session.results:  # every strategy was stopped before its first epoch
            headline = headline or "Training was stopped before any model finished an epoch; press Train again."
        values.update(status=status_card(headline or "Load data, then press Train."), curves=None, comparison=None,
                      confusion=None, per_class=[], wrong_note="", gallery=gr.update(value=None, visible=False),
                      wrong_texts=gr.update(value=[], visible=False), results_table=results_rows(session, render),
                      model_pick=gr.update(choices=[], value=None))
        return tuple(values[name] for name in VIEW_NAMES)
    sentence, tone = _headline(session, best, example)
    values.update(zip(DETAIL_NAMES, details(session, best.strategy)))
    values.update(
        status=status_card(headline or sentence, best, tone), results_table=results_rows(session, render),
        model_pick=gr.update(choices=list(session.results), value=best.strategy),
    )
    if example.is_example(session):  # every visitor's opening: the same three charts, drawn once per process
        values.update(_example_charts(session, best, values["confusion"], render))
    else:
        values.update(curves=render.curves_figure({s: r.history for s, r in session.results.items()}),
                      comparison=render.comparison_figure(session.results))
    return tuple(values[name] for name in VIEW_NAMES)


_EXAMPLE_CHARTS: list = []  # [(the example run's result, {"curves", "comparison", "confusion": PlotData})]


def _example_charts(session, best, confusion, render) -> dict:
    """The example run's charts, encoded once for the process (the run is the process's own: trained once)."""
    if _EXAMPLE_CHARTS and _EXAMPLE_CHARTS[0][0] is best:
        return _EXAMPLE_CHARTS[0][1]
    charts = {"curves": drawn_plot(render.curves_figure({s: r.history for s, r in session.results.items()})),
              "comparison": drawn_plot(render.comparison_figure(session.results)), "confusion": drawn_plot(confusion)}
    _EXAMPLE_CHARTS[:] = [(best, charts)]
    return charts


WORDS_HINT = "Press Predict: the words that drove a text model's prediction appear here."


def words_view(result, tokenizer, text) -> tuple[str, str]:
    """Integrated gradients of ``result``'s predicted class over the words of ``text``: (coloured words, cards)."""
    with IMPORT_LOCK:
        from engine.transfer import attribution
    explained = attribution.text_attribution(result.model, tokenizer, text)
    ig = explained.attribution
    cards = figure_cards(attribution.completeness_figures(ig), headline=(
        f"Integrated gradients for '{explained.target_label}': {ig.steps} steps from a baseline with every word "
        "replaced by [PAD]"))
    return attribution.token_html(explained.words(), explained.target_label), cards
