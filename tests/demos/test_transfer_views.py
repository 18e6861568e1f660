"""The Transfer tab on the tab contract: typed handles, a small public API, widgets that fit the data's kind."""

from __future__ import annotations

import io

from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest

from demos.common.contract import CrossLink, TabHandles, ViewHandles

VIEW_MODULES = {"imagenet", "train"}
PUBLIC = {"imagenet_classify", "transfer_train", "transfer_predict", "transfer_export"}


@pytest.fixture(scope="module")
def built():
    from demos import transfer

    with gr.Blocks() as demo:
        handles = transfer.build(demo)
    return demo, handles


def test_build_returns_tab_handles_with_two_real_views(built):
    demo, handles = built
    assert isinstance(handles, TabHandles) and handles.tab == "transfer"
    assert isinstance(handles.page, gr.Tab) and handles.page.id == "transfer" and handles.page.elem_id == "transfer-tab"
    assert isinstance(handles.subtabs, gr.Tabs) and handles.subtabs.elem_id == "transfer-subtabs"
    assert "nd-intro-text" in handles.intro.elem_classes
    assert [view.sub for view in handles.views] == ["imagenet", "train"]
    for view in handles.views:
        assert isinstance(view, ViewHandles) and view.tab == "transfer"
        assert isinstance(view.page, gr.Tab) and view.result is not None and view.result._id in demo.blocks
        assert view.on_open, view.key
        names = [param.name for param in view.link]
        assert len(names) == len(set(names)), view.key
        for param in view.link:
            assert demo.blocks.get(param.component._id) is param.component, (view.key, param.name)
    imagenet, train = handles.views
    assert imagenet.result.elem_id == "imagenet-label"
    assert {param.name for param in imagenet.link} == {"example", "layer"}
    assert {param.name for param in train.link} == {"dataset", "backbone", "strategies", "epochs"}
    example = next(param for param in imagenet.link if param.name == "example")
    assert "coffee" in example.choices and all(Path(path).is_file() for path in example.choices.values())


def test_at_most_seven_public_endpoints_and_the_api_ones_stay(built):
    demo, _ = built
    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert PUBLIC <= public and len(public) <= 7, public
    assert not any(fn.targets and fn.targets[0][1] == "load" for fn in demo.fns.values())  # no demo.load events


def test_open_in_attention_is_a_cross_link(built):
    from demos.transfer import train

    _, handles = built
    (link,) = handles.views[1].cross_links
    assert isinstance(link, CrossLink) and link.target == "attention/text"
    assert link.button.elem_id == "transfer-open-attention"
    assert [c.elem_id for c in link.inputs] == ["transfer-model-pick", "transfer-predict-text"]
    assert link.values("full_fine_tune", "A rainy day.") == {"text": "A rainy day.", "model": "fine-tuned:full_fine_tune"}
    assert train.attention_link("", "x") == {"text": "x", "model": "fine-tuned"}


# ----------------------------------------------------------------- what a session shows, by the data's kind
def _session(modality: str, wrong: bool):
    """A session holding one trained strategy on 4 validation examples (one wrong if ``wrong``)."""
    from engine.transfer.data import DataReport, TransferDataset
    from engine.transfer.train import EpochLog

    items = tuple(np.full((8, 8, 3), i * 40, np.uint8) for i in range(4)) if modality == "image" else \
        ("sunny", "rain", "goal", "match")
    dataset = TransferDataset(modality, items, np.array([0, 0, 1, 1]), ("a", "b"), DataReport({"a": 2, "b": 2}, (), ()))
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4] if wrong else [0.2, 0.8]], np.float32)
    metrics = SimpleNamespace(accuracy=0.75 if wrong else 1.0, macro_f1=0.7, precision=[1, 1], recall=[1, 1],
                              f1=[1, 1], support=[2, 2], confusion=np.array([[2, 0], [1, 1] if wrong else [0, 2]]))
    result = SimpleNamespace(strategy="feature_extraction", metrics=metrics, val_index=np.arange(4),
                             val_probabilities=probabilities, history=(EpochLog(1, 0.5, 0.8, 0.6, 0.75, 1.0),),
                             best_epoch=1, stop_reason="completed", train_seconds=1.0, feature_seconds=0.5,
                             train_accuracy=1.0, gap=0.25)
    results = {"feature_extraction": result}
    return SimpleNamespace(dataset=dataset, results=results, shared=(), kfold=None,
                           result=lambda strategy=None: results[strategy or "feature_extraction"])


def _values(session) -> dict:
    from demos.transfer import results

    return dict(zip(results.VIEW_NAMES, results.view(session)))


def _visible(update) -> bool:
    return update["visible"]


