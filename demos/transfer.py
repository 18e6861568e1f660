"""Transfer-learning tab: bring data, pick a pre-trained backbone, compare strategies, use the model.

Thin handlers only: the work lives in ``engine.transfer_*``. Each browser or API session
has its own data and models (keyed by ``request.session_hash``), freed on ``demo.unload``.
"""

from __future__ import annotations


import gradio as gr

from demos import transfer_imagenet
from demos.common.limits import LONG_S, PUSH_S, STANDARD_S, TRAINING_S
from demos.common.legacy import engine_module
from demos.common.sessions import session_id
from demos.common.errors import user_errors
from engine.transfer.data import BUILTIN_DATASETS
from engine.transfer.options import DEFAULT_IMAGE_BACKBONE, FINETUNED, STRATEGIES, STRATEGY_LABELS, image_backbone_choices

# Engine modules that import torch load on first use, so building the tab (and app start-up) stays fast.
transfer_attention = engine_module("transfer.attention")
transfer_backbones = engine_module("transfer.backbones")
transfer_checks = engine_module("transfer.checks")
transfer_data = engine_module("transfer.data")
transfer_export = engine_module("transfer.export")
transfer_predict = engine_module("transfer.predict")
transfer_project = engine_module("transfer.project")
transfer_render = engine_module("transfer.render")
transfer_session = engine_module("transfer.session")
transfer_train = engine_module("transfer.train")

MAX_CLASS_SLOTS = 6  # Teachable-Machine style class builder
TRAIN_CONCURRENCY = 2  # training jobs running at once across all users (one per core)

SOURCES = ["Built-in dataset", "Upload a file (.zip of class folders, or .csv)", "Build classes (upload / webcam)"]
INTRO = """
## Transfer learning: why pre-training wins
Bring a small dataset, start from a **pre-trained** backbone, and compare four strategies on the
**same split**: feature extraction (frozen backbone + linear head, features cached so the head
retrains in seconds), fine-tuning the last N blocks, full fine-tuning, and **from scratch** (same
architecture, random weights) — the baseline that shows what pre-training buys.
Text uses the real pre-trained **all-MiniLM-L6-v2**; images use **EfficientNet-Lite0**, pre-trained on
ImageNet (or **NeuroDeck's own CNN**, pre-trained on photos that ship with scikit-image/scikit-learn, to compare
pre-trainings; or a Hugging Face Hub model when online). Try the built-in *Objects, few-shot* data with
*From scratch* ticked: 8 pictures a class are not enough to learn from zero.
"""


def _strategy_choices():
    return [(STRATEGY_LABELS[s], s) for s in STRATEGIES]


def _config(unfreeze, epochs, lr, batch, wd, dropout, augment, patience, val_fraction, seed, strategy="feature_extraction"):
    """A checked TrainConfig: every value is range-checked (engine.transfer.checks) before anything is trained."""
    return transfer_train.TrainConfig(**transfer_checks.config_values(
        strategy=strategy, unfreeze_blocks=unfreeze, epochs=epochs, learning_rate=lr, batch_size=batch, weight_decay=wd,
        dropout=dropout, augment=augment, patience=patience, val_fraction=val_fraction, seed=seed,
    ))


def _results_rows(session) -> list[list]:
    rows = []
    for strategy, result in session.results.items():
        if not transfer_render.is_trained(result):  # stopped before epoch 1: random weights, not a result
            untrained = transfer_render.NOT_TRAINED
            rows.append([strategy, untrained, untrained, untrained, untrained, round(result.train_seconds, 2),
                         round(result.feature_seconds, 2), 0, result.stop_reason])
            continue
        rows.append([strategy, round(result.metrics.accuracy, 4), round(result.metrics.macro_f1, 4),
                     round(result.train_accuracy, 4), round(result.gap, 4), round(result.train_seconds, 2),
                     round(result.feature_seconds, 2), len(result.history), result.stop_reason])
    return rows


RESULT_HEADERS = ["strategy", "val accuracy", "macro-F1", "train accuracy", "train−val gap", "train s",
                  "feature extraction s", "epochs", "ended by"]


