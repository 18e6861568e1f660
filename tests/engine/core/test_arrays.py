"""Packed arrays: the compact JSON form of large weight arrays in API answers."""

import base64
import json

import numpy as np
import pytest

from engine.core.arrays import pack_array, unpack_array


def test_pack_round_trips_exactly_through_json():
    values = np.random.default_rng(0).random((2, 3, 5, 5), dtype=np.float32)
    packed = json.loads(json.dumps(pack_array(values)))
    assert packed["dtype"] == "<f4" and packed["shape"] == [2, 3, 5, 5]
    np.testing.assert_array_equal(unpack_array(packed), values)
    # what the README tells a client without this repository to do
    plain = np.frombuffer(base64.b64decode(packed["base64"]), packed["dtype"]).reshape(packed["shape"])
    np.testing.assert_array_equal(plain, values)


def test_float64_and_non_contiguous_inputs_are_packed_as_float32():
    values = np.arange(12, dtype=np.float64).reshape(3, 4).T
    np.testing.assert_array_equal(unpack_array(pack_array(values)), values.astype(np.float32))


@pytest.mark.parametrize("packed, message", [
    ({"dtype": "<f4", "shape": [2, 2]}, "needs 'dtype', 'shape' and 'base64'"),
    ({"dtype": "<f4", "shape": [3, 3], "base64": base64.b64encode(b"\0" * 8).decode()}, "needs 36 bytes; got 8"),
])
def test_malformed_packed_arrays_are_refused_clearly(packed, message):
    with pytest.raises(ValueError, match=message):
        unpack_array(packed)
