"""What the Attention tab's views share (not a view): the caveat they all show and the layer/head checks."""

from __future__ import annotations

CAVEAT = (
    "**Attention is not explanation.** These weights show where each token *looks*, not *why* the model "
    "predicts what it does: different attention patterns can give the same output, and value vectors and "
    "MLPs also shape the result (Jain & Wallace 2019; Wiegreffe & Pinter 2019). Rollout is a rough "
    "estimate of information flow, not a causal attribution."
)
HEAD_FUSIONS = ["mean", "max", "min"]


def check_fusion(head_fusion: str) -> None:
    """Refuse a head fusion the rollout does not know."""
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"Head fusion must be one of {', '.join(HEAD_FUSIONS)}; got {head_fusion!r}.")


def layer_head(result, layer, head) -> tuple[int, int]:
    """0-based (layer, head) from the 1-based values of the sliders; refuses ones the model does not have."""
    layer, head = int(layer), int(head)
    if not 1 <= layer <= result.num_layers:
        raise ValueError(f"Layer {layer} does not exist: {result.model_name} has layers 1..{result.num_layers}.")
    if not 1 <= head <= result.num_heads:
        raise ValueError(f"Head {head} does not exist: {result.model_name} has heads 1..{result.num_heads}.")
    return layer - 1, head - 1


def clamp_layer_head(result, layer, head) -> tuple[int, int]:
    """1-based layer/head kept inside the model: a newly chosen model may have fewer than the sliders show."""
    return min(max(int(layer), 1), result.num_layers), min(max(int(head), 1), result.num_heads)
