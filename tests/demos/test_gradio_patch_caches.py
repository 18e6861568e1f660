"""The two per-visitor savings in demos/common/gradio_patches.py: an image encoded once, and a new session's
block configs built when read. Each fails if gradio changes what the patch copies."""

import inspect
import os

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from demos.common import gradio_patches


@pytest.fixture
def counted_encodes(monkeypatch):
    from gradio import processing_utils as pu

    gradio_patches.atomic_cache_writes()
    monkeypatch.setattr(gradio_patches, "_ENCODED", gradio_patches.BoundedMemo(8))
    calls = []
    original = pu.encode_pil_to_bytes

    def counting(img, format="png"):
        calls.append(img.size)
        return original(img, format)

    monkeypatch.setattr(pu, "encode_pil_to_bytes", counting)
    return pu, calls


def test_the_same_pixels_are_encoded_once_and_served_from_the_same_file(tmp_path, counted_encodes):
    pu, calls = counted_encodes
    pixels = np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    first = pu.save_pil_to_cache(Image.fromarray(pixels), str(tmp_path), format="png")
    again = pu.save_pil_to_cache(Image.fromarray(pixels.copy()), str(tmp_path), format="png")  # another object
    assert again == first and len(calls) == 1
    assert np.array_equal(np.asarray(Image.open(first)), pixels)

    changed = pixels.copy()
    changed[0, 0, 0] ^= 1
    other = pu.save_pil_to_cache(Image.fromarray(changed), str(tmp_path), format="png")
    assert other != first and len(calls) == 2
    assert pu.save_pil_to_cache(Image.fromarray(pixels), str(tmp_path), format="webp") != first  # format counts
    assert len(calls) == 3


def test_an_encoded_file_that_was_deleted_is_written_again(tmp_path, counted_encodes):
    pu, calls = counted_encodes
    image = Image.new("RGB", (8, 8), (10, 20, 30))
    path = pu.save_pil_to_cache(image, str(tmp_path), format="png")
    os.remove(path)  # the cache's janitor removed it
    assert pu.save_pil_to_cache(image, str(tmp_path), format="png") == path and os.path.exists(path)
    assert len(calls) == 2


def test_palettes_and_metadata_are_part_of_what_is_remembered(tmp_path, counted_encodes):
    pu, calls = counted_encodes
    red, blue = Image.new("P", (4, 4), 0), Image.new("P", (4, 4), 0)
    red.putpalette([255, 0, 0] * 256)
    blue.putpalette([0, 0, 255] * 256)
    assert pu.save_pil_to_cache(red, str(tmp_path), format="png") != pu.save_pil_to_cache(blue, str(tmp_path), format="png")
    tagged = Image.new("RGB", (4, 4))
    tagged.info["Comment"] = "seed 3"
    plain = pu.save_pil_to_cache(Image.new("RGB", (4, 4)), str(tmp_path), format="png")
    assert pu.save_pil_to_cache(tagged, str(tmp_path), format="png") != plain
    assert len(calls) == 4


def test_gradio_session_state_init_is_the_one_lazy_session_configs_copies():
    from gradio import state_holder

    gradio_patches.lazy_session_configs()
    original = state_holder.SessionState.__init__._neurodeck_original
    source = inspect.getsource(original)
    assigned = {line.split("=")[0].split(":")[0].strip() for line in source.splitlines() if line.strip().startswith("self.")
                and "=" in line}
    assert assigned == {"self.blocks_config", "self.config_values", "self.state_data", "self._state_ttl",
                        "self.is_closed", "self.STATE_TTL_WHEN_CLOSED"}
    assert "self.blocks_config.config_for_block(k, [], v)" in source and "if k in blocks.blocks" in source


def test_a_lazy_session_state_holds_the_configs_gradio_would_have_built():
    from gradio import state_holder

    gradio_patches.lazy_session_configs()
    with gr.Blocks() as demo:
        number = gr.Number(3, minimum=0, label="n")
        slider = gr.Slider(0, 10, 4, step=1, label="s")
        out = gr.Textbox()
        gr.Button("go").click(lambda a, b: str(a + b), [number, slider], out, api_name="add")
    lazy = state_holder.SessionState(demo)
    eager = object.__new__(state_holder.SessionState)
    state_holder.SessionState.__init__._neurodeck_original(eager, demo)
    assert len(lazy.config_values) == len(eager.config_values) and dict.__len__(lazy.config_values) == 0
    assert lazy.config_values[slider._id] == eager.config_values[slider._id]
    assert dict.__len__(lazy.config_values) == 1  # only the block that was read
    update = gr.Textbox(label="updated", render=False)  # an update, as gradio's postprocess makes
    lazy[out._id] = eager[out._id] = update
    assert lazy.config_values[out._id] == eager.config_values[out._id]
    assert sorted(c["id"] for c in lazy.components) == sorted(c["id"] for c in eager.components)
    assert {c["id"]: c for c in lazy.components}[number._id] == eager.config_values[number._id]
