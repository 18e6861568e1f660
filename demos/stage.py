"""The stage: what a newcomer and a speaker see first.

- a landing header that says what NeuroDeck is and where to start in each tab;
- a result in every main view when the page opens (the tabs' own events, run once on load);
- deep links: ``?tab=attention&sub=text&text=...``, ``?tab=gan&seed=7&digit=3``,
  ``?tab=autoencoder&example=<photo name>``; unknown or malformed parameters are ignored with a notice;
- presenter mode (``?presenter=1`` or the toggle): larger type (charts too), developer details hidden;
- "Copy link to this view": the current tab and its main inputs as such a link.

Components are found by ``elem_id`` and events by ``api_name``, so the tab modules need no changes
to take part. Query parsing is a pure function (:func:`parse_query`), tested without a server.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from engine.core.registry import ASSETS_DIR
from engine.core.settings import LIMITS

TITLE = """<div class="nd-header"><h1>NeuroDeck <span class="nd-tagline">deep learning you can poke at: real models,
every number computed live</span></h1></div>"""
HEADER = """
<div class="nd-intro">
<div class="nd-intro-card"><b>GAN</b>: two networks in a contest: a generator makes faces and digits from noise, a discriminator judges them. <i>Start: Faces.</i></div>
<div class="nd-intro-card"><b>Autoencoder</b>: squeeze an image through a bottleneck and rebuild it: denoising, defect detection, latent maps. <i>Start: Denoise.</i></div>
<div class="nd-intro-card"><b>Attention</b>: what a transformer looks at: in a sentence, while writing text, translating, and in an image. <i>Start: Text.</i></div>
<div class="nd-intro-card"><b>Transfer learning</b>: adapt a pre-trained model to your own small dataset and see why it beats training from scratch. <i>Start: Meet the model.</i></div>
</div>
"""

# The page's rules: the header, presenter mode, phones, pixel art (elem_ids from the views). Cards carry their own.
CSS = """
/* Tabs that do not fit (a phone) go to Gradio's overflow menu: it says what it is instead of an unlabelled
   "...", and on a phone tighter tabs leave more of them in view (the hidden measuring row gets the same padding). */
