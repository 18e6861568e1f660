"""The transfer strategies: which parameters train, and which modules stay in eval mode.

1. ``feature_extraction``: the backbone is frozen; only the linear head trains (on cached features).
   ``logistic_regression``: the same, fitted by scikit-learn (a classical check; engine.transfer.linear).
2. ``fine_tune_last_n``: the last N backbone blocks and the head train; earlier layers are frozen.
3. ``full_fine_tune``: everything trains, starting from the pre-trained weights.
4. ``from_scratch``: everything trains, starting from random weights (same architecture).
"""

from __future__ import annotations

import torch.nn as nn

from engine.transfer.model import TransferClassifier

from engine.transfer.options import (  # noqa: F401  (re-exported)
    DEFAULT_LEARNING_RATES, LINEAR_STRATEGIES, STRATEGIES, STRATEGY_LABELS,
)


def check_strategy(strategy: str) -> str:
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}.")
    return strategy


def trainable_modules(model: TransferClassifier, strategy: str, unfreeze_blocks: int = 2) -> list[nn.Module]:
    """Modules whose parameters train under ``strategy`` (the head always trains)."""
    check_strategy(strategy)
    if strategy in {"full_fine_tune", "from_scratch"}:
        return [model.backbone, model.head]
    if strategy in LINEAR_STRATEGIES:
        return [model.head]
    blocks = model.blocks
    count = int(unfreeze_blocks)
    if not 1 <= count <= len(blocks):
        raise ValueError(f"Unfreeze between 1 and {len(blocks)} blocks for this backbone (got {count}).")
    return [*blocks[len(blocks) - count :], model.head]


def apply_strategy(model: TransferClassifier, strategy: str, unfreeze_blocks: int = 2) -> list[nn.Parameter]:
    """Set ``requires_grad`` for ``strategy`` and return the parameters to optimise."""
    modules = trainable_modules(model, strategy, unfreeze_blocks)
    model.requires_grad_(False)
    for module in modules:
        module.requires_grad_(True)
    return [p for p in model.parameters() if p.requires_grad]


# Strategies whose BatchNorm layers keep the pre-trained running statistics (eval mode) while training:
# with 8 pictures a class, batch statistics are too noisy to replace ImageNet's. Their scale/shift
# parameters still train in the unfrozen blocks. Full fine-tuning and from scratch update them.
FROZEN_BATCHNORM = frozenset({*LINEAR_STRATEGIES, "fine_tune_last_n"})
# Strategies whose BatchNorm running statistics start from nothing (mean 0, variance 1): before every
# validation they are recomputed over the training pictures (engine.transfer.train.recalibrate_batchnorm).
# EfficientNet-Lite0's momentum of 0.01 (TensorFlow's 0.99) is made for thousands of steps an epoch; a
# few-shot set gives 4, so after 20 steps 82 % of each running statistic was still the initial value and
# from scratch predicted one class in eval mode while it was learning in train mode (issue #23).
RECALIBRATE_BATCHNORM = frozenset({"from_scratch"})


def set_train_mode(model: TransferClassifier, strategy: str, unfreeze_blocks: int = 2) -> None:
    """Train mode only for trainable modules: frozen BatchNorm statistics must not drift.

    Under :data:`FROZEN_BATCHNORM` strategies every BatchNorm layer stays in eval mode, the unfrozen
    blocks' ones included (their running mean/variance never change; their weight and bias train).
    """
    model.eval()
    model.feature_dropout.train()
    for module in trainable_modules(model, strategy, unfreeze_blocks):
        module.train()
    if strategy in FROZEN_BATCHNORM:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