def test_text_data_shows_text_widgets_and_its_mistakes():
    values = _values(_session("text", wrong=True))
    assert _visible(values["predict_text"]) and _visible(values["attention_box"]) and _visible(values["wrong_texts"])
    assert not _visible(values["predict_image"]) and not _visible(values["gallery"]) and not _visible(values["backbone"])
    assert values["wrong_texts"]["value"][0][0] == "match" and "texts" in values["wrong_note"]
    assert "Done. Best: Feature extraction" in values["status"] and "75.0%" in values["status"]


def test_image_data_shows_image_widgets_and_says_none_misclassified():
    values = _values(_session("image", wrong=False))
    assert _visible(values["predict_image"]) and _visible(values["backbone"])
    assert not _visible(values["predict_text"]) and not _visible(values["attention_box"])
    assert not _visible(values["gallery"]) and not _visible(values["wrong_texts"])
    assert "Misclassified validation images" in values["wrong_note"] and "none misclassified" in values["wrong_note"]
    wrong = _values(_session("image", wrong=True))
    assert _visible(wrong["gallery"]) and len(wrong["gallery"]["value"]) == 1 and "none" not in wrong["wrong_note"]


def test_the_shared_example_run_says_it_is_precomputed_and_its_charts_are_drawn_once():
    import base64

    from PIL import Image

    session = _session("text", wrong=True)
    session.shared = tuple(session.results.values())
    first = _values(session)
    assert "Pre-computed example run" in first["status"]
    again = _values(session)  # the next visitor's opening
    for name in ("curves", "comparison", "confusion"):
        assert again[name] is first[name] and first[name].type == "matplotlib"  # encoded once, not per visitor
        picture = Image.open(io.BytesIO(base64.b64decode(first[name].plot.split(",", 1)[1])))
        assert picture.width > 300
    own = _session("text", wrong=True)  # a visitor's own run is drawn for it
    assert _values(own)["curves"] is not first["curves"]


def test_a_session_without_results_shows_no_stale_figures():
    session = _session("text", wrong=False)
    session.results.clear()
    values = _values(session)
    assert values["curves"] is None and values["confusion"] is None and "press Train" in values["status"]


# ----------------------------------------------------------------- honest texts after the baselines fix (issue #23)
def test_results_table_has_a_fitted_column_from_the_engine_flag():
    from demos.transfer import results

    column = results.RESULT_HEADERS.index("fitted its training data")
    session = _session("image", wrong=False)
    fits = _values(session)["results_table"][0]
    assert len(fits) == len(results.RESULT_HEADERS) and fits[column] == "yes"
    starved = session.results["feature_extraction"]
    starved.train_accuracy = 0.5  # below the engine's threshold: did not fit its training data
    row = _values(session)["results_table"][0]
    assert row[column] == "no" and row[results.RESULT_HEADERS.index("train accuracy")] == 0.5
    starved.best_epoch, starved.history = 0, ()  # stopped before epoch 1: not trained, so not fitted either
    assert _values(session)["results_table"][0][column] == "no"


def test_the_comparison_chart_marks_a_run_that_did_not_fit():
    from engine.transfer import render

    session = _session("image", wrong=False)
    session.results["feature_extraction"].train_accuracy = 0.5
    figure = render.comparison_figure(session.results)
    (legend,) = figure.legends
    (entry,) = [t.get_text() for t in legend.get_texts()]
    assert entry.startswith("feature_extraction") and render.DID_NOT_FIT in entry
    point = figure.axes[0].collections[-1]  # hollow: white face, the strategy's colour as edge
    assert tuple(point.get_facecolor()[0]) == (1.0, 1.0, 1.0, 1.0)


def test_intro_and_strategy_note_name_five_strategies_and_say_from_scratch_fits():
    from demos import transfer
    from demos.transfer import train
    from engine.transfer.options import STRATEGIES

    assert len(STRATEGIES) == 5
    for text in (transfer.INTRO, train.STRATEGY_NOTE):
        assert "five strategies" in text.lower() and "logistic regression" in text.lower()
        assert "four" not in text.lower() and "not enough to learn from zero" not in text
    assert "generalises worse" in train.STRATEGY_NOTE and "0.833" in train.STRATEGY_NOTE
    assert "did not fit" in train.STRATEGY_NOTE


def test_attention_text_note_covers_every_strategy_that_leaves_attention_unchanged():
    from demos.attention import text

    for strategy in ("feature_extraction", "logistic_regression"):
        note = text.unchanged_attention_note(strategy)
        assert "frozen" in note and "unchanged" in note, strategy
    assert "random" in text.unchanged_attention_note("from_scratch")
    assert text.unchanged_attention_note("full_fine_tune") == ""
    assert text.unchanged_attention_note("fine_tune_last_n") == ""
