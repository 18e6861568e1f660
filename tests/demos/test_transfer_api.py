"""Issue 24 #3 and #7 through the Transfer tab's handlers: a bad strategy is named, and a model handle is an
optional trailing parameter of /transfer_predict and /transfer_export."""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr
import pytest

from demos.transfer import train


@pytest.fixture(scope="module")
def api_info():
    from demos import transfer

    with gr.Blocks() as demo:
        transfer.build(demo)
    return demo.get_api_info()["named_endpoints"]


def _request(name: str):
    return SimpleNamespace(session_hash=f"test-transfer-api-{name}")


@pytest.mark.parametrize("handler", [train.export_project, train.export], ids=["project", "export"])
def test_a_strategy_that_is_not_a_name_says_which_input_and_what_is_allowed(handler):
    with pytest.raises(gr.Error) as caught:
        handler({"a": 1}, request=_request("dict"))
    message = str(caught.value.message)
    assert "strategy must be" in message and "feature_extraction" in message and "TypeError" not in message
    with pytest.raises(gr.Error) as caught:
        handler("s" * 10_000_000, request=_request("huge"))
    assert len(str(caught.value.message)) < 600 and "Unknown strategy" in str(caught.value.message)


def test_an_unknown_model_handle_is_a_clear_error_and_creates_no_session():
    from engine.transfer import session as sessions

    before = sessions.session_count()
    for call in (lambda: train.api_predict("hi", None, 3, "nd-model-nope", request=None),
                 lambda: train.export("", "nd-model-nope", request=None)):
        with pytest.raises(gr.Error, match=r"Model handle 'nd-model-nope' is unknown or expired; train again with "
                                           r"/transfer_train"):
            call()
    assert sessions.session_count() == before


def test_model_handle_is_an_optional_trailing_parameter(api_info):
    for name, position in (("/transfer_predict", 3), ("/transfer_export", 1)):
        parameters = api_info[name]["parameters"]
        assert len(parameters) == position + 1 and parameters[-1]["parameter_name"] == "model_handle", name
        assert parameters[-1]["parameter_has_default"] and parameters[-1]["parameter_default"] == "", name
