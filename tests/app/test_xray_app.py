"""The X-ray endpoints (issue #21) through gradio_client against a real server, on the real MiniLM and SmolLM2:
/attention_qkv, /decoder_logit_lens and /decoder_ablate, with the model's own numbers as references."""

from __future__ import annotations

import numpy as np
import pytest
from gradio_client.exceptions import AppError

PROMPT = "The capital of France is"
SENTENCE = "The animal didn't cross the street because it was too tired."


def _softmax_rows(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=-1, keepdims=True)


def test_qkv_minilm_weights_are_output_attentions_and_the_softmax_of_q_and_k(client):
    from engine.attention.text import text_attention

    payload = client.predict(SENTENCE, 2, 3, "minilm", api_name="/attention_qkv")
    assert set(payload) >= {"tokens", "q", "k", "v", "scores", "weights", "output"}
    reference = text_attention(SENTENCE)
    assert payload["tokens"] == list(reference.tokens) and (payload["layer"], payload["head"]) == (2, 3)
    q, k, v = (np.array(payload[name]) for name in ("q", "k", "v"))
    weights = np.array(payload["weights"])
    count = len(payload["tokens"])
    assert q.shape == k.shape == v.shape == (count, 32) and weights.shape == (count, count)
    np.testing.assert_allclose(weights, reference.attentions[1, 2], atol=2e-6)  # the model's output_attentions
    np.testing.assert_allclose(_softmax_rows(q @ k.T / np.sqrt(32)), weights, atol=1e-5)
    np.testing.assert_allclose(np.array(payload["scores"]), q @ k.T / np.sqrt(32), atol=1e-4)
    np.testing.assert_allclose(np.array(payload["output"]), weights @ v, atol=1e-4)
    assert not np.array(payload["masked"]).any() and "q_before_rope" not in payload


def test_qkv_smollm2_is_causal_with_rope_and_grouped_query_attention(client):
    payload = client.predict(PROMPT, 6, 4, "smollm2", api_name="/attention_qkv")
    assert payload["tokens"] == ["The", " capital", " of", " France", " is"]
    assert payload["kv_head"] == 2  # query heads 4-6 share key/value head 2
    q, k, v = (np.array(payload[name]) for name in ("q", "k", "v"))
    masked = np.array(payload["masked"])
    np.testing.assert_array_equal(masked, np.triu(np.ones((5, 5), dtype=bool), k=1))
    weights = np.array(payload["weights"])
    np.testing.assert_allclose(_softmax_rows(np.where(masked, -np.inf, q @ k.T / 8.0)), weights, atol=1e-5)
    np.testing.assert_allclose(np.array(payload["output"]), weights @ v, atol=1e-4)
    before = np.array(payload["q_before_rope"])
    np.testing.assert_allclose(before[0], q[0], atol=1e-5)  # position 0 is not rotated
    assert np.abs(before[1:] - q[1:]).max() > 1e-2
    np.testing.assert_allclose(np.linalg.norm(before, axis=1), np.linalg.norm(q, axis=1), rtol=1e-4)
    assert payload["check"]["max_abs_difference_weights"] < 1e-5


def test_logit_lens_last_layer_is_the_models_own_next_token_distribution(client):
    lens = client.predict(PROMPT, api_name="/decoder_logit_lens")
    generated = client.predict(PROMPT, 1, api_name="/attention_generate")
    assert [layer["layer"] for layer in lens["layers"]] == list(range(1, 31))
    assert all(len(layer["top_k"]) == 5 for layer in lens["layers"]) and lens["position"] == 4
    last = lens["layers"][-1]["top_k"]
    own = generated["steps"][0]["top_k"][:5]
    assert [t["token"] for t in last] == [t["token"] for t in own] and last[0]["token"] == " Paris"
    assert [t["probability"] for t in last] == pytest.approx([t["probability"] for t in own], abs=1e-5)
    assert lens["max_abs_difference_last_layer"] < 1e-6
    earlier = client.predict(PROMPT, 1, 3, api_name="/decoder_logit_lens")
    assert earlier["position"] == 1 and len(earlier["layers"][0]["top_k"]) == 3


def test_ablate_reports_the_top_token_before_and_after(client):
    lens = client.predict(PROMPT, api_name="/decoder_logit_lens")
    one = client.predict(PROMPT, 24, 5, api_name="/decoder_ablate")
    assert set(one) >= {"token", "token_id", "probability_before", "probability_after", "top_k_before", "top_k_after"}
    assert one["token"] == " Paris" and one["token_id"] == lens["final_token"]["token_id"]
    assert one["probability_before"] == pytest.approx(lens["layers"][-1]["top_k"][0]["probability"], abs=1e-5)
    assert one["top_k_before"][0]["token"] == " Paris" and len(one["top_k_after"]) == 10
    assert one["probability_after"] != pytest.approx(one["probability_before"], abs=1e-3)
    layer = client.predict(PROMPT, 1, 0, api_name="/decoder_ablate")  # head 0: the whole layer
    assert layer["head"] == 0 and layer["probability_after"] != pytest.approx(layer["probability_before"], abs=1e-3)
    default = client.predict(PROMPT, api_name="/decoder_ablate")
    assert (default["layer"], default["head"]) == (1, 1)


@pytest.mark.parametrize(
    "api_name, args, message",
    [
        ("/attention_qkv", ("hello", 0, 1), "layer .*1..6"),
        ("/attention_qkv", ("hello", 99, 1), "layer .*1..6"),
        ("/attention_qkv", ("hello", "nan", 1), "layer .*1..6"),
        ("/attention_qkv", ("hello", 1, 0), "head .*1..12"),
        ("/attention_qkv", ("hello", 1, 99, "smollm2"), "head .*1..9"),
        ("/attention_qkv", ("hello", 1, "nan", "smollm2"), "head .*1..9"),
        ("/attention_qkv", ("", 1, 1), "text is empty"),
        ("/attention_qkv", ("hello", 1, 1, "gpt2"), "model must be"),
        ("/decoder_logit_lens", ("",), "prompt is empty"),
        ("/decoder_logit_lens", (PROMPT, 99), "position"),
        ("/decoder_logit_lens", (PROMPT, "nan"), "position"),
        ("/decoder_logit_lens", (PROMPT, -1, 0), "top_k"),
        ("/decoder_ablate", ("",), "prompt is empty"),
        ("/decoder_ablate", (PROMPT, 0, 1), "layer .*1..30"),
        ("/decoder_ablate", (PROMPT, 99, 1), "layer .*1..30"),
        ("/decoder_ablate", (PROMPT, "nan", 1), "layer .*1..30"),
        ("/decoder_ablate", (PROMPT, 1, 99), "head .*0 for every head"),
        ("/decoder_ablate", (PROMPT, 1, "nan"), "head .*0 for every head"),
    ],
)
def test_bad_input_gives_a_clear_error(client, server_alive, api_name, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name=api_name)
    server_alive()
