"""Issue 24 #6 and #3: /transfer_predict checks an image exactly as ImageNet classify does, and a bad strategy
argument is named with what is allowed."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch.nn as nn
from PIL import Image

from engine.core import validation
from engine.core.settings import LIMITS
from engine.transfer import attribution, imagenet, project, session as sessions
from engine.transfer.predict import item_from_input
from tests.support import png_header_only


def _message(call, value) -> str:
    with pytest.raises(ValueError) as caught:
        call(value)
    return str(caught.value)


@pytest.mark.parametrize("size", [(1, 1), (20_000, 1), (1, 20_000), (15, 300)], ids=str)
def test_transfer_predict_refuses_what_imagenet_classify_refuses_with_the_same_message(size):
    image = Image.new("RGB", size, (120, 30, 200))
    transfer = _message(lambda v: item_from_input("image", v), image)
    assert transfer == _message(imagenet.classify, image) == _message(attribution.imagenet_attribution, image)
    assert f"{size[0]}x{size[1]}" in transfer and f"at least {LIMITS.photo_min_side} pixels on each side" in transfer


def test_the_pixel_cap_is_shared_too():
    width = 5_000
    height = LIMITS.photo_image_pixels // width + 1  # one row over the cap
    header = png_header_only(width, height)
    transfer = _message(lambda v: item_from_input("image", v), header)
    assert transfer == _message(imagenet.classify, header) and f"{LIMITS.photo_image_pixels:,}" in transfer


def test_the_smallest_accepted_picture_passes_both_checks():
    side = LIMITS.photo_min_side
    image = Image.new("RGB", (side, 4 * side), (0, 200, 0))
    assert item_from_input("image", image).shape == (128, 128, 3)
    assert validation.load_photo(image).size == (side, 4 * side)
    pixels, _ = imagenet.preprocess(image)
    assert pixels.shape == (1, 3, 224, 224)


@pytest.fixture()
def fresh_sessions(monkeypatch):
    monkeypatch.setattr(sessions, "_sessions", type(sessions._sessions)())
    monkeypatch.setattr(sessions, "_expired", type(sessions._expired)())
    monkeypatch.setattr(sessions, "LIMITS", dataclasses.replace(sessions.LIMITS, session_idle_s=3600))


def _trained(key: str):
    session = sessions.get_session(key)
    session.results["feature_extraction"] = SimpleNamespace(
        model=nn.Linear(2, 1), strategy="feature_extraction", metrics=SimpleNamespace(accuracy=0.9), train_seconds=1.0)
    return session


@pytest.mark.parametrize("bad", [{"a": 1}, ["feature_extraction"], 3, True], ids=repr)
def test_a_strategy_that_is_not_a_name_is_named_as_the_wrong_input(fresh_sessions, bad):
    for session in (sessions.get_session("empty"), _trained("trained")):
        message = _message(session.result, bad)
        assert "strategy" in message and "feature_extraction" in message and "empty" in message
        assert "No model has been trained" not in message
    assert "strategy must be" in _message(lambda v: project.export_session_project(_trained("p"), v), {"a": 1})


def test_an_unknown_or_huge_strategy_is_quoted_short(fresh_sessions):
    message = _message(_trained("t").result, "x" * 10_000_000)
    assert len(message) < 600 and "10,000,000 characters" in message and "Unknown strategy" in message
    assert _trained("u").result(" ").strategy == "feature_extraction"  # empty = the best model
