"""Transfer › "Train your own": bring data, pick a pre-trained backbone, compare strategies, use the model.

Each browser or API session has its own data and models (keyed by its session hash), freed on
``demo.unload``. The view opens with the process's example run (:mod:`engine.transfer.example`), copied into
the visitor's session; their own Load data or Train replaces it. What the session holds is drawn by
:mod:`demos.transfer.results`.
"""

from __future__ import annotations

import gradio as gr

from demos.common.cards import empty_card, result_card
from demos.common.contract import CrossLink, LinkParam, OnOpen, ViewHandles
from demos.common.errors import user_errors
from demos.common.limits import LONG_S, PUSH_S, STANDARD_S, TRAINING_S
from demos.common.sessions import session_id
from demos.transfer import results
from engine.core.imports import IMPORT_LOCK
from engine.core.settings import LIMITS
from engine.transfer.data import BUILTIN_DATASETS
from engine.transfer.options import ATTRIBUTION_CAVEAT, DEFAULT_IMAGE_BACKBONE, FINETUNED, STRATEGIES, image_backbone_choices

MAX_CLASS_SLOTS = 6  # Teachable-Machine style class builder
TRAIN_CONCURRENCY = 2  # training jobs running at once across all users (one per core)
SOURCES = ["Built-in dataset", "Upload a file (.zip of class folders, or .csv)", "Build classes (upload / webcam)"]
DEFAULT_DATASET = "text-topics"
STRATEGY_NOTE = (
    "Five strategies train one after another on the **same split**: feature extraction (frozen backbone + linear "
    "head, features cached so the head refits in seconds), logistic regression on the same frozen features "
    "(scikit-learn; a linear head fitted to convergence is the same model, so expect the same accuracy), "
    "fine-tuning the last N blocks, full fine-tuning, and **from scratch** (same architecture, random weights), the "
    "baseline that shows what pre-training buys. From scratch can fit a few pictures a class, but it generalises "
    "worse: with 40 epochs it fit *Objects, few-shot* (8 pictures a class) and reached a median held-out accuracy of "
    "0.833 where the pre-trained strategies reached 1.000 (EfficientNet-Lite0, 3 seeds; docs/imagenet.md). With fewer epochs it may not fit its training data "
    "yet: the table and chart then say *did not fit* and no pre-training gain is shown."
)


def use_builtin():
    return SOURCES[0]


def use_upload():
    return SOURCES[1]


def use_classes():
    return SOURCES[2]


def _engine():
    with IMPORT_LOCK:
        from engine.transfer import checks, data, session, train
    return checks, data, session, train


def _config(checks, train, unfreeze, epochs, lr, batch, wd, dropout, augment, patience, val_fraction, seed):
    """A checked TrainConfig: every value is range-checked before anything is trained."""
    return train.TrainConfig(**checks.config_values(
        unfreeze_blocks=unfreeze, epochs=epochs, learning_rate=lr, batch_size=batch, weight_decay=wd,
        dropout=dropout, augment=augment, patience=patience, val_fraction=val_fraction, seed=seed,
    ))


# ---------------------------------------------------------------- handlers
@user_errors
def open_train(request: gr.Request = None):
    """The view's opening result: the example run, copied into this visitor's session unless it has its own."""
    with IMPORT_LOCK:
        from engine.transfer import example
    if not getattr(request, "session_hash", None):
        return results.view(example.preview())
    return results.view(_page_session(request))


def _page_session(request):
    """This page's session, holding the example run until the visitor loads data or trains (page events only:
    an API client's session starts empty)."""
    with IMPORT_LOCK:
        from engine.transfer import example, session as sessions
    session = sessions.get_session(session_id(request))
    example.adopt(session)
    return session


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
    _, data, sessions, _ = _engine()
    if source_choice == SOURCES[1]:
        if not upload_file:
            raise ValueError("Upload a .zip of class folders or a .csv with text,label columns first.")
        dataset = data.load_upload(upload_file)
    elif source_choice == SOURCES[2]:
        dataset = data.load_image_classes(data.classes_from_slots(
            (name_1, name_2, name_3, name_4, name_5, name_6), (files_1, files_2, files_3, files_4, files_5, files_6),
            shots, count))
    else:
        dataset = data.load_builtin(builtin_key or DEFAULT_DATASET)
    session = sessions.get_session(session_id(request))
    if session.lock.locked():
        raise ValueError("A training job is running in this session; press Stop or wait, then load new data.")
    sessions.set_dataset(session, dataset)
    return results.view(session, f"Loaded {dataset.name}: press Train.")


