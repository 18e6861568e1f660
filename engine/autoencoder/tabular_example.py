"""A seeded table of card transactions with known fraud, the Anomalies-in-a-table view's built-in example.

No package on PyPI ships real card-fraud data for offline use (the well-known ULB/Kaggle table is a download),
so the example is generated. Every card has its own habits; fraud follows four documented patterns:

- **card testing**: bursts of tiny online amounts, seconds apart, many transactions in a day;
- **amount spike**: 8-40x the card's own median amount, at an electronics or travel merchant;
- **odd hour**: 1-4 a.m., 2-4x the usual amount;
- **far away**: a merchant 800-9000 km from the card's home.

The ``is_fraud`` column exists for evaluation only; the analysis never uses a label as a feature.
"""

from __future__ import annotations

import functools
import io

import numpy as np

CATEGORIES = ("grocery", "restaurant", "fuel", "online_retail", "travel", "electronics", "pharmacy", "entertainment")
PATTERNS = ("card_testing", "amount_spike", "odd_hour", "far_away")
LABEL_COLUMN = "is_fraud"
NEVER_A_FEATURE = {LABEL_COLUMN: "the example's answer key: for measuring only, never a feature"}
DEFAULT_ROWS = 6000
DEFAULT_FRAUD_RATE = 0.015


def card_transactions(rows: int = DEFAULT_ROWS, fraud_rate: float = DEFAULT_FRAUD_RATE, seed: int = 0,
                      with_pattern: bool = False):
    """A ``pandas.DataFrame`` of ``rows`` transactions, ``fraud_rate`` of them fraud (at least one per pattern).

    Columns: transaction_id (an ID), card_id (one of rows // 40 cards), currency (always EUR), amount, hour,
    merchant_category, distance_from_home_km (2% missing: merchant location unknown), online (yes / no),
    seconds_since_last_txn, txns_last_24h, amount_vs_card_median and is_fraud (1 = fraud). ``with_pattern``
    adds the fraud pattern's name (evaluation breakdowns only; it would give the answer away as a feature).
    """
    import pandas as pd

    if rows < 40:
        raise ValueError(f"The example needs at least 40 rows; got {rows}.")
    rng = np.random.default_rng(seed)
    n_cards = max(rows // 40, 1)
    card_log_median = rng.normal(3.3, 0.5, n_cards)  # a card's typical amount: exp(3.3) ~ 27 EUR
    card_hour = np.clip(rng.normal(15.0, 2.5, n_cards), 9, 20)
    card_prefs = rng.dirichlet(np.full(len(CATEGORIES), 0.6), n_cards)
    card = rng.integers(0, n_cards, rows)

    amount = np.exp(rng.normal(card_log_median[card], 0.6))
    hour = np.round(rng.normal(card_hour[card], 3.0)) % 24
    category = np.array([rng.choice(len(CATEGORIES), p=card_prefs[c]) for c in card])
    travelling = rng.random(rows) < 0.04
    distance = np.where(travelling, rng.exponential(250.0, rows), rng.exponential(6.0, rows))
    online = (category == CATEGORIES.index("online_retail")) | (rng.random(rows) < 0.08)
    gap = rng.exponential(8 * 3600.0, rows)
    per_day = rng.poisson(2.0, rows) + 1

    n_fraud = max(int(round(rows * fraud_rate)), len(PATTERNS))
    fraud_rows = rng.choice(rows, n_fraud, replace=False)
    pattern = np.full(rows, "", dtype=object)
    pattern[fraud_rows] = np.array(PATTERNS)[np.arange(n_fraud) % len(PATTERNS)]
    median = np.exp(card_log_median[card])

    testing = pattern == "card_testing"
    amount[testing] = rng.uniform(0.5, 3.0, testing.sum())
    gap[testing] = rng.exponential(40.0, testing.sum())
    per_day[testing] = rng.integers(8, 31, testing.sum())
    online[testing] = True
    category[testing] = CATEGORIES.index("online_retail")

    spike = pattern == "amount_spike"
    amount[spike] = median[spike] * rng.uniform(8.0, 40.0, spike.sum())
    category[spike] = rng.choice([CATEGORIES.index("electronics"), CATEGORIES.index("travel")], spike.sum())

    odd = pattern == "odd_hour"
    hour[odd] = rng.integers(1, 5, odd.sum())
    amount[odd] *= rng.uniform(2.0, 4.0, odd.sum())

    far = pattern == "far_away"
    distance[far] = rng.uniform(800.0, 9000.0, far.sum())
    amount[far] *= rng.uniform(1.0, 3.0, far.sum())

    distance_shown = np.round(distance, 1)
    distance_shown[rng.random(rows) < 0.02] = np.nan  # merchant location unknown
    table = pd.DataFrame({
        "transaction_id": np.arange(100001, 100001 + rows),
        "card_id": [f"C{c:05d}" for c in card],
        "currency": "EUR",
        "amount": np.round(amount, 2),
        "hour": hour.astype(int),
        "merchant_category": np.array(CATEGORIES, dtype=object)[category],
        "distance_from_home_km": distance_shown,
        "online": np.where(online, "yes", "no"),
        "seconds_since_last_txn": np.round(gap).astype(int),
        "txns_last_24h": per_day.astype(int),
        "amount_vs_card_median": np.round(amount / median, 3),
        LABEL_COLUMN: (pattern != "").astype(int),
    })
    if with_pattern:
        table["fraud_pattern"] = pattern
    return table


@functools.lru_cache(maxsize=1)
def example_csv() -> bytes:
    """The built-in example as CSV bytes (6,000 rows, seed 0): it goes through the same reader as an upload."""
    buffer = io.StringIO()
    card_transactions().to_csv(buffer, index=False)
    return buffer.getvalue().encode()
