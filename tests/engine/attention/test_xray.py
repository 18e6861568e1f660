"""The X-ray engine (Q/K/V, logit lens, head ablation) on tiny random models: a 2-layer BERT and a 2-layer
Llama with grouped-query attention (4 query heads, 2 key/value heads). Every number is checked against the
model's own outputs or a hand-made reference (a copy of the model with a head's weights zeroed)."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
import torch

from engine.attention import ablation, decoder_load, hooks, lens, qkv
from engine.attention.text import load_text_model
from tests.support import tiny_bert

WORDS = "the cat sat on mat dog lay rug a an is was it paris france capital of what and".split()


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from tokenizers import ByteLevelBPETokenizer
    from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("xray_llama")
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator([" ".join(WORDS)] * 4, vocab_size=300, min_frequency=1, show_progress=False,
                                special_tokens=["<|endoftext|>"])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=trainer._tokenizer, eos_token="<|endoftext|>")
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128, bos_token_id=0,
                         eos_token_id=0, pad_token_id=0)
    weights = torch.Generator().manual_seed(1)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():  # larger than the default init, so distributions and attention are not flat
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=weights) * 0.5)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return decoder_load.load_decoder(str(folder))


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return load_text_model(str(tiny_bert(tmp_path_factory.mktemp("xray_bert"))))


PROMPT = "the cat sat on the mat and the dog lay on"


def _linear_outputs(model, modules) -> dict:
    """The outputs of ``modules`` in one plain forward pass, recorded by the test's own hooks."""
    seen = {}
    handles = [m.register_forward_hook(lambda mod, a, out, name=name: seen.__setitem__(name, out.detach().clone()))
               for name, m in modules.items()]
    return seen, handles


def test_bert_qkv_slices_are_the_projections_outputs_and_weights_are_output_attentions(bert):
    result = qkv.capture_text_model(bert, "the cat sat on the mat .", "minilm")
    parts = hooks.model_parts(bert.model)
    assert parts.family == "bert" and result.num_heads == 2 and result.num_kv_heads == 2
    layer, head, d = 1, 1, result.head_dim
    seen, handles = _linear_outputs(bert.model, {"q": parts.q[layer], "k": parts.k[layer], "v": parts.v[layer]})
    ids = bert.tokenizer("the cat sat on the mat .", return_tensors="pt")
    with torch.no_grad():
        reference = bert.model(**ids, output_attentions=True)
    for handle in handles:
        handle.remove()
    for name, array in (("q", result.q_raw), ("k", result.k), ("v", result.v)):
        np.testing.assert_allclose(array[layer, head], seen[name][0, :, head * d:(head + 1) * d].numpy(), atol=1e-6)
    np.testing.assert_array_equal(result.q, result.q_raw)  # no rotary embedding in BERT
    computation = result.head(layer, head)
    np.testing.assert_allclose(computation.weights, reference.attentions[layer][0, head].numpy(), atol=1e-6)
    assert computation.weight_difference < 1e-6 and computation.output_difference < 1e-5
    assert not computation.masked.any()  # an encoder hides nothing from one unpadded sentence
    payload = computation.as_json()
    assert set(payload) >= {"tokens", "q", "k", "v", "scores", "weights", "output"}
    assert np.array(payload["q"]).shape == (len(payload["tokens"]), d) and "q_before_rope" not in payload
    np.testing.assert_allclose(np.array(payload["scores"]), computation.q @ computation.k.T / np.sqrt(d), atol=1e-5)


