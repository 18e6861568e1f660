"""Autoencoder > Anomalies in a table through gradio_client: /ae_tabular on the built-in example, on an uploaded
CSV with a label column, and on bad files (each refused with a clear message; the server keeps serving)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError


def _labelled_csv(path) -> str:
    rng = np.random.default_rng(0)
    base = rng.normal(size=400)
    frame = pd.DataFrame({"order_id": np.arange(400), "x": base.round(4), "y": (2 * base + 0.1 * rng.normal(size=400)).round(4),
                          "shop": rng.choice(["north", "south"], 400), "status": "ok"})
    odd = rng.choice(400, 12, replace=False)
    frame.loc[odd, "y"] = (-2 * frame.loc[odd, "x"] + 3).round(4)
    frame.loc[odd, "status"] = "fraud"
    frame.to_csv(path, sep=";", index=False)
    return str(path)


def test_built_in_example_with_its_label(client):
    result = client.predict(None, "is_fraud", "", 1.0, 0, api_name="/ae_tabular")
    assert result["rows"] == 6000 and len(result["scores"]) == 6000
    assert result["flagged_count"] == len(result["flagged"]) and result["threshold"] > 0
    assert all(result["scores"][i] >= result["threshold"] for i in result["flagged"])
    assert {d["name"] for d in result["dropped_columns"]} >= {"transaction_id", "currency"}
    assert "is_fraud" not in {c["name"] for c in result["columns_used"]}
    assert set(result["baselines"]) == {"isolation_forest", "pca"}
    assert result["auroc"] > 0.9 and 0 < result["average_precision"] <= 1
    top = result["top_rows"][0]
    assert top["score"] == max(result["scores"]) and set(top["per_column_error"]) <= {c["name"] for c in result["columns_used"]}


def test_uploaded_csv_with_a_label_column(client, tmp_path):
    path = _labelled_csv(tmp_path / "orders.csv")
    result = client.predict(handle_file(path), "status", "ok", 5.0, 1, api_name="/ae_tabular")
    assert len(result["scores"]) == 400 and result["normal_value"] == "ok" and result["evaluated_anomalies"] == 6
    assert {"name": "order_id", "reason": "ID-like: every row has a different value"} in result["dropped_columns"]
    assert [c["name"] for c in result["columns_used"]] == ["x", "y", "shop"]
    assert result["auroc"] > 0.9 and result["baselines"]["isolation_forest"]["auroc"] > 0.5
    unlabelled = client.predict(handle_file(path), api_name="/ae_tabular")  # defaults: no label, 1 %
    assert "auroc" not in unlabelled and unlabelled["flagged_count"] == 4
    assert "status" in {c["name"] for c in unlabelled["columns_used"]}  # not named as the label: a feature


@pytest.mark.parametrize("content, label, message", [
    (b"\x00\x01\x02garbage\xff" * 200, "", "binary"),
    (b"a,a,b\n" + b"1,2,3\n" * 40, "", "Duplicate column names"),
    (b"a,b\n1,2\n", "", "1 data row"),
    (b"name,city\n" + b"".join(f"n{i},c{i}\n".encode() for i in range(40)), "", "No usable column"),
    (b"x;y\n" + b"".join(f"{i % 7};{i % 5}\n".encode() for i in range(40)), "kind", "There is no column 'kind'"),
])
def test_bad_files_get_clear_messages(client, server_alive, tmp_path, content, label, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(str(path)), label, api_name="/ae_tabular")
    server_alive()


def test_only_ae_tabular_is_public_in_this_view(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert "/ae_tabular" in endpoints
    assert not {"/ae_tabular_ui", "/ae_tabular_budget", "/uploaded"} & set(endpoints)
    parameters = [p["parameter_name"] for p in endpoints["/ae_tabular"]["parameters"]]
    assert parameters == ["csv_file", "label_column", "normal_value", "alert_percent", "seed"]
