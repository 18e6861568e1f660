"""The GAN tab on the tab contract (fast tier, no server): handles, opening results, links, API surface, imports."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import gradio as gr
import pytest

from demos.common.contract import LinkParam, OnOpen, TabHandles, ViewHandles

VIEWS = ("faces", "generate", "latent", "score", "lab", "live", "quality", "diffusion", "compare")
PUBLIC = {"gan_faces", "gan_faces_interpolate", "gan_faces_direction", "gan_generate", "gan_interpolate", "gan_walk",
          "gan_score", "gan_score_sketch", "gan_lab_step", "gan_lab_run", "gan_live_train", "gan_quality",
          "diffusion_generate", "diffusion_trace"}


@pytest.fixture(scope="module")
def built():
    from demos import gan

    with gr.Blocks() as demo:
        handles = gan.build(demo)
    return demo, handles


def _components(demo):
    return {id(block) for block in demo.blocks.values()}


def _inside(block, page) -> bool:
    while block is not None:
        if block is page:
            return True
        block = getattr(block, "parent", None)
    return False


def test_build_returns_the_tab_and_its_views_in_order(built):
    demo, handles = built
    assert isinstance(handles, TabHandles) and handles.tab == "gan"
    assert isinstance(handles.page, gr.Tab) and (handles.page.id, handles.page.elem_id) == ("gan", "tab-gan")
    assert isinstance(handles.subtabs, gr.Tabs) and handles.subtabs.elem_id == "gan-subtabs"
    assert isinstance(handles.intro, gr.Markdown) and "nd-intro-text" in handles.intro.elem_classes
    assert tuple(view.sub for view in handles.views) == VIEWS


@pytest.mark.parametrize("index", range(len(VIEWS)))
def test_every_view_keeps_its_ids_and_gives_a_result_an_opening_and_links(built, index):
    demo, handles = built
    view, blocks = handles.views[index], _components(demo)
    assert isinstance(view, ViewHandles) and view.tab == "gan" and view.key == f"gan/{VIEWS[index]}"
    assert isinstance(view.page, gr.Tab) and view.page.parent is handles.subtabs
    assert (view.page.id, view.page.elem_id) == (f"gan-{view.sub}", f"tab-gan-{view.sub}")
    assert id(view.result) in blocks and _inside(view.result, view.page)
    assert view.on_open and all(isinstance(spec, OnOpen) and callable(spec.fn) for spec in view.on_open)
    for spec in view.on_open:
        assert all(id(c) in blocks for c in (*spec.inputs, *spec.outputs)), view.sub
        assert spec.outputs and all(_inside(c, view.page) or isinstance(c, gr.State) for c in spec.outputs)
    names = [param.name for param in view.link]
    assert names and len(names) == len(set(names)), names
    for param in view.link:
        assert isinstance(param, LinkParam) and id(param.component) in blocks and _inside(param.component, view.page)
        component = param.component
        if isinstance(component, (gr.Number, gr.Slider)):  # the stage validates links against real bounds
            assert component.minimum is not None and component.maximum is not None, (view.sub, param.name)


def test_the_links_the_issue_names(built):
    _, handles = built
    links = {view.sub: {param.name for param in view.link} for view in handles.views}
    assert {"seed", "psi"} <= links["faces"]
    assert {"seed", "digit", "count", "psi"} <= links["generate"]
    assert {"seed_a", "seed_b", "digit_a", "digit_b"} <= links["latent"]
    assert "digit" in links["score"]
    assert {"dataset", "loss", "optimizer", "g_lr", "d_lr", "d_steps", "seed"} <= links["lab"]
    assert {"seed", "seconds"} <= links["live"]
    assert links["quality"] == {"samples"}
    faces, generate = handles.views[0], handles.views[1]
    faces_seed = next(p.component for p in faces.link if p.name == "seed")
    assert faces_seed.elem_id == "gan-faces-seed"  # the Faces seed is the Faces view's own, not Generate's
    assert next(p.component for p in generate.link if p.name == "seed").elem_id == "gan-seed"
    score_image = next(p for p in handles.views[3].link if p.name == "image")
    assert score_image.choices and all(Path(path).is_file() for path in score_image.choices.values())


def _chain(spec: OnOpen) -> list[str]:
    names = [spec.fn.__name__]
    while spec.then:
        assert len(spec.then) == 1  # one after another: they share two CPU cores
        spec = spec.then[0]
        names.append(spec.fn.__name__)
    return names


def test_openings_reproduce_what_each_view_showed_on_open(built):
    _, handles = built
    opens = {view.sub: view.on_open for view in handles.views}
    assert _chain(opens["faces"][0]) == ["gan_faces", "gan_faces_truncation", "gan_faces_interpolate",
                                         "gan_faces_interpolate_z", "gan_faces_direction", "gan_faces_direction_strip",
                                         "gan_faces_zoom", "gan_faces_compare"]
    assert [spec.fn.__name__ for spec in opens["generate"]] == ["gan_generate"]
    assert [spec.fn.__name__ for spec in opens["latent"]] == ["gan_walk", "gan_interpolate"]
    assert _chain(opens["score"][0]) == ["gan_score", "gan_sketch_load"]  # the sketchpad after the score card
    assert [spec.fn.__name__ for spec in opens["lab"]] == ["gan_lab_reset"]
    assert [spec.fn.__name__ for spec in opens["live"]] == ["gan_live_reset"]
    assert [spec.fn.__name__ for spec in opens["quality"]] == ["gan_quality_committed"]
    assert _chain(opens["diffusion"][0]) == ["diffusion_generate", "diffusion_trace", "diffusion_step",
                                             "diffusion_sdedit", "diffusion_guidance_row"]
    assert [spec.fn.__name__ for spec in opens["compare"]] == ["generators_recorded"]


def test_quality_opens_with_its_committed_figures():
    from demos.gan import quality
    from engine.gan.render import quality_summary

    figures = quality.gan_quality_committed()
    assert figures["samples"] == 1000 and figures["passes_bar"] is True
    assert "Passes the bar" in quality_summary(figures).headline
    assert "judge agrees with the requested class" in quality.committed_figures_markdown()


def test_the_tab_has_fourteen_public_endpoints_with_defaults_and_integer_parameters(built):
    demo, _ = built
    public = {fn.api_name: fn for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert set(public) == PUBLIC
    for name, fn in public.items():
        parameters = list(inspect.signature(fn.fn).parameters.values())
        assert all(p.default is not inspect.Parameter.empty for p in parameters[1:]), name
        assert fn.fn.__doc__ and "``" not in fn.fn.__doc__, name  # the API page's text: plain sentences
    info = demo.get_api_info()["named_endpoints"]
    types = {(name, p["parameter_name"]): p["python_type"]["type"] for name, e in info.items() for p in e["parameters"]}
    for name, parameter in [("/gan_faces", "size"), ("/gan_faces", "count"), ("/gan_faces", "seed"),
                            ("/gan_generate", "count"), ("/gan_interpolate", "frames"), ("/gan_faces_interpolate", "frames"),
                            ("/gan_lab_run", "max_steps"), ("/gan_lab_run", "g_width"), ("/gan_live_train", "seconds"),
                            ("/gan_quality", "samples"), ("/diffusion_generate", "count"),
                            ("/diffusion_generate", "steps"), ("/diffusion_trace", "steps"),
                            ("/diffusion_trace", "seed")]:
        assert types[(name, parameter)] == "int", (name, parameter, types[(name, parameter)])
    private = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "private"}
    assert {"gan_faces_truncation", "gan_faces_zoom", "gan_faces_direction_strip", "gan_faces_interpolate_z",
            "gan_sketch_load", "gan_lab_reset", "gan_lab_csv", "gan_live_reset", "diffusion_step", "diffusion_sdedit",
            "diffusion_guidance_row", "generators_measure"} <= private


def test_long_explanations_are_hidden_in_presenter_mode_and_the_score_card_comes_first(built):
    _, handles = built
    score = handles.views[3]
    assert score.result.elem_id == "gan-score-card"
    order = [getattr(block, "elem_id", None) for block in _descendants(score.page)]
    assert order.index("gan-score-card") < order.index("gan-sketch")  # the upload's card, then the sketchpad
    markdown = [block for view in handles.views for block in _descendants(view.page) if isinstance(block, gr.Markdown)]
    exempt = {"gan-faces-licence", "gan-quality-table"}  # the licence and the figures are results, not explanations
    for block in markdown:
        if len(block.value or "") > 200 and block.elem_id not in exempt:
            assert "nd-explain" in (block.elem_classes or []), block.value[:60]
    assert "nd-explain" in _descendants(score.page)[0].elem_classes  # D's explanation above the score


def _descendants(block) -> list:
    out = []
    for child in getattr(block, "children", []):
        out.append(child)
        out.extend(_descendants(child))
    return out


def test_presenter_type_is_at_least_18_px():
    from demos.gan import CSS

    sizes = [int(size) for size in re.findall(r"font-size:\s*(\d+)px", CSS)]
    assert sizes and min(sizes) >= 18
    assert all(line.lstrip().startswith("body.nd-presenter") for line in CSS.strip().splitlines())
    assert ".nd-card-label" in CSS and ".nd-card-note" in CSS  # the card subtitles (15 px by default)