@user_errors
def train(source_choice, builtin_key, strategy_list, backbone_key, n_epochs, unfreeze_blocks, learning_rate, batch_size,
          weight_decay, dropout_p, augment_images, patience_epochs, val_share, seed_value, kfold_k,
          request: gr.Request, progress=gr.Progress()):
    checks, data, sessions, train_module = _engine()
    config = _config(checks, train_module, unfreeze_blocks, n_epochs, learning_rate, batch_size, weight_decay,
                     dropout_p, augment_images, patience_epochs, val_share, seed_value)  # before the session is touched
    kfold_k = checks.check_kfold(kfold_k)
    ordered = checks.check_strategies(strategy_list)
    session = sessions.get_session(session_id(request))
    if source_choice in (None, SOURCES[0]):
        # The built-in dataset in the picker is what trains, even if Load data was not pressed (or a link chose it).
        wanted = data.load_builtin(builtin_key or DEFAULT_DATASET)
        if session.dataset is not wanted and not session.lock.locked():
            sessions.set_dataset(session, wanted)
    elif session.dataset is None:
        raise ValueError("Press Load data first: your file or classes are read then.")
    key = backbone_key if session.dataset.modality == "image" else ""
    skip = (gr.skip(),) * (len(results.VIEW_NAMES) - 2)
    yield (results.status_card("Loading the backbone and preparing inputs..."), gr.skip(), *skip)
    histories: dict = {}
    for update in sessions.run_training(session, ordered, config, key, kfold_k, total_seconds=TRAINING_S - 60):
        if update.progress is not None:
            p = update.progress
            histories[p.strategy] = p.history
            fraction = (update.strategy_index + p.step / max(p.total_steps, 1)) / update.strategy_count
            progress(fraction, desc=f"{p.strategy}: epoch {p.epoch}/{p.epochs}, ETA {p.eta:.0f}s")
            text = (f"{results.strategy_name(p.strategy)} ({update.strategy_index + 1}/{update.strategy_count}): "
                    f"epoch {p.epoch}/{p.epochs}, step {p.step}/{p.total_steps}, {p.elapsed:.1f}s elapsed, "
                    f"ETA {p.eta:.0f}s {update.note}")
            yield (results.status_card(text), results.curves(histories), *skip)
        elif update.note:
            yield (results.status_card(update.note + "..."), gr.skip(), *skip)
    yield results.view(session)


def stop(request: gr.Request):
    """Stop this session's training job; the best model of each strategy so far is kept.

    Returns the status card while a job is stopping, nothing when no job is running.
    """
    with IMPORT_LOCK:
        from engine.transfer import session as sessions
    session = sessions.get_session(session_id(request))
    if not session.lock.locked():
        return gr.skip()
    session.stop.set()
    return results.status_card("Stopping... the best model so far is kept.")


@user_errors
def inspect(strategy, request: gr.Request):
    session = _page_session(request)
    if not strategy or not session.results:
        return (gr.skip(),) * len(results.DETAIL_NAMES)
    return results.details(session, strategy)


@user_errors
def predict_ui(strategy, text, image, k, request: gr.Request):
    with IMPORT_LOCK:
        from engine.transfer import checks, predict
    session = _page_session(request)
    result = session.result(strategy or None)
    value = text if session.dataset.modality == "text" else image
    prediction = predict.predict(result.model, session.backbone(), value, checks.check_top_k(k))
    return dict(zip(prediction.labels, prediction.probabilities))


