"""Every view test starts with no opening results kept from another test (see demos.common.memo)."""

from __future__ import annotations

import pytest

from demos.common.memo import MEMOS


@pytest.fixture(autouse=True)
def empty_memos():
    for memo in MEMOS:
        memo.clear()
    yield
    for memo in MEMOS:
        memo.clear()
