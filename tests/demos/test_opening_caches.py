"""Openings computed once per process are used only for the views' own default inputs (or a committed example):
any other input is computed as asked."""

from __future__ import annotations

import shutil

from demos.autoencoder import table, variational
from demos.gan import diffusion


def test_the_table_view_caches_only_the_built_in_example_at_its_defaults():
    assert table._is_opening(None, "is_fraud", "", 1.0, 0) and table._is_opening("", "is_fraud", None, 1, "0")
    assert not table._is_opening({"path": "/tmp/x.csv"}, "is_fraud", "", 1.0, 0)  # an upload
    assert not table._is_opening(None, "", "", 1.0, 0)  # no label column
    assert not table._is_opening(None, "is_fraud", "0", 1.0, 0)
    assert not table._is_opening(None, "is_fraud", "", 2.0, 0)
    assert not table._is_opening(None, "is_fraud", "", 1.0, 7)


def test_the_diffusion_view_caches_only_its_opening_inputs():
    assert diffusion._is_default(0, "random", 16, 8, 2.0) and diffusion._is_default("0", "random", "16", 8.0, "2")
    assert diffusion._is_default(0, "random")  # the guidance row: seed and class only
    for changed in [(1, "random", 16, 8, 2.0), (0, "3", 16, 8, 2.0), (0, "random", 15, 8, 2.0),
                    (0, "random", 16, 9, 2.0), (0, "random", 16, 8, 2.5), ("nan", "random", 16, 8, 2.0),
                    (None, "random", 16, 8, 2.0), ("abc", "random")]:
        assert not diffusion._is_default(*changed), changed


def test_the_vae_view_recognises_its_examples_by_content_wherever_gradio_copied_them(tmp_path):
    copy = tmp_path / "upload.png"
    shutil.copy(variational.EXAMPLES["digit_3"], copy)
    assert variational._example_named(str(copy)) == "digit_3"
    other = tmp_path / "other.png"
    other.write_bytes(copy.read_bytes() + b"\0")
    assert variational._example_named(str(other)) is None
    assert variational._example_named(str(tmp_path / "missing.png")) is None
    assert variational._example_named(None) is None
