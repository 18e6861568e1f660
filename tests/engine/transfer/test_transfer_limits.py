"""Issue 24 #5: a dataset's class count is capped, and every class needs enough examples, before any decoding."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from engine.core.settings import LIMITS
from engine.transfer import data as transfer_data
from engine.transfer.data import load_image_classes, load_image_zip, load_text_csv


def _png(size=(4, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _zip(path, classes: int, per_class: int = 2) -> str:
    png = _png()
    with zipfile.ZipFile(path, "w") as archive:
        for c in range(classes):
            for i in range(per_class):
                archive.writestr(f"data/class{c:04d}/{i}.png", png)
    return str(path)


def test_the_limits_are_in_settings():
    assert 2 <= LIMITS.transfer_classes <= 100
    assert LIMITS.transfer_min_per_class >= 2  # the validation split takes one of each class, training the rest


def test_a_zip_with_1000_classes_is_refused_before_any_image_is_decoded(tmp_path, monkeypatch):
    decoded = []
    monkeypatch.setattr(transfer_data, "_decode_image", lambda data: decoded.append(1))
    with pytest.raises(ValueError) as caught:
        load_image_zip(_zip(tmp_path / "many.zip", 1000))
    message = str(caught.value)
    assert "1,000 classes" in message and f"limit is {LIMITS.transfer_classes}" in message
    assert "merge" in message.lower() or "remove" in message.lower()
    assert decoded == []  # refused from the file list, not after decoding 2,000 images


def test_a_zip_at_the_class_limit_loads(tmp_path):
    dataset = load_image_zip(_zip(tmp_path / "ok.zip", LIMITS.transfer_classes))
    assert len(dataset.class_names) == LIMITS.transfer_classes


def test_a_csv_with_too_many_labels_is_refused(tmp_path):
    classes = LIMITS.transfer_classes + 1
    rows = ["text,label"] + [f"example {i} of label {c},label{c}" for c in range(classes) for i in range(2)]
    (tmp_path / "many.csv").write_text("\n".join(rows))
    with pytest.raises(ValueError, match=rf"{classes} classes.*limit is {LIMITS.transfer_classes}"):
        load_text_csv(tmp_path / "many.csv")


def test_built_classes_are_capped_too():
    png = _png((20, 20))
    classes = {f"c{i}": [png, png] for i in range(LIMITS.transfer_classes + 1)}
    with pytest.raises(ValueError, match=rf"{LIMITS.transfer_classes + 1} classes"):
        load_image_classes(classes)


def test_a_class_with_too_few_examples_is_named_with_its_count(tmp_path):
    png = _png()
    with zipfile.ZipFile(tmp_path / "thin.zip", "w") as archive:
        for i in range(3):
            archive.writestr(f"red/{i}.png", png)
        archive.writestr("blue/0.png", png)
    with pytest.raises(ValueError, match=rf"'blue'.*1 .*at least {LIMITS.transfer_min_per_class}"):
        load_image_zip(tmp_path / "thin.zip")


def test_the_command_line_can_pass_its_own_class_cap(tmp_path):
    dataset = load_image_zip(_zip(tmp_path / "wide.zip", LIMITS.transfer_classes + 2), max_classes=1000)
    assert len(dataset.class_names) == LIMITS.transfer_classes + 2