def _detail_outputs(session, strategy):
    """Confusion plot, per-class table, image gallery, text mistakes for one trained strategy."""
    result = session.result(strategy or None)
    dataset = session.dataset
    per_class = [[label, round(float(p), 4), round(float(r), 4), round(float(f), 4), int(s)] for label, p, r, f, s in zip(
        dataset.class_names, result.metrics.precision, result.metrics.recall, result.metrics.f1, result.metrics.support)]
    wrong = transfer_render.misclassified(result, dataset)
    images = [(item, caption) for item, caption in wrong if dataset.modality == "image"]
    texts = [[item, caption] for item, caption in wrong if dataset.modality == "text"]
    figure = transfer_render.confusion_figure(result.metrics.confusion, dataset.class_names, f"Validation confusion: {result.strategy}")
    return figure, per_class, images, texts


# ---------------------------------------------------------------- handlers (one engine call each)
def show_class_rows(count):
    return [gr.update(visible=i < int(count)) for i in range(MAX_CLASS_SLOTS)]


@user_errors
def add_snapshot(image_path, slot, shots):
    if not image_path:
        raise ValueError("Take a webcam snapshot first, then press Add snapshot.")
    shots = {int(k): list(v) for k, v in (shots or {}).items()}
    shots.setdefault(int(slot), []).append(image_path)
    summary = ", ".join(f"class {k + 1}: {len(v)}" for k, v in sorted(shots.items()))
    return shots, f"Webcam snapshots: {summary}", None


@user_errors
def load_data(source_choice, builtin_key, upload_file, count, shots, name_1, name_2, name_3, name_4, name_5, name_6,
              files_1, files_2, files_3, files_4, files_5, files_6, request: gr.Request):
    # Explicit parameters, not *args: gradio injects gr.Request only into named parameters.
    if source_choice == SOURCES[0]:
        dataset = transfer_data.load_builtin(builtin_key)
    elif source_choice == SOURCES[1]:
        if not upload_file:
            raise ValueError("Upload a .zip of class folders or a .csv with text,label columns first.")
        dataset = transfer_data.load_upload(upload_file)
    else:
        dataset = transfer_data.load_image_classes(transfer_data.classes_from_slots(
            (name_1, name_2, name_3, name_4, name_5, name_6), (files_1, files_2, files_3, files_4, files_5, files_6),
            shots, count))
    session = transfer_session.get_session(session_id(request))
    transfer_session.set_dataset(session, dataset)
    kind = "text (backbone: all-MiniLM-L6-v2)" if dataset.modality == "text" else "images"
    return f"**{dataset.name}** — {kind}\n\n" + dataset.report.to_markdown()


def _only_status(text: str) -> tuple:
    return (text,) + (gr.skip(),) * 9


@user_errors
def train(strategy_list, backbone_key, unfreeze_blocks, n_epochs, learning_rate, batch_size, weight_decay, dropout_p,
          augment_images, patience_epochs, val_share, seed_value, kfold_k, request: gr.Request,
          progress=gr.Progress()):
    config = _config(unfreeze_blocks, n_epochs, learning_rate, batch_size, weight_decay, dropout_p, augment_images,
                     patience_epochs, val_share, seed_value)  # checked before the session is touched
    kfold_k = transfer_checks.check_kfold(kfold_k)
    ordered = transfer_checks.check_strategies(strategy_list)
    session = transfer_session.get_session(session_id(request))
    if session.dataset is None:
        transfer_session.set_dataset(session, transfer_data.load_builtin("text-topics"))
    key = backbone_key if session.dataset.modality == "image" else ""
    histories: dict = {}
    yield _only_status("Loading the backbone and preparing inputs…")
    for update in transfer_session.run_training(session, ordered, config, key, kfold_k, total_seconds=TRAINING_S - 60):
        if update.progress is not None:
            p = update.progress
            histories[p.strategy] = p.history
            fraction = (update.strategy_index + p.step / max(p.total_steps, 1)) / update.strategy_count
            progress(fraction, desc=f"{p.strategy}: epoch {p.epoch}/{p.epochs}, ETA {p.eta:.0f}s")
            text = (f"**{p.strategy}** ({update.strategy_index + 1}/{update.strategy_count}) — epoch {p.epoch}/{p.epochs}, "
                    f"step {p.step}/{p.total_steps}, {p.elapsed:.1f}s elapsed, ETA {p.eta:.0f}s "
                    f"{update.note}")
            yield (text, transfer_render.curves_figure(histories)) + (gr.skip(),) * 8
        elif update.note:
            yield _only_status(update.note + "…")
    best = transfer_render.best_trained(session.results)  # a strategy stopped before epoch 1 is never "best"
    if best is None:
        raise ValueError("Training was stopped before any model finished an epoch; press Train again.")
    figure, per_class_rows, images, texts = _detail_outputs(session, best.strategy)
    kfold_text = session.kfold.describe() if (kfold_k and session.kfold) else ""
    stopped = any(r.stop_reason != "completed" for r in session.results.values())
    text = (f"Done. Best: **{best.strategy}** — validation accuracy {best.metrics.accuracy:.1%}, macro-F1 "
            f"{best.metrics.macro_f1:.3f}." + (" Some runs ended early; the best epoch was kept." if stopped else ""))
    histories = {s: r.history for s, r in session.results.items()}
    yield (text, transfer_render.curves_figure(histories), transfer_render.comparison_figure(session.results), figure,
           _results_rows(session), per_class_rows, images, texts,
           gr.update(choices=list(session.results), value=best.strategy), kfold_text)


