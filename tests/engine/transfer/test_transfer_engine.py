"""Transfer-learning engine on tiny models: freezing, splits, metrics, export, stop, Hub loading."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from pathlib import Path
import torch

from engine.transfer.backbones import load_backbone, new_classifier, prepare_inputs
from engine.transfer.export import export_zip, load_exported, push_to_hub
from engine.transfer.metrics import classification_metrics
from engine.transfer.predict import predict
from engine.transfer.splits import stratified_kfold, stratified_split
from engine.transfer.strategies import apply_strategy
from engine.transfer.train import TrainConfig, train_transfer
from tests.support import stripes_dataset, tiny_bert_backbone, tiny_cnn_backbone, words_dataset

torch.set_num_threads(1)


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before: dict, after: dict, prefix: str) -> bool:
    keys = [k for k in before if k.startswith(prefix)]
    assert keys, prefix
    return any(not torch.equal(before[k], after[k]) for k in keys)


def test_feature_extraction_leaves_backbone_unchanged():
    backbone, dataset = tiny_cnn_backbone(), stripes_dataset()
    pretrained = new_classifier(backbone, dataset.class_names)
    before = _state(pretrained)
    result = train_transfer(dataset, backbone, TrainConfig(strategy="feature_extraction", epochs=5, patience=0))
    after = _state(result.model)
    backbone_keys = [k for k in before if k.startswith("backbone.")]
    assert all(torch.equal(before[k], after[k]) for k in backbone_keys)  # weights and BatchNorm statistics
    assert _changed(before, after, "head.")
    assert result.feature_seconds > 0 and 1 <= len(result.history) <= 5  # full-batch L-BFGS rounds, to convergence
    assert result.stop_reason.startswith("converged") and result.train_accuracy == 1.0


def test_feature_cache_skips_second_extraction():
    backbone, dataset = tiny_cnn_backbone(), stripes_dataset()
    cache: dict = {}
    first = train_transfer(dataset, backbone, TrainConfig(epochs=2), feature_cache=cache)
    second = train_transfer(dataset, backbone, TrainConfig(epochs=2, learning_rate=0.05), feature_cache=cache)
    assert first.feature_seconds > 0 and second.feature_seconds == 0.0 and len(cache) == 1


@pytest.mark.parametrize("make_backbone, make_data, layers", [
    (tiny_cnn_backbone, stripes_dataset, ("backbone.blocks.0.", "backbone.blocks.1.", "backbone.blocks.2.")),
    (tiny_bert_backbone, words_dataset, ("backbone.embeddings.", "backbone.encoder.layer.0.", "backbone.encoder.layer.1.")),
])
def test_fine_tune_last_block_changes_only_that_block(make_backbone, make_data, layers):
    backbone, dataset = make_backbone(), make_data()
    before = _state(new_classifier(backbone, dataset.class_names))
    result = train_transfer(dataset, backbone, TrainConfig(strategy="fine_tune_last_n", unfreeze_blocks=1, epochs=3,
                                                           patience=0, learning_rate=1e-2))
    after = _state(result.model)
    *frozen, unfrozen = layers
    for prefix in frozen:
        assert not _changed(before, after, prefix), prefix
    assert _changed(before, after, unfrozen)
    assert _changed(before, after, "head.")


def test_full_fine_tune_and_scratch_change_everything_and_scratch_starts_random():
    backbone, dataset = tiny_cnn_backbone(), stripes_dataset()
    pretrained = _state(new_classifier(backbone, dataset.class_names))
    full = _state(train_transfer(dataset, backbone, TrainConfig(strategy="full_fine_tune", epochs=2, patience=0,
                                                                learning_rate=1e-2)).model)
    assert _changed(pretrained, full, "backbone.blocks.0.") and _changed(pretrained, full, "backbone.blocks.2.")
    torch.manual_seed(123)  # the tiny 'pre-trained' backbone itself was drawn with seed 0
    scratch = new_classifier(backbone, dataset.class_names, pretrained=False)
    assert _changed(pretrained, _state(scratch), "backbone.blocks.0.")
    model = new_classifier(backbone, dataset.class_names)
    params = apply_strategy(model, "feature_extraction")
    assert sum(p.numel() for p in params) == sum(p.numel() for p in model.head.parameters())
    with pytest.raises(ValueError, match="between 1 and 3"):
        apply_strategy(model, "fine_tune_last_n", unfreeze_blocks=7)


def test_stratified_kfold_is_disjoint_covering_and_stratified():
    labels = np.array([0] * 20 + [1] * 10 + [2] * 7)
    folds = stratified_kfold(labels, k=5, seed=3)
    val_sets = [set(v.tolist()) for _, v in folds]
    assert sum(len(v) for v in val_sets) == len(labels)
    assert set().union(*val_sets) == set(range(len(labels)))
    for train, val in folds:
        assert not set(train.tolist()) & set(val.tolist())
        for label, total in zip(range(3), (20, 10, 7)):
            assert abs((labels[val] == label).sum() - total / 5) <= 1
    assert [v.tolist() for _, v in stratified_kfold(labels, 5, 3)] == [v.tolist() for _, v in folds]
    with pytest.raises(ValueError, match="fewer than k=8"):
        stratified_kfold(labels, k=8)


def test_stratified_split_keeps_every_class_on_both_sides():
    labels = np.array([0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2])
    train, val = stratified_split(labels, 0.25, seed=1)
    assert not set(train) & set(val) and len(train) + len(val) == len(labels)
    assert set(labels[train]) == set(labels[val]) == {0, 1, 2}


def test_metrics_agree_with_sklearn():
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_score, recall_score

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 200)
    predicted = np.where(rng.random(200) < 0.6, truth, rng.integers(0, 3, 200))  # class 3 rarely predicted
    metrics = classification_metrics(truth, predicted, 4)
    assert metrics.accuracy == pytest.approx(accuracy_score(truth, predicted))
    assert metrics.macro_f1 == pytest.approx(f1_score(truth, predicted, average="macro", zero_division=0))
    np.testing.assert_allclose(metrics.precision, precision_score(truth, predicted, average=None, zero_division=0))
    np.testing.assert_allclose(metrics.recall, recall_score(truth, predicted, average=None, zero_division=0))
    np.testing.assert_array_equal(metrics.confusion, confusion_matrix(truth, predicted, labels=range(4)))
    never = classification_metrics(np.array([0, 1, 1]), np.array([0, 0, 0]), 2)
    assert never.precision[1] == 0.0 and never.recall[1] == 0.0


@pytest.mark.parametrize("make_backbone, make_data", [(tiny_cnn_backbone, stripes_dataset), (tiny_bert_backbone, words_dataset)])
def test_export_round_trips_with_identical_logits(tmp_path, make_backbone, make_data):
    backbone, dataset = make_backbone(), make_data()
    result = train_transfer(dataset, backbone, TrainConfig(strategy="fine_tune_last_n", unfreeze_blocks=1, epochs=2))
    archive = export_zip(result, dataset, tmp_path, backbone.tokenizer, name="export")
    names = set(zipfile.ZipFile(archive).namelist())
    assert {"config.json", "diffusion_pytorch_model.safetensors", "labels.json", "README.md", "metrics.json"} <= names
    if backbone.tokenizer is not None:
        assert "tokenizer.json" in names or "vocab.txt" in names
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(archive).extractall(unpacked)
    loaded = load_exported(unpacked)
    inputs = prepare_inputs(backbone, dataset.items)
    with torch.no_grad():
        assert torch.equal(result.model.eval()(**inputs), loaded(**inputs))
    assert tuple(loaded.config.labels) == dataset.class_names
    card = (unpacked / "README.md").read_text()
    assert f"{result.metrics.accuracy:.4f}" in card and "fine_tune_last_n" in card


def test_stop_flag_keeps_the_best_model_so_far():
    backbone, dataset = tiny_cnn_backbone(), stripes_dataset()
    progress = []
    result = train_transfer(dataset, backbone, TrainConfig(strategy="full_fine_tune", epochs=20, patience=0),
                            on_progress=progress.append,
                            should_stop=lambda: bool(progress) and len(progress[-1].history) >= 2)
    assert result.stop_reason == "stopped by user"
    assert len(result.history) == 2
    best = min(result.history, key=lambda log: log.val_loss)
    assert result.best_epoch == best.epoch
    # The kept weights really are the best epoch's: re-evaluating gives its validation accuracy.
    assert result.metrics.accuracy == pytest.approx(best.val_accuracy)
    assert progress[-1].message.endswith("stopped by user")


def test_time_limit_ends_training():
    backbone, dataset = tiny_cnn_backbone(), stripes_dataset()
    result = train_transfer(dataset, backbone, TrainConfig(strategy="full_fine_tune", epochs=50, patience=0, max_seconds=0.0))
    assert result.stop_reason == "time limit" and result.history == ()


def test_predict_returns_sorted_top_k():
    backbone, dataset = tiny_cnn_backbone(), stripes_dataset()
    result = train_transfer(dataset, backbone, TrainConfig(epochs=30, patience=0))
    prediction = predict(result.model, backbone, dataset.items[0], top_k=5)
    assert prediction.labels[0] in dataset.class_names and len(prediction.labels) == 2
    assert prediction.probabilities[0] >= prediction.probabilities[1]
    assert sum(prediction.probabilities) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="No image"):
        predict(result.model, backbone, None)


def _tiny_vit(folder):
    from transformers import ViTConfig, ViTImageProcessor, ViTModel

    ViTModel(ViTConfig(image_size=16, patch_size=8, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=32)).save_pretrained(folder)
    ViTImageProcessor(size={"height": 16, "width": 16}).save_pretrained(folder)
    return 16, 2  # feature width, blocks


def _tiny_dinov2(folder):
    from transformers import BitImageProcessor, Dinov2Config, Dinov2Model

    Dinov2Model(Dinov2Config(image_size=16, patch_size=8, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                             mlp_ratio=2)).save_pretrained(folder)
    BitImageProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}).save_pretrained(folder)
    return 16, 2  # feature width, blocks


def _tiny_resnet(folder):
    from transformers import ConvNextImageProcessor, ResNetConfig, ResNetModel

    ResNetModel(ResNetConfig(embedding_size=8, hidden_sizes=[8, 12], depths=[1, 1], layer_type="basic")).save_pretrained(folder)
    ConvNextImageProcessor(size={"shortest_edge": 16}).save_pretrained(folder)
    return 12, 2


@pytest.mark.parametrize("make_model", [_tiny_vit, _tiny_dinov2, _tiny_resnet], ids=["vit", "dinov2", "resnet"])
def test_hub_image_backbones_from_local_tiny_models(tmp_path, make_model):
    """The suggested Hub families (google/vit-*, facebook/dinov2-small, microsoft/resnet-18), tiny and saved locally."""
    feature_dim, blocks = make_model(tmp_path / "tiny")
    backbone = load_backbone(str(tmp_path / "tiny"), "image")
    assert backbone.image_size == 16 and backbone.feature_dim == feature_dim
    dataset = stripes_dataset()
    result = train_transfer(dataset, backbone, TrainConfig(strategy="fine_tune_last_n", unfreeze_blocks=1, epochs=2))
    assert len(result.model.blocks) == blocks and result.metrics.confusion.sum() == len(result.val_index)
    archive = export_zip(result, dataset, tmp_path, name="export")
    zipfile.ZipFile(archive).extractall(tmp_path / "unpacked")
    loaded = load_exported(tmp_path / "unpacked")
    inputs = prepare_inputs(backbone, dataset.items[:4])
    with torch.no_grad():
        assert torch.equal(result.model.eval()(**inputs), loaded(**inputs))


def test_hub_id_offline_gives_clear_error():
    with pytest.raises(ValueError, match="offline"):
        load_backbone("facebook/dinov2-small", "image")
    with pytest.raises(ValueError, match="text model"):
        load_backbone("minilm", "image")


def test_push_to_hub_needs_token_and_is_refused_offline(tmp_path):
    with pytest.raises(ValueError, match="token"):
        push_to_hub(tmp_path, "user/model", "")
    with pytest.raises(ValueError, match="offline"):
        push_to_hub(tmp_path, "user/model", "hf_dummy")


def test_push_to_hub_uploads_the_exported_folder(tmp_path, monkeypatch):
    """The online path, against a stand-in for huggingface_hub.HfApi (no network in tests)."""
    import huggingface_hub

    import engine.transfer.export as transfer_export

    calls = []

    class FakeApi:
        def __init__(self, token):
            calls.append(("token", token))

        def create_repo(self, repo_id, exist_ok, repo_type):
            calls.append(("create_repo", repo_id, exist_ok, repo_type))

        def upload_folder(self, folder_path, repo_id, repo_type, commit_message):
            calls.append(("upload_folder", sorted(p.name for p in Path(folder_path).iterdir()), repo_id, repo_type))

    monkeypatch.setattr(transfer_export, "is_offline", lambda: False)
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    backbone, dataset = tiny_bert_backbone(), words_dataset()
    result = train_transfer(dataset, backbone, TrainConfig(epochs=1))
    archive = export_zip(result, dataset, tmp_path, backbone.tokenizer, name="hub-export")
    url = push_to_hub(archive.with_suffix(""), " someone/my-model ", " hf_write_token ")
    assert url == "https://huggingface.co/someone/my-model"
    assert calls[0] == ("token", "hf_write_token")
    assert calls[1] == ("create_repo", "someone/my-model", True, "model")
    kind, files, repo_id, repo_type = calls[2]
    assert (kind, repo_id, repo_type) == ("upload_folder", "someone/my-model", "model")
    assert {"README.md", "config.json", "diffusion_pytorch_model.safetensors", "labels.json", "metrics.json"} <= set(files)

    class RejectingApi(FakeApi):
        def create_repo(self, *args, **kwargs):
            raise PermissionError("403: token has read access only")

    monkeypatch.setattr(huggingface_hub, "HfApi", RejectingApi)
    with pytest.raises(ValueError, match="Could not push to 'someone/my-model': PermissionError.*write access"):
        push_to_hub(archive.with_suffix(""), "someone/my-model", "hf_read_token")
    with pytest.raises(ValueError, match="username/model-name"):
        push_to_hub(archive.with_suffix(""), "../etc", "hf_write_token")


def test_modality_mismatch_is_refused():
    with pytest.raises(ValueError, match="matching"):
        train_transfer(words_dataset(), tiny_cnn_backbone(), TrainConfig(epochs=1))


def test_sessions_are_isolated_bounded_and_freed(monkeypatch):
    from engine.transfer import session as sessions

    tiny = tiny_cnn_backbone()
    monkeypatch.setattr(sessions, "load_backbone", lambda key, modality: tiny)
    first, second = sessions.get_session("test-a"), sessions.get_session("test-b")
    sessions.set_dataset(first, stripes_dataset())
    updates = list(sessions.run_training(first, ["feature_extraction", "from_scratch"], TrainConfig(epochs=2)))
    assert updates[-1].done and set(first.results) == {"feature_extraction", "from_scratch"}
    assert second.results == {} and second.dataset is None
    with pytest.raises(ValueError, match="Load a dataset first"):
        list(sessions.run_training(second, ["feature_extraction"], TrainConfig()))
    folder = first.work_dir
    assert folder.is_dir()
    sessions.drop_session("test-a")
    assert not folder.exists() and sessions.get_session("test-a").results == {}
    for number in range(sessions.MAX_SESSIONS + 2):
        sessions.get_session(f"test-many-{number}")
    assert sessions.session_count() <= sessions.MAX_SESSIONS
    for key in ["test-a", "test-b"] + [f"test-many-{n}" for n in range(sessions.MAX_SESSIONS + 2)]:
        sessions.drop_session(key)


def test_validate_every_and_keep_last():
    backbone, dataset = tiny_cnn_backbone(), stripes_dataset()
    config = TrainConfig(strategy="fine_tune_last_n", unfreeze_blocks=1, epochs=7, validate_every=3, patience=0,
                         keep_best=False)  # an epoch-trained strategy (the linear head fits full batch to convergence)
    result = train_transfer(dataset, backbone, config)
    assert [log.epoch for log in result.history] == [3, 6, 7] and result.best_epoch == 7  # last epoch kept


def test_the_text_backbone_shares_the_attention_minilm_weights_and_classifiers_copy_them():
    from engine.core import registry

    backbone = load_backbone("minilm", "text")
    attention = registry.load("text-attention").model.state_dict()
    assert backbone.state_dict and not any(k.startswith("pooler.") for k in backbone.state_dict)
    for key, tensor in backbone.state_dict.items():  # one MiniLM in the process, not a clone beside it
        assert tensor.data_ptr() == attention[key].data_ptr(), key
    classifier = new_classifier(backbone, ("a", "b"))
    own = classifier.backbone.state_dict()
    key = "embeddings.word_embeddings.weight"
    assert torch.equal(own[key], backbone.state_dict[key]) and own[key].data_ptr() != backbone.state_dict[key].data_ptr()