def open_prediction(strategy, text, image, k, request: gr.Request = None):
    """The opening prediction for the sentence already in the box (nothing for image data without a picture)."""
    if not getattr(request, "session_hash", None):
        return None
    session = _page_session(request)
    if session.dataset is None or not session.results or (session.dataset.modality == "image" and not image):
        return None
    return predict_ui(strategy, text, image, k, request)


@user_errors
def explain_words(strategy, text, request: gr.Request):
    """Which words drove the text model's prediction (integrated gradients); a note for image models."""
    session = _page_session(request)
    if session.dataset is None or session.dataset.modality != "text":
        return empty_card("Word attributions are for text models: load a text dataset."), ""
    return results.words_view(session.result(strategy or None), session.backbone().tokenizer, text)


def open_words(strategy, text, request: gr.Request = None):
    """The opening word attributions for the sentence already in the box (text models only)."""
    if not getattr(request, "session_hash", None):
        return gr.skip(), gr.skip()
    session = _page_session(request)
    if session.dataset is None or not session.results or session.dataset.modality != "text":
        return gr.skip(), gr.skip()
    return explain_words(strategy, text, request)


@user_errors
def compare_attention(strategy, text, request: gr.Request):
    with IMPORT_LOCK:
        from engine.transfer import attention, render
    session = _page_session(request)
    result = session.result(strategy or None)
    if session.dataset.modality != "text":
        raise ValueError("Attention before/after needs a MiniLM text model: load a text dataset and train.")
    return render.attention_figure(attention.attention_shift(result.model, session.backbone().tokenizer, text))


def attention_link(strategy, text) -> dict:
    """Attention › Text with this session's fine-tuned model and the sentence to classify."""
    model = f"{FINETUNED}:{strategy}" if strategy else FINETUNED
    return {"text": text or "", "model": model}


def _model(strategy, model_handle, request):
    """(session, result, backbone) of a model handle from /transfer_train, else of this session's ``strategy``."""
    with IMPORT_LOCK:
        from engine.transfer import backbones, checks, handles, session as sessions
    if model_handle is None or (isinstance(model_handle, str) and not model_handle.strip()):
        session = sessions.get_session(session_id(request))
        return session, session.result(strategy), session.backbone()
    session, result = handles.resolve(model_handle)  # any session, or none (a curl client): the handle names it
    strategy = checks.check_strategy_name(strategy)
    if strategy and strategy != result.strategy:
        raise ValueError(f"The model handle names a {result.strategy} model, not {strategy}: leave the strategy "
                         "empty when you pass a model handle.")
    return session, result, backbones.load_backbone(result.backbone_key, session.dataset.modality)


@user_errors
def export(strategy="", model_handle="", request: gr.Request = None):
    """Export a trained model as a zip: safetensors weights, config, labels and a model card.

    strategy names a strategy trained in this session; empty means this session's best model. model_handle, the
    model_handle that /transfer_train returned, exports that model from any session (then leave strategy empty).
    Returns the zip file.
    """
    with IMPORT_LOCK:
        from engine.transfer import export as exporter, session as sessions
    session, result, backbone = _model(strategy, model_handle, request)
    # Written once per trained model: each export is a full copy of the weights (~79 MB for MiniLM).
    return str(sessions.export_once(session, result, lambda: exporter.export_zip(
        result, session.dataset, session.work_dir, backbone.tokenizer,
        name=f"neurodeck-{session.dataset.modality}-{result.strategy}")))


@user_errors
def export_project(strategy="", request: gr.Request = None):
    """Export this session's training as a project: its data, the exact settings and an accelerate command.

    strategy names the trained strategy; empty means this session's best model. Returns the zip file.
    """
    with IMPORT_LOCK:
        from engine.transfer import project, session as sessions
    return str(project.export_session_project(sessions.get_session(session_id(request)), strategy))


