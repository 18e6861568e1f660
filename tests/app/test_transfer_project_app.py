"""The Transfer tab's 'Export as a training project' (/transfer_project) through gradio_client."""

from __future__ import annotations

import json
import shlex
import zipfile

import pytest
from gradio_client import handle_file

from engine.transfer.project import parse_command


def test_project_before_training_is_a_clear_error(client, server_alive):
    with pytest.raises(Exception, match="No model has been trained"):
        client.predict(None, api_name="/transfer_project")
    server_alive()


def test_project_holds_the_data_settings_and_a_command_that_parses_back(client, tmp_path, server_alive):
    rows = ["text,label"] + [f"the {w} runs fast,animal" for w in ("cat", "dog", "horse", "fox", "hare", "deer")]
    rows += [f"the {w} drives slowly,vehicle" for w in ("car", "bus", "truck", "van", "tram", "taxi")]
    (tmp_path / "pets and cars.csv").write_text("\n".join(rows))
    summary = client.predict(handle_file(str(tmp_path / "pets and cars.csv")), "", "feature_extraction", "", 6, 0.02, 8,
                             2, 0, 7, api_name="/transfer_train")
    path = client.predict(None, api_name="/transfer_project")  # None: the session's best model
    with zipfile.ZipFile(path) as archive:
        top = archive.namelist()[0].split("/")[0]
        project = json.loads(archive.read(f"{top}/project.json"))
        settings = project["settings"]
        assert settings["data"] == "data/pets-and-cars.csv" and settings["backbone"] == "minilm"
        assert (settings["strategy"], settings["epochs"], settings["learning_rate"], settings["batch_size"],
                settings["seed"]) == ("feature_extraction", 6, 0.02, 8, 7)
        data = archive.read(f"{top}/{settings['data']}").decode()
        assert data.count("\n") == 13 and '"the cat runs fast","animal"' in data
        assert project["tab_result"]["accuracy"] == summary["accuracy"]
        command = project["commands"]["accelerate_4_gpus"]
        assert command in archive.read(f"{top}/README.md").decode()
    words = shlex.split(command)
    parsed, _ = parse_command(words[words.index("scripts.finetune") + 1:])
    assert parsed.to_json() == settings
    server_alive()
