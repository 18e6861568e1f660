"""Integrated gradients on tiny random models: completeness, shapes, targets, baselines, agreement with references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.transfer import attribution as A

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "good", "bad", "play", "##ing",
         "<b>"]


def tiny_cnn() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 8, 3, stride=2, padding=1),
        torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 5),
    ).eval()
    with torch.no_grad():
        model[-1].weight.mul_(200.0)  # logit differences of order 1, well above float error
    return model


@pytest.fixture(scope="module")
def cnn():
    return tiny_cnn()


@pytest.fixture(scope="module")
def picture() -> torch.Tensor:
    return torch.rand(1, 3, 24, 24, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def tiny_text(tmp_path_factory):
    from transformers import BertTokenizer

    from engine.transfer.model import TransferClassifier

    vocab = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    vocab.write_text("\n".join(WORDS) + "\n")
    tokenizer = BertTokenizer(str(vocab))
    torch.manual_seed(0)
    config = dict(vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=32, max_position_embeddings=64, pad_token_id=0)
    model = TransferClassifier(backbone_type="bert", backbone_config=config, feature_dim=16, labels=("neg", "pos", "meh"))
    with torch.no_grad():
        model.head.weight.mul_(20.0)
    return model.eval(), tokenizer


def test_completeness_within_one_percent_at_64_steps_on_a_tiny_cnn(cnn, picture):
    with torch.no_grad():
        top = int(cnn(picture).argmax())
    result = A.integrated_gradients(cnn, picture, A.image_baseline(picture, "black"), top, steps=64)
    assert abs(result.difference) > 0.5  # a real logit change to explain
    assert result.gap < 0.01, result.gap
    assert result.attribution_sum == pytest.approx(result.difference, rel=0.01)
    with torch.no_grad():
        assert result.logit == pytest.approx(float(cnn(picture)[0, top]), abs=1e-5)
        assert result.baseline_logit == pytest.approx(float(cnn(torch.zeros_like(picture))[0, top]), abs=1e-5)


def test_gauss_legendre_beats_the_trapezoid_rule_at_64_steps(cnn, picture):
    """Why QUADRATURE is Gauss-Legendre: at the same 64 steps it is closer to complete (docs/attribution.md)."""
    base = A.image_baseline(picture, "black")
    legendre = A.integrated_gradients(cnn, picture, base, 0, 64, method="gausslegendre")
    trapezoid = A.integrated_gradients(cnn, picture, base, 0, 64, method="riemann_trapezoid")
    assert legendre.gap < trapezoid.gap


def test_shapes_and_the_heatmap(cnn, picture):
    result = A.integrated_gradients(cnn, picture, A.image_baseline(picture, "black"), 2, steps=8)
    assert result.attributions.shape == (3, 24, 24) and result.attributions.dtype == np.float32
    heat = A.attribution_map(result.attributions)
    assert heat.shape == (24, 24) and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert A.attribution_map(np.zeros((3, 5, 5))).max() == 0  # nothing to show stays all zero
    overlay = A.heatmap_overlay(Image.new("RGB", (24, 24)), heat, side=64)
    assert overlay.size == (64, 64) and overlay.mode == "RGB"


def test_captum_agrees_with_the_hand_written_riemann_sum(cnn, picture):
    base = A.image_baseline(picture, "noise")
    ours = A.integrated_gradients(cnn, picture, base, 1, 16, method="riemann_middle", internal_batch_size=5)
    reference = A.riemann_integrated_gradients(cnn, picture, base, 1, 16)
    np.testing.assert_allclose(ours.attributions, reference, rtol=1e-4, atol=1e-6)


def test_target_none_means_top1_and_labels_or_indices_pick_a_class():
    labels = ("cat", "Dog", "tiger cat")
    logits = np.array([0.1, 3.0, -1.0])
    assert A.resolve_target(None, labels, logits) == 1
    assert A.resolve_target("  ", labels, logits) == 1
    assert A.resolve_target(2, labels, logits) == A.resolve_target("2", labels, logits) == 2
    assert A.resolve_target("dog", labels, logits) == 1 and A.resolve_target("Tiger Cat", labels, logits) == 2
    with pytest.raises(ValueError, match="out of range: use a class index 0..2"):
        A.resolve_target(3, labels, logits)
    with pytest.raises(ValueError, match="out of range"):
        A.resolve_target(-1, labels, logits)
    with pytest.raises(ValueError, match="Unknown target class 'zebra'"):
        A.resolve_target("zebra", labels, logits)
    with pytest.raises(ValueError, match="class index"):
        A.resolve_target(1.5, labels, logits)


@pytest.mark.parametrize("steps, message", [(0, "between 2 and 256 \\(got 0\\)"), (10**6, "got 1000000"),
                                            ("nan", "whole number"), (2.5, "whole number"), (None, "whole number"),
                                            ("many", "whole number")])
def test_bad_step_counts_are_refused_clearly(steps, message):
    with pytest.raises(ValueError, match=message):
        A.check_steps(steps)


def test_steps_methods_and_baselines_that_are_allowed():
    assert A.check_steps("64") == 64 and A.check_steps(2.0) == 2 and A.check_steps(256) == 256
    assert A.check_method(None) == "integrated_gradients" and A.check_method("Grad-CAM") == "gradcam"
    with pytest.raises(ValueError, match="Unknown attribution method 'lime'"):
        A.check_method("lime")
    with pytest.raises(ValueError, match="Unknown baseline 'white'"):
        A.check_baseline("white")


def test_the_black_baseline_is_a_black_photo_preprocessed_like_the_photo():
    """ImageNet preprocessing maps a black picture to all-zero pixels (the model normalises inside), so the
    black baseline the engine builds is exactly the preprocessed black photo."""
    from engine.transfer.imagenet import preprocess

    pixels, _ = preprocess(Image.new("RGB", (320, 240), (200, 30, 90)))
    black, _ = preprocess(Image.new("RGB", (320, 240), (0, 0, 0)))
    assert torch.equal(A.image_baseline(pixels, "black"), black)


def test_blurred_and_noise_baselines(picture):
    blurred = A.image_baseline(picture, "blurred")
    assert blurred.shape == picture.shape
    assert float(blurred.std()) < float(picture.std())  # edges and texture are gone
    assert float(blurred.mean()) == pytest.approx(float(picture.mean()), abs=0.05)
    noise = A.image_baseline(picture, "noise")
    assert torch.equal(noise, A.image_baseline(picture, "noise"))  # the same picture every time
    assert float(noise.min()) >= 0 and float(noise.max()) <= 1 and not torch.equal(noise, picture)


def test_text_completeness_and_special_tokens(tiny_text):
    model, tokenizer = tiny_text
    result = A.text_attribution(model, tokenizer, "the cat sat on the mat playing", steps=64)
    assert result.tokens[0] == "[CLS]" and result.tokens[-1] == "[SEP]" and "##ing" in result.tokens
    assert result.scores.shape == (len(result.tokens),)
    assert result.scores[0] == 0 and result.scores[-1] == 0  # the baseline keeps [CLS] and [SEP]
    assert result.attribution.gap < 0.01, result.attribution.gap
    with torch.no_grad():
        ids = tokenizer(["the cat sat on the mat playing"], return_tensors="pt")
        logits = model(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"])[0]
    assert result.target_label == model.config.labels[int(logits.argmax())]  # target None -> top-1
    assert result.attribution.logit == pytest.approx(float(logits.max()), abs=1e-5)
    words = result.words()
    assert [w for w, _ in words] == ["the", "cat", "sat", "on", "the", "mat", "playing"]
    play = result.tokens.index("play")
    assert words[-1][1] == pytest.approx(result.scores[play] + result.scores[play + 1])


def test_text_without_hooks_equals_captums_layer_integrated_gradients(tiny_text):
    from captum.attr import LayerIntegratedGradients

    model, tokenizer = tiny_text
    ours = A.text_attribution(model, tokenizer, "good cat bad mat", target="meh", steps=32)
    encoding = tokenizer(["good cat bad mat"], return_tensors="pt")
    ids, mask = encoding["input_ids"], encoding["attention_mask"]
    baseline = ids.clone()
    baseline[0, 1:-1] = tokenizer.pad_token_id
    layer = LayerIntegratedGradients(lambda i, a: model(input_ids=i, attention_mask=a),
                                     model.backbone.get_input_embeddings())
    reference = layer.attribute(ids, baselines=baseline, target=2, additional_forward_args=(mask,), n_steps=32,
                                method=A.QUADRATURE)[0].sum(-1).detach().double().numpy()
    np.testing.assert_allclose(ours.scores, reference, rtol=1e-4, atol=1e-6)
    assert ours.target_label == "meh"


def test_text_refuses_image_models_and_empty_text(tiny_text):
    model, tokenizer = tiny_text
    with pytest.raises(ValueError, match="empty"):
        A.text_attribution(model, tokenizer, "   ")
    with pytest.raises(ValueError, match="Unknown target class"):
        A.text_attribution(model, tokenizer, "the cat", target="joy")
    from engine.transfer.model import TransferClassifier

    cnn = TransferClassifier(backbone_type="neurodeck_cnn", backbone_config={}, labels=("a", "b"))
    with pytest.raises(ValueError, match="MiniLM text model"):
        A.text_attribution(cnn, tokenizer, "the cat")


def test_token_html_escapes_and_colours_by_sign():
    html = A.token_html([("<b>", 0.5), ("mat", -1.0)], "pos & neg")
    assert "&lt;b&gt;" in html and "<b>pos &amp; neg</b>" in html
    assert "rgba(22, 163, 74, 0.50)" in html and "rgba(220, 38, 38, 1.00)" in html
    assert "font-size: 26px" in html and "+0.50" in html


def test_completeness_figures_show_sum_difference_and_gap(cnn, picture):
    result = A.integrated_gradients(cnn, picture, A.image_baseline(picture, "black"), 0, steps=64)
    figures = A.completeness_figures(result)
    assert [label for label, *_ in figures] == ["Sum of attributions", "logit(input) − logit(baseline)",
                                                "Completeness gap"]
    assert figures[0][1] == f"{result.attribution_sum:+.3f}" and figures[1][1] == f"{result.difference:+.3f}"
    assert figures[2][3] == "good"