.overflow-menu > button { width: auto !important; display: inline-flex !important; align-items: center; gap: 4px;
  padding: 0 8px !important; border: 1px solid var(--border-color-primary, #d4d4d8); border-radius: 6px; }
.overflow-menu > button::after { content: "More tabs"; font-size: var(--text-md, 14px); white-space: nowrap; }
@media (max-width: 640px) {
  .tab-container > button { padding-left: 8px !important; padding-right: 8px !important; }
}
/* Small generated images (8x8 to 128 px) are shown enlarged with crisp pixels, never blurred. */
#gan-gallery img, #gan-interp-strip img, #gan-walk-image img, #gan-walk-strip img, #gan-live-samples img,
#gan-sketch-history img, #ae-heatmap img, #ae-mask img, #ae-decoded img, #ae-interp-strip img,
#attn-image-rollout img, #attn-image-head img { image-rendering: pixelated; }
/* The anomaly heatmap and mask fill their column: at least 384 px wide. */
#ae-heatmap img, #ae-mask img { width: 100%; min-width: 384px; height: auto; max-height: none; object-fit: contain; }
#ae-heatmap, #ae-mask { min-width: 384px; }
/* The GAN sketchpad is white ink on black: the editor's own Clear leaves a white canvas on which white ink
   is invisible, so the tab's "Blank canvas" button (black) replaces it. */
#gan-sketch button[aria-label='Clear canvas'] { display: none !important; }
.nd-header h1 { margin: 0; font-size: 1.9em; line-height: 1.2; }
.nd-tagline { display: block; font-size: 0.95rem; line-height: 1.3; font-weight: 400; color: var(--body-text-color-subdued); }
/* The header is one short bar, so a result is in view at 1280x720 without scrolling. */
#nd-stage-bar { align-items: center; gap: 8px; }
#nd-link-box textarea { padding: 2px 8px; font-size: 13px; font-family: monospace; }
#nd-link-box:has(textarea:placeholder-shown) { visibility: hidden; }  /* until 'Copy link' writes one */
#nd-notice:has(span.md:empty) { display: none; }
.nd-notice { color: #8a5a00; }
.nd-intro { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 8px; }
.nd-intro-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 4px 10px; font-size: 0.9em;
  line-height: 1.25; }
@media (max-width: 900px) { .nd-intro { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
/* Presenter mode: everything larger (Gradio's type scale and the charts), developer details hidden. */
body.nd-presenter .gradio-container {
  --text-xxs: 13px; --text-xs: 15px; --text-sm: 18px; --text-md: 20px; --text-lg: 24px; --text-xl: 30px; --text-xxl: 36px;
  --block-label-text-size: 18px; --block-title-text-size: 20px; --button-large-text-size: 24px; --button-small-text-size: 20px;
  --prose-text-size: 20px; --input-text-size: 20px;
}
body.nd-presenter .gradio-container .prose, body.nd-presenter .gradio-container .prose * { font-size: 20px; }
body.nd-presenter .gradio-container .prose h1 { font-size: 36px; }
body.nd-presenter .gradio-container .prose h2, body.nd-presenter .gradio-container .prose h3 { font-size: 26px; }
body.nd-presenter .js-plotly-plot .main-svg text { font-size: 18px !important; }
body.nd-presenter .nd-dev, body.nd-presenter #nd-header, body.nd-presenter .nd-tagline { display: none !important; }
/* On stage the speaker types the sentence: the examples table gives its space to the attention matrix. */
body.nd-presenter #attn-text-examples { display: none !important; }
"""

# Adds / removes the body class; also keeps ?presenter=1 in the address bar so a copied link keeps it.
PRESENTER_JS = """
(on) => {
  document.body.classList.toggle('nd-presenter', !!on);
  const url = new URL(window.location.href);
  if (on) { url.searchParams.set('presenter', '1'); } else { url.searchParams.delete('presenter'); }
  window.history.replaceState(null, '', url);
  return [];
}
"""

# Reads the selected tab and sub-tab from the page, and the main inputs it is given, into a link.
COPY_LINK_JS = """
(text, seed, digit) => {
  const chosen = (root) => root ? root.querySelector(':scope > .tab-wrapper [role=tab][aria-selected=true], [role=tab][aria-selected=true]') : null;
  const keyOf = (button) => button ? (button.id || '').replace(/-button$/, '') : '';
  const tabs = {'tab-gan': 'gan', 'ae-tab': 'autoencoder', 'tab-attention': 'attention', 'transfer-tab': 'transfer'};
  const top = keyOf(chosen(document.querySelector('#app-tabs')));
  const url = new URL(window.location.origin + window.location.pathname);
  const tab = tabs[top];
  if (tab) { url.searchParams.set('tab', tab); }
  const subRoot = {gan: '#gan-subtabs', autoencoder: '#ae-subtabs', attention: '#attention-subtabs'}[tab];
  if (subRoot) {
    const sub = keyOf(chosen(document.querySelector(subRoot)));
    const subs = %SUBS%;
    if (subs[sub]) { url.searchParams.set('sub', subs[sub]); }
  }
  if (tab === 'attention' && text) { url.searchParams.set('text', text); }
  if (tab === 'gan') { url.searchParams.set('seed', String(seed)); url.searchParams.set('digit', String(digit)); }
  if (document.body.classList.contains('nd-presenter')) { url.searchParams.set('presenter', '1'); }
  const link = url.toString();
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(link).catch(() => {}); }
  return link;
}
"""

# ?tab= value -> the top-level Tab id; and per tab, the Tabs' elem_id and its ?sub= values -> Tab ids.
TABS = {"gan": "gan", "autoencoder": "autoencoder", "attention": "attention", "transfer": "transfer"}
SUB_TABS: dict[str, tuple[str, dict[str, str]]] = {
    "gan": ("gan-subtabs", {"faces": "gan-faces", "generate": "gan-generate", "latent": "gan-latent",
                            "score": "gan-score", "lab": "gan-lab", "live": "gan-live", "quality": "gan-quality"}),
    "autoencoder": ("ae-subtabs", {"denoise": "ae-denoise", "anomalies": "ae-anomalies", "latent": "ae-latent"}),
    "attention": ("attention-subtabs", {"text": "attention-text", "decoder": "attention-decoder",
                                        "image": "attention-image", "seq2seq": "attention-seq2seq"}),
}
# Tab elem_ids (their buttons are "<elem_id>-button") -> ?sub= value, for the copy-link script.
SUB_ELEM_IDS = {"tab-gan-faces": "faces", "tab-gan-generate": "generate", "tab-gan-latent": "latent",
                "tab-gan-score": "score", "tab-gan-lab": "lab", "tab-gan-live": "live", "tab-gan-quality": "quality",
                "ae-denoise-tab": "denoise", "ae-anomaly-tab": "anomalies", "ae-latent-tab": "latent",
                "tab-attention-text": "text", "tab-attention-decoder": "decoder", "tab-attention-image": "image",
                "tab-attention-seq2seq": "seq2seq"}
DIGITS = ["random"] + [str(d) for d in range(10)]
PHOTO_EXAMPLES = ASSETS_DIR / "examples" / "autoencoder" / "photos"
MAX_SEED = 2**31 - 1
KNOWN = {"tab", "sub", "text", "seed", "digit", "example", "presenter"}
# Each view's opening events (api_name -> the view's ?tab= and ?sub=; sub None = the tab's only view). The
# events chained after one with .then follow it (the Faces chain, Decoder's KV-cache chart, Seq2seq's what-if).
# Each runs once per page, when its view is first opened: its tab's select event, which gradio also fires for
# the tab selected when the page starts and for a tab a deep link selects. A page load used to queue all the
# hidden views' work in front of the view on screen (a deep link's first result came after ~13 s on 2 cores).
# The tabs register some of these with demo.load (the API names stay callable); wire() takes them off the load.
ON_OPEN = {
    "gan_faces_on_open": ("gan", "faces"), "gan_generate": ("gan", "generate"),
    "gan_walk": ("gan", "latent"), "gan_interpolate": ("gan", "latent"),
    "gan_score": ("gan", "score"), "gan_sketch_load": ("gan", "score"),
    "gan_lab_reset": ("gan", "lab"), "gan_live_reset": ("gan", "live"),
    "ae_denoise": ("autoencoder", "denoise"), "anomaly_threshold": ("autoencoder", "anomalies"),
    "ae_latent_map": ("autoencoder", "latent"),
    "attention_text": ("attention", "text"), "attention_decoder_open": ("attention", "decoder"),
    "attention_image": ("attention", "image"), "attention_gradcam": ("attention", "image"),
    "seq2seq_view_on_load": ("attention", "seq2seq"),
    "imagenet_classify_on_load": ("transfer", None),
}


@dataclass(frozen=True)
class DeepLink:
    """What a page's query asked for, cleaned. ``None`` fields were not asked for (or were refused)."""

    tab: str | None = None  # a TABS key
    sub: str | None = None  # a SUB_TABS[tab] key
    text: str | None = None  # Attention > Text, sentence A
    seed: int | None = None  # GAN > Generate
    digit: str | None = None  # GAN > Generate: "random" or "0".."9"
    example: str | None = None  # Autoencoder > Denoise: a held-out photo's file name
    presenter: bool = False
    notices: tuple[str, ...] = field(default=())  # one line per parameter that was ignored, and why


def photo_examples() -> list[Path]:
    return sorted(path for path in PHOTO_EXAMPLES.glob("*.png")) if PHOTO_EXAMPLES.is_dir() else []


def parse_query(params) -> DeepLink:
    """Clean a page's query parameters (a mapping of str -> str). Never raises: what cannot be used is
    dropped and named in ``notices``."""
    params = {str(k): str(v) for k, v in dict(params or {}).items()}
    notices: list[str] = []
    out: dict = {}
    unknown = sorted(set(params) - KNOWN)
    if unknown:
        notices.append(f"ignored unknown parameter(s): {', '.join(name[:30] for name in unknown[:5])}")
    tab = params.get("tab", "").strip().lower()
    if tab:
        if tab in TABS:
            out["tab"] = tab
        else:
            notices.append(f"ignored tab={tab[:30]!r} (use one of {', '.join(TABS)})")
    sub = params.get("sub", "").strip().lower()
    if sub:
        choices = SUB_TABS.get(out.get("tab", ""), (None, {}))[1]
        if sub in choices:
            out["sub"] = sub
        else:
            notices.append(f"ignored sub={sub[:30]!r}" + (f" (use one of {', '.join(choices)})" if choices else " (pick a tab first)"))
    if "text" in params:
        text = params["text"].strip()
        if text:
            out["text"] = text[: LIMITS.text_chars]
            if len(text) > LIMITS.text_chars:
                notices.append(f"text cut to {LIMITS.text_chars:,} characters")
    if "seed" in params:
        try:
            value = float(params["seed"])
            if not math.isfinite(value) or value != int(value) or not 0 <= value <= MAX_SEED:
                raise ValueError
            out["seed"] = int(value)
        except ValueError:
            notices.append(f"ignored seed={params['seed'][:30]!r} (a whole number from 0 to {MAX_SEED})")
    if "digit" in params:
        digit = params["digit"].strip().lower()
        if digit in DIGITS:
            out["digit"] = digit
        else:
            notices.append(f"ignored digit={params['digit'][:30]!r} (0-9 or random)")
    if "example" in params:
        names = {path.stem: path.name for path in photo_examples()}
        wanted = Path(params["example"].strip()).stem  # a name, never a path
        if wanted in names:
            out["example"] = names[wanted]
        else:
            notices.append(f"ignored example={params['example'][:30]!r} (use one of {', '.join(sorted(names))})")
    if params.get("presenter", "").strip().lower() in {"1", "true", "yes", "on"}:
        out["presenter"] = True
    # Inputs imply their tab when none was named.
    if "tab" not in out:
        if "text" in out:
            out["tab"] = "attention"
            out.setdefault("sub", "text")
        elif "seed" in out or "digit" in out:
            out["tab"] = "gan"
            out.setdefault("sub", "generate")
        elif "example" in out:
            out["tab"] = "autoencoder"
            out.setdefault("sub", "denoise")
    if out.get("tab") == "attention" and "text" in out:
        out.setdefault("sub", "text")
    if out.get("tab") == "gan" and ("seed" in out or "digit" in out):
        out.setdefault("sub", "generate")
    if out.get("tab") == "autoencoder" and "example" in out:
        out.setdefault("sub", "denoise")
    return DeepLink(**out, notices=tuple(notices))


def _once(fn, n_outputs: int):
    """``fn`` run at most once per page: ``run(done, *inputs)`` returns ``(True, *fn(*inputs))`` the first time
    and skips every output afterwards. A generator ``fn`` (a streaming view) gives a generator ``run`` that
    yields ``(True, *item)`` for each of its items. A ``fn`` that takes ``request: gr.Request`` gets it (gradio
    fills it in from the wrapper's signature)."""
    import inspect

    wants_request = "request" in inspect.signature(fn).parameters

    def call(inputs):
        request = None
        if wants_request:
            *inputs, request = inputs
        return fn(*inputs, request=request) if wants_request else fn(*inputs)

    def flagged(result):
        return (True, *(result if n_outputs > 1 else (result,)))

    if inspect.isgeneratorfunction(fn):

        def run(done, *inputs):
            if done:
                yield (gr.skip(),) * (1 + n_outputs)
                return
            for item in call(inputs):
                yield flagged(item)
    else:

        def run(done, *inputs):
            if done:
                return (gr.skip(),) * (1 + n_outputs)
            return flagged(call(inputs))

    run.__name__ = getattr(fn, "__name__", "on_open")
    run.__wrapped_on_open__ = fn  # the view's own handler (tests check the wrapper keeps its kind)
    if wants_request:
        positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
        run.__signature__ = inspect.Signature([
            inspect.Parameter("done", positional),
            *[inspect.Parameter(f"input_{i}", positional) for i in range(len(inspect.signature(fn).parameters) - 1)],
            inspect.Parameter("request", positional, default=None, annotation=gr.Request)])
    return run


def _wire_once(demo: gr.Blocks, event, attach, flags: dict) -> None:
    """Attach ``event`` (and the events chained after it with ``.then``) through ``attach``, each run at most
    once per page: one ``gr.State`` flag per event in ``flags``."""
    done = flags.setdefault(event._id, gr.State(False))
    dependency = attach(fn=_once(event.fn, len(event.outputs)), inputs=[done, *event.inputs],
                        outputs=[done, *event.outputs], api_visibility="private", show_progress="minimal",
                        preprocess=event.preprocess, postprocess=event.postprocess, time_limit=event.time_limit)
    for child in [fn for fn in demo.fns.values() if fn.trigger_after == event._id]:
        _wire_once(demo, child, dependency.then, flags)


def _find(demo: gr.Blocks, elem_id: str):
    for block in demo.blocks.values():
        if getattr(block, "elem_id", None) == elem_id:
            return block
    return None


def _event(demo: gr.Blocks, api_name: str):
    for fn in demo.fns.values():
        if fn.api_name == api_name:
            return fn
    return None


def _mark_developer_details(demo: gr.Blocks) -> None:
    """Presenter mode hides these: JSON payloads, model-id boxes, the API-only widgets."""
    for block in demo.blocks.values():
        elem_id = getattr(block, "elem_id", None) or ""
        label = str(getattr(block, "label", "") or "")
        developer = isinstance(block, gr.JSON) or (
            isinstance(block, (gr.Textbox, gr.Dropdown)) and ("model" in elem_id or "Hub" in label)
        ) or (isinstance(block, gr.Accordion) and "JSON" in label)
        if developer:
            classes = list(block.elem_classes or [])
            if "nd-dev" not in classes:
                block.elem_classes = classes + ["nd-dev"]


def build_header() -> tuple[gr.Checkbox, gr.Button, gr.Textbox, gr.Markdown]:
    """The landing header and the stage bar (presenter toggle, copy link). Call inside the Blocks, above the tabs."""
    with gr.Row(elem_id="nd-stage-bar", equal_height=True):
        gr.HTML(TITLE, elem_id="nd-title", scale=1, min_width=560)
        link = gr.Textbox(show_label=False, placeholder="(the link appears here)", interactive=False, scale=1,
                          min_width=160, elem_id="nd-link-box", container=False)
        presenter = gr.Checkbox(value=False, label="Presenter mode", elem_id="nd-presenter", scale=0, min_width=170,
                                container=False)
        copy = gr.Button("Copy link to this view", size="sm", elem_id="nd-copy-link", scale=0, min_width=190)
    notice = gr.Markdown("", elem_id="nd-notice", elem_classes=["nd-notice"])
    gr.HTML(HEADER, elem_id="nd-header")
    return presenter, copy, link, notice


def wire(demo: gr.Blocks, presenter: gr.Checkbox, copy: gr.Button, link: gr.Textbox, notice: gr.Markdown) -> None:
    """After every tab is built: deep links, results on open, presenter mode and the copy link."""
    _mark_developer_details(demo)
    # (deep-link key, component) pairs; a component a tab does not have (yet) is simply left out.
    wanted = [("presenter", presenter), ("notice", notice), ("app", _find(demo, "app-tabs"))]
    wanted += [(f"sub:{tab}", _find(demo, elem_id)) for tab, (elem_id, _) in SUB_TABS.items()]
    wanted += [("text", _find(demo, "attn-text-a")), ("seed", _find(demo, "gan-seed")), ("digit", _find(demo, "gan-digit")),
               ("photo", _find(demo, "ae-denoise-input")), ("digit_image", _find(demo, "attn-image-in"))]
    wanted = [(key, component) for key, component in wanted if component is not None]
    outputs = [component for _, component in wanted]
    text, seed, digit = (dict(wanted).get(key) for key in ("text", "seed", "digit"))

    def on_load(request: gr.Request):
        deep = parse_query(getattr(request, "query_params", None) or {})
        values = {
            "presenter": gr.update(value=deep.presenter),
            "notice": "Link: " + "; ".join(deep.notices) + "." if deep.notices else "",
            "app": gr.Tabs(selected=TABS[deep.tab]) if deep.tab else gr.skip(),
            "text": deep.text if deep.text is not None else gr.skip(),
            "seed": deep.seed if deep.seed is not None else gr.skip(),
            "digit": deep.digit if deep.digit is not None else gr.skip(),
            # The photo and the digit start with their examples (set when the tabs are built); a link's
            # example= replaces the photo.
            "photo": str(PHOTO_EXAMPLES / deep.example) if deep.example else gr.skip(),
            "digit_image": gr.skip(),
        }
        for tab, (_, subs) in SUB_TABS.items():
            chosen = deep.sub if deep.tab == tab and deep.sub else None
            values[f"sub:{tab}"] = gr.Tabs(selected=subs[chosen]) if chosen else gr.skip()
        return [values[key] for key, _ in wanted]

    opened = demo.load(on_load, None, outputs, api_visibility="private", show_progress="hidden", queue=False)
    opened.then(None, [presenter], None, js=PRESENTER_JS, api_visibility="private")
    tabs = {block.id: block for block in demo.blocks.values() if isinstance(block, gr.Tab) and block.id}
    flags: dict = {}  # event id -> its "done on this page" gr.State
    for api_name, (tab, sub) in ON_OPEN.items():
        event = _event(demo, api_name)
        if event is None:
            continue
        event.targets = [t for t in event.targets if t[1] != "load"]  # not on every page load any more
        subs = SUB_TABS.get(tab, ("", {}))[1]
        # When the view is first opened: its sub-tab, or its tab when it is the tab's first view. Gradio
        # fires select for the tabs selected when the page starts (the landing) and for tabs a deep link
        # selects, as for a click.
        triggers = [tabs[subs[sub]].select] if sub and subs.get(sub) in tabs else []
        if (sub is None or next(iter(subs), None) == sub) and TABS[tab] in tabs:
            triggers.append(tabs[TABS[tab]].select)
        if triggers:
            _wire_once(demo, event, lambda **kw: gr.on(triggers, **kw), flags)
    presenter.change(None, [presenter], None, js=PRESENTER_JS, api_visibility="private")
    subs = "{" + ", ".join(f"'{k}': '{v}'" for k, v in SUB_ELEM_IDS.items()) + "}"
    if text is not None and seed is not None and digit is not None:
        copy.click(None, [text, seed, digit], [link], js=COPY_LINK_JS.replace("%SUBS%", subs), api_visibility="private")
