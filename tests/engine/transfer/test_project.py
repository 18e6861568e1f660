"""Training projects and scripts.finetune: settings round trip (tab -> project -> command line -> settings),
the project zip, argument parsing, and one accelerate process training exactly the tab's model."""

from __future__ import annotations

import dataclasses
import io
import json
import shlex
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from engine.transfer.data import _finish, load_builtin, load_image_zip
from engine.transfer.export import load_exported
from engine.transfer.project import (
    ProjectSettings, RunOptions, fingerprint, load_data, parse_command, read_project, write_project,
)
from engine.transfer.train import TrainConfig, train_transfer
from tests.support import stripes_dataset, tiny_bert_backbone, tiny_cnn_backbone, words_dataset

torch.set_num_threads(1)

# What the tab's _config + session.run_training hand train_transfer: every field set, odd floats, a time cap.
TAB_CONFIG = TrainConfig(strategy="fine_tune_last_n", unfreeze_blocks=3, epochs=7, learning_rate=0.00037, batch_size=12,
                         weight_decay=0.003, dropout=0.35, augment=False, patience=0, val_fraction=0.3, seed=42,
                         max_seconds=240.0)


def _photos_zip(tmp_path, per_class: int = 3):
    """An upload as the tab gets it: a zip of class folders holding PNGs (decoded to 128x128 on load)."""
    rng = np.random.default_rng(0)
    path = tmp_path / "my photos.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name in ("cats", "dogs"):
            for number in range(per_class):
                png = io.BytesIO()
                Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(png, format="PNG")
                archive.writestr(f"{name}/{number}.png", png.getvalue())
    return path


def _project(archive):
    """(top folder, project.json, entry names) of a project zip."""
    with zipfile.ZipFile(archive) as handle:
        names = handle.namelist()
        top = names[0].split("/")[0]
        return top, json.loads(handle.read(f"{top}/project.json")), names


def test_project_settings_mirror_train_config():
    train_fields = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name != "max_seconds"}
    mine = {f.name: f.default for f in dataclasses.fields(ProjectSettings) if f.name not in ("data", "backbone")}
    assert mine == train_fields  # same names, same defaults: a new TrainConfig field must be added here too


def test_tab_settings_round_trip_through_project_and_command_lines(tmp_path):
    dataset = load_image_zip(_photos_zip(tmp_path))
    archive = write_project(TAB_CONFIG, dataset, "neurodeck-cnn", tmp_path / "out", tab_summary={"accuracy": 0.5})
    top, project, names = _project(archive)
    expected = ProjectSettings.from_train_config(TAB_CONFIG, data=project["settings"]["data"], backbone="neurodeck-cnn")
    assert ProjectSettings.from_json(project["settings"]) == expected == read_project(archive)
    assert expected.train_config(max_seconds=240.0) == TAB_CONFIG
    for kind, command in project["commands"].items():
        words = shlex.split(command)
        assert words[0] in ("python", "accelerate") and "scripts.finetune" in words
        settings, options = parse_command(words[words.index("scripts.finetune") + 1:])
        assert settings == expected, kind
        assert options.output == "model" and options.cpu == (kind == "accelerate_2_cpu_processes")
    assert "--multi_gpu --num_processes 4 -m scripts.finetune" in project["commands"]["accelerate_4_gpus"]
    readme = zipfile.ZipFile(archive).read(f"{top}/README.md").decode()
    assert project["commands"]["accelerate_4_gpus"] in readme and "world_size" in readme


def test_embedded_images_reload_as_the_same_dataset(tmp_path):
    dataset = load_image_zip(_photos_zip(tmp_path))
    archive = write_project(TAB_CONFIG, dataset, "neurodeck-cnn", tmp_path / "out")
    top, project, names = _project(archive)
    data_spec = project["settings"]["data"]
    assert data_spec == "data/my-photos.zip" and f"{top}/{data_spec}" in names
    zipfile.ZipFile(archive).extractall(tmp_path / "unzipped")
    folder = tmp_path / "unzipped" / top
    reloaded = load_data(str(folder / data_spec))
    assert fingerprint(reloaded) == fingerprint(dataset)  # same pixels, order, labels and classes
    manifest = json.loads((folder / "data_manifest.json").read_text())
    assert manifest["classes"] == {"cats": 3, "dogs": 3} and manifest["fingerprint_sha256"] == fingerprint(dataset)
    assert len(manifest["items"]) == 6 and manifest["file_sha256"] and manifest["exact_round_trip"]


def test_embedded_text_with_awkward_rows_reloads_as_the_same_dataset(tmp_path):
    texts = ['commas, "quotes" and; semicolons', "tabs\tand | pipes", "line\nbreak", "plain words here",
             "ünïcödé text ✓", "another, with, commas"]
    dataset = _finish("text", texts, [f"row {i}" for i in range(6)], ["x,y", "x,y", "x,y", "plain", "plain", "plain"],
                      [], [], "tricky.csv")
    archive = write_project(TrainConfig(), dataset, "minilm", tmp_path)
    top, project, _ = _project(archive)
    zipfile.ZipFile(archive).extractall(tmp_path / "unzipped")
    reloaded = load_data(str(tmp_path / "unzipped" / top / project["settings"]["data"]))
    assert reloaded.items == dataset.items and reloaded.class_names == dataset.class_names
    assert fingerprint(reloaded) == fingerprint(dataset)


