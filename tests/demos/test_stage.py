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
