"""Encoder-decoder lab (engine): date generator, tokens, models, decoding, committed models' quality."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest
import torch

from engine.attention.seq2seq import data, decoding, evaluate, inference, tokens
from engine.attention.seq2seq.models import MODEL_KINDS, build_model, causal_mask
from engine.attention.seq2seq.train import TrainConfig, Trainer, make_batch, train

EDGE_DATES = [dt.date(1950, 1, 1), dt.date(2049, 12, 31), dt.date(2000, 2, 29), dt.date(2021, 3, 3),
              dt.date(1999, 12, 11), dt.date(2012, 11, 12), dt.date(1987, 9, 23), dt.date(2030, 7, 22),
              dt.date(1969, 7, 21), dt.date(2001, 8, 2), dt.date(2044, 10, 13), dt.date(1960, 5, 31)]
TINY = {"transformer": {"model_dim": 16, "num_heads": 2, "ff_dim": 32, "encoder_layers": 2, "decoder_layers": 2},
        "rnn_attention": {"embed_dim": 8, "encoder_hidden": 8, "decoder_hidden": 16, "attention_dim": 8},
        "rnn": {"embed_dim": 8, "encoder_hidden": 8, "decoder_hidden": 16}}
WORD_DAYS = {w: i + 1 for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split())}


def _independent_parse(text: str, form: str) -> dt.date:
    """Parse each form without the engine's reader: strptime where it can, a few lines where it cannot."""
    if form == "day_month_year":
        return dt.datetime.strptime(text, "%d %B %Y").date()
    if form == "month_day_year":
        return dt.datetime.strptime(text, "%B %d, %Y").date()
    if form == "ordinal_of":
        day, rest = re.fullmatch(r"(\d+)(?:st|nd|rd|th) of (.*)", text, re.I).groups()
        return dt.datetime.strptime(f"{day} {rest}", "%d %B %Y").date()
    if form == "weekday":
        return dt.datetime.strptime(text, "%A, %B %d, %Y").date()
    if form == "short_month":
        return dt.datetime.strptime(text, "%d %b %Y").date()
    if form == "dotted":
        return dt.datetime.strptime(text, "%d.%m.%Y").date()
    word, month_year = re.fullmatch(r"the (.+?) of (.*)", text, re.I).groups()
    word = word.lower()
    if word.startswith(("twenty-", "thirty-")):
        tens, unit = word.split("-")
        day = (20 if tens == "twenty" else 30) + WORD_DAYS[unit]
    else:
        day = {"thirtieth": 30}.get(word) or WORD_DAYS[word]
    return dt.datetime.strptime(f"{day} {month_year}", "%d %B, %Y").date()


@pytest.mark.parametrize("form", data.FORMS)
def test_every_form_and_casing_parses_back_to_its_date(form):
    for date in EDGE_DATES + [data.date_of(i) for i in range(0, data.NUM_DATES, 997)]:
        for casing in data.CASINGS:
            sample = data.make_sample(date, form, casing)
            assert _independent_parse(sample.source, form) == date, sample
            assert sample.target == date.isoformat()
            read = data.recognise(sample.source)
            assert read.date == date and not read.problem
            assert read.form == form or (form, read.form) == ("short_month", "day_month_year")  # "3 May 2021"
            for field, start, end in sample.spans:  # spans point at the field's characters
                piece = sample.source[start:end].lower()
                if field == "year":
                    assert piece == str(date.year)
                elif field == "month":
                    assert piece in (date.strftime("%B").lower(), date.strftime("%b").lower(), str(date.month))
                else:
                    assert piece.startswith(str(date.day)) or piece in data.ORDINAL_WORDS


def test_weekdays_suffixes_and_casings():
    for date in EDGE_DATES:
        text = data.make_sample(date, "weekday").source
        assert text.split(",")[0] == date.strftime("%A")
        assert data.make_sample(date, "ordinal_of").source.split(" ")[0] == f"{date.day}" + (
            "th" if 11 <= date.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(date.day % 10, "th"))
    assert data.make_sample(dt.date(2021, 3, 3), "weekday").source == "Wednesday, March 3, 2021"
    assert data.make_sample(dt.date(2021, 3, 23), "ordinal_words", "title").source == "The Twenty-Third Of March, 2021"
    assert data.make_sample(dt.date(2021, 3, 3), "ordinal_of", "upper").source == "3RD OF MARCH 2021"
    assert data.make_sample(dt.date(2021, 3, 3), "short_month", "lower").source == "3 mar 2021"
    assert data.make_sample(dt.date(2021, 3, 3), "dotted").source == "3.3.2021"


