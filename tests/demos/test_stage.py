"""Deep-link parsing: every parameter is cleaned, nothing raises, what is dropped is named."""

from __future__ import annotations

from demos.stage import MAX_SEED, DeepLink, parse_query, photo_examples


def test_full_links_are_understood():
    link = parse_query({"tab": "attention", "sub": "text", "text": "The cat sat.", "presenter": "1"})
    assert link == DeepLink(tab="attention", sub="text", text="The cat sat.", presenter=True)
    link = parse_query({"tab": "GAN", "seed": "7", "digit": "3"})
    assert (link.tab, link.sub, link.seed, link.digit, link.notices) == ("gan", "generate", 7, "3", ())


def test_inputs_imply_their_tab():
    assert parse_query({"text": "hello"}).tab == "attention"
    assert parse_query({"seed": "5"}).sub == "generate"
    name = photo_examples()[0].stem
    link = parse_query({"example": name})
    assert (link.tab, link.sub, link.example) == ("autoencoder", "denoise", photo_examples()[0].name)


def test_junk_is_ignored_with_a_notice_never_an_error():
    link = parse_query({"tab": "nope", "sub": "zzz", "seed": "abc", "digit": "12", "foo": "1",
                        "example": "../../etc/passwd", "presenter": "maybe"})
    assert link.tab is None and link.seed is None and link.digit is None and link.example is None
    assert link.presenter is False
    text = " ".join(link.notices)
    for word in ("tab='nope'", "seed='abc'", "digit='12'", "foo", "example="):
        assert word in text, (word, text)
    for seed in ("-1", str(MAX_SEED + 1), "1.5", "nan", "inf", "1e400"):
        assert parse_query({"seed": seed}).seed is None
    assert parse_query({}) == DeepLink()
    assert parse_query(None) == DeepLink()


def test_long_text_is_cut_and_said():
    link = parse_query({"text": "a" * 20_000})
    assert len(link.text) == 5_000 and any("cut" in notice for notice in link.notices)


def test_sub_tab_must_belong_to_the_tab():
    link = parse_query({"tab": "gan", "sub": "text"})
    assert link.tab == "gan" and link.sub is None and link.notices


def test_on_open_runs_once_and_streams_a_generator_view_item_by_item():
    # The Decoder view opens with a streaming (generator) handler: the once-per-page wrapper gave gradio
    # the whole generator unpacked as one output tuple ("needed 13 outputs, returned 2"), so every output
    # of Attention › Decoder showed "Error" when the view opened.
    import inspect

    import gradio as gr

    from demos.stage import _once

    def stream(a, b=1):
        yield a, b
        yield a + 1, b + 1

    run = _once(stream, 2)
    assert inspect.isgeneratorfunction(run)  # gradio streams it
    assert list(run(False, 1, 5)) == [(True, 1, 5), (True, 2, 6)]
    (skipped,) = list(run(True, 1, 5))
    assert len(skipped) == 3 and all(isinstance(value, type(gr.skip())) for value in skipped)

    plain = _once(lambda x: x * 2, 1)
    assert not inspect.isgeneratorfunction(plain)
    assert plain(False, 4) == (True, 8) and len(plain(True, 4)) == 2


def test_every_view_opening_handler_keeps_its_kind():
    # Every event wired to run when a view opens is a generator exactly when its handler is.
    import inspect

    from app import build_app
    from demos.stage import ON_OPEN

    demo = build_app()
    names = set()
    for fn in demo.fns.values():
        original = getattr(fn.fn, "__wrapped_on_open__", None)
        if original is not None:
            names.add(getattr(original, "__name__", ""))
            assert inspect.isgeneratorfunction(fn.fn) == inspect.isgeneratorfunction(original), original
    assert "decoder_open" in names and len(names) >= len(ON_OPEN)
