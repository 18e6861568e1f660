"""A view's opening result, run once per page when the view is first opened.

The stage registers each view's :class:`~demos.common.contract.OnOpen` on its tab's ``select`` event (which
gradio also fires for the tab selected when the page starts and for a tab a deep link selects). A page load
used to queue every hidden view's work in front of the view on screen.
"""

from __future__ import annotations

import inspect

import gradio as gr

from demos.common.contract import OnOpen


def _inputs_of(fn) -> list[inspect.Parameter]:
    """``fn``'s parameters that take an input component (not the request, not a ``gr.Progress`` tracker)."""
    return [p for p in inspect.signature(fn).parameters.values()
            if p.name != "request" and not isinstance(p.default, gr.Progress)]


def once(fn, n_outputs: int):
    """``fn`` run at most once per page: ``run(done, *inputs)`` returns ``(True, *fn(*inputs))`` the first time
    and skips every output afterwards. A generator ``fn`` (a streaming view) gives a generator ``run`` that
    yields ``(True, *item)`` for each of its items. A ``fn`` that takes ``request: gr.Request`` gets it (gradio
    fills it in from the wrapper's signature)."""
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
            *[inspect.Parameter(f"input_{i}", positional) for i in range(len(_inputs_of(fn)))],
            inspect.Parameter("request", positional, default=None, annotation=gr.Request)])
        run.__annotations__ = {"request": gr.Request}  # gradio finds gr.Request parameters through the annotations
    return run


def gated(run, n_outputs: int):
    """``run`` (a :func:`once` wrapper) behind a gate: ``gated(ready, done, *inputs)`` skips every output, the done
    flag included, while ``ready`` is false, so a later trigger still opens the view."""
    skipped = (gr.skip(),) * (1 + n_outputs)
    if inspect.isgeneratorfunction(run):

        def wrapper(ready, *args, **kwargs):
            if not ready:
                yield skipped
                return
            yield from run(*args, **kwargs)
    else:

        def wrapper(ready, *args, **kwargs):
            return run(*args, **kwargs) if ready else skipped

    signature = inspect.signature(run)
    wrapper.__signature__ = signature.replace(parameters=[
        inspect.Parameter("ready", inspect.Parameter.POSITIONAL_OR_KEYWORD), *signature.parameters.values()])
    wrapper.__annotations__ = dict(getattr(run, "__annotations__", {}))
    wrapper.__name__ = run.__name__
    wrapper.__wrapped_on_open__ = run.__wrapped_on_open__
    return wrapper


def wire_on_open(spec: OnOpen, attach, gate: gr.State | None = None, dones: dict | None = None) -> gr.events.Dependency:
    """Register ``spec`` (and its ``then`` chain) through ``attach`` (e.g. ``lambda **kw: gr.on(triggers, **kw)``),
    each step at most once per page: one ``gr.State`` flag per step. With ``gate``, the first step waits for the
    gate's value to be true (see :func:`gated`) and each later step for the step before it to have run, so a gated
    chain stops whole (its later steps are sent after the gate may have opened). Two chains of the same steps
    (two sets of triggers, one gated) that pass the same ``dones`` dict share the flags: a step runs once per page
    whichever chain reaches it first."""
    dones = {} if dones is None else dones
    if id(spec) not in dones:
        dones[id(spec)] = gr.State(False)
    done = dones[id(spec)]
    run = once(spec.fn, len(spec.outputs))
    inputs = [done, *spec.inputs]
    if gate is not None:
        run, inputs = gated(run, len(spec.outputs)), [gate, *inputs]
    dependency = attach(fn=run, inputs=inputs, outputs=[done, *spec.outputs],
                        api_visibility="private", show_progress="minimal", preprocess=spec.preprocess,
                        postprocess=spec.postprocess, time_limit=spec.time_limit)
    for child in spec.then:
        wire_on_open(child, dependency.then, done if gate is not None else None, dones)
    return dependency
