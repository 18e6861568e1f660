"""The Attention tab through gradio_client against a real `python app.py` server."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from engine.core.arrays import unpack_array
from engine.core.registry import ASSETS_DIR
from tests.support import png_header_only


def _raw_json(outputs):
    return outputs[-1]


def test_attention_text_json_matches_engine(client):
    from engine.attention.rollout import attention_rollout
    from engine.attention.text import text_attention

    text = "Paris is the capital of France."
    payload = _raw_json(client.predict(text, api_name="/attention_text"))
    expected = text_attention(text)
    assert payload["tokens"] == list(expected.tokens)
    attentions = unpack_array(payload["attentions"])  # packed float32: exactly the engine's weights
    assert attentions.shape == (6, 12, len(expected.tokens), len(expected.tokens))
    np.testing.assert_allclose(attentions.sum(-1), 1.0, atol=1e-4)
    np.testing.assert_allclose(attentions, expected.attentions, atol=2e-6)
    np.testing.assert_allclose(np.array(payload["rollout"]), attention_rollout(expected.attentions), atol=2e-6)


def test_attention_text_pair_and_views(client):
    outputs = client.predict("The cat sat.", "The dog lay.", "minilm", 2, 3, "max", 0, 2, api_name="/attention_text")
    notes, matrix, model_view, head_view = outputs[0], outputs[1], outputs[2], outputs[3]
    payload = _raw_json(outputs)
    assert "all-MiniLM-L6-v2" in notes and "6 layers x 12 heads" in notes
    assert payload["segment_ids"].count(1) == 4  # "the dog lay ." is sentence B
    assert payload["layer"] == 2 and payload["head"] == 3 and payload["head_fusion"] == "max"
    assert matrix is not None and model_view["url"].startswith("data:image/jpeg;base64,")  # inline, no cache file
    assert "<svg" in head_view and "A ▲ / ▼ B" in head_view


@pytest.mark.parametrize(
    "text, expected_note",
    [
        ("x " * 10_000, "cut from 20,000 to 5,000 characters"),
        ("I love it 😀🔥 مرحبا בעולם \u200b\u200fend", None),
    ],
)
def test_odd_text_inputs_work(client, server_alive, text, expected_note):
    payload = _raw_json(client.predict(text, api_name="/attention_text"))
    assert len(payload["tokens"]) <= 64
    if expected_note:
        assert any(expected_note in note for note in payload["notes"])
    server_alive()


@pytest.mark.parametrize("text", ["", "   ", "\u200b\u200b"])
def test_empty_text_gives_clear_error(client, server_alive, text):
    with pytest.raises(AppError, match="empty: type a sentence"):
        client.predict(text, api_name="/attention_text")
    server_alive()


def test_offline_hub_model_gives_clear_error(client, server_alive):
    with pytest.raises(AppError, match="offline"):
        client.predict("hello", "", "bert-base-uncased", api_name="/attention_text")
    server_alive()


def test_attention_image_on_example_digit(client):
    outputs = client.predict(handle_file(str(ASSETS_DIR / "examples" / "digit_7.png")), api_name="/attention_image")
    payload = _raw_json(outputs)
    assert payload["label"] == "7"
    assert abs(sum(payload["probabilities"].values()) - 1) < 1e-4
    rollout = np.array(payload["rollout"])
    assert rollout.shape == (8, 8) and abs(rollout.sum() - 1) < 1e-4
    assert outputs[0]["label"] == "7"  # the gr.Label output


def test_bad_image_files_give_clear_errors(client, server_alive, tmp_path):
    not_image = tmp_path / "notes.png"
    not_image.write_text("definitely not a PNG")
    with pytest.raises(AppError, match="not an image"):
        client.predict(handle_file(str(not_image)), api_name="/attention_image")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(30000, 30000))
    with pytest.raises(AppError, match="too many pixels"):
        client.predict(handle_file(str(bomb)), api_name="/attention_image")
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (50, 50), "white").save(blank)
    with pytest.raises(AppError, match="blank"):
        client.predict(handle_file(str(blank)), api_name="/attention_image")
    server_alive()


def test_eight_concurrent_clients_get_their_own_results(app_url):
    from engine.attention.text import text_attention

    sentences = [f"Sentence number {word} is about {topic}." for word, topic in zip(
        ["one", "two", "three", "four", "five", "six", "seven", "eight"],
        ["cats", "rivers", "music", "trains", "bread", "stars", "chess", "rain"],
    )]

    def ask(sentence):
        return sentence, _raw_json(Client(app_url, verbose=False).predict(sentence, api_name="/attention_text"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, sentences))
    for sentence, payload in answers:
        expected = text_attention(sentence)
        assert payload["tokens"] == list(expected.tokens)
        np.testing.assert_allclose(unpack_array(payload["attentions"]), expected.attentions, atol=2e-6)
