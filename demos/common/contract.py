"""The tab contract: what a view gives the stage, as typed handles.

Every view module under ``demos/<tab>/`` exports ``build(demo) -> ViewHandles``: it lays out its widgets
inside its own ``gr.Tab``, wires its events, and returns the components others need. Each tab package's
``build(demo) -> TabHandles`` builds its views. The stage (:mod:`demos.stage`) then uses only these handles:

- deep links set ``link`` components (``?tab=<tab>&sub=<view>&<name>=<value>``) and "Copy link" reads them back;
- presenter mode keeps ``result`` in view;
- ``on_open`` runs once per page when the view is first opened (never on every page load);
- ``cross_links`` open another view with inputs (Transfer -> Attention), wired by the stage.

No view imports another view; a piece two views share lives in ``demos/common/`` or the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import gradio as gr

Component = gr.components.Component


@dataclass(frozen=True)
class OnOpen:
    """A view's opening result: ``fn(*inputs)`` fills ``outputs``, then each spec in ``then`` runs.

    Not an event yet: the stage registers it on the view's tab ``select`` (run at most once per page).
    ``fn`` may be a generator (a streaming view) and may take ``request: gr.Request``.
    """

    fn: Callable
    inputs: tuple[Component, ...] = ()
    outputs: tuple[Component, ...] = ()
    then: tuple["OnOpen", ...] = ()
    preprocess: bool = True
    postprocess: bool = True
    time_limit: float | None = None


@dataclass(frozen=True)
class LinkParam:
    """One deep-link parameter of a view: ``?<name>=<value>`` sets ``component``.

    The value is checked against the component (a Number's precision and bounds, a Slider's range, a
    Dropdown's choices, a Textbox's length, a Checkbox's yes/no). ``choices`` names the allowed values where
    the component cannot (an image input: example name -> file path).
    """

    name: str
    component: Component
    choices: Mapping[str, str] | None = None


@dataclass(frozen=True)
class ViewHandles:
    """What one view (a sub-tab) gives the stage."""

    tab: str  # the ?tab= of its links, e.g. "gan"
    sub: str  # the ?sub= of its links, e.g. "faces"; unique within its tab
    page: gr.Tab  # the view's own tab: its select event opens the view
    result: Component  # the main result: presenter mode keeps it in view at 1280x720
    on_open: tuple[OnOpen, ...] = ()  # what the view shows when it is first opened
    link: tuple[LinkParam, ...] = ()  # its own deep-link parameters, names unique within the view
    cross_links: tuple["CrossLink", ...] = ()

    @property
    def key(self) -> str:
        return f"{self.tab}/{self.sub}"


@dataclass(frozen=True)
class CrossLink:
    """A button in one view that opens another view with inputs, and runs that view's ``on_open``.

    ``values(*inputs)`` returns a mapping of the target view's link names to values (``inputs`` are
    components of the view that owns the button). The stage wires it, so neither view imports the other.
    """

    button: gr.Button
    target: str  # the target view's key, "<tab>/<sub>"
    values: Callable[..., Mapping[str, object]]
    inputs: tuple[Component, ...] = ()


@dataclass(frozen=True)
class TabHandles:
    """A top-level tab: its views in order (the first opens with the tab)."""

    tab: str
    page: gr.Tab
    views: tuple[ViewHandles, ...]
    subtabs: gr.Tabs | None = None  # None when the tab has a single view (no sub-tab bar)
    intro: Component | None = None  # the tab's introduction: one line in presenter mode
