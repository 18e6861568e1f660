"""Result cards: key numbers as large, labelled figures.

Handlers keep returning their JSON (the API), and a private event turns it into a card (:func:`show_card`).
The JSON itself sits in a closed "Details (JSON)" accordion. Cards carry CARD_CSS themselves (scoped).
"""

from __future__ import annotations

import logging

import gradio as gr

log = logging.getLogger("neurodeck")

CARD_CSS = """
.nd-result { margin: 2px 0 6px; }
.nd-headline { font-size: calc(1.3rem * var(--nd-scale, 1)); font-weight: 650; line-height: 1.3; margin: 0 0 8px; }
.nd-headline.nd-good { color: #166534; }
.nd-headline.nd-bad { color: #b91c1c; }
.nd-cards { display: flex; flex-wrap: wrap; gap: 10px; }
.nd-card { flex: 1 1 160px; min-width: 140px; max-width: 100%; box-sizing: border-box; padding: 10px 14px;
  border: 1px solid var(--border-color-primary, #d4d4d8); border-radius: 10px;
  background: var(--block-background-fill, #fff); }
.nd-card-label { display: block; font-size: calc(0.95rem * var(--nd-scale, 1)); color: var(--body-text-color-subdued, #52525b); }
.nd-card-value { display: block; font-size: calc(2rem * var(--nd-scale, 1)); font-weight: 700; line-height: 1.15;
  font-variant-numeric: tabular-nums; color: var(--body-text-color, #18181b); overflow-wrap: anywhere; }
.nd-card-value.nd-good { color: #15803d; }
.nd-card-value.nd-bad { color: #b91c1c; }
.nd-card-note { display: block; margin-top: 2px; font-size: calc(0.9rem * var(--nd-scale, 1)); color: var(--body-text-color-subdued, #52525b); }
.nd-empty { font-size: calc(1rem * var(--nd-scale, 1)); color: var(--body-text-color-subdued, #71717a); margin: 4px 0; }
"""

def _escape(text) -> str:
    import html

    return html.escape(str(text), quote=True)


def _tone_class(tone) -> str:
    return f" nd-{tone}" if tone in ("good", "bad") else ""


def figure_cards(items=(), headline: str = "", tone: str = "") -> str:
    """HTML for a result card: an optional headline sentence, then one box per key figure.

    ``items`` are objects with ``label``, ``value``, ``note`` and ``tone`` attributes (the engine's
    ``KeyFigure``), or (label, value[, note[, tone]]) tuples; a ``KeyFigures`` object may be passed as
    ``items`` and brings its own headline and tone. Everything is HTML-escaped.
    """
    if hasattr(items, "figures") and hasattr(items, "headline"):
        items, headline, tone = items.figures, headline or items.headline, tone or getattr(items, "tone", "")
    parts = ['<div class="nd-result">']
    if headline:
        parts.append(f'<p class="nd-headline{_tone_class(tone)}">{_escape(headline)}</p>')
    boxes = []
    for item in items or ():
        if isinstance(item, (tuple, list)):
            label, value, note, item_tone = (list(item) + ["", ""])[:4]
        else:
            label, value, note, item_tone = item.label, item.value, getattr(item, "note", ""), getattr(item, "tone", "")
        note_html = f'<span class="nd-card-note">{_escape(note)}</span>' if note else ""
        boxes.append(
            f'<div class="nd-card"><span class="nd-card-label">{_escape(label)}</span>'
            f'<span class="nd-card-value{_tone_class(item_tone)}">{_escape(value)}</span>{note_html}</div>'
        )
    if boxes:
        parts.append('<div class="nd-cards">' + "".join(boxes) + "</div>")
    parts.append("</div>")
    return "".join(parts)


def empty_card(hint: str) -> str:
    """What a card shows before there is a result (e.g. "Press Generate")."""
    return f'<p class="nd-empty">{_escape(hint)}</p>'


def card_formatter(summarise, hint: str, name: str, extra=None):
    """A private formatter for :func:`show_card`: the JSON payload -> an HTML card through
    ``summarise(payload)`` (an engine function returning ``KeyFigures``), or ``summarise(payload, extra())``.
    Empty payloads show ``hint``; a formatting error is logged and never breaks the tab (the JSON is
    still in Details). ``name`` becomes the function's name (the private event's name)."""

    def format_card(payload):
        if not payload:
            return empty_card(hint)
        try:
            return figure_cards(summarise(payload, extra()) if extra is not None else summarise(payload))
        except Exception:  # noqa: BLE001  (a card never breaks the tab; the JSON is still in Details)
            log.exception("Could not format the %s card", name)
            return empty_card("See Details (JSON) for this result.")

    format_card.__name__ = name
    return format_card


def result_card(elem_id: str, hint: str = "") -> gr.HTML:
    """The card component: a ``gr.HTML`` that carries CARD_CSS itself (scoped), filled by :func:`show_card`."""
    return gr.HTML(empty_card(hint) if hint else "", elem_id=elem_id, elem_classes=["nd-figures"], css_template=CARD_CSS,
                   js_on_load=None)


def show_card(source: gr.components.Component, card: gr.HTML, format_fn) -> None:
    """Fill ``card`` from ``source`` (a gr.JSON output) whenever it changes: a private, unqueued event."""
    source.change(format_fn, source, card, api_visibility="private", queue=False, show_progress="hidden")
