"""Honest baselines (issue #23): from scratch fits its data, runs that do not are labelled and left out
of the gain, the linear head matches scikit-learn's logistic regression, and the model card's snippet
loads a real export."""

from __future__ import annotations

import contextlib
import io
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from engine.transfer import render
from engine.transfer import session as sessions
from engine.transfer.backbones import Backbone, load_backbone, prepare_inputs
from engine.transfer.efficientnet import EfficientNetLite0
from engine.transfer.export import LIBRARY_NAME, SNIPPET_FOLDER, export_folder
from engine.transfer.linear import C_GRID, inner_folds, standardiser
from engine.transfer.options import STRATEGIES, STRATEGY_LABELS
from engine.transfer.shapes import CLASSES, shapes_dataset
from engine.transfer.train import TrainConfig, train_transfer
from tests.support import stripes_dataset, tiny_bert_backbone, tiny_cnn_backbone, words_dataset

torch.set_num_threads(1)


def tiny_efficientnet_backbone(side: int = 32, width: int = 16) -> Backbone:
    """EfficientNet-Lite0's architecture (7 stages, BatchNorm momentum 0.01) at a width that trains in seconds."""
    channels = [width, width, 2 * width, 2 * width, 3 * width, 3 * width, 4 * width]
    strides = [1, 2, 2, 2, 1, 2, 1]
    stages = [[1, 3, strides[i], 1 if i == 0 else 4, ([width] + channels)[i], channels[i]] for i in range(7)]
    config = {"num_classes": 0, "dropout": 0.0, "stages": stages, "stem_channels": width, "head_channels": 8 * width}
    torch.manual_seed(0)
    model = EfficientNetLite0(**config)
    assert model._bn0.momentum == 0.01  # TensorFlow's 0.99, as in the real model
    return Backbone(key="tiny-efficientnet", name="tiny EfficientNet-Lite", modality="image",
                    backbone_type="efficientnet_lite", backbone_config=config, feature_dim=8 * width,
                    state_dict={k: v.clone() for k, v in model.state_dict().items()}, image_size=side)


def test_from_scratch_fits_its_training_data():
    # Before the fix the BatchNorm running statistics (momentum 0.01, 3 steps an epoch) stayed near mean 0 /
    # variance 1, so in eval mode this network predicted one class: train accuracy 0.33 while it learned.
    dataset = shapes_dataset(train_per_class=8, held_out_per_class=4, side=32)
    config = TrainConfig(strategy="from_scratch", epochs=40, patience=0, batch_size=8, augment=False, seed=0)
    result = train_transfer(dataset, tiny_efficientnet_backbone(), config)
    assert result.train_accuracy >= 0.9
    assert render.fitted(result)


def _result(strategy, accuracy, train_accuracy, epochs=40, patience=0):
    return SimpleNamespace(
        strategy=strategy, best_epoch=3, history=(1, 2, 3), train_seconds=2.0, feature_seconds=0.5,
        metrics=SimpleNamespace(accuracy=accuracy), train_accuracy=train_accuracy, gap=train_accuracy - accuracy,
        config=TrainConfig(strategy=strategy, epochs=epochs, patience=patience),
    )


