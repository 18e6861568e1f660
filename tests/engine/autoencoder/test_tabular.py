"""Anomalies in a table: reading CSVs, preparing columns, scoring rows, baselines, and every bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.autoencoder import tabular, tabular_render
from engine.autoencoder.tabular_data import prepare, read_csv
from engine.autoencoder.tabular_example import LABEL_COLUMN, NEVER_A_FEATURE, card_transactions, example_csv


def _csv(frame: pd.DataFrame, sep: str = ",") -> bytes:
    return frame.to_csv(index=False, sep=sep).encode()


def _table(rows: int = 200, seed: int = 0, outlier: int | None = 17) -> pd.DataFrame:
    """Correlated numeric columns, a category, an ID and a constant; row ``outlier`` breaks the correlation."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=rows)
    frame = pd.DataFrame({
        "id": np.arange(rows),
        "a": np.round(base + 0.1 * rng.normal(size=rows), 4),
        "b": np.round(2 * base + 0.1 * rng.normal(size=rows), 4),
        "c": np.round(-base + 0.1 * rng.normal(size=rows), 4),
        "colour": rng.choice(["red", "green", "blue"], rows),
        "site": "Lyon",
    })
    if outlier is not None:
        frame.loc[outlier, ["a", "b", "c"]] = [2.0, -4.0, 2.0]
    return frame


# ------------------------------------------------------------------ reading
def test_delimiters_are_detected():
    frame = _table(30)
    for sep in (",", ";", "\t"):
        table = read_csv(_csv(frame, sep))
        assert list(table.columns) == list(frame.columns) and len(table) == 30
        assert np.allclose(table["b"].to_numpy(float), frame["b"])


def test_read_csv_accepts_a_gradio_file_dict(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(_csv(_table(25)))
    assert len(read_csv({"path": str(path)})) == 25 and len(read_csv(str(path))) == 25


@pytest.mark.parametrize("payload, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
    (b"a,b\n" + b"1,2\n", "1 data row"),
    (b"a,a,b\n" + b"1,2,3\n" * 30, "Duplicate column names: 'a'"),
    (b"a b c\n" + b"1 2 3\n" * 30, "only one column"),
    (b"   \n\n", "empty"),
    (b"a,,c\n" + b"1,2,3\n" * 30, "Column 2 has no name"),
])
def test_bad_files_are_refused_with_a_clear_message(payload, message):
    with pytest.raises(ValueError, match=message):
        read_csv(payload)


def test_too_many_rows_and_too_large_files(tmp_path):
    million = b"x,y\n" + b"1,2\n" * 1_000_000  # 4 MB: under the size cap, over the row cap
    with pytest.raises(ValueError, match="1,000,000 rows; the limit is 200,000"):
        read_csv(million)
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as handle:  # a sparse 26 MB file: refused from its size, before reading
        handle.truncate(26 * 2**20)
    with pytest.raises(ValueError, match="the limit is 25 MB"):
        read_csv(str(huge))
    with pytest.raises(ValueError, match="could not be found"):
        read_csv(str(tmp_path / "missing.csv"))


# ------------------------------------------------------------------ preparation
def test_preparation_encodes_scales_and_drops_with_reasons():
    prepared = prepare(read_csv(_csv(_table())))
    assert prepared.columns == ("a", "b", "c", "colour")
    assert {d["name"]: d["reason"] for d in prepared.dropped_columns} == {
        "id": "ID-like: every row has a different value", "site": "constant: every row is 'Lyon'"}
    assert [f for f in prepared.features if f.startswith("colour")] == ["colour=blue", "colour=green", "colour=red"]
    one_hot = prepared.matrix[:, [i for i, f in enumerate(prepared.features) if f.startswith("colour")]]
    assert np.array_equal(one_hot.sum(axis=1), np.ones(len(one_hot)))
    a = prepared.matrix[:, prepared.features.index("a")]
    assert abs(np.median(a)) < 1e-6 and 0.7 < np.subtract(*np.percentile(a, [75, 25])) / 1.349 < 1.3  # robust scale
    assert prepared.feature_column.tolist() == [0, 1, 2, 3, 3, 3]


