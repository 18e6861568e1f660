import numpy as np
import pytest

from engine.attention.rollout import attention_rollout, fuse_heads


def test_rollout_matches_hand_computed_three_token_example():
    # Two layers, one head, three tokens.
    a1 = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    a2 = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3]])
    attentions = np.stack([a1[None], a2[None]])  # (L=2, H=1, 3, 3)
    # By hand: residual-mixed layers (rows already sum to 1 after 0.5A + 0.5I).
    m1 = np.array([[1.0, 0.0, 0.0], [0.25, 0.75, 0.0], [0.1, 0.15, 0.75]])
    m2 = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5], [1 / 6, 1 / 6, 2 / 3]])
    expected = m2 @ m1
    # Row 0 by hand: 0.5*[1,0,0] + 0.5*[0.25,0.75,0] = [0.625, 0.375, 0].
    np.testing.assert_allclose(expected[0], [0.625, 0.375, 0.0])
    np.testing.assert_allclose(attention_rollout(attentions), expected, atol=1e-12)


def test_rollout_rows_sum_to_one_and_fusions_differ():
    rng = np.random.default_rng(0)
    raw = rng.random((3, 4, 5, 5))
    attentions = raw / raw.sum(-1, keepdims=True)
    results = {f: attention_rollout(attentions, f) for f in ("mean", "max", "min")}
    for rollout in results.values():
        np.testing.assert_allclose(rollout.sum(-1), 1.0, atol=1e-12)
        assert (rollout >= 0).all()
    assert not np.allclose(results["max"], results["min"])
    np.testing.assert_allclose(fuse_heads(attentions, "max"), attentions.max(1))


def test_rollout_rejects_bad_inputs():
    with pytest.raises(ValueError, match="head fusion"):
        attention_rollout(np.ones((1, 1, 2, 2)) / 2, "median")
    with pytest.raises(ValueError, match="shape"):
        attention_rollout(np.ones((2, 2)))
