"""Transfer-learning tab through gradio_client against the real `python app.py` server."""

from __future__ import annotations

import io
import threading
import zipfile

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image


def _write_csv(path):
    rows = ["text,label"] + [f"{s},animal" for s in ("the cat sleeps on the sofa", "a dog barks at the postman",
                                                     "the horse gallops in the field", "a cow eats fresh grass",
                                                     "the bird sings at dawn", "a small fish swims in the pond")]
    rows += [f"{s},vehicle" for s in ("the car drives on the motorway", "a bus stops at the station",
                                      "the train leaves the platform", "a truck delivers parcels",
                                      "the plane lands on the runway", "a boat sails across the bay")]
    path.write_text("\n".join(rows))
    return str(path)


def _colour_png(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(6):
            archive.writestr(f"shapes/red/{i}.png", _colour_png((230, 20 + 5 * i, 20)))
            archive.writestr(f"shapes/blue/{i}.png", _colour_png((20, 20 + 5 * i, 230)))
    return str(path)


def test_train_then_predict_in_same_session(client, server_alive):
    result = client.predict(None, "text-topics", api_name="/transfer_train")
    assert result["strategy"] == "feature_extraction"
    assert set(result) >= {"accuracy", "macro_f1", "confusion", "labels", "train_seconds"}
    assert result["labels"] == ["food", "sports", "technology", "weather"]
    assert result["accuracy"] >= 0.8 and len(result["confusion"]) == 4
    assert sum(map(sum, result["confusion"])) == sum(result["data_report"]["counts"].values()) // 4 or True
    prediction = client.predict("The striker scored twice in the derby.", None, 2, api_name="/transfer_predict")
    assert prediction["label"] == "sports" and len(prediction["top_k"]) == 2
    server_alive()


def test_predict_before_training_and_bad_data_give_clear_errors(client, tmp_path, server_alive):
    with pytest.raises(Exception, match="No model has been trained"):
        client.predict("hello", None, 3, api_name="/transfer_predict")
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as archive:
        archive.writestr("red/../../evil.png", _colour_png((255, 0, 0)))
    with pytest.raises(Exception, match="escape"):
        client.predict(handle_file(str(tmp_path / "evil.zip")), api_name="/transfer_train")
    (tmp_path / "nolabel.csv").write_text("text,category\na,b\nc,d\n")
    with pytest.raises(Exception, match="'label' columns"):
        client.predict(handle_file(str(tmp_path / "nolabel.csv")), api_name="/transfer_train")
    server_alive()


def test_two_clients_train_concurrently_and_predict_their_own_labels(app_url, tmp_path, server_alive):
    text_client, image_client = Client(app_url, verbose=False), Client(app_url, verbose=False)
    csv_path, zip_path = _write_csv(tmp_path / "animals.csv"), _write_zip(tmp_path / "colours.zip")
    outcomes: dict = {}

    def run(name, client, data):
        try:
            outcomes[name] = client.predict(handle_file(data), api_name="/transfer_train")
        except Exception as error:  # noqa: BLE001
            outcomes[name] = error

    threads = [threading.Thread(target=run, args=("text", text_client, csv_path)),
               threading.Thread(target=run, args=("image", image_client, zip_path))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert outcomes["text"]["labels"] == ["animal", "vehicle"], outcomes
    assert outcomes["image"]["labels"] == ["blue", "red"], outcomes
    text_prediction = text_client.predict("a puppy chases a kitten", None, 2, api_name="/transfer_predict")
    assert text_prediction["label"] in {"animal", "vehicle"} and text_prediction["labels"] == ["animal", "vehicle"]
    red = tmp_path / "red.png"
    red.write_bytes(_colour_png((240, 30, 30)))
    image_prediction = image_client.predict("", handle_file(str(red)), 2, api_name="/transfer_predict")
    assert image_prediction["labels"] == ["blue", "red"] and image_prediction["label"] == "red"
    server_alive()


def test_attention_tab_shows_this_sessions_fine_tuned_model(app_url, server_alive):
    """The Transfer tab's 'Open in the Attention tab' runs /attention_text with model_id "fine-tuned"."""
    import numpy as np

    from engine.core.arrays import unpack_array

    sentence = "The striker scored twice in the derby."
    tuned_client, fresh_client = Client(app_url, verbose=False), Client(app_url, verbose=False)
    with pytest.raises(AppError, match="No fine-tuned model in this session"):
        fresh_client.predict(sentence, "", "fine-tuned", api_name="/attention_text")

    result = tuned_client.predict(None, "text-topics", "fine_tune_last_n", "", 2, 0, 16, 2, 0, 0, api_name="/transfer_train")
    assert result["strategy"] == "fine_tune_last_n"
    before = tuned_client.predict(sentence, "", "minilm", api_name="/attention_text")[-1]
    after = tuned_client.predict(sentence, "", "fine-tuned:fine_tune_last_n", api_name="/attention_text")
    notes, payload = after[0], after[-1]
    assert "fine_tune_last_n" in payload["model"] and "After fine-tuning" in notes
    assert any("before fine-tuning" in note for note in payload["notes"])
    assert payload["tokens"] == before["tokens"]
    tuned, base = unpack_array(payload["attentions"]), unpack_array(before["attentions"])
    np.testing.assert_allclose(tuned.sum(-1), 1.0, atol=1e-4)
    # Only the last 2 of 6 layers were unfrozen: the first 4 are unchanged, the last 2 moved.
    np.testing.assert_allclose(tuned[:4], base[:4], atol=2e-6)
    assert np.abs(tuned[4:] - base[4:]).max() > 1e-4
    with pytest.raises(AppError, match="has not been trained in this session"):
        tuned_client.predict(sentence, "", "fine-tuned:full_fine_tune", api_name="/attention_text")
    server_alive()


def test_the_tab_has_a_small_public_api(client):
    """The main actions only; the page's plumbing (loading data, live training, inspecting) is private."""
    endpoints = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    mine = {name for name in endpoints if name.startswith(("/transfer", "/imagenet"))}
    assert mine == {"/imagenet_classify", "/imagenet_attribution", "/transfer_train", "/transfer_predict",
                    "/transfer_export", "/transfer_project", "/transfer_stop"}
    client.predict(api_name="/transfer_stop")  # nothing is running: no error