def stop(request: gr.Request):
    transfer_session.get_session(session_id(request)).stop.set()
    return "Stopping… the best model so far is kept."


@user_errors
def inspect(strategy, request: gr.Request):
    session = transfer_session.get_session(session_id(request))
    if not strategy or not session.results:
        return gr.skip(), gr.skip(), gr.skip(), gr.skip()
    return _detail_outputs(session, strategy)


@user_errors
def predict_ui(strategy, text, image, k, request: gr.Request):
    session = transfer_session.get_session(session_id(request))
    result = session.result(strategy or None)
    value = text if session.dataset.modality == "text" else image
    prediction = transfer_predict.predict(result.model, session.backbone(), value, transfer_checks.check_top_k(k))
    return dict(zip(prediction.labels, prediction.probabilities))


@user_errors
def compare_attention(strategy, text, request: gr.Request):
    session = transfer_session.get_session(session_id(request))
    result = session.result(strategy or None)
    if session.dataset.modality != "text":
        raise ValueError("Attention before/after needs a MiniLM text model: load a text dataset and train.")
    shift = transfer_attention.attention_shift(result.model, session.backbone().tokenizer, text)
    return transfer_render.attention_figure(shift)


def open_in_attention(strategy, text):
    """Switch to Attention › Text with this session's fine-tuned model and the sentence filled in."""
    model_id = f"{FINETUNED}:{strategy}" if strategy else FINETUNED
    return gr.Tabs(selected="attention"), gr.Tabs(selected="attention-text"), text, "", gr.Dropdown(value=model_id)


@user_errors
def export(strategy, request: gr.Request):
    session = transfer_session.get_session(session_id(request))
    result = session.result(strategy or None)
    backbone_info = session.backbone()
    # Written once per trained model: every export used to add a new ~79 MB copy to gradio's cache.
    return str(transfer_session.export_once(session, result, lambda: transfer_export.export_zip(
        result, session.dataset, session.work_dir, backbone_info.tokenizer,
        name=f"neurodeck-{session.dataset.modality}-{result.strategy}")))


@user_errors
def export_project(strategy="", request: gr.Request = None):
    return str(transfer_project.export_session_project(transfer_session.get_session(session_id(request)), strategy))


@user_errors
def push(strategy, repo, token, request: gr.Request):
    session = transfer_session.get_session(session_id(request))
    result = session.result(strategy or None)
    archive = transfer_export.export_zip(result, session.dataset, session.work_dir, session.backbone().tokenizer, name="hub-export")
    url = transfer_export.push_to_hub(archive.with_suffix(""), repo, token)
    return f"Pushed to [{url}]({url})."