def test_held_out_dates_never_reach_training():
    train_days, test_days = data.date_split()
    assert len(train_days) + len(test_days) == data.NUM_DATES
    assert not set(train_days) & set(test_days)
    test_dates = {data.date_of(d) for d in test_days}
    rng = np.random.default_rng(0)
    assert not {s.date for s in data.sample_dates(rng, 2000, "train")} & test_dates
    assert {s.date for s in data.evaluation_set(2)} <= test_dates
    assert len(data.evaluation_set(2)) == 2 * len(data.FORMS) * len(data.CASINGS)


def test_reader_explains_what_is_not_a_date():
    assert "28 days" in data.recognise("31 February 2021").problem
    assert data.recognise("29.2.2000").date == dt.date(2000, 2, 29)
    assert "not a" in data.recognise("Tuesday, March 3, 2021").problem  # it was a Wednesday
    assert data.recognise("banana").form is None
    assert "1950-2049" in data.recognise("3 March 1812").problem
    assert data.is_iso_date("2021-03-03") and not data.is_iso_date("2021-02-31")


def test_tokens_round_trip_and_unknowns():
    text = "Wednesday, March 3, 2021"
    assert tokens.decode(tokens.encode(text)) == text
    assert tokens.encode("é") == [tokens.UNK] and tokens.unknown_characters("aé😀a") == ["é", "😀"]
    assert tokens.decode([tokens.BOS, *tokens.encode("20"), tokens.EOS, *tokens.encode("99")]) == "20"
    batch, lengths = tokens.pad_batch([[5, 6], [7]])
    assert batch.tolist() == [[5, 6], [7, tokens.PAD]] and lengths.tolist() == [2, 1]
    decoder_in, decoder_out = tokens.target_ids("12")
    assert decoder_in[0] == tokens.BOS and decoder_out[-1] == tokens.EOS and decoder_in[1:] == decoder_out[:-1]
    assert tokens.token_label(tokens.encode(" ")[0]) == "␣"


def _batch():
    return make_batch([("3 March 2021", "2021-03-03"), ("the first of May, 1999", "1999-05-01")])


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_shapes_and_attention_rows(kind):
    model = build_model(kind, seed=0, **TINY[kind]).eval()
    b = _batch()
    with torch.no_grad():
        logits, attention = model(b["src"], b["src_lengths"], b["tgt_in"], return_attention=True)
    assert logits.shape == (2, 11, tokens.VOCAB_SIZE)
    padding = (b["src"] == tokens.PAD)
    if kind == "rnn":
        assert attention == {}
        return
    cross = attention["cross"]
    assert cross.shape == ((2, 2, 2, 11, 22) if kind == "transformer" else (2, 11, 22))
    torch.testing.assert_close(cross.sum(-1), torch.ones(cross.shape[:-1]))
    assert float(cross[0][..., padding[0]].abs().max()) == 0.0  # padding is never attended to
    if kind == "transformer":
        encoder, decoder = attention["encoder_self"], attention["decoder_self"]
        assert encoder.shape == (2, 2, 2, 22, 22) and decoder.shape == (2, 2, 2, 11, 11)
        torch.testing.assert_close(encoder.sum(-1), torch.ones(encoder.shape[:-1]))
        torch.testing.assert_close(decoder.sum(-1), torch.ones(decoder.shape[:-1]))
        future = ~causal_mask(11)
        assert float(decoder[..., future].abs().max()) == 0.0  # causal: nothing from later positions
        assert float(encoder[0][..., padding[0]].abs().max()) == 0.0


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_decoder_is_causal(kind):
    """Changing a later decoder input never changes an earlier step's logits."""
    model = build_model(kind, seed=1, **TINY[kind]).eval()
    b = _batch()
    changed = b["tgt_in"].clone()
    changed[:, 6:] = tokens.encode("7")[0]
    with torch.no_grad():
        before = model(b["src"], b["src_lengths"], b["tgt_in"])
        after = model(b["src"], b["src_lengths"], changed)
    torch.testing.assert_close(before[:, :6], after[:, :6])
    assert not torch.allclose(before[:, 6:], after[:, 6:])


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_greedy_decoding_matches_teacher_forcing(kind):
    model = build_model(kind, seed=2, **TINY[kind]).eval()
    source = "14 July 1969"
    src, lengths = decoding.encode_sources([source])
    row = decoding.strip_row(decoding.greedy_ids(model, src, lengths, 12)[0])
    assert 1 <= len(row) <= 12
    logits, _ = decoding.teacher_forced_attention(model, source, row)
    logits[:, decoding.NEVER_WRITTEN] = -np.inf
    assert logits.argmax(-1).tolist() == row  # each greedy choice is the argmax given the earlier choices
    forced = decoding.strip_row(decoding.greedy_ids(model, src, lengths, 12, tokens.encode("19"))[0])
    assert tokens.decode(forced).startswith("19")
    batch = decoding.greedy_texts(model, [source, "1 Jan 1950", source], 12, batch_size=2)
    assert batch[0] == batch[2] == tokens.decode(row)


