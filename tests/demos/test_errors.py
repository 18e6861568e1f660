"""Expected user errors are one log line and a gr.Error without a traceback; bugs keep their traceback."""

from __future__ import annotations

import logging

import gradio as gr
import pytest

from demos.common.errors import user_errors


def test_a_value_error_is_one_log_line_and_no_traceback(caplog):
    @user_errors
    def handler(text=""):
        raise ValueError("The input is empty: type a date.")

    with caplog.at_level(logging.INFO, logger="neurodeck"), pytest.raises(gr.Error) as raised:
        handler()
    assert raised.value.message == "The input is empty: type a date." and raised.value.print_exception is False
    (record,) = caplog.records
    assert record.getMessage() == "user error in handler: The input is empty: type a date." and record.exc_info is None


def test_a_bug_keeps_its_traceback_in_the_log_and_the_user_sees_a_short_message(caplog):
    @user_errors
    def streaming(x=0):
        yield 1
        raise KeyError("internal")

    with caplog.at_level(logging.INFO, logger="neurodeck"), pytest.raises(gr.Error) as raised:
        list(streaming())
    assert "Something went wrong (KeyError)" in raised.value.message and "internal" not in raised.value.message
    assert caplog.records[-1].exc_info is not None
