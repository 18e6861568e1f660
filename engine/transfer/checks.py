"""Check every transfer-learning setting from the UI or the API before anything is trained or replaced.

Raw API values arrive here (strings, None, NaN, 1e30); each failure is a ``ValueError`` that names the
setting and its accepted range. Nothing here imports torch, so the demos can call it before touching a
session's state: a rejected request leaves the session's data and models as they were.
"""

from __future__ import annotations

from engine.core.settings import LIMITS
from engine.core.validation import check_number, check_seed, quote
from engine.transfer.options import STRATEGIES


def check_strategies(strategies) -> list[str]:
    """One strategy name or a list of them -> the known ones in canonical order; empty or unknown raise."""
    if isinstance(strategies, str):
        strategies = [strategies]
    chosen = [str(s).strip() for s in (strategies or []) if str(s).strip()]
    if not chosen:
        raise ValueError(f"Tick at least one strategy to train ({', '.join(STRATEGIES)}).")
    unknown = [s for s in chosen if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"Unknown strategy {unknown[0]!r}; choose from {', '.join(STRATEGIES)}.")
    return [s for s in STRATEGIES if s in chosen]


def check_strategy_name(strategy) -> str | None:
    """The ``strategy`` argument of the model endpoints: one trained strategy's name, or empty (None) for the best.

    Raw API values arrive here (a dict, a list, a 10 MB string): the message names the input and what is allowed.
    """
    if strategy is None or (isinstance(strategy, str) and not strategy.strip()):
        return None
    allowed = f"one of {', '.join(STRATEGIES)}, or empty for this session's best model"
    if not isinstance(strategy, str):
        raise ValueError(f"The strategy must be a strategy name ({allowed}); got {type(strategy).__name__} "
                         f"{quote(strategy)}.")
    name = strategy.strip()
    if name not in STRATEGIES:
        raise ValueError(f"Unknown strategy {quote(name)}; the strategy must be {allowed}.")
    return name


def check_class_sizes(counts: dict, *, max_classes: int | None = None, unit: str = "classes") -> None:
    """Refuse a dataset with more than ``max_classes`` classes (default ``LIMITS.transfer_classes``) or a class with
    fewer than ``LIMITS.transfer_min_per_class`` examples; ``counts`` maps class name -> examples.

    ``unit`` says what the user made classes from ("class folders", "labels"), so the message says what to change.
    """
    limit = LIMITS.transfer_classes if max_classes is None else int(max_classes)
    if len(counts) > limit:
        raise ValueError(
            f"Found {len(counts):,} classes ({unit}); the limit is {limit} classes per dataset: each class needs "
            f"examples to learn from, and adds a row and a column to the confusion matrix. Merge similar classes or "
            f"remove some (at most {limit} {unit}), then load the data again.")
    least = LIMITS.transfer_min_per_class
    small = sorted((count, name) for name, count in counts.items() if count < least)
    if small:
        named = ", ".join(f"{quote(str(name), 40)} has {count} usable example{'' if count == 1 else 's'}"
                          for count, name in small[:5])
        more = f" (and {len(small) - 5} more)" if len(small) > 5 else ""
        them = "it" if len(small) == 1 else "them"
        raise ValueError(
            f"Too few examples: class {named}{more}. Every class needs at least {least} (one is held out "
            f"for validation, the rest train): add examples to {them}, or remove {them}.")


def check_kfold(k) -> int:
    """0 (off) or 2..LIMITS.transfer_kfold folds."""
    value = int(check_number(k, "number of cross-validation folds", 0, LIMITS.transfer_kfold, whole=True, default=0))
    if value == 1:
        raise ValueError("Cross-validation needs at least 2 folds (0 turns it off).")
    return value


def check_top_k(k) -> int:
    return int(check_number(k, "top-k", 1, 100, whole=True, default=3))


def config_values(*, strategy="feature_extraction", unfreeze_blocks=2, epochs=15, learning_rate=0, batch_size=16,
                  weight_decay=1e-4, dropout=0.1, augment=True, patience=4, val_fraction=0.25, seed=0) -> dict:
    """Checked keyword arguments for ``engine.transfer.train.TrainConfig`` (learning rate 0 = strategy default)."""
    rate = float(check_number(learning_rate, "learning rate", 0, LIMITS.transfer_learning_rate, default=0))
    return dict(
        strategy=check_strategies(strategy)[0],
        unfreeze_blocks=int(check_number(unfreeze_blocks, "number of blocks to fine-tune", 1, 64, whole=True, default=2)),
        epochs=int(check_number(epochs, "number of epochs", 1, LIMITS.transfer_epochs, whole=True, default=15)),
        learning_rate=rate or None,
        batch_size=int(check_number(batch_size, "batch size", 1, LIMITS.transfer_batch, whole=True, default=16)),
        weight_decay=float(check_number(weight_decay, "weight decay", 0, 1, default=1e-4)),
        dropout=float(check_number(dropout, "dropout", 0, 0.9, default=0.1)),
        augment=bool(augment),
        patience=int(check_number(patience, "early-stopping patience", 0, LIMITS.transfer_epochs, whole=True, default=4)),
        val_fraction=float(check_number(val_fraction, "validation fraction", 0.05, 0.5, default=0.25)),
        seed=check_seed(0 if seed is None or seed == "" else seed),
    )