def test_builtin_data_is_referenced_and_large_data_gets_a_manifest_only(tmp_path):
    topics = load_builtin("text-topics")
    archive = write_project(TrainConfig(), topics, "minilm", tmp_path / "a")
    top, project, names = _project(archive)
    assert project["settings"]["data"] == "builtin:text-topics"
    assert not [n for n in names if "/data/" in n]
    assert sorted(n.split("/", 1)[1] for n in names) == ["README.md", "data_manifest.json", "project.json"]

    dataset = load_image_zip(_photos_zip(tmp_path))
    archive = write_project(TrainConfig(), dataset, "neurodeck-cnn", tmp_path / "b", embed_limit=100)
    handle = zipfile.ZipFile(archive)
    top, project, names = _project(archive)
    assert not [n for n in names if "/data/" in n]
    manifest = json.loads(handle.read(f"{top}/data_manifest.json"))
    assert manifest["file_sha256"] is None and len(manifest["items"]) == 6
    assert "too large to include" in handle.read(f"{top}/README.md").decode()


def test_class_names_that_cannot_be_folders_are_a_clear_error(tmp_path):
    items = [np.zeros((128, 128, 3), np.uint8)] * 4
    dataset = _finish("image", items, ["a", "b", "c", "d"], ["cats/dogs", "cats/dogs", "birds", "birds"], [], [], "odd")
    with pytest.raises(ValueError, match="cannot be a folder name"):
        write_project(TrainConfig(), dataset, "neurodeck-cnn", tmp_path)


def test_parser_defaults_and_values():
    settings, options = parse_command(["--data", "builtin:text-topics", "--output", "m"])
    assert settings == ProjectSettings(data="builtin:text-topics")
    assert options == RunOptions(output="m")
    settings, options = parse_command(["--data", "x.csv", "--output", "m", "--learning-rate", "default", "--no-augment",
                                       "--cpu", "--mixed-precision", "bf16", "--max-seconds", "30"])
    assert settings.learning_rate is None and settings.augment is False
    assert options.cpu and options.mixed_precision == "bf16" and options.max_seconds == 30.0


@pytest.mark.parametrize("extra", [
    ["--epochs", "0"], ["--val-fraction", "1.5"], ["--strategy", "bogus"], ["--learning-rate", "-1"],
    ["--batch-size", "0"], ["--dropout", "1"], ["--unfreeze-blocks", "zero"],
])
def test_parser_rejects_bad_values(extra, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_command(["--data", "builtin:text-topics", "--output", "m", *extra])
    assert exit_info.value.code == 2 and "error" in capsys.readouterr().err


def test_missing_data_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_data(str(tmp_path / "nope.zip"))


@pytest.mark.parametrize("make_backbone, make_data, config", [
    (tiny_cnn_backbone, stripes_dataset, TrainConfig(strategy="feature_extraction", epochs=4, seed=5, batch_size=8)),
    (tiny_cnn_backbone, stripes_dataset, TrainConfig(strategy="fine_tune_last_n", unfreeze_blocks=1, epochs=3, seed=5,
                                                     batch_size=8, patience=0)),  # augmentation on
    (tiny_bert_backbone, words_dataset, TrainConfig(strategy="full_fine_tune", epochs=3, seed=1, batch_size=4)),
])
def test_one_accelerate_process_trains_exactly_the_tabs_model(make_backbone, make_data, config, tmp_path):
    from scripts.finetune import make_accelerator, train_with_accelerate, write_output

    backbone, dataset = make_backbone(), make_data()
    accelerator = make_accelerator(RunOptions(output="-", cpu=True), backbone.backbone_type, config.strategy)
    script = train_with_accelerate(dataset, backbone, config, accelerator)
    tab = train_transfer(dataset, backbone, config)
    script_state, tab_state = script.model.state_dict(), tab.model.state_dict()
    assert all(torch.equal(script_state[k], tab_state[k]) for k in tab_state)
    assert np.array_equal(script.val_probabilities, tab.val_probabilities)
    assert [h.val_loss for h in script.history] == [h.val_loss for h in tab.history]

    settings = ProjectSettings.from_train_config(config, data="builtin:x", backbone=backbone.key)
    folder = write_output(script, dataset, backbone, settings, RunOptions(output=str(tmp_path / "model"), cpu=True),
                          accelerator, wall_seconds=1.0)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["world_size"] == 1 and metrics["validation_accuracy"] == round(tab.metrics.accuracy, 4)
    assert metrics["epochs"] == config.epochs and len(metrics["history"]) == len(tab.history)
    assert {"config.json", "diffusion_pytorch_model.safetensors", "labels.json", "README.md"} <= {p.name for p in folder.iterdir()}
    reloaded = load_exported(folder)
    assert all(torch.equal(reloaded.state_dict()[k], tab_state[k]) for k in tab_state)