# ------------------------------------------------------------ plain API endpoints
@user_errors
def api_train(data_file, builtin_key, strategy, backbone_key, n_epochs, learning_rate, batch_size, unfreeze_blocks,
              k, seed_value, request: gr.Request):
    """``/transfer_train``: train one strategy and return its metrics as JSON (raw values: preprocess=False)."""
    # Everything is checked before the session is touched: a rejected call keeps its data and models.
    config = transfer_train.TrainConfig(**transfer_checks.config_values(
        strategy=strategy or "feature_extraction", epochs=n_epochs, learning_rate=learning_rate,
        batch_size=batch_size, unfreeze_blocks=unfreeze_blocks, seed=seed_value,
    ))
    kfold_k = transfer_checks.check_kfold(k)
    data_file = data_file.get("path") if isinstance(data_file, dict) else data_file
    if data_file:
        dataset = transfer_data.load_upload(data_file)
    else:
        dataset = transfer_data.load_builtin(str(builtin_key or "").strip() or "text-topics")
    key = str(backbone_key or "").strip() if dataset.modality == "image" else ""
    transfer_backbones.load_backbone(key, dataset.modality)  # an unknown or unreachable backbone fails here
    return transfer_session.train_for_api(transfer_session.get_session(session_id(request)), dataset, config, key,
                                          kfold_k, total_seconds=TRAINING_S - 60)


@user_errors
def api_predict(text, image=None, k=3, request: gr.Request = None):
    """``/transfer_predict``: top-k of this session's best model for a text or an image."""
    session = transfer_session.get_session(session_id(request))
    result = session.result()
    value = text if session.dataset.modality == "text" else image
    prediction = transfer_predict.predict(result.model, session.backbone(), value, transfer_checks.check_top_k(k))
    return {**prediction.to_dict(), "strategy": result.strategy, "labels": list(result.model.config.labels)}


def cleanup(request: gr.Request):
    session_hash = getattr(request, "session_hash", None)
    if session_hash:
        transfer_session.drop_session(session_hash)


# ---------------------------------------------------------------- layout and wiring
def build_tab(demo: gr.Blocks, attention_link=None, app_tabs: gr.Tabs | None = None) -> None:
    """Build the tab. ``attention_link`` (from ``demos.attention.build_tab``) and ``app_tabs`` (the app's
    top-level tabs) enable the 'Open in the Attention tab' button."""
    ui = _layout(demo, show_open_attention=attention_link is not None)
    _wire(demo, ui, attention_link, app_tabs)


