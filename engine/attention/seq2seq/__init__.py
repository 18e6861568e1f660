"""Encoder-decoder attention on a small translation task: writing dates in ISO 8601.

Modules: :mod:`.data` (seeded date generator and the copy task), :mod:`.tokens` (character
vocabulary), :mod:`.models` (GRU encoder-decoder, GRU with Bahdanau attention, small
transformer), :mod:`.train` (one training loop), :mod:`.evaluate` (exact match, alignment score),
:mod:`.inference` (greedy decoding, what-if prefixes, API payload), :mod:`.live` (per-session
live training) and :mod:`.render` (Plotly figure dicts). Nothing runs at import.
"""
