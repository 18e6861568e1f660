"""Autoencoder > Anomalies in a table: upload a CSV (or use the built-in card transactions), train a small
autoencoder on it in seconds, and see which rows are odd and which columns made them odd; with a label column,
compare it honestly with Isolation Forest and PCA on held-out rows."""

from __future__ import annotations

import gradio as gr

from demos.autoencoder.shared import number, output_image
from demos.common.cards import card_formatter, result_card, show_card
from demos.common.contract import LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import QUICK_S, STANDARD_S
from engine.core.imports import IMPORT_LOCK
from engine.core.validation import check_seed

EXAMPLE_LABEL = "is_fraud"
HINT = "Analysing the built-in card transactions..."
EXPLAIN = (
    "**How it works.** Each numeric column is standardised robustly (median and IQR; skewed amounts and counts are "
    "log-transformed first), text columns with at most 20 values are one-hot encoded, ID-like and constant columns "
    "are dropped. A small autoencoder squeezes every row through a narrow bottleneck and rebuilds it; a row's score "
    "is its reconstruction error, column by column, in units of that column's typical error. Without a label column "
    "it trains on all rows (ignoring each batch's worst-rebuilt 10%, so it does not learn the anomalies too). With "
    "one, every model is fitted on the normal rows of a random half and measured on the other half. **The built-in "
    "example** is generated (no real card-fraud data ships offline): per-card habits, and four fraud patterns: card "
    "testing (bursts of tiny online amounts), amount spikes against the card's own median, odd hours, far-away "
    "merchants. Its is_fraud column is for measuring only."
)


def _result_card(result: dict) -> object:
    with IMPORT_LOCK:
        from engine.autoencoder import tabular_render
    return tabular_render.summary(result)


ae_tabular_card = card_formatter(_result_card, HINT, "ae_tabular_card")


def _table(csv_file):
    """The uploaded table, or the built-in example; and the columns that must never be features."""
    with IMPORT_LOCK:
        from engine.autoencoder import tabular_data, tabular_example
    source = csv_file.get("path") if isinstance(csv_file, dict) else csv_file
    if source:
        return tabular_data.read_csv(source), {}
    return tabular_data.read_csv(tabular_example.example_csv()), tabular_example.NEVER_A_FEATURE


def _analyse(csv_file, label_column, normal_value, seed, on_progress=None):
    seed = check_seed(0 if seed in (None, "") else seed)
    label_column = "" if label_column is None else str(label_column)
    normal_value = "" if normal_value is None else str(normal_value)
    with IMPORT_LOCK:
        from engine.autoencoder import tabular
    table, exclude = _table(csv_file)
    return tabular.analyse(table, label_column, normal_value, seed, on_progress=on_progress, exclude=exclude), table


@user_errors
def ae_tabular(csv_file=None, label_column="", normal_value="", alert_percent=1.0, seed=0):
    """Find the odd rows of a CSV table with a small autoencoder trained on it (empty file: the built-in card
    transactions, whose label column is is_fraud).

    label_column (optional) names a column of normal / anomaly labels; normal_value is its normal value (empty:
    the most common one). With a label, every model is fitted on the normal rows of a random half and measured on
    the other half. alert_percent (0.01 to 50) flags that share of the rows; seed (a whole number) sets the split
    and the training. Returns JSON: scores (one per row, file order, higher = odder), threshold, flagged (row
    indices from 0), columns_used, dropped_columns with reasons, top_rows with per_column_error and, with a label,
    auroc, average_precision and baselines (isolation_forest, pca) on the same held-out rows.
    """
    with IMPORT_LOCK:
        from engine.autoencoder import tabular
    alert_percent = tabular.check_alert_percent(alert_percent)
    analysis, table = _analyse(csv_file, label_column, normal_value, seed)
    return tabular.at_budget(analysis, alert_percent, table=table)