def _layout(demo: gr.Blocks, show_open_attention: bool) -> dict:
    """Lay out the widgets; returns them by name for :func:`_wire`."""
    with gr.Tab("Transfer learning", id="transfer", elem_id="transfer-tab"):
        gr.Markdown(INTRO)
        with gr.Tabs(elem_id="transfer-subtabs"):
            with gr.Tab("Meet the pre-trained model", id="transfer-imagenet", elem_id="tab-transfer-imagenet"):
                transfer_imagenet.build(demo)
        webcam_shots = gr.State({})  # class slot index -> list of snapshot file paths (this browser only)
        with gr.Row():
            with gr.Column(scale=1):
                gr.Markdown("### 1. Bring data")
                source = gr.Radio(SOURCES, value=SOURCES[0], label="Data source", elem_id="transfer-source")
                builtin = gr.Dropdown([(text, key) for key, text in BUILTIN_DATASETS.items()], value="text-topics",
                                      label="Built-in dataset", elem_id="transfer-builtin")
                upload = gr.File(label="Data file: .zip of class folders (images) or .csv with text,label columns",
                                 file_types=[".zip", ".csv", ".tsv", ".txt"], elem_id="transfer-upload")
                with gr.Accordion("Build classes (Teachable-Machine style)", open=False, elem_id="transfer-classes"):
                    class_count = gr.Slider(2, MAX_CLASS_SLOTS, value=2, step=1, label="Number of classes",
                                            elem_id="transfer-class-count")
                    class_names, class_files, class_rows = [], [], []
                    for slot in range(MAX_CLASS_SLOTS):
                        with gr.Row(visible=slot < 2) as row:
                            class_names.append(gr.Textbox(value=f"class {slot + 1}", label=f"Class {slot + 1} name",
                                                          scale=1, elem_id=f"transfer-class-name-{slot}"))
                            class_files.append(gr.File(file_count="multiple", file_types=["image"], label="Images",
                                                       scale=2, elem_id=f"transfer-class-files-{slot}"))
                        class_rows.append(row)
                    with gr.Row():
                        webcam = gr.Image(sources=["webcam"], type="filepath", label="Webcam snapshot",
                                          elem_id="transfer-webcam")
                        with gr.Column():
                            webcam_slot = gr.Dropdown([(f"Class {i + 1}", i) for i in range(MAX_CLASS_SLOTS)], value=0,
                                                      label="Add snapshot to", elem_id="transfer-webcam-slot")
                            webcam_add = gr.Button("Add snapshot", elem_id="transfer-webcam-add")
                            webcam_info = gr.Markdown("No webcam snapshots yet.")
                load_btn = gr.Button("Load data", elem_id="transfer-load-btn")
                data_report = gr.Markdown(elem_id="transfer-data-report")
            with gr.Column(scale=1):
                gr.Markdown("### 2. Backbone and strategies")
                backbone = gr.Dropdown(image_backbone_choices(), value=DEFAULT_IMAGE_BACKBONE, allow_custom_value=True,
                                       label="Image backbone (text always uses the embedded MiniLM)",
                                       info="Hub ids need internet; offline they fail with a clear message.",
                                       elem_id="transfer-backbone")
                # Default = the seconds-fast strategy; from scratch on MiniLM-sized BERT takes minutes on 2 cores.
                strategies = gr.CheckboxGroup(_strategy_choices(), value=["feature_extraction"],
                                              label="Strategies (trained one after another on the same split; "
                                                    "tick 'From scratch' to see what pre-training buys)",
                                              elem_id="transfer-strategies")
                unfreeze = gr.Slider(1, 7, value=2, step=1, label="N: blocks to fine-tune (for 'last N')",
                                     info="EfficientNet-Lite0 counts its 7 stages, NeuroDeck CNN its 5 blocks. "
                                          "BatchNorm statistics stay frozen (eval mode) in feature extraction and "
                                          "last-N fine-tuning; only full fine-tuning and from scratch update them.",
                                     elem_id="transfer-unfreeze")
                with gr.Accordion("Hyperparameters", open=False):
                    epochs = gr.Slider(1, 60, value=15, step=1, label="Epochs", elem_id="transfer-epochs")
                    lr = gr.Number(value=0, label="Learning rate (0 = strategy default: head 1e-2, last-N 1e-3, full 3e-4, scratch 1e-3)",
                                   elem_id="transfer-lr")
                    batch = gr.Slider(4, 128, value=16, step=4, label="Batch size", elem_id="transfer-batch")
                    wd = gr.Number(value=1e-4, label="Weight decay", elem_id="transfer-wd")
                    dropout = gr.Slider(0, 0.8, value=0.1, step=0.05, label="Dropout (before the head)", elem_id="transfer-dropout")
                    augment = gr.Checkbox(value=True, label="Augment images (flips, small rotations/shifts)", elem_id="transfer-augment")
                    patience = gr.Slider(0, 20, value=4, step=1, label="Early stopping patience (epochs; 0 = off)",
                                         elem_id="transfer-patience")
                    val_fraction = gr.Slider(0.1, 0.5, value=0.25, step=0.05, label="Validation fraction", elem_id="transfer-val")
                    kfold = gr.Slider(0, 10, value=0, step=1, label="k-fold cross-validation of the first strategy (0 = off)",
                                      elem_id="transfer-kfold")
                    seed = gr.Number(value=0, precision=0, label="Seed", elem_id="transfer-seed")
                with gr.Row():
                    train_btn = gr.Button("Train", variant="primary", elem_id="transfer-train-btn")
                    stop_btn = gr.Button("Stop (keep best model)", variant="stop", elem_id="transfer-stop-btn")
                status = gr.Markdown("Load data, then press Train.", elem_id="transfer-status")
        gr.Markdown("### 3. Evaluate")
        curves = gr.Plot(label="Live curves", show_label=False, elem_id="transfer-curves")
        with gr.Row():
            comparison = gr.Plot(label="Strategy comparison", show_label=False, elem_id="transfer-comparison")
            confusion = gr.Plot(label="Confusion matrix", show_label=False, elem_id="transfer-confusion")
        results_table = gr.Dataframe(headers=RESULT_HEADERS, label="Strategies (validation split)", interactive=False,
                                     elem_id="transfer-results")
        kfold_info = gr.Markdown(elem_id="transfer-kfold-info")
        # Custom values allowed: after API training the list is empty in the page, and the handlers check the name.
        model_pick = gr.Dropdown([], label="Model to inspect / use", elem_id="transfer-model-pick", allow_custom_value=True)
        per_class = gr.Dataframe(headers=["class", "precision", "recall", "F1", "support"], label="Per-class metrics",
                                 interactive=False, elem_id="transfer-per-class")
        gallery = gr.Gallery(label="Misclassified validation images (true | predicted)", columns=6, height=260,
                             elem_id="transfer-misclassified")
        wrong_texts = gr.Dataframe(headers=["text", "true | predicted"], label="Misclassified validation texts",
                                   interactive=False, elem_id="transfer-misclassified-text")
        gr.Markdown("### 4. Use the model")
        with gr.Row():
            with gr.Column():
                predict_text = gr.Textbox(label="Text to classify", value="The goalkeeper saved a penalty in extra time.",
                                          elem_id="transfer-predict-text")
                predict_image = gr.Image(type="filepath", sources=["upload", "webcam", "clipboard"], label="Image to classify",
                                         elem_id="transfer-predict-image")
                top_k = gr.Slider(1, 10, value=3, step=1, label="Top-k", elem_id="transfer-topk")
                predict_btn = gr.Button("Predict", elem_id="transfer-predict-btn")
            prediction = gr.Label(label="Prediction", elem_id="transfer-prediction")
        with gr.Accordion("Attention after fine-tuning (MiniLM)", open=False, elem_id="transfer-attention-box"):
            gr.Markdown("The same sentence's attention in the base MiniLM vs your fine-tuned one (use a fine-tuned "
                        "strategy). **Open in the Attention tab** shows every layer and head of your fine-tuned model "
                        "there; switch its Model between *before* and *after* to compare.")
            with gr.Row():
                attention_btn = gr.Button("Compare attention on the text above", elem_id="transfer-attention-btn")
                open_attention_btn = gr.Button("Open in the Attention tab (after fine-tuning) ↗",
                                               elem_id="transfer-open-attention", visible=show_open_attention)
            attention_plot = gr.Plot(elem_id="transfer-attention-plot")
        with gr.Accordion("Export / push to the Hub", open=False, elem_id="transfer-export-box"):
            export_btn = gr.Button("Export zip (safetensors + config + labels + model card)", elem_id="transfer-export-btn")
            export_file = gr.File(label="Exported model", elem_id="transfer-export-file")
            project_btn = gr.Button("Export as a training project (data + exact settings + accelerate command)",
                                    elem_id="transfer-project-btn")
            project_file = gr.File(label="Training project: run it on a bigger machine with accelerate",
                                   elem_id="transfer-project-file")
            hub_repo = gr.Textbox(label="Hub repo (user/name)", elem_id="transfer-hub-repo")
            hub_token = gr.Textbox(label="Hub write token", type="password", elem_id="transfer-hub-token")
            push_btn = gr.Button("Push to the Hub", elem_id="transfer-push-btn")
            push_info = gr.Markdown(elem_id="transfer-push-info")

        # Hidden components for the plain API endpoints (/transfer_train, /transfer_predict).
        with gr.Row(visible=False):
            api_file = gr.File(label="data_file")
            api_builtin = gr.Textbox(value="", label="builtin")
            api_strategy = gr.Textbox(value="feature_extraction", label="strategy")
            api_backbone = gr.Textbox(value="", label="backbone")
            api_epochs = gr.Number(value=15, precision=0, label="epochs")
            api_lr = gr.Number(value=0, label="learning_rate")
            api_batch = gr.Number(value=16, precision=0, label="batch_size")
            api_unfreeze = gr.Number(value=2, precision=0, label="unfreeze_blocks")
            api_kfold = gr.Number(value=0, precision=0, label="kfold")
            api_seed = gr.Number(value=0, precision=0, label="seed")
            api_text = gr.Textbox(value="", label="text")
            api_image = gr.Image(type="filepath", label="image")
            api_topk = gr.Number(value=3, precision=0, label="top_k")
            api_out = gr.JSON()
            api_train_btn = gr.Button()
            api_predict_btn = gr.Button()

    return dict(locals())


