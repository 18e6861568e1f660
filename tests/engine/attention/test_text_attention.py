"""Engine tests for text attention on tiny local models, plus one check against the real MiniLM."""

import numpy as np
import pytest
import torch

from engine.core import settings
from engine.attention.text import MAX_TOKENS, load_text_model, text_attention
from tests.support import tiny_bert, tiny_gpt2


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return str(tiny_bert(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    return str(tiny_gpt2(tmp_path_factory.mktemp("tiny_gpt2")))


def test_tiny_bert_shapes_rows_and_pair_segments(bert_dir):
    result = text_attention("the cat sat on the mat .", "the dog lay on the rug .", model_id=bert_dir)
    tokens = result.tokens
    assert tokens[0] == "[CLS]" and tokens.count("[SEP]") == 2
    assert result.attentions.shape == (2, 2, len(tokens), len(tokens))
    assert result.attentions.dtype == np.float32
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)
    # Segment ids: -1 for specials, 0 for sentence A, 1 for sentence B.
    first_sep = tokens.index("[SEP]")
    assert result.segment_ids[0] == -1 and result.segment_ids[first_sep] == -1
    assert set(result.segment_ids[1:first_sep]) == {0}
    assert set(result.segment_ids[first_sep + 1 : -1]) == {1}
    assert not result.is_causal and result.notes == ()


def test_tiny_gpt2_is_causal(gpt2_dir):
    result = text_attention("the cat sat on the mat", model_id=gpt2_dir)
    assert result.is_causal
    count = len(result.tokens)
    upper = np.triu(np.ones((count, count), dtype=bool), k=1)
    assert np.all(result.attentions[:, :, upper] == 0)
    np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)


def test_long_input_is_cut_and_reported(bert_dir):
    result = text_attention("the cat " * 200, model_id=bert_dir)
    assert len(result.tokens) == MAX_TOKENS
    assert result.original_token_count == 402
    assert "cut to the limit of 64" in result.notes[0]


def test_character_cap_is_reported(bert_dir):
    result = text_attention("a" * 20_000, model_id=bert_dir)
    assert any("cut from 20,000 to 5,000 characters" in note for note in result.notes)


@pytest.mark.parametrize("text", ["", "   \n\t", "\u200b\u200d\ufeff", None])
def test_empty_text_is_refused_clearly(bert_dir, text):
    with pytest.raises(ValueError, match="empty"):
        text_attention(text, model_id=bert_dir)


def test_unicode_inputs_work(bert_dir):
    for text in ["😀🔥 the cat", "مرحبا بالعالم", "the\u200bcat"]:
        result = text_attention(text, model_id=bert_dir)
        np.testing.assert_allclose(result.attentions.sum(-1), 1.0, atol=1e-5)


def test_offline_hub_id_gives_clear_error():
    with pytest.raises(ValueError, match=r"Could not load 'nobody-here/no-such-model' from the Hugging Face Hub\. This app is running offline"):
        text_attention("hello", model_id="nobody-here/no-such-model")


def test_malformed_model_id_is_refused(tmp_path, monkeypatch):
    # A real file on the server (relative paths like ../../etc depend on where pytest runs),
    # and a real folder while server folders are turned off, as on a Space.
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0")
    with pytest.raises(ValueError, match="not a valid Hugging Face model id"):
        text_attention("hello", model_id=str(secret))
    monkeypatch.setenv("NEURODECK_ALLOW_LOCAL_MODELS", "0")
    settings.reload()
    with pytest.raises(ValueError, match="not a valid Hugging Face model id"):
        text_attention("hello", model_id=str(tmp_path))
    # A traversal that does not exist is not an id either.
    with pytest.raises(ValueError, match="not a valid Hugging Face model id"):
        text_attention("hello", model_id="../../no-such-dir-" + tmp_path.name)
    with pytest.raises(ValueError, match="not a valid Hugging Face model id"):
        text_attention("hello", model_id="no/such/../thing")


def test_real_minilm_matches_direct_forward_pass():
    from transformers import AutoModel, AutoTokenizer

    from engine.core.registry import get_source, verified_path

    text, pair = "The animal didn't cross the street because it was too tired.", "It was late."
    result = text_attention(text, pair)
    assert result.attentions.shape == (6, 12, len(result.tokens), len(result.tokens))
    folder = verified_path(get_source("minilm"))
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder, attn_implementation="eager").eval()
    with torch.no_grad():
        outputs = model(**tokenizer(text, pair, return_tensors="pt"), output_attentions=True)
    direct = torch.stack([a[0] for a in outputs.attentions]).numpy()
    np.testing.assert_allclose(result.attentions, direct, atol=1e-6)
    assert load_text_model() is load_text_model()  # loaded once per process