def test_training_loop_learns_and_reports():
    calls = []
    config = TrainConfig(model="transformer", steps=40, batch_size=16, learning_rate=3e-3, warmup_steps=5,
                         **TINY["transformer"])
    model, record = train(config, on_progress=lambda *a: calls.append(a), progress_every=10)
    assert [c[0] for c in calls] == [10, 20, 30, 40] and calls[-1][1] == 40
    assert record["loss_history"][-1][1] < 0.7 * record["loss_history"][0][1]
    assert record["parameters"] == sum(p.numel() for p in model.parameters())
    # Same seed, same first batches and the same initial model: reproducible.
    a, b = Trainer(config), Trainer(config)
    assert a.next_pairs() == b.next_pairs()
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))


def test_alignment_score():
    sample = data.make_sample(dt.date(2021, 3, 3), "weekday")
    perfect = np.zeros((11, len(sample.source)))
    for position, start, end in evaluate.field_rows(sample):
        perfect[position, start:end] = 1.0 / (end - start)
    assert evaluate.alignment_score(perfect, sample) == pytest.approx(1.0)
    assert evaluate.uniform_alignment(sample) < 0.2
    stack = np.stack([np.stack([np.full_like(perfect, 1 / perfect.shape[1]), perfect])] * 2)
    score, best = evaluate.best_head_alignment(stack, sample)
    assert score == pytest.approx(1.0) and best[1] == 1


@pytest.mark.parametrize("bad, message", [
    ("", "empty"), ("   \u200b ", "empty"), ("x" * 10_000, "10,000 characters"), (None, "empty"),
])
def test_bad_inputs_are_refused_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
        inference.translate(bad, "rnn")


def test_bad_prefix_and_model_are_refused():
    with pytest.raises(ValueError, match="digits and '-'"):
        inference.translate("3 March 2021", "transformer", "x")
    with pytest.raises(ValueError, match="Unknown model"):
        inference.translate("3 March 2021", "lstm")


# ----------------------------------------------------------------------------- committed models
def test_committed_models_meet_the_bar_on_a_sample():
    samples = data.evaluation_set(per_cell=8, seed=123)  # 224 held-out dates, every form x casing
    scores = {kind: evaluate.date_accuracy(inference.load(kind), samples)["exact_match"] for kind in MODEL_KINDS}
    assert scores["transformer"] >= 0.99, scores
    assert scores["rnn_attention"] >= 0.99, scores
    assert 0.0 <= scores["rnn"] <= 1.0  # reported, not required


