"""The gradio patches are written against one gradio version: these fail when gradio changes under them."""

from __future__ import annotations

import inspect

import gradio as gr

from demos.common import gradio_patches


def test_patches_name_the_installed_gradio_version():
    assert gr.__version__ == gradio_patches.GRADIO_VERSION, (
        f"gradio {gr.__version__} is installed; demos/common/gradio_patches.py was written for "
        f"{gradio_patches.GRADIO_VERSION}: re-check each patch against the new version, then update GRADIO_VERSION")


def test_patched_gradio_attributes_still_have_the_shapes_the_patches_expect():
    from gradio import networking, processing_utils, route_utils
    from gradio.queueing import Queue
    from gradio.routes import App

    assert isinstance(App.__dict__["create_app"], staticmethod)  # no_app_rebuild swaps it
    assert list(inspect.signature(Queue.push).parameters)[1:] == ["body", "request", "username"]  # admission_control
    assert callable(route_utils.get_fn)
    assert list(inspect.signature(processing_utils.save_pil_to_cache).parameters)[:4] == ["img", "cache_dir", "name", "format"]
    assert list(inspect.signature(processing_utils.save_bytes_to_cache).parameters) == ["data", "file_name", "cache_dir"]
    assert callable(processing_utils.hash_bytes) and callable(processing_utils.encode_pil_to_bytes)
    assert list(inspect.signature(networking.url_ok).parameters) == ["url"]  # patient_localhost_check wraps it


def test_no_app_rebuild_restores_gradio_afterwards():
    from gradio.routes import App

    before = App.__dict__["create_app"]
    with gradio_patches.no_app_rebuild():
        assert App.__dict__["create_app"] is not before
    assert App.__dict__["create_app"] is before
