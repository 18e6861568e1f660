"""The integrated-gradients pieces of the views: completeness cards from the API's JSON, and the words panel."""

from __future__ import annotations

import pytest


def test_imagenet_cards_show_the_completeness_check():
    from demos.transfer.imagenet import attribution_cards

    html = attribution_cards({"method": "integrated_gradients", "target_class": 967, "target_label": "espresso",
                              "logit": 11.412, "baseline_logit": -0.5, "attribution_sum": 11.5, "steps": 64,
                              "baseline": "black", "completeness_gap": 0.03})
    assert "Sum of attributions" in html and "+11.500" in html
    assert "logit(photo) − logit(baseline)" in html and "+11.912" in html and "11.412 − (−0.500)" in html
    assert "Completeness gap" in html and "3.00%" in html and "&#x27;espresso&#x27; (class 967)" in html
    gradcam = attribution_cards({"method": "gradcam", "target_class": 281, "target_label": "tabby", "logit": -0.25,
                                 "baseline_logit": None, "attribution_sum": None})
    assert "Grad-CAM has no completeness check" in gradcam and "Completeness gap" not in gradcam
    assert "Press Explain" in attribution_cards(None)


def test_bad_imagenet_attribution_calls_become_clear_errors():
    import gradio as gr

    from demos.transfer.imagenet import imagenet_attribution

    with pytest.raises(gr.Error, match="No image was given"):
        imagenet_attribution(None)
    with pytest.raises(gr.Error, match="steps must be between 2 and 256"):
        imagenet_attribution("photo.png", steps=0)  # checked before the file is opened


def test_words_view_colours_the_words_and_checks_completeness(tmp_path):
    import torch
    from transformers import BertTokenizer

    from demos.transfer.results import words_view
    from engine.transfer.model import TransferClassifier

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "goal", "rain", "soup"]) + "\n")
    torch.manual_seed(0)
    model = TransferClassifier(backbone_type="bert", feature_dim=16, labels=("sports", "weather"), backbone_config=dict(
        vocab_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        max_position_embeddings=16))

    class Result:  # what a session holds: a TrainResult's model
        pass

    result = Result()
    result.model = model.eval()
    words, cards = words_view(result, BertTokenizer(str(vocab)), "goal rain soup")
    assert all(f">{word}<br>" in words for word in ("goal", "rain", "soup")) and "[CLS]" not in words
    assert "Completeness gap" in cards and "[PAD]" in cards