def _shown(view: dict) -> tuple:
    result = dict(view["result"])
    scores = result.pop("scores")
    result["scores_first_20"] = scores[:20]  # the full list is in the API (/ae_tabular); a browser JSON tree of
    result["flagged"] = result["flagged"][:200]  # 100,000 numbers would freeze the page
    curves = view["curves"]
    return (result, view["histogram"], gr.update(value=view["rows"], headers=view["headers"]),
            gr.update(value=curves, visible=curves is not None), view["winner"], view["scatter"], view["preparation"])


@user_errors
def ae_tabular_ui(csv_file=None, label_column="", normal_value="", alert_percent=1.0, seed=0,
                  progress=gr.Progress()):
    """The view: analyse, then draw everything; the analysis is kept in the page's state for the slider."""
    with IMPORT_LOCK:
        from engine.autoencoder import tabular, tabular_render
        from engine.core.registry import load_once
    alert_percent = tabular.check_alert_percent(alert_percent)

    def run(on_progress=None):
        analysis, table = _analyse(csv_file, label_column, normal_value, seed, on_progress=on_progress)
        return tabular_render.view(analysis, alert_percent, table), (analysis, table)

    if _is_opening(csv_file, label_column, normal_value, alert_percent, seed):
        # The view's opening (the built-in example at its defaults): computed once per process, ~1-2 s of CPU that
        # every new visitor paid before its first result. The analysis is read-only afterwards (the slider redraws).
        view, state = load_once("ae-table-opening", run)
        return (*_shown(view), state)
    progress(0.0, desc="reading the table")
    view, state = run(lambda fraction, message: progress(fraction, desc=message))
    return (*_shown(view), state)


def _is_opening(csv_file, label_column, normal_value, alert_percent, seed) -> bool:
    """The view's own defaults (the built-in example, its label column, 1 % alert budget, seed 0)?"""
    return (not csv_file and str(label_column or "") == EXAMPLE_LABEL and not str(normal_value or "")
            and float(alert_percent) == 1.0 and str(seed) in ("0", "0.0"))


@user_errors
def ae_tabular_budget(state, alert_percent=1.0):
    """A new alert budget on the kept analysis: no retraining."""
    if not state:
        raise ValueError("Press Find anomalies first.")
    with IMPORT_LOCK:
        from engine.autoencoder import tabular_render
    analysis, table = state
    return _shown(tabular_render.view(analysis, number(alert_percent, "alert budget", 1.0), table))


def uploaded(csv_file):
    """A new file: its label column is unknown (the example's is_fraud would not be there)."""
    return "" if csv_file else EXAMPLE_LABEL, ""