@user_errors
def push(strategy, repo, token, request: gr.Request):
    with IMPORT_LOCK:
        from engine.transfer import export as exporter, session as sessions
    session = sessions.get_session(session_id(request))
    result = session.result(strategy or None)
    archive = exporter.export_zip(result, session.dataset, session.work_dir, session.backbone().tokenizer,
                                  name="hub-export")
    url = exporter.push_to_hub(archive.with_suffix(""), repo, token)
    return f"Pushed to [{url}]({url})."


# ------------------------------------------------------------ plain API endpoints
@user_errors
def api_train(data_file, builtin_key="", strategy="feature_extraction", backbone_key="", n_epochs=15, learning_rate=0,
              batch_size=16, unfreeze_blocks=2, k=0, seed_value=0, request: gr.Request = None):
    """Train one strategy on an uploaded file (a .zip of class folders or a .csv with text,label columns) or a
    built-in dataset, and return its metrics as JSON.

    The trained model stays in this client's session for /transfer_predict and /transfer_export, and the JSON's
    model_handle names it for those endpoints from any session (a client without one, such as curl). A learning
    rate of 0 means the strategy's default; k > 1 adds k-fold cross-validation.
    """
    checks, data, sessions, train_module = _engine()
    with IMPORT_LOCK:
        from engine.transfer import backbones
    # Everything is checked before the session is touched: a rejected call keeps its data and models.
    config = train_module.TrainConfig(**checks.config_values(
        strategy=strategy or "feature_extraction", epochs=n_epochs, learning_rate=learning_rate,
        batch_size=batch_size, unfreeze_blocks=unfreeze_blocks, seed=seed_value,
    ))
    kfold_k = checks.check_kfold(k)
    data_file = data_file.get("path") if isinstance(data_file, dict) else data_file
    if data_file:
        dataset = data.load_upload(data_file)
    else:
        dataset = data.load_builtin(str(builtin_key or "").strip() or DEFAULT_DATASET)
    key = str(backbone_key or "").strip() if dataset.modality == "image" else ""
    backbones.load_backbone(key, dataset.modality)  # an unknown or unreachable backbone fails here
    key_of_session = session_id(request)
    session = sessions.get_session(key_of_session)
    summary = sessions.train_for_api(session, dataset, config, key, kfold_k, total_seconds=TRAINING_S - 60)
    with IMPORT_LOCK:
        from engine.transfer import handles
    return {**summary, "model_handle": handles.issue(key_of_session, session.results[config.strategy])}


@user_errors
def api_predict(text, image=None, k=3, model_handle="", request: gr.Request = None):
    """Top-k classes for a text (text models) or an image (image models).

    The model is this session's best, or the one named by model_handle (returned by /transfer_train; it works
    from any session, so a client without one, such as curl, can train and then predict).
    """
    with IMPORT_LOCK:
        from engine.transfer import checks, predict
    top_k = checks.check_top_k(k)
    session, result, backbone = _model("", model_handle, request)
    value = text if session.dataset.modality == "text" else image
    prediction = predict.predict(result.model, backbone, value, top_k)
    return {**prediction.to_dict(), "strategy": result.strategy, "labels": list(result.model.config.labels)}


def cleanup(request: gr.Request):
    session_hash = getattr(request, "session_hash", None)
    if session_hash:
        with IMPORT_LOCK:
            from engine.transfer import session as sessions
        sessions.drop_session(session_hash)


# ---------------------------------------------------------------- layout and wiring
def build(demo: gr.Blocks) -> ViewHandles:
    ui = _layout()
    return _wire(demo, ui)


