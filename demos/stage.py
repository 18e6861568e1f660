"""The stage: what a newcomer and a speaker see first, built on the views' handles only.

- a landing header that says what NeuroDeck is and where to start in each tab;
- a result in every view when it is first opened (each view's ``on_open``, once per page);
- deep links: ``?tab=<tab>&sub=<view>&<name>=<value>`` with each view's own input names
  (``ViewHandles.link``); unknown or malformed parameters are ignored with a notice;
- presenter mode (``?presenter=1`` or the toggle): applied in the browser before anything renders
  (:data:`HEAD`), larger type, intros condensed to one line, developer details hidden;
- "Copy link to this view": the selected view and its inputs as such a link;
- cross links between views (:class:`~demos.common.contract.CrossLink`).

Query parsing is a pure function (:func:`parse_query`), tested without a server.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import gradio as gr

from demos.common import gradio_page
from demos.common.contract import LinkParam, TabHandles, ViewHandles
from demos.common.opening import wire_on_open
from demos.stage_css import CSS  # noqa: F401  (app.py passes it to launch)
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

# Runs in <head>, before the page renders: presenter mode from the address bar, so a speaker never sees small
# type first. The class sits on <html> (it exists this early); the toggle changes the same class.
HEAD = """<script>
(function () {
  var on = ['1', 'true', 'yes', 'on'].indexOf((new URLSearchParams(window.location.search).get('presenter') || '').toLowerCase()) >= 0;
  if (!on) { return; }
  document.documentElement.classList.add('nd-presenter');
  // <body> gets the class too (the tabs' rules use it); gradio may add this <head> after the document has loaded,
  // when DOMContentLoaded has already fired.
  var mark = function () { document.body.classList.add('nd-presenter'); };
  if (document.body) { mark(); } else { document.addEventListener('DOMContentLoaded', mark); }
})();
</script>"""

# The toggle: adds / removes the class and keeps ?presenter=1 in the address bar so a copied link keeps it.
PRESENTER_JS = """
(on) => {
  document.documentElement.classList.toggle('nd-presenter', !!on);
  document.body.classList.toggle('nd-presenter', !!on);
  const url = new URL(window.location.href);
  if (on) { url.searchParams.set('presenter', '1'); } else { url.searchParams.delete('presenter'); }
  window.history.replaceState(null, '', url);
  return [];
}
"""

# Reads the selected view from the page and its inputs (the values gradio passes in) into a link.
COPY_LINK_JS = """
(...values) => {
  const tabs = %SPEC%;
  const selected = (elemId) => {
    const button = document.getElementById(elemId + '-button');
    return !!button && button.getAttribute('aria-selected') === 'true';
  };
  const tab = tabs.find((t) => selected(t.elem_id)) || tabs[0];
  const view = tab.views.find((v) => selected(v.elem_id)) || tab.views[0];
  const url = new URL(window.location.origin + window.location.pathname);
  url.searchParams.set('tab', tab.key);
  url.searchParams.set('sub', view.sub);
  for (const [name, index, files] of view.params) {
    let value = values[index];
    if (value === null || value === undefined || value === '') { continue; }
    if (files) {  // an image input: the example's name, if it is one
      const path = String(value.path || value.url || value.orig_name || value);
      const hit = Object.entries(files).find(([, file]) => path.endsWith('/' + file) || path.endsWith(file));
      if (!hit) { continue; }
      value = hit[0];
    }
    if (Array.isArray(value)) { value = value.join(','); }
    url.searchParams.set(name, String(value));
  }
  if (document.documentElement.classList.contains('nd-presenter')) { url.searchParams.set('presenter', '1'); }
  const link = url.toString();
  if (navigator.clipboard && window.isSecureContext) { navigator.clipboard.writeText(link).catch(() => {}); }
  return link;
}
"""

STAGE_PARAMS = ("tab", "sub", "presenter")
GRADIO_PARAMS = ("view", "deep_link", "__theme")  # gradio's own: ?view=api opens its API page
TRUE_WORDS, FALSE_WORDS = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


SKIP = object()  # a load value that leaves its component as it is


@dataclass(frozen=True)
class Select:
    """A load value for a ``gr.Tabs``: select the tab with this id."""

    id: str


# What a page can be served with already set (their config value is their postprocessed value); an image input's
# value is a file the load sends, so a link with one is set by the load only.
PAGE_SETTABLE = (gr.Checkbox, gr.Markdown, gr.Textbox, gr.Number, gr.Slider, gr.Dropdown, gr.Radio, gr.CheckboxGroup)


@dataclass(frozen=True)
class Header:
    presenter: gr.Checkbox
    copy: gr.Button
    link: gr.Textbox
    notice: gr.Markdown


@dataclass(frozen=True)
class DeepLink:
    """What a page's query asked for, cleaned. ``view`` is None when no view was asked for (or it was refused)."""

    view: str | None = None  # "<tab>/<sub>"
    values: Mapping[str, object] = field(default_factory=dict)  # the view's link name -> checked value
    presenter: bool = False
    notices: tuple[str, ...] = ()  # one line per parameter that was ignored, and why

    @property
    def tab(self) -> str | None:
        return self.view.split("/")[0] if self.view else None

    @property
    def sub(self) -> str | None:
        return self.view.split("/")[1] if self.view else None