def _texts(figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text"))]


def test_run_that_did_not_fit_is_labelled_and_left_out_of_the_gain():
    stuck = {"feature_extraction": _result("feature_extraction", 0.9, 1.0),
             "from_scratch": _result("from_scratch", 0.143, 0.143)}  # at chance, as before the fix
    assert not render.fitted(stuck["from_scratch"]) and render.pretraining_gain(stuck) is None
    texts = _texts(render.comparison_figure(stuck))
    assert any(t.endswith(render.DID_NOT_FIT) and "from_scratch: val 14%, train 14%" in t for t in texts)
    assert not any("Pre-training gain:" in t for t in texts)
    assert any("No gain shown" in t and "Budget: 40 epochs, no early stop each" in t for t in texts)

    fitting = {**stuck, "from_scratch": _result("from_scratch", 0.6, 0.98)}
    assert render.pretraining_gain(fitting) == pytest.approx(0.3)
    assert any("Pre-training gain: +30%" in t for t in _texts(render.comparison_figure(fitting)))
    # A pre-trained run that did not fit is left out of the gain too.
    assert render.pretraining_gain({**fitting, "fine_tune_last_n": _result("fine_tune_last_n", 0.95, 0.5)}) == pytest.approx(0.3)
    different = {**fitting, "full_fine_tune": _result("full_fine_tune", 0.9, 1.0),
                 "from_scratch": _result("from_scratch", 0.6, 0.98, epochs=15, patience=4)}
    assert "Budgets differ" in render.budget_line(different)


def test_logistic_regression_is_offered_and_appears_in_the_results():
    assert "logistic_regression" in STRATEGIES
    assert STRATEGY_LABELS["logistic_regression"] == "Logistic regression on frozen features (scikit-learn)"
    session = sessions.get_session("baselines-test")
    try:
        sessions.set_dataset(session, stripes_dataset())
        session.backbone = lambda: tiny_cnn_backbone()  # the session's backbone, without a registry load
        updates = list(sessions.run_training(session, ["feature_extraction", "logistic_regression"], TrainConfig()))
        assert updates[-1].done and list(session.results) == ["feature_extraction", "logistic_regression"]
        classical = session.results["logistic_regression"]
        assert render.is_trained(classical) and classical.stop_reason.startswith("converged (C = ")
        assert any("logistic_regression" in t for t in _texts(render.comparison_figure(session.results)))
    finally:
        sessions.drop_session("baselines-test")


def test_logistic_regression_head_predicts_what_scikit_learn_predicts():
    """The fitted scaler + LogisticRegressionCV, folded into the head, gives scikit-learn's probabilities."""
    from sklearn.linear_model import LogisticRegressionCV

    backbone, dataset = tiny_cnn_backbone(), stripes_dataset()
    result = train_transfer(dataset, backbone, TrainConfig(strategy="logistic_regression", seed=3))
    with torch.no_grad():
        features = result.model.encode(**prepare_inputs(backbone, dataset.items)).double()
    train = features[result.train_index]
    mean, scale = standardiser(train)
    labels = dataset.labels[result.train_index]
    model = LogisticRegressionCV(Cs=list(C_GRID), cv=inner_folds(labels, 3), scoring="neg_log_loss", l1_ratios=(0.0,),
                                 max_iter=5000, tol=1e-6, use_legacy_attributes=False)
    model.fit(((train - mean) / scale).numpy(), labels)
    expected = model.predict_proba(((features[result.val_index] - mean) / scale).numpy())
    np.testing.assert_allclose(result.val_probabilities, expected, atol=1e-4)


@pytest.mark.slow  # 48 EfficientNet-Lite0 forwards at 224x224: ~5 s of one core, too much for the fast tier
def test_linear_head_is_at_least_as_accurate_as_logistic_regression_on_the_shapes_task():
    """Real EfficientNet-Lite0 features; 12 training shapes a class, 4 held out (one extraction, shared)."""
    dataset = shapes_dataset(train_per_class=12, held_out_per_class=4, seed=0)
    backbone = load_backbone("efficientnet-lite0", "image")
    cache: dict = {}
    head = train_transfer(dataset, backbone, TrainConfig(strategy="feature_extraction", seed=0), feature_cache=cache)
    classical = train_transfer(dataset, backbone, TrainConfig(strategy="logistic_regression", seed=0), feature_cache=cache)
    assert np.array_equal(head.val_index, classical.val_index) and len(head.val_index) == 4 * len(CLASSES)
    assert classical.metrics.accuracy > 1 / len(CLASSES) + 0.2  # the features carry the shapes
    assert head.metrics.accuracy >= classical.metrics.accuracy
    assert head.train_accuracy == 1.0 and head.stop_reason.startswith("converged")


def _card_snippet(folder) -> str:
    card = (folder / "README.md").read_text()
    front = card.split("---")[1]
    assert re.search(rf"^library_name: {LIBRARY_NAME}$", front, re.M) and "diffusers" not in front
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert SNIPPET_FOLDER in snippet
    return snippet.replace(SNIPPET_FOLDER, str(folder))


@pytest.mark.parametrize("make_backbone, make_data", [(tiny_cnn_backbone, stripes_dataset),
                                                      (tiny_bert_backbone, words_dataset)])
def test_model_card_names_its_library_and_its_snippet_loads_the_export(tmp_path, make_backbone, make_data):
    backbone, dataset = make_backbone(), make_data()
    result = train_transfer(dataset, backbone, TrainConfig(strategy="feature_extraction", epochs=3))
    folder = export_folder(result, dataset, tmp_path / "export", tokenizer=backbone.tokenizer)
    printed = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(printed):
        exec(compile(_card_snippet(folder), "model card snippet", "exec"), namespace)  # noqa: S102  (our own card)
    model = namespace["model"]
    assert type(model).__name__ == "TransferClassifier" and not model.training
    assert printed.getvalue().split()[0] in dataset.class_names
    trained = result.model
    inputs = ({"pixel_values": namespace["pixels"]} if dataset.modality == "image" else
              {"input_ids": namespace["batch"]["input_ids"], "attention_mask": namespace["batch"]["attention_mask"]})
    with torch.no_grad():
        torch.testing.assert_close(namespace["logits"], trained(**inputs))