def _layout() -> dict:
    """The widgets, by name for :func:`_wire`."""
    with gr.Tab("Train your own", id="transfer-train", elem_id="tab-transfer-train") as page:
        webcam_shots = gr.State({})  # class slot index -> list of snapshot file paths (this browser only)
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=240):
                builtin = gr.Dropdown([(text.split(":")[0], key) for key, text in BUILTIN_DATASETS.items()],
                                      value=DEFAULT_DATASET, label="Built-in dataset", elem_id="transfer-builtin")
                load_btn = gr.Button("Load data", size="md", elem_id="transfer-load-btn")
            backbone = gr.Dropdown(image_backbone_choices(), value=DEFAULT_IMAGE_BACKBONE, allow_custom_value=True,
                                   label="Image backbone", info="Hub ids need internet.", visible=False, scale=2,
                                   min_width=200, elem_id="transfer-backbone")
            strategies = gr.CheckboxGroup([(results.strategy_name(s), s) for s in STRATEGIES], value=["feature_extraction"],
                                          label="Strategies", scale=3, min_width=300, elem_id="transfer-strategies")
            with gr.Column(scale=1, min_width=170):
                epochs = gr.Slider(1, 60, value=15, step=1, label="Epochs", elem_id="transfer-epochs")
                with gr.Row():
                    train_btn = gr.Button("Train", variant="primary", min_width=70, elem_id="transfer-train-btn")
                    stop_btn = gr.Button("Stop", variant="stop", min_width=70, elem_id="transfer-stop-btn")
        status = gr.HTML(results.status_card("Loading the example run..."), elem_id="transfer-status")
        data_report = gr.Markdown(elem_id="transfer-data-report")
        with gr.Row(equal_height=False):
            with gr.Accordion("Your own data: upload a file or build classes", open=False, elem_id="transfer-own-data"):
                source = gr.Radio(SOURCES, value=SOURCES[0], label="Data to load and train on",
                                  elem_id="transfer-source")
                upload = gr.File(label="Data file: .zip of class folders (images) or .csv with text,label columns",
                                 file_types=[".zip", ".csv", ".tsv", ".txt"], elem_id="transfer-upload")
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
            with gr.Accordion("Hyperparameters", open=False, elem_id="transfer-hyperparameters"):
                unfreeze = gr.Slider(1, 7, value=2, step=1, label="N: blocks to fine-tune (for 'last N')",
                                     info="EfficientNet-Lite0 counts its 7 stages, NeuroDeck CNN its 5 blocks, "
                                          "MiniLM its 6 layers. BatchNorm statistics stay frozen in feature "
                                          "extraction and last-N fine-tuning.", elem_id="transfer-unfreeze")
                lr = gr.Number(value=0, minimum=0, maximum=1, label="Learning rate (0 = strategy default: head "
                               "1e-2, last-N 1e-3, full 3e-4, scratch 1e-3)", elem_id="transfer-lr")
                batch = gr.Slider(4, 128, value=16, step=4, label="Batch size", elem_id="transfer-batch")
                wd = gr.Number(value=1e-4, minimum=0, maximum=1, label="Weight decay", elem_id="transfer-wd")
                dropout = gr.Slider(0, 0.8, value=0.1, step=0.05, label="Dropout (before the head)",
                                    elem_id="transfer-dropout")
                augment = gr.Checkbox(value=True, label="Augment images (flips, small rotations/shifts)",
                                      elem_id="transfer-augment")
                patience = gr.Slider(0, 20, value=4, step=1, label="Early stopping patience (epochs; 0 = off)",
                                     elem_id="transfer-patience")
                val_fraction = gr.Slider(0.1, 0.5, value=0.25, step=0.05, label="Validation fraction",
                                         elem_id="transfer-val")
                kfold = gr.Slider(0, 10, value=0, step=1, label="k-fold cross-validation of the first strategy "
                                  "(0 = off)", elem_id="transfer-kfold")
                seed = gr.Number(value=0, precision=0, minimum=0, maximum=LIMITS.seed_max, label="Seed",
                                 elem_id="transfer-seed")
        gr.Markdown(STRATEGY_NOTE, elem_classes=["nd-explain"])
        curves = gr.Plot(label="Learning curves", show_label=False, elem_id="transfer-curves")
        with gr.Row():
            comparison = gr.Plot(label="Strategy comparison", show_label=False, elem_id="transfer-comparison")
            confusion = gr.Plot(label="Confusion matrix", show_label=False, elem_id="transfer-confusion")
        results_table = gr.Dataframe(headers=results.RESULT_HEADERS, label="Strategies (validation split)",
                                     interactive=False, elem_id="transfer-results")
        kfold_info = gr.Markdown(elem_id="transfer-kfold-info")
        # Custom values allowed: after API training the list is empty in the page, and the handlers check the name.
        model_pick = gr.Dropdown([], label="Model to inspect / use", elem_id="transfer-model-pick",
                                 allow_custom_value=True)
        per_class = gr.Dataframe(headers=results.PER_CLASS_HEADERS, label="Per-class metrics", interactive=False,
                                 elem_id="transfer-per-class")
        wrong_note = gr.Markdown(elem_id="transfer-misclassified-note")
        gallery = gr.Gallery(label="Misclassified validation images (true | predicted)", columns=6, height=260,
                             visible=False, elem_id="transfer-misclassified")
        wrong_texts = gr.Dataframe(headers=["text", "true | predicted"], label="Misclassified validation texts",
                                   interactive=False, visible=False, elem_id="transfer-misclassified-text")
        gr.Markdown("### Use the model")
        with gr.Row():
            with gr.Column():
                predict_text = gr.Textbox(label="Text to classify", value="The goalkeeper saved a penalty in extra time.",
                                          elem_id="transfer-predict-text")
                predict_image = gr.Image(type="filepath", sources=["upload", "webcam", "clipboard"],
                                         label="Image to classify", visible=False, elem_id="transfer-predict-image")
                top_k = gr.Slider(1, 10, value=3, step=1, label="Top-k", elem_id="transfer-topk")
                predict_btn = gr.Button("Predict", elem_id="transfer-predict-btn")
            prediction = gr.Label(label="Prediction", elem_id="transfer-prediction")
        with gr.Row(equal_height=False):
            words = gr.HTML(empty_card(results.WORDS_HINT), elem_id="transfer-words")
            words_cards = result_card("transfer-words-cards")
        gr.Markdown(f"**Which words drove it** (integrated gradients over the word embeddings). *{ATTRIBUTION_CAVEAT}*",
                    elem_id="transfer-words-caveat")
        with gr.Accordion("Attention after fine-tuning (MiniLM)", open=False, elem_id="transfer-attention-box") as attention_box:
            gr.Markdown("The same sentence's attention in the base MiniLM vs your fine-tuned one (use a fine-tuned "
                        "strategy). **Open in the Attention tab** shows every layer and head of your fine-tuned model "
                        "there; switch its Model between *before* and *after* to compare.", elem_classes=["nd-explain"])
            with gr.Row():
                attention_btn = gr.Button("Compare attention on the text above", elem_id="transfer-attention-btn")
                open_attention_btn = gr.Button("Open in the Attention tab (after fine-tuning) ↗",
                                               elem_id="transfer-open-attention")
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

        # Hidden components for the plain API endpoints (/transfer_train, /transfer_predict; model_handle also
        # /transfer_export, where the page sends it empty: the page uses its own session).
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
            api_handle = gr.Textbox(value="", label="model_handle")  # empty: this session's model
            api_out = gr.JSON()
            api_train_btn = gr.Button()
            api_predict_btn = gr.Button()
    return dict(locals())