class Views:
    """Every view by key, in page order, checked: each view's link names are unique and its handles complete."""

    def __init__(self, tabs: Sequence[TabHandles]):
        self.tabs = {tab.tab: tab for tab in tabs}
        self.views: dict[str, ViewHandles] = {}
        for tab in tabs:
            if not tab.views:
                raise ValueError(f"tab {tab.tab!r} has no views")
            for view in tab.views:
                if view.tab != tab.tab:
                    raise ValueError(f"view {view.key} is built in tab {tab.tab!r}")
                if view.key in self.views:
                    raise ValueError(f"two views are called {view.key}")
                names = [param.name for param in view.link]
                clash = sorted({name for name in names if names.count(name) > 1} | (set(names) & set(STAGE_PARAMS + GRADIO_PARAMS)))
                if clash:
                    raise ValueError(f"view {view.key}: link names {clash} are taken")
                if view.page is None or view.result is None:
                    raise ValueError(f"view {view.key} lacks its page or its result")
                self.views[view.key] = view

    def of_tab(self, tab: str) -> list[ViewHandles]:
        return list(self.tabs[tab].views)

    def first(self, tab: str) -> ViewHandles:
        return self.tabs[tab].views[0]


def check_value(param: LinkParam, raw: str):
    """The value ``raw`` (from a URL) stands for in ``param.component``; raises ValueError saying what is allowed."""
    component, text = param.component, raw.strip()
    if param.choices is not None:
        wanted = Path(text).stem.lower()  # a name, never a path
        for name, path in param.choices.items():
            if Path(name).stem.lower() == wanted:
                return str(path)
        raise ValueError(f"use one of {', '.join(sorted(param.choices))[:200]}")
    if isinstance(component, gr.Checkbox):
        if text.lower() in TRUE_WORDS | FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise ValueError("use 1 or 0")
    if isinstance(component, (gr.Number, gr.Slider)):
        try:
            value = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        low, high = getattr(component, "minimum", None), getattr(component, "maximum", None)
        whole = getattr(component, "precision", None) == 0
        if not math.isfinite(value) or (whole and value != int(value)):
            raise ValueError("a whole number" if whole else "a finite number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"from {low:g} to {high:g}" if low is not None and high is not None else "out of range")
        return int(value) if whole else value
    if isinstance(component, gr.CheckboxGroup):
        values = [_choice(component, part) for part in text.split(",") if part.strip()]
        if not values:
            raise ValueError("empty")
        return values
    if isinstance(component, (gr.Dropdown, gr.Radio)):
        return _choice(component, text)
    if isinstance(component, gr.Textbox):
        if not text:
            raise ValueError("empty")
        limit = getattr(component, "max_length", None) or LIMITS.text_chars
        return text[:limit]
    raise ValueError(f"a {type(component).__name__} cannot be set from a link")


def _choice(component, text: str):
    for label, value in component.choices:
        if text.lower() in (str(value).lower(), str(label).lower()):
            return value
    raise ValueError(f"use one of {', '.join(str(value) for _, value in component.choices)[:200]}")


def parse_query(params, views: Views) -> DeepLink:
    """Clean a page's query parameters (a mapping of str -> str). Never raises: what cannot be used is dropped
    and named in ``notices``. With no ``tab``/``sub``, the inputs choose the view: the first (in page order)
    whose link names include them all."""
    params = {str(k): str(v) for k, v in dict(params or {}).items()}
    notices: list[str] = []
    inputs = {name: value for name, value in params.items() if name not in STAGE_PARAMS + GRADIO_PARAMS}
    view = None
    tab = params.get("tab", "").strip().lower()
    if tab and tab not in views.tabs:
        notices.append(f"ignored tab={tab[:30]!r} (use one of {', '.join(views.tabs)})")
        tab = ""
    sub = params.get("sub", "").strip().lower()
    if sub:
        candidates = views.of_tab(tab) if tab else list(views.views.values())
        matches = [v for v in candidates if v.sub == sub]
        if len(matches) == 1:
            view = matches[0]
        else:
            where = f" (use one of {', '.join(v.sub for v in candidates)})" if tab else " (with tab=..., or a sub that is unique)"
            notices.append(f"ignored sub={sub[:30]!r}{where}")
    if view is None:
        candidates = views.of_tab(tab) if tab else list(views.views.values())
        names = set(inputs)
        fitting = [v for v in candidates if names and names <= {p.name for p in v.link}]
        if fitting:
            view = fitting[0]
        elif tab:
            view = views.first(tab)
    values: dict[str, object] = {}
    if inputs:
        params_of = {p.name: p for p in view.link} if view else {}
        unknown = sorted(name for name in inputs if name not in params_of)
        if unknown:
            where = f" (this view takes {', '.join(params_of) or 'none'})" if view else ""
            notices.append(f"ignored unknown parameter(s): {', '.join(name[:30] for name in unknown[:5])}{where}")
        for name, raw in inputs.items():
            if name in params_of:
                try:
                    values[name] = check_value(params_of[name], raw)
                    if isinstance(values[name], str) and len(raw.strip()) > len(values[name]) and params_of[name].choices is None:
                        notices.append(f"{name} cut to {len(values[name]):,} characters")
                except ValueError as error:
                    notices.append(f"ignored {name}={raw[:30]!r} ({error})")
    presenter = params.get("presenter", "").strip().lower() in TRUE_WORDS
    return DeepLink(view=view.key if view else None, values=values, presenter=presenter, notices=tuple(notices))


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


def build_header() -> Header:
    """The landing header and the stage bar (presenter toggle, copy link). Call inside the Blocks, above the tabs."""
    with gr.Row(elem_id="nd-stage-bar", equal_height=True):
        gr.HTML(TITLE, elem_id="nd-title", scale=1, min_width=300)
        link = gr.Textbox(show_label=False, placeholder="(the link appears here)", interactive=False, scale=1,
                          min_width=160, elem_id="nd-link-box", container=False)
        presenter = gr.Checkbox(value=False, label="Presenter mode", elem_id="nd-presenter", scale=0, min_width=190,
                                container=False)
        copy = gr.Button("Copy link to this view", size="sm", elem_id="nd-copy-link", scale=0, min_width=230)
    notice = gr.Markdown("", elem_id="nd-notice", elem_classes=["nd-notice"])
    gr.HTML(HEADER, elem_id="nd-header")
    return Header(presenter, copy, link, notice)


def _copy_link_spec(views: Views, params: list) -> str:
    """The copy-link script's map: tabs and views by elem_id, each view's link names with their input index."""
    tabs = []
    for tab in views.tabs.values():
        entries = []
        for view in tab.views:
            entry_params = []
            for param in view.link:
                params.append(param.component)
                files = {name: Path(path).name for name, path in param.choices.items()} if param.choices else None
                entry_params.append([param.name, len(params) - 1, files])
            entries.append({"sub": view.sub, "elem_id": view.page.elem_id or "", "params": entry_params})
        tabs.append({"key": tab.tab, "elem_id": tab.page.elem_id or "", "views": entries})
    return json.dumps(tabs)


def _link_components(views: Views) -> list[tuple[str, str, gr.components.Component]]:
    """(view key, link name, component) for every view's link, each component once."""
    seen: set[int] = set()
    out = []
    for view in views.views.values():
        for param in view.link:
            if id(param.component) not in seen:
                seen.add(id(param.component))
                out.append((view.key, param.name, param.component))
    return out


def wire(demo: gr.Blocks, header: Header, tabs: Sequence[TabHandles], app_tabs: gr.Tabs) -> Views:
    """After every tab is built: deep links, results on open, presenter mode, the copy link and cross links."""
    views = Views(tabs)
    _mark_developer_details(demo)
    links = _link_components(views)
    subtabs = [tab for tab in views.tabs.values() if tab.subtabs is not None]
    landing = next(iter(views.views.values()))
    # The landing view opens after the page's load has set the link's inputs (gradio fires the starting tab's select
    # as the page mounts, before that) and only when the page shows it: a deep link to another view computed the
    # landing view's whole opening first (the Faces chain, ~2.4 s of CPU that held the cores under the linked view).
    # Such a page opens it on a later select instead. Two gates, one true per page: at most one of them runs. The
    # later one lives in the browser (a hidden checkbox, its value sent with each select), so a select fired as the
    # page mounts carries "not yet" even when the queue only reaches it after the load has run.
    landing_now = gr.State(False)
    landing_later = gr.Checkbox(False, visible=False, elem_id="nd-landing-later")
    # A tab's first view also opens on its tab's select (a click on the tab shows it), but not when a link selected
    # another view of that tab: the link to Autoencoder > Latent space ran Denoise's whole opening first, in front
    # of the view asked for. One gate per such tab, set by the page's load; the view's own select is never gated.
    # A hidden checkbox too (not a State): the page is served with the link's values already set (page_props), so the
    # select gradio fires as the page mounts may reach the queue before the load has run.
    first_gates = {tab.tab: gr.Checkbox(True, visible=False, elem_id=f"nd-first-gate-{tab.tab}")
                   for tab in subtabs if tab.views[0] is not landing}
    # True on a page served by page_props: it came with everything the load sets, so the load has nothing to do, and
    # the views (the landing one too) open on the selects gradio fires as the page mounts.
    served = gr.Checkbox(False, visible=False, elem_id="nd-served")
    outputs = [header.presenter, header.notice, app_tabs, *[tab.subtabs for tab in subtabs], *[c for _, _, c in links],
               landing_now, landing_later, *first_gates.values(), served]

    def load_values(deep: DeepLink, serving: bool) -> list:
        """What the page's load sets, one entry per ``outputs``: a value, ``Select(id)`` for a Tabs, or ``SKIP``.
        ``serving``: for the page itself (page_props), where the landing view opens on its tab's select."""
        out = [deep.presenter, "Link: " + "; ".join(deep.notices) + "." if deep.notices else "",
               Select(views.tabs[deep.tab].page.id) if deep.view else SKIP]
        for tab in subtabs:
            chosen = views.views[deep.view] if deep.view and deep.tab == tab.tab else None
            out.append(Select(chosen.page.id) if chosen else SKIP)
        for key, name, _ in links:
            out.append(deep.values[name] if key == deep.view and name in deep.values else SKIP)
        shows_landing = deep.view in (None, landing.key)
        firsts = [deep.tab != tab or deep.view == views.first(tab).key for tab in first_gates]
        now, later = (False, True) if serving else (shows_landing, not shows_landing)
        return out + [now, later, *firsts, serving]

    def on_load(was_served: bool, request: gr.Request):
        if was_served:
            return [gr.skip()] * len(outputs)
        deep = parse_query(getattr(request, "query_params", None) or {}, views)
        return [gr.skip() if value is SKIP else gr.Tabs(selected=value.id) if isinstance(value, Select) else value
                for value in load_values(deep, serving=False)]

    def page_props(query) -> dict[int, dict]:
        """The props the page is served with for ``query`` (component id -> props): what its load would set, so the
        linked view is the one that mounts first and opens at once, without waiting for the load. Empty (the page
        as built, the load sets the link) when a value cannot be set in the page: an example image, a file the
        load sends."""
        deep = parse_query(query, views)
        props: dict[int, dict] = {}
        for component, value in zip(outputs, load_values(deep, serving=True)):
            if value is SKIP or isinstance(component, gr.State):
                continue
            if isinstance(value, Select):
                props[component._id] = {"selected": value.id}
            elif isinstance(component, PAGE_SETTABLE):
                props[component._id] = {"value": component.postprocess(value)}
            else:
                return {}
        return props

    gradio_page.serve_with_props(demo, page_props)
    opened = demo.load(on_load, [served], outputs, api_visibility="private", show_progress="hidden", queue=False)

    def on(*triggers):
        return lambda **kw: gr.on(list(triggers), **kw)

    for view in views.views.values():
        tab = views.tabs[view.tab]
        # Its own tab's select, and its tab's select when it is the tab's first view (gradio fires select for a tab
        # a link selects, as for a click).
        triggers = [view.page.select] + ([tab.page.select] if view is tab.views[0] else [])
        for spec in view.on_open:
            if view is landing:
                wire_on_open(spec, opened.then, landing_now)
                wire_on_open(spec, on(*triggers), landing_later)
            elif view.tab in first_gates and view is tab.views[0]:
                dones: dict = {}
                wire_on_open(spec, on(view.page.select), dones=dones)
                wire_on_open(spec, on(tab.page.select), first_gates[view.tab], dones)
            else:
                wire_on_open(spec, on(*triggers))
    header.presenter.change(None, [header.presenter], None, js=PRESENTER_JS, api_visibility="private")
    params: list = []
    spec = _copy_link_spec(views, params)
    header.copy.click(None, params, [header.link], js=COPY_LINK_JS.replace("%SPEC%", spec), api_visibility="private")
    _wire_cross_links(views, app_tabs)
    return views


def _wire_cross_links(views: Views, app_tabs: gr.Tabs) -> None:
    """Each CrossLink: select the target view, set its link inputs, then run its opening result."""
    for view in views.views.values():
        for cross in view.cross_links:
            target = views.views[cross.target]  # KeyError: a cross link to a view that does not exist
            tab = views.tabs[target.tab]
            params = list(target.link)
            outputs = [app_tabs, *([tab.subtabs] if tab.subtabs is not None else []), *[p.component for p in params]]

            def select_and_fill(*inputs, cross=cross, target=target, tab=tab, params=params):
                values = cross.values(*inputs)
                unknown = set(values) - {p.name for p in params}
                if unknown:
                    raise gr.Error(f"{target.key} has no input named {', '.join(sorted(unknown))}")
                out = [gr.Tabs(selected=tab.page.id)] + ([gr.Tabs(selected=target.page.id)] if tab.subtabs is not None else [])
                return out + [values.get(p.name, gr.skip()) for p in params]

            event = cross.button.click(select_and_fill, list(cross.inputs), outputs, api_visibility="private", queue=False)
            for spec in target.on_open:
                event = event.then(spec.fn, list(spec.inputs), list(spec.outputs), api_visibility="private",
                                   preprocess=spec.preprocess, postprocess=spec.postprocess, time_limit=spec.time_limit)