def test_skewed_columns_are_logged_binary_numbers_one_hot_and_text_ids_dropped():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"amount": np.round(np.exp(rng.normal(3, 1, 300)), 2), "flag": (rng.random(300) < 0.05).astype(int),
                          "name": [f"customer {i}" for i in range(300)], "note": [f"w{i % 40}" for i in range(300)]})
    prepared = prepare(read_csv(_csv(frame)))
    used = {c["name"]: c["transform"] for c in prepared.columns_used}
    assert used == {"amount": "log, then robust scale (median / IQR)", "flag": "one-hot, 2 values"}
    reasons = {d["name"]: d["reason"] for d in prepared.dropped_columns}
    assert reasons["name"] == "ID-like: every row has a different value" and "40 different values" in reasons["note"]


def test_missing_inf_and_mostly_missing_columns():
    frame = _table(100, outlier=None).astype(object)
    frame.loc[[3, 8], "a"] = ""
    frame.loc[5, "b"] = "inf"
    frame["sparse"] = [1.5 if i % 3 == 0 else "" for i in range(100)]
    prepared = prepare(read_csv(_csv(frame)))
    assert {"name": "sparse", "reason": "mostly missing (66% of rows empty)"} in prepared.dropped_columns
    assert "a missing" in prepared.features and np.isfinite(prepared.matrix).all()
    assert any("'b': 1 infinite value treated as missing" in note for note in prepared.notes)
    assert any("'a': 2 missing values (2.0%) filled" in note for note in prepared.notes)


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"name": [f"n{i}" for i in range(30)], "city": [f"c{i}" for i in range(30)]}), "No usable column"),
    (pd.DataFrame({"x": [1] * 30, "y": ["a"] * 30}), "constant: every row is '1'"),
])
def test_tables_without_a_usable_column_are_refused(frame, message):
    with pytest.raises(ValueError, match=message):
        prepare(read_csv(_csv(frame)))


# ------------------------------------------------------------------ analysis
def test_scores_are_in_file_order_and_the_planted_row_tops_them():
    table = read_csv(_csv(_table()))
    analysis = tabular.analyse(table, seed=0)
    result = tabular.at_budget(analysis, 1.0, table=table)
    assert len(result["scores"]) == 200 and result["scores"][17] == max(result["scores"])
    top = result["top_rows"][0]
    assert top["row"] == 17 and top["values"]["b"] == -4.0 and 17 in result["flagged"]
    assert set(top["per_column_error"]) == {"a", "b", "c", "colour"}
    assert max(top["per_column_error"], key=top["per_column_error"].get) in {"a", "b", "c"}
    assert result["flagged_count"] == len(result["flagged"]) == 2  # 1 % of 200 rows
    assert result["threshold"] == sorted(result["scores"])[-2]
    assert analysis.fit["autoencoder"]["loss_last"] < 0.6 * analysis.fit["autoencoder"]["loss_first"]  # it learned
    assert "baselines" not in result and analysis.codes.shape == (200, 2)


def test_same_seed_same_scores_and_budget_changes_only_the_threshold():
    table = read_csv(_csv(_table(120)))
    first, second = tabular.analyse(table, seed=3), tabular.analyse(table, seed=3)
    assert np.array_equal(first.scores, second.scores)
    wide = tabular.at_budget(first, 10.0)
    assert wide["flagged_count"] == 12 and wide["threshold"] < tabular.at_budget(first, 1.0)["threshold"]
    with pytest.raises(ValueError, match="alert budget"):
        tabular.at_budget(first, 80)


