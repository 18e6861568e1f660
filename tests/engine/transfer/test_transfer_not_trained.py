"""A strategy stopped before its first epoch is no result: never plotted, never "best", shown as not trained."""

from __future__ import annotations

from types import SimpleNamespace

from engine.transfer import render


def _result(strategy, accuracy, best_epoch, epochs):
    return SimpleNamespace(
        strategy=strategy, best_epoch=best_epoch, history=tuple(range(epochs)), train_seconds=2.0, feature_seconds=0.5,
        metrics=SimpleNamespace(accuracy=accuracy), train_accuracy=accuracy + 0.05, gap=0.05,
    )


def test_untrained_strategy_is_listed_not_plotted_and_never_best():
    results = {"feature_extraction": _result("feature_extraction", 0.85, 3, 3),
               "from_scratch": _result("from_scratch", 0.41, 0, 0)}  # stopped at epoch 0: random weights
    assert render.is_trained(results["feature_extraction"]) and not render.is_trained(results["from_scratch"])
    assert render.best_trained(results).strategy == "feature_extraction"
    figure = render.comparison_figure(results)
    texts = [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]
    assert any("not trained" in t and "from_scratch" in t for t in texts)
    assert not any("41%" in t for t in texts)  # the untrained "accuracy" appears nowhere
    points = [offsets for collection in figure.axes[0].collections for offsets in collection.get_offsets()]
    assert all(abs(y - 0.41) > 1e-9 for _, y in points)
    assert render.best_trained({"from_scratch": results["from_scratch"]}) is None


def test_chart_text_is_readable():
    results = {"feature_extraction": _result("feature_extraction", 0.85, 3, 3)}
    figure = render.comparison_figure(results)
    sizes = [t.get_fontsize() for t in figure.findobj(lambda a: hasattr(a, "get_fontsize")) if t.get_text()]
    assert sizes and min(sizes) >= render.HALF_WIDTH_PT
