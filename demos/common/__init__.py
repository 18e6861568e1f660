"""Small pieces every view shares, one concern per module.

- :mod:`.contract`: the typed handles a view gives the stage (``build(demo) -> ViewHandles``);
- :mod:`.opening`: a view's opening result, run once per page when the view is first opened;
- :mod:`.errors`: engine ``ValueError`` -> ``gr.Error``, one log line per expected user error;
- :mod:`.limits`: the time limit of each kind of event;
- :mod:`.cards`: key numbers as large labelled figures;
- :mod:`.editors`: resolving live ImageEditor values;
- :mod:`.payloads`: large JSON payloads and Plotly figures without re-validation;
- :mod:`.sessions`: the per-user key;
- :mod:`.gradio_patches`: the few places NeuroDeck changes gradio's own behaviour (version-checked).
"""