def test_labelled_analysis_measures_held_out_rows_against_both_baselines():
    frame = _table(300, outlier=None)
    rng = np.random.default_rng(4)
    odd = rng.choice(300, 12, replace=False)
    frame.loc[odd, ["a", "b", "c"]] = rng.normal(0, 3, size=(12, 3)).round(4)
    frame["kind"] = np.where(np.isin(np.arange(300), odd), "fraud", "ok")
    table = read_csv(_csv(frame))
    analysis = tabular.analyse(table, "kind", "", seed=0)
    result = tabular.at_budget(analysis, 5.0, table=table)
    assert result["normal_value"] == "ok" and "kind" not in [c["name"] for c in result["columns_used"]]
    assert not analysis.train_rows[odd].any() and result["evaluated_anomalies"] == 6  # half of each class held out
    assert result["evaluated_rows"] == 150 and not (analysis.train_rows & analysis.eval_rows).any()
    assert set(result["baselines"]) == {"isolation_forest", "pca"}
    for entry in (result, *result["baselines"].values()):
        assert 0.0 <= entry["average_precision"] <= 1.0 and entry["auroc"] > 0.8
    assert result["baselines"]["pca"]["fit"]["explained_variance"] >= tabular.PCA_VARIANCE
    assert result["winner"] in {"autoencoder", "isolation_forest", "pca"}
    assert result["at_budget"]["flagged"] == 8  # 5 % of the 150 held-out rows
    sentence = tabular_render.winner_sentence(result)
    assert ("autoencoder ranks" in sentence) == (result["winner"] == "autoencoder")


def test_baselines_rank_an_outlier_high():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 8))
    test = np.vstack([train[:50], train[:1] + 6.0])
    forest, _ = tabular.isolation_forest_scores(train, test, seed=0)
    pca, fit = tabular.pca_scores(train, test)
    assert forest.argmax() == 50 and pca.argmax() == 50 and fit["components"] <= 4 and fit["explained_variance"] > 0.9


@pytest.mark.parametrize("label, normal, message", [
    ("nope", "", "There is no column 'nope' in the file; its columns are 'id', 'a'"),
    ("colour", "purple", "No row has 'purple' in the label column 'colour'"),
    ("site", "", "Every row of 'site' is 'Lyon'"),
])
def test_bad_label_columns(label, normal, message):
    with pytest.raises(ValueError, match=message):
        tabular.analyse(read_csv(_csv(_table(60))), label, normal)


# ------------------------------------------------------------------ the built-in example
def test_the_example_is_seeded_with_every_fraud_pattern_and_its_label_is_never_a_feature():
    first, again = card_transactions(400, seed=5, with_pattern=True), card_transactions(400, seed=5, with_pattern=True)
    assert first.equals(again) and not first.equals(card_transactions(400, seed=6, with_pattern=True))
    assert set(first["fraud_pattern"]) - {""} == {"card_testing", "amount_spike", "odd_hour", "far_away"}
    assert (first[LABEL_COLUMN] == (first["fraud_pattern"] != "")).all()
    testing = first[first["fraud_pattern"] == "card_testing"]
    assert (testing["amount"] <= 3).all() and (testing["txns_last_24h"] >= 8).all()
    prepared = prepare(read_csv(example_csv()), exclude=NEVER_A_FEATURE)
    assert LABEL_COLUMN not in prepared.columns
    assert {"name": LABEL_COLUMN, "reason": NEVER_A_FEATURE[LABEL_COLUMN]} in prepared.dropped_columns


def test_huge_values_and_missing_categories_stay_finite_and_json_safe():
    import json

    lines = ["a,b,c"] + [f"{i % 7},{(i * 3) % 11},{['x', 'y', '', 'z'][i % 4]}" for i in range(60)]
    lines[5], lines[6] = "1e308,2,x", "-1e308,2,"
    table = read_csv("\n".join(lines).encode())
    prepared = prepare(table)
    assert prepared.features == ("a", "b", "c=x", "c=y", "c=z", "c missing") and np.isfinite(prepared.matrix).all()
    result = tabular.at_budget(tabular.analyse(table), 5.0, table=table)
    assert result["top_rows"][0]["row"] in (4, 5)  # file rows 5 and 6 are data rows 4 and 5
    json.dumps(result, allow_nan=False)