def _wire(demo: gr.Blocks, ui: dict, attention_link, app_tabs) -> None:
    """Connect events to the module-level handlers; every endpoint keeps its api_name."""
    u = ui.__getitem__
    u("class_count").change(show_class_rows, u("class_count"), u("class_rows"), api_name="transfer_class_rows",
                            show_progress="hidden")
    u("webcam_add").click(add_snapshot, [u("webcam"), u("webcam_slot"), u("webcam_shots")],
                          [u("webcam_shots"), u("webcam_info"), u("webcam")], api_name="transfer_add_snapshot")
    u("load_btn").click(load_data, [u("source"), u("builtin"), u("upload"), u("class_count"), u("webcam_shots"),
                                    *u("class_names"), *u("class_files")],
                        u("data_report"), api_name="transfer_load_data", concurrency_limit=4, time_limit=LONG_S)
    u("train_btn").click(
        train, [u(name) for name in ("strategies", "backbone", "unfreeze", "epochs", "lr", "batch", "wd", "dropout",
                                     "augment", "patience", "val_fraction", "seed", "kfold")],
        [u(name) for name in ("status", "curves", "comparison", "confusion", "results_table", "per_class", "gallery",
                              "wrong_texts", "model_pick", "kfold_info")],
        api_name="transfer_train_live", concurrency_limit=TRAIN_CONCURRENCY, concurrency_id="transfer-train",
        time_limit=TRAINING_S, preprocess=False,  # raw values: engine.transfer.checks says what is wrong
    )
    # Not cancels=[train_event]: cancelling would discard the run; the flag lets it finish cleanly.
    u("stop_btn").click(stop, None, u("status"), api_name="transfer_stop", queue=False)
    u("model_pick").change(inspect, u("model_pick"), [u("confusion"), u("per_class"), u("gallery"), u("wrong_texts")],
                           api_name="transfer_inspect")
    u("predict_btn").click(predict_ui, [u("model_pick"), u("predict_text"), u("predict_image"), u("top_k")],
                           u("prediction"), api_name="transfer_predict_ui", time_limit=STANDARD_S,
                           preprocess=False)  # load_image checks files
    u("attention_btn").click(compare_attention, [u("model_pick"), u("predict_text")], u("attention_plot"),
                             api_name="transfer_attention", time_limit=STANDARD_S)
    if attention_link is not None and app_tabs is not None:
        # The run reads the session's model in the Attention tab's own handler (same session hash).
        u("open_attention_btn").click(
            open_in_attention, [u("model_pick"), u("predict_text")],
            [app_tabs, attention_link.tabs, attention_link.text, attention_link.text_pair, attention_link.model_id],
            api_visibility="private",
        ).then(attention_link.run, attention_link.run_inputs, attention_link.run_outputs, api_visibility="private")
    u("export_btn").click(export, u("model_pick"), u("export_file"), api_name="transfer_export", time_limit=LONG_S)
    u("project_btn").click(export_project, u("model_pick"), u("project_file"), api_name="transfer_project",
                           time_limit=LONG_S)
    u("push_btn").click(push, [u("model_pick"), u("hub_repo"), u("hub_token")], u("push_info"), api_name="transfer_push",
                        time_limit=PUSH_S)
    u("api_train_btn").click(
        api_train, [u(name) for name in ("api_file", "api_builtin", "api_strategy", "api_backbone", "api_epochs",
                                         "api_lr", "api_batch", "api_unfreeze", "api_kfold", "api_seed")],
        u("api_out"), api_name="transfer_train", concurrency_limit=TRAIN_CONCURRENCY, concurrency_id="transfer-train",
        time_limit=TRAINING_S, preprocess=False,  # raw values: engine.transfer.checks says what is wrong
    )
    u("api_predict_btn").click(api_predict, [u("api_text"), u("api_image"), u("api_topk")], u("api_out"),
                               api_name="transfer_predict", time_limit=STANDARD_S,
                               preprocess=False)  # load_image checks the file itself
    demo.unload(cleanup)