def test_llama_qkv_rope_gqa_causal_mask_and_weights(tiny_llama):
    result = qkv.capture_decoder(tiny_llama, PROMPT, "smollm2")
    count = len(result.tokens)
    assert result.rotary and (result.num_heads, result.num_kv_heads) == (4, 2)
    assert [result.kv_head(h) for h in range(4)] == [0, 0, 1, 1]  # grouped-query attention: two heads per KV head
    parts = hooks.model_parts(tiny_llama.model)
    seen, handles = _linear_outputs(tiny_llama.model, {"q": parts.q[0], "k": parts.k[0], "v": parts.v[0]})
    ids = torch.tensor([tiny_llama.tokenizer(PROMPT)["input_ids"]])
    with torch.no_grad():
        reference = tiny_llama.model(input_ids=ids, output_attentions=True, use_cache=False)
    for handle in handles:
        handle.remove()
    d = result.head_dim
    np.testing.assert_allclose(result.q_raw[0, 3], seen["q"][0, :, 3 * d:4 * d].numpy(), atol=1e-6)
    np.testing.assert_allclose(result.k_raw[0, 1], seen["k"][0, :, d:2 * d].numpy(), atol=1e-6)
    np.testing.assert_allclose(result.v[0, 1], seen["v"][0, :, d:2 * d].numpy(), atol=1e-6)
    # RoPE: position 0 is not rotated, later ones are, and a rotation keeps each vector's length.
    np.testing.assert_allclose(result.q[:, :, 0], result.q_raw[:, :, 0], atol=1e-6)
    assert np.abs(result.q[:, :, 1:] - result.q_raw[:, :, 1:]).max() > 1e-3
    np.testing.assert_allclose(np.linalg.norm(result.k, axis=-1), np.linalg.norm(result.k_raw, axis=-1), rtol=1e-5)
    for layer in range(2):
        for head in range(4):
            computation = result.head(layer, head)
            np.testing.assert_allclose(computation.weights, reference.attentions[layer][0, head].numpy(), atol=1e-6)
            assert computation.output_difference < 1e-5
    computation = result.head(1, 2)
    np.testing.assert_array_equal(computation.masked, np.triu(np.ones((count, count), dtype=bool), k=1))
    assert np.allclose(np.triu(computation.weights, k=1), 0)
    # Without RoPE the softmax would not be the model's attention: the rotation is part of the computation.
    raw_scores = computation.q_raw @ computation.k_raw.T * result.scale + result.mask
    raw = np.exp(raw_scores - raw_scores.max(-1, keepdims=True))
    assert np.abs(raw / raw.sum(-1, keepdims=True) - computation.model_weights).max() > 1e-3
    payload = computation.as_json()
    assert payload["kv_head"] == 2 and np.array(payload["q_before_rope"]).shape == (count, d)


def test_hooks_act_only_for_the_caller_and_are_removed(tiny_llama):
    model = tiny_llama.model
    ids = torch.tensor([tiny_llama.tokenizer(PROMPT)["input_ids"]])
    with torch.no_grad():
        baseline = model(input_ids=ids, use_cache=False).logits
    other = {}

    def count_hooks():  # transformers keeps its own output-capturing hooks once installed
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())

    before = count_hooks()
    probe = hooks.Probe(layers=frozenset({0, 1}), ablate={0: [(0, None)], 1: [(0, None)]})
    with hooks.probing(model, probe):
        # Another request using the shared model meanwhile (another thread): no ablation, no recording.
        thread = threading.Thread(target=lambda: other.setdefault("logits", model(input_ids=ids, use_cache=False).logits))
        thread.start()
        thread.join()
        ablated = model(input_ids=ids, use_cache=False).logits
    assert torch.equal(other["logits"], baseline) and not torch.allclose(ablated, baseline)
    assert count_hooks() == before


def test_logit_lens_last_layer_is_the_models_own_distribution(tiny_llama):
    ids, _ = lens.encode(tiny_llama, PROMPT)
    with torch.no_grad():
        logits = tiny_llama.model(input_ids=torch.tensor([ids]), use_cache=False).logits[0]
    for position in (-1, 2):
        result = lens.logit_lens_ids(tiny_llama, ids, position=position, top_k=3)
        own = torch.softmax(logits[position].double(), -1)
        assert result.num_layers == 2 and all(len(top) == 3 for top in result.top)
        assert result.max_difference < 1e-6
        assert [p.token_id for p in result.top[-1]] == torch.topk(own, 3).indices.tolist()
        assert result.top[-1][0].probability == pytest.approx(float(own.max()), abs=1e-6)
        assert result.final_by_layer[-1] == pytest.approx(result.final.probability, abs=1e-6)
        assert result.position == position % len(ids)
    assert result.top[0][0].probability != pytest.approx(result.top[1][0].probability)  # layer 1 differs
    with pytest.raises(ValueError, match="position"):
        lens.logit_lens_ids(tiny_llama, ids, position=len(ids))
    with pytest.raises(ValueError, match="top_k"):
        lens.logit_lens_ids(tiny_llama, ids, top_k=0)


def _zeroed_copy_probabilities(decoder, ids, layer: int, head: int | None) -> torch.Tensor:
    """The reference: a copy of the model whose o_proj ignores the head (its weight columns zeroed)."""
    model = copy.deepcopy(decoder.model)
    d = hooks.model_parts(model).head_dim
    with torch.no_grad():
        weight = model.model.layers[layer].self_attn.o_proj.weight
        weight[:, :] = 0.0 if head is None else weight
        if head is not None:
            weight[:, head * d:(head + 1) * d] = 0.0
        logits = model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1]
    return torch.softmax(logits.double(), -1)