def _wire(demo: gr.Blocks, ui: dict) -> ViewHandles:
    """Connect events to the module-level handlers; only the main actions are public."""
    u = ui.__getitem__
    view = [u(name) for name in results.VIEW_NAMES]
    u("builtin").input(use_builtin, None, u("source"), api_visibility="private", queue=False, show_progress="hidden")
    u("upload").upload(use_upload, None, u("source"), api_visibility="private", queue=False, show_progress="hidden")
    gr.on([files.upload for files in u("class_files")] + [u("webcam_add").click], use_classes, None, u("source"),
          api_visibility="private", queue=False, show_progress="hidden")
    u("class_count").change(show_class_rows, u("class_count"), u("class_rows"), api_visibility="private",
                            show_progress="hidden", queue=False)
    u("webcam_add").click(add_snapshot, [u("webcam"), u("webcam_slot"), u("webcam_shots")],
                          [u("webcam_shots"), u("webcam_info"), u("webcam")], api_visibility="private")
    u("load_btn").click(load_data, [u("source"), u("builtin"), u("upload"), u("class_count"), u("webcam_shots"),
                                    *u("class_names"), *u("class_files")],
                        view, api_visibility="private", concurrency_limit=4, time_limit=LONG_S)
    u("train_btn").click(
        train, [u(name) for name in ("source", "builtin", "strategies", "backbone", "epochs", "unfreeze", "lr", "batch",
                                     "wd", "dropout", "augment", "patience", "val_fraction", "seed", "kfold")],
        view, api_visibility="private", concurrency_limit=TRAIN_CONCURRENCY, concurrency_id="transfer-train",
        time_limit=TRAINING_S, preprocess=False,  # raw values: engine.transfer.checks says what is wrong
    )
    # Not cancels=[train_event]: cancelling would discard the run; the flag lets it finish cleanly.
    u("stop_btn").click(stop, None, u("status"), api_name="transfer_stop", queue=False)
    u("model_pick").input(inspect, u("model_pick"), [u(name) for name in results.DETAIL_NAMES],
                          api_visibility="private")
    u("predict_btn").click(predict_ui, [u("model_pick"), u("predict_text"), u("predict_image"), u("top_k")],
                           u("prediction"), api_visibility="private", time_limit=STANDARD_S,
                           preprocess=False  # load_image checks files
                           ).success(explain_words, [u("model_pick"), u("predict_text")], [u("words"), u("words_cards")],
                                     api_visibility="private", time_limit=STANDARD_S)
    u("attention_btn").click(compare_attention, [u("model_pick"), u("predict_text")], u("attention_plot"),
                             api_visibility="private", time_limit=STANDARD_S)
    u("export_btn").click(export, [u("model_pick"), u("api_handle")], u("export_file"), api_name="transfer_export",
                          time_limit=LONG_S)
    u("project_btn").click(export_project, u("model_pick"), u("project_file"), api_name="transfer_project",
                           time_limit=LONG_S)
    u("push_btn").click(push, [u("model_pick"), u("hub_repo"), u("hub_token")], u("push_info"),
                        api_visibility="private", time_limit=PUSH_S)
    u("api_train_btn").click(
        api_train, [u(name) for name in ("api_file", "api_builtin", "api_strategy", "api_backbone", "api_epochs",
                                         "api_lr", "api_batch", "api_unfreeze", "api_kfold", "api_seed")],
        u("api_out"), api_name="transfer_train", concurrency_limit=TRAIN_CONCURRENCY, concurrency_id="transfer-train",
        time_limit=TRAINING_S, preprocess=False,  # raw values: engine.transfer.checks says what is wrong
    )
    u("api_predict_btn").click(api_predict, [u("api_text"), u("api_image"), u("api_topk"), u("api_handle")], u("api_out"),
                               api_name="transfer_predict", time_limit=STANDARD_S,
                               preprocess=False)  # load_image checks the file itself
    demo.unload(cleanup)
    return ViewHandles(
        tab="transfer", sub="train", page=u("page"), result=u("status"),
        on_open=(OnOpen(open_train, outputs=tuple(view), time_limit=LONG_S, then=(
            OnOpen(open_prediction, inputs=(u("model_pick"), u("predict_text"), u("predict_image"), u("top_k")),
                   outputs=(u("prediction"),), preprocess=False, time_limit=STANDARD_S, then=(
                OnOpen(open_words, inputs=(u("model_pick"), u("predict_text")), outputs=(u("words"), u("words_cards")),
                       time_limit=STANDARD_S),)),)),),
        link=(LinkParam("dataset", u("builtin")), LinkParam("backbone", u("backbone")),
              LinkParam("strategies", u("strategies"), choices={s: s for s in STRATEGIES}),
              LinkParam("epochs", u("epochs"))),
        cross_links=(CrossLink(u("open_attention_btn"), target="attention/text", values=attention_link,
                               inputs=(u("model_pick"), u("predict_text"))),),
    )