def _layout():
    with gr.Tab("Anomalies in a table", id="ae-table", elem_id="ae-table-tab") as page:
        with gr.Row(elem_classes=["nd-inputs"], equal_height=True):
            csv_file = gr.File(label="CSV file (empty: the example)", file_types=[".csv", ".tsv", ".txt"],
                               elem_id="ae-table-file", height=90, scale=3, min_width=220)
            label = gr.Textbox(EXAMPLE_LABEL, label="Label column", max_length=200, elem_id="ae-table-label",
                               scale=2, min_width=140)
            normal = gr.Textbox("", label="Normal value", placeholder="most common", max_length=200,
                                elem_id="ae-table-normal", scale=2, min_width=140)
            alert = gr.Slider(0.1, 20, value=1.0, step=0.1, label="Alert: flag top k %", elem_id="ae-table-alert",
                              scale=3, min_width=200)
            seed = gr.Number(0, precision=0, minimum=0, maximum=2**32 - 1, label="Seed", elem_id="ae-table-seed",
                             scale=1, min_width=90)
            button = gr.Button("Find anomalies", variant="primary", elem_id="ae-table-btn", scale=2, min_width=140)
        with gr.Row():  # the card beside the histogram: both in view at 1280x720 in presenter mode
            with gr.Column(scale=3):
                histogram = gr.Image(label="Score distribution and threshold", show_label=False, elem_id="ae-table-hist",
                                     format="png", buttons=[], interactive=False, height=340)
            with gr.Column(scale=2):
                card = result_card("ae-table-card", HINT)
        gr.Markdown("**Top flagged rows**: which columns made each row suspicious", elem_classes=["nd-caption"])
        rows = gr.Dataframe(elem_id="ae-table-rows", interactive=False, wrap=True, max_height=420, show_label=False)
        with gr.Row():
            with gr.Column(scale=2):
                scatter = output_image("The rows in 2-D: the bottleneck's two main directions", "ae-table-map", height=380)
            with gr.Column(scale=3):
                winner = gr.Markdown(elem_id="ae-table-winner")
                curves = gr.Image(label="Held-out rows: autoencoder vs Isolation Forest vs PCA", show_label=False,
                                  elem_id="ae-table-curves", format="png", buttons=[], interactive=False, visible=False)
        preparation = gr.Markdown(elem_id="ae-table-preparation")
        gr.Markdown(EXPLAIN, elem_classes=["nd-explain"])
        with gr.Accordion("Details (JSON)", open=False, elem_id="ae-table-details", elem_classes=["nd-dev"]):
            info = gr.JSON(label="Result (the API /ae_tabular also returns every score)", elem_id="ae-table-info")
        with gr.Row(visible=False):  # /ae_tabular's own inputs: their values are the API's defaults
            api_inputs = (gr.File(label="csv_file"), gr.Textbox("", label="label_column"),
                          gr.Textbox("", label="normal_value"), gr.Number(1.0, label="alert_percent"),
                          gr.Number(0, precision=0, label="seed"))
            api_out = gr.JSON()  # every score: not shown on the page
            api_button = gr.Button()
        state = gr.State()
    return dict(page=page, csv_file=csv_file, label=label, normal=normal, alert=alert, seed=seed, button=button,
                card=card, histogram=histogram, scatter=scatter, rows=rows, winner=winner, curves=curves,
                preparation=preparation, info=info, api_inputs=api_inputs, api_out=api_out, api_button=api_button, state=state)


def _wire(w: dict) -> ViewHandles:
    inputs = (w["csv_file"], w["label"], w["normal"], w["alert"], w["seed"])
    shown = (w["info"], w["histogram"], w["rows"], w["curves"], w["winner"], w["scatter"], w["preparation"])
    # Raw values (preprocess=False): the engine's reader says what is wrong with a file.
    w["api_button"].click(ae_tabular, w["api_inputs"], w["api_out"], api_name="ae_tabular", preprocess=False, time_limit=STANDARD_S)
    w["button"].click(ae_tabular_ui, inputs, (*shown, w["state"]), api_visibility="private", preprocess=False,
                      time_limit=STANDARD_S)
    w["alert"].release(ae_tabular_budget, (w["state"], w["alert"]), shown, api_visibility="private",
                       trigger_mode="always_last", time_limit=QUICK_S)
    gr.on([w["csv_file"].upload, w["csv_file"].clear], uploaded, w["csv_file"], (w["label"], w["normal"]),
          api_visibility="private", queue=False, preprocess=False)
    show_card(w["info"], w["card"], ae_tabular_card)
    on_open = OnOpen(ae_tabular_ui, inputs, (*shown, w["state"]), preprocess=False, time_limit=STANDARD_S)
    return ViewHandles(
        tab="autoencoder", sub="table", page=w["page"], result=w["histogram"], on_open=(on_open,),
        link=(LinkParam("alert", w["alert"]), LinkParam("seed", w["seed"]), LinkParam("label", w["label"])),
    )


def build(demo: gr.Blocks) -> ViewHandles:
    """The Anomalies in a table view (inside the Autoencoder tab's ``gr.Tabs``)."""
    return _wire(_layout())