@pytest.mark.parametrize(("layer", "head"), [(1, 3), (2, 1), (2, 0)])
def test_ablating_a_head_equals_zeroing_its_slice_by_hand(tiny_llama, layer, head):
    ids, _ = lens.encode(tiny_llama, PROMPT)
    result = ablation.ablate_ids(tiny_llama, ids, layer, head)
    reference = _zeroed_copy_probabilities(tiny_llama, ids, layer - 1, None if head == 0 else head - 1)
    assert result.probability_after == pytest.approx(float(reference[result.token.token_id]), abs=1e-6)
    assert [p.token_id for p in result.top_after] == torch.topk(reference, len(result.top_after)).indices.tolist()
    assert result.probability_after != pytest.approx(result.token.probability, abs=1e-4)
    with torch.no_grad():
        own = torch.softmax(tiny_llama.model(input_ids=torch.tensor([ids]), use_cache=False).logits[0, -1].double(), -1)
    assert result.token.probability == pytest.approx(float(own.max()), abs=1e-6)
    assert result.as_json()["head"] == head


def test_the_scan_equals_one_ablation_at_a_time(tiny_llama):
    ids, _ = lens.encode(tiny_llama, PROMPT)
    progress = []
    scan = ablation.scan_ids(tiny_llama, ids, batch_rows=3, on_progress=lambda f, what: progress.append(f))
    assert scan.after.shape == (2, 4) and scan.rows == 9 and scan.batches == 1 + 3 and progress[-1] == 1.0
    for layer, head in ((0, 0), (0, 3), (1, 2)):  # a row in each batch
        single = ablation.ablate_ids(tiny_llama, ids, layer + 1, head + 1)
        assert scan.after[layer, head] == pytest.approx(single.probability_after, abs=1e-5)
        assert scan.new_top_ids[layer, head] == single.top_after[0].token_id
    np.testing.assert_allclose(scan.change, scan.after - scan.token.probability)


@pytest.fixture(scope="module")
def llama_capture(tiny_llama):
    return qkv.capture_decoder(tiny_llama, PROMPT)


@pytest.mark.parametrize("bad", [0, 99, "nan", 1.5, None])
def test_bad_layer_or_head_numbers_are_refused_clearly(tiny_llama, llama_capture, bad):
    ids, _ = lens.encode(tiny_llama, PROMPT)
    with pytest.raises(ValueError, match="layer"):
        ablation.ablate_ids(tiny_llama, ids, bad, 1)
    if bad != 0:  # head 0 is the whole layer
        with pytest.raises(ValueError, match="head"):
            ablation.ablate_ids(tiny_llama, ids, 1, bad)
    result = llama_capture
    with pytest.raises(ValueError, match="layer"):
        result.check_layer_head(bad, 1)
    with pytest.raises(ValueError, match="head"):
        result.check_layer_head(1, bad)
    with pytest.raises(ValueError, match="model must be"):
        qkv.check_model("gpt2")


def _font_sizes(node):
    """Every font size in a figure dict (marker sizes are not text)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "size" and isinstance(value, (int, float)):
                yield value
            elif key != "marker":
                yield from _font_sizes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _font_sizes(item)


def test_the_drawings_reveal_one_step_at_a_time_and_read_from_afar(tiny_llama):
    from engine.attention import xray_render

    computation = qkv.capture_decoder(tiny_llama, PROMPT).head(1, 2)
    count = len(computation.capture.tokens)
    figures = [xray_render.qkv_figure(computation, 0, step) for step in range(1, 7)]
    traces = [len(figure["data"]) for figure in figures]
    assert traces == sorted(traces) and traces[0] == 2 and traces[-1] == 7  # q and k first, one more per step
    mask = next(t for t in figures[2]["data"] if t.get("texttemplate"))
    assert [row[0] for row in mask["text"]] == ["0"] + ["−∞"] * (count - 1)  # token 0 sees only itself
    weights = figures[3]["data"][-1]["x"]
    assert weights[1:] == [0.0] * (count - 1) and weights[0] == pytest.approx(1.0)
    ids, _ = lens.encode(tiny_llama, PROMPT)
    scan = ablation.scan_ids(tiny_llama, ids, batch_rows=8)
    others = [xray_render.rope_figure(computation, -1), xray_render.lens_figure(lens.logit_lens_ids(tiny_llama, ids)),
              xray_render.ablation_figure(ablation.ablate_ids(tiny_llama, ids, 2, 0)), xray_render.scan_figure(scan, 2)]
    assert np.array(others[3]["data"][0]["z"]).shape == (2, 4)
    assert len(others[1]["data"][0]["z"]) == 2  # one row per layer
    for figure in figures + others:
        sizes = list(_font_sizes(figure["layout"])) + list(_font_sizes(figure["data"]))
        assert sizes and min(sizes) >= 14
