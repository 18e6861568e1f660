"""Attention › Encoder–decoder through gradio_client against a real `python app.py` server."""

import numpy as np
import pytest
from gradio_client.exceptions import AppError


def test_tab_mirrors_engine_constants():
    from demos.attention import seq2seq as view
    from engine.attention.seq2seq import inference, live

    assert view.EXAMPLES == list(inference.EXAMPLES)  # the view lists them without importing torch
    assert view.API_MODELS == inference.MODEL_KINDS
    assert view.MAX_OUTPUT_STEPS == inference.MAX_OUTPUT_STEPS
    assert {value for _, value in view.VIEW_MODELS} == set(live.LIVE_MODELS)


def test_translate_transformer_json(client):
    payload = client.predict("Wednesday, March 3, 2021", api_name="/seq2seq_translate")
    assert payload["output"] == "2021-03-03" and payload["correct"] is True and payload["best_guess"] is False
    assert payload["source_tokens"][:3] == ["W", "e", "d"] and payload["target_tokens"][-1] == "</s>"
    cross = np.array(payload["cross_attention"])
    assert cross.shape == (2, 4, len(payload["target_tokens"]), len(payload["source_tokens"]))
    np.testing.assert_allclose(cross.sum(-1), 1.0, atol=1e-4)


def test_translate_rnn_models_json(client):
    attention = client.predict("the twenty-third of SEPTEMBER, 1987", "rnn_attention", api_name="/seq2seq_translate")
    assert attention["output"] == "1987-09-23"
    cross = np.array(attention["cross_attention"])
    assert cross.shape == (len(attention["target_tokens"]), len(attention["source_tokens"]))
    np.testing.assert_allclose(cross.sum(-1), 1.0, atol=1e-4)
    plain = client.predict("3 March 2021", "rnn", api_name="/seq2seq_translate")
    assert "cross_attention" not in plain and len(plain["output"]) >= 1


@pytest.mark.parametrize("text, message", [("", "empty"), ("   ", "empty"), ("7" * 10_000, "10,000 characters")])
def test_bad_text_gives_clear_error(client, server_alive, text, message):
    with pytest.raises(AppError, match=message):
        client.predict(text, api_name="/seq2seq_translate")
    server_alive()


def test_unknown_model_gives_clear_error(client, server_alive):
    with pytest.raises(AppError, match="Unknown model"):
        client.predict("3 March 2021", "lstm", api_name="/seq2seq_translate")
    server_alive()


@pytest.mark.parametrize("text, reason", [("banana", "not written in one of the seven"),
                                          ("31 February 2021", "28 days"),
                                          ("Friday, March 3, 2021", "Wednesday")])
def test_non_dates_get_a_marked_best_guess(client, server_alive, text, reason):
    payload = client.predict(text, api_name="/seq2seq_translate")
    assert payload["best_guess"] is True and payload["expected"] is None
    assert any(reason in note for note in payload["notes"]) and any("Best guess" in n for n in payload["notes"])
    server_alive()


def test_lab_view_and_what_if(client):
    outputs = client.predict("14TH OF JULY 1969", "rnn_attention", 2, 1, 3, api_name="/seq2seq_view")
    cards, notes, payload = outputs[0], outputs[1], outputs[-1]
    assert cards.count("1969-07-14") >= 2 and "✓ correct" in cards
    assert "1969-07-14" in notes
    assert payload["model"] == "rnn_attention" and payload["output"] == "1969-07-14"
    highlight = outputs[4]
    assert "Output character 3" in highlight
    cards, notes, figure, forced = client.predict("3 March 2021", "1", api_name="/seq2seq_what_if")
    assert forced["output"].startswith("1") and forced["forced_prefix"] == "1"
    assert "forced" in cards and len(np.array(forced["cross_attention"]).shape) == 4
    assert figure.startswith('<div class="nd-heatmap"') and "What-if cross-attention" in figure  # SVG, no Plotly


def test_what_if_refuses_letters(client, server_alive):
    with pytest.raises(AppError, match="digits and '-'"):
        client.predict("3 March 2021", "abc", api_name="/seq2seq_what_if")
    server_alive()