def test_translation_payload_shapes():
    result = inference.translate("Wednesday, March 3, 2021", "transformer")
    assert result.output == "2021-03-03" and result.correct and not result.best_guess
    p = inference.payload(result)
    cross = np.array(p["cross_attention"])
    assert cross.shape == (2, 4, len(p["target_tokens"]), len(p["source_tokens"]))
    np.testing.assert_allclose(cross.sum(-1), 1.0, atol=1e-4)
    assert p["target_tokens"][-1] == "</s>" and p["source_tokens"][9:11] == [",", "␣"]
    rnn = inference.payload(inference.translate("Wednesday, March 3, 2021", "rnn_attention"))
    assert np.array(rnn["cross_attention"]).shape == (len(rnn["target_tokens"]), len(rnn["source_tokens"]))
    assert "cross_attention" not in inference.payload(inference.translate("3 March 2021", "rnn"))


def test_best_guesses_are_marked():
    impossible = inference.translate("31 February 2021", "transformer")
    assert impossible.best_guess and any("28 days" in n for n in impossible.notes)
    banana = inference.translate("banana", "rnn_attention")
    assert banana.best_guess and banana.expected is None and banana.correct is None
    forced = inference.translate("3 March 2021", "transformer", "1")
    assert forced.output.startswith("1") and forced.forced_prefix == "1" and forced.correct is False


def test_lab_views_and_committed_figures():
    from engine.attention.seq2seq import lab, render, results

    out, views, payload = lab.run_lab("3 March 2021", "transformer", layer=9, head=0, position=3)
    assert (views.layer, views.head, views.layers, views.heads) == (2, 1, 2, 4)  # clamped into the model
    outlined_y = float(re.search(r'<rect x="[\d.]+" y="([\d.]+)"[^>]*stroke="#ff2d55"', views.cross).group(1))
    row_y = float(re.search(r'<rect x="[\d.]+" y="([\d.]+)"[^>]*><title>output 3: ', views.cross).group(1))
    assert outlined_y == pytest.approx(row_y - 1.5)  # output character 3 is outlined
    assert views.model_view.count("<image ") == 8 and views.model_view.count('stroke="#ff2d55"') == 1
    assert "L2 H1" in views.model_view and "<title>input 0: " in views.encoder_self and views.decoder_self
    for half in (views.encoder_self, views.decoder_self):  # side by side at 1280 px without scrolling sideways
        assert f'viewBox="0 0 {render.HALF_WIDTH} ' in half
    assert "Output character 3" in views.highlight and payload["output"] == "2021-03-03"
    assert views.cards.count("✓ correct") >= 2
    rnn_view = lab.views(out, "rnn_attention", 2, 1, 0)
    assert rnn_view.model_view is None and rnn_view.layers == 1
    with pytest.raises(ValueError, match="Cross-attention exists"):
        lab.views(out, "rnn")
    dates, copies, table = results.why_attention()
    for figure in (dates, copies):  # one line per model, each named in the legend
        assert figure.count("<polyline ") == 3 and "GRU, no attention" in figure and "precomputed" in figure
    assert "held-out dates" in dates and "all forms and casings" in table
    for figure in (dates, views.cross, views.model_view):  # readable from the back of the room, no script needed
        assert 'class="nd-chart"' in figure and "font-size:14px" in figure and "<script" not in figure


def test_notes_show_typed_markup_as_text():
    """The notes are Markdown: typed HTML and Markdown markup (and the "<unk>" they name) must show as typed, not be
    rendered (gradio's sanitiser dropped "<unk>" and "<b>", and "*3*" turned italic)."""
    from engine.attention.seq2seq import lab

    _, views, _ = lab.run_lab("<b>*3* March 2021")
    assert views.notes.startswith("Input read as **&lt;b&gt;\\*3\\* March 2021**")
    assert "read as &lt;unk&gt;" in views.notes and "<b>" not in views.notes and "<unk>" not in views.notes


def test_committed_copy_models_show_why_attention():
    """At 50-60 symbols the two attention models still copy; the GRU without attention cannot."""
    from engine.attention.seq2seq.models import load_model
    from engine.attention.seq2seq.results import ASSET_FOLDER

    long_ones = data.copy_evaluation_set(2, lengths=range(50, 61, 2), seed=5)  # 12 held-out sequences
    scores = {kind: evaluate.copy_accuracy(load_model(ASSET_FOLDER / "copy" / kind), long_ones)["exact_match"]
              for kind in MODEL_KINDS}
    assert scores["transformer"] >= 0.9 and scores["rnn_attention"] >= 0.75, scores
    assert scores["rnn"] == 0.0, scores
