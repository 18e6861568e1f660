"""The date task: English dates in seven forms and four casings -> ISO 8601 (``2021-03-03``).

A seeded generator draws (date, form, casing) samples. The dates 1950-01-01 .. 2049-12-31 are split
once, by a fixed seed, into training dates and held-out test dates: no test date is ever shown in
training, in any form. Each sample records where the day, month and year sit in the source, which
the alignment score (:mod:`.evaluate`) uses. :func:`recognise` is an independent rule-based reader
of the same seven forms: the app uses it to say when an input is not a date the models know.

Also here: the length-stress copy task (sequences of 5-60 symbols copied verbatim).
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import re
from dataclasses import dataclass

import numpy as np

FIRST_DATE = dt.date(1950, 1, 1)
LAST_DATE = dt.date(2049, 12, 31)
NUM_DATES = (LAST_DATE - FIRST_DATE).days + 1  # 36,525
SPLIT_SEED = 20210303  # fixed: the held-out dates never change, whatever the training seed
TEST_FRACTION = 0.1

FORMS = ("day_month_year", "month_day_year", "ordinal_of", "weekday", "short_month", "dotted", "ordinal_words")
FORM_EXAMPLES = {
    "day_month_year": "3 March 2021",
    "month_day_year": "March 3, 2021",
    "ordinal_of": "3rd of March 2021",
    "weekday": "Wednesday, March 3, 2021",
    "short_month": "3 Mar 2021",
    "dotted": "3.3.2021",
    "ordinal_words": "the third of March, 2021",
}
CASINGS = ("lower", "upper", "title", "as_written")

MONTHS = tuple(calendar.month_name)[1:]  # "January" ..
SHORT_MONTHS = tuple(name[:3] for name in MONTHS)  # "Jan" .. (as in the issue: "Sep", not "Sept")
WEEKDAYS = tuple(calendar.day_name)  # Monday = 0, as date.weekday()
_UNITS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")
_TEENS = ("tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
          "seventeenth", "eighteenth", "nineteenth")
ORDINAL_WORDS = _UNITS + _TEENS + ("twentieth",) + tuple(f"twenty-{u}" for u in _UNITS) + ("thirtieth", "thirty-first")

# Target positions of each field in "YYYY-MM-DD"; 4 and 7 are hyphens, 10 is </s>.
TARGET_FIELDS = {"year": (0, 4), "month": (5, 7), "day": (8, 10)}
TARGET_LENGTH = 10
MAX_OUTPUT_STEPS = TARGET_LENGTH + 4  # greedy decoding stops here if the model never writes </s>
# The lab's examples (the first is what the tab opens with): every form, casings, limits and non-dates.
EXAMPLES = (
    "Wednesday, March 3, 2021",
    "3 March 2021",
    "the twenty-third of SEPTEMBER, 1987",
    "14TH OF JULY 1969",
    "December 31, 2049",
    "29.2.2000",
    "1 Jan 1950",
    "31 February 2021",
    "banana",
)
DEFAULT_TEXT = EXAMPLES[0]


def ordinal_suffix(day: int) -> str:
    if 11 <= day % 100 <= 13:
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def apply_casing(text: str, casing: str) -> str:
    """``lower``, ``upper``, ``title`` (each word's first letter, also after a hyphen) or ``as_written``."""
    if casing == "lower":
        return text.lower()
    if casing == "upper":
        return text.upper()
    if casing == "title":
        return re.sub(r"(^|[\s-])([a-z])", lambda m: m.group(1) + m.group(2).upper(), text.lower())
    if casing == "as_written":
        return text
    raise ValueError(f"Unknown casing {casing!r}; use one of {', '.join(CASINGS)}.")


@dataclass(frozen=True)
class DateSample:
    source: str  # e.g. "Wednesday, March 3, 2021"
    target: str  # "2021-03-03"
    date: dt.date
    form: str
    casing: str
    spans: tuple[tuple[str, int, int], ...]  # (field, start, end) of day / month / year in source


def _parts(date: dt.date, form: str) -> list[tuple[str, str | None]]:
    """The source as (text, field) pieces; field is "day" / "month" / "year" or None."""
    d, m, y = date.day, date.month, str(date.year)
    month = MONTHS[m - 1]
    if form == "day_month_year":
        return [(str(d), "day"), (" ", None), (month, "month"), (" ", None), (y, "year")]
    if form == "month_day_year":
        return [(month, "month"), (" ", None), (str(d), "day"), (", ", None), (y, "year")]
    if form == "ordinal_of":
        return [(f"{d}{ordinal_suffix(d)}", "day"), (" of ", None), (month, "month"), (" ", None), (y, "year")]
    if form == "weekday":
        return [(WEEKDAYS[date.weekday()] + ", ", None), (month, "month"), (" ", None), (str(d), "day"),
                (", ", None), (y, "year")]
    if form == "short_month":
        return [(str(d), "day"), (" ", None), (SHORT_MONTHS[m - 1], "month"), (" ", None), (y, "year")]
    if form == "dotted":
        return [(str(d), "day"), (".", None), (str(m), "month"), (".", None), (y, "year")]
    if form == "ordinal_words":
        return [("the ", None), (ORDINAL_WORDS[d - 1], "day"), (" of ", None), (month, "month"), (", ", None),
                (y, "year")]
    raise ValueError(f"Unknown form {form!r}; use one of {', '.join(FORMS)}.")


def make_sample(date: dt.date, form: str, casing: str = "as_written") -> DateSample:
    """One date written in ``form`` and ``casing``, with its ISO target and field spans."""
    pieces, spans, position = [], [], 0
    for text, field in _parts(date, form):
        if field is not None:
            spans.append((field, position, position + len(text)))
        pieces.append(text)
        position += len(text)
    source = apply_casing("".join(pieces), casing)  # casing never changes a length
    return DateSample(source, date.isoformat(), date, form, casing, tuple(spans))


def date_of(index: int) -> dt.date:
    return FIRST_DATE + dt.timedelta(days=int(index))


@functools.lru_cache(maxsize=4)
def date_split(test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) day indices (offsets from 1950-01-01), disjoint, fixed by ``seed``."""
    order = np.random.default_rng(seed).permutation(NUM_DATES)
    n_test = int(round(NUM_DATES * test_fraction))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    test.flags.writeable = False
    train.flags.writeable = False
    return train, test


def sample_dates(rng: np.random.Generator, count: int, split: str = "train",
                 forms: tuple[str, ...] = FORMS, casings: tuple[str, ...] = CASINGS) -> list[DateSample]:
    """``count`` random samples: a date from ``split`` ("train" or "test"), a form and a casing, uniformly."""
    train, test = date_split()
    pool = {"train": train, "test": test}.get(split)
    if pool is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    days = rng.choice(pool, size=count)
    form_index = rng.integers(0, len(forms), size=count)
    casing_index = rng.integers(0, len(casings), size=count)
    return [make_sample(date_of(d), forms[f], casings[c]) for d, f, c in zip(days, form_index, casing_index)]


def evaluation_set(per_cell: int, seed: int = 0) -> list[DateSample]:
    """``per_cell`` held-out dates for every (form, casing) cell, so every cell is measured equally."""
    rng = np.random.default_rng(seed)
    _, test = date_split()
    samples = []
    for form in FORMS:
        for casing in CASINGS:
            for day in rng.choice(test, size=per_cell, replace=False):
                samples.append(make_sample(date_of(day), form, casing))
    return samples


# ------------------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Recognised:
    """What the rule-based reader made of a text: a date in one of the seven forms, or why not."""

    form: str | None  # which of the seven forms the text follows; None if none
    date: dt.date | None  # the date, if it exists
    problem: str = ""  # why the text is not a date the models were trained on ("" when it is)

    @property
    def in_training_distribution(self) -> bool:
        return self.date is not None and not self.problem


_MONTH_NAMES = "|".join(MONTHS)
_SHORT_NAMES = "|".join(SHORT_MONTHS)
_ORDINALS = "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True))
_PATTERNS = {
    "day_month_year": rf"(?P<day>\d{{1,2}}) (?P<month>{_MONTH_NAMES}) (?P<year>\d{{4}})",
    "month_day_year": rf"(?P<month>{_MONTH_NAMES}) (?P<day>\d{{1,2}}), (?P<year>\d{{4}})",
    "ordinal_of": rf"(?P<day>\d{{1,2}})(?P<suffix>st|nd|rd|th) of (?P<month>{_MONTH_NAMES}) (?P<year>\d{{4}})",
    "weekday": rf"(?P<weekday>{'|'.join(WEEKDAYS)}), (?P<month>{_MONTH_NAMES}) (?P<day>\d{{1,2}}), (?P<year>\d{{4}})",
    "short_month": rf"(?P<day>\d{{1,2}}) (?P<month>{_SHORT_NAMES}) (?P<year>\d{{4}})",
    "dotted": r"(?P<day>\d{1,2})\.(?P<month_number>\d{1,2})\.(?P<year>\d{4})",
    "ordinal_words": rf"the (?P<day_word>{_ORDINALS}) of (?P<month>{_MONTH_NAMES}), (?P<year>\d{{4}})",
}
_COMPILED = {form: re.compile(pattern, re.IGNORECASE) for form, pattern in _PATTERNS.items()}


def recognise(text: str) -> Recognised:
    """Read ``text`` as one of the seven forms (any casing); never raises.

    Says what is wrong when the text follows a form but is not a usable date: an impossible day
    ("31 February 2021"), a wrong weekday or suffix, a year outside 1950-2049.
    """
    for form, pattern in _COMPILED.items():
        match = pattern.fullmatch(text.strip())
        if match is None:
            continue
        fields = match.groupdict()
        year = int(fields["year"])
        if fields.get("month"):
            names = SHORT_MONTHS if form == "short_month" else MONTHS
            month = [n.lower() for n in names].index(fields["month"].lower()) + 1
        else:
            month = int(fields["month_number"])
        day = ORDINAL_WORDS.index(fields["day_word"].lower()) + 1 if fields.get("day_word") else int(fields["day"])
        if not 1 <= month <= 12:
            return Recognised(form, None, f"there is no month {month}")
        try:
            date = dt.date(year, month, day)
        except ValueError:
            last = calendar.monthrange(year, month)[1]
            return Recognised(form, None, f"{MONTHS[month - 1]} {year} has {last} days, so day {day} does not exist")
        if fields.get("suffix") and fields["suffix"].lower() != ordinal_suffix(day):
            return Recognised(form, date, f"the ordinal of {day} is {day}{ordinal_suffix(day)}, not "
                                          f"{day}{fields['suffix']}")
        if fields.get("weekday") and fields["weekday"].lower() != WEEKDAYS[date.weekday()].lower():
            return Recognised(form, date, f"{date.isoformat()} was a {WEEKDAYS[date.weekday()]}, "
                                          f"not a {fields['weekday'].title()}")
        if not FIRST_DATE <= date <= LAST_DATE:
            return Recognised(form, date, f"the models were trained on {FIRST_DATE.year}-{LAST_DATE.year} only")
        return Recognised(form, date)
    return Recognised(None, None, "it is not written in one of the seven date forms the models were trained on")


def is_iso_date(text: str) -> bool:
    """True when ``text`` is a real calendar date written YYYY-MM-DD."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------------------ length stress
COPY_SYMBOLS = "abcdefghijklmnopqrst"  # 20 symbols: 4.3 bits each, 260 bits for 60 symbols
COPY_MIN_LENGTH, COPY_MAX_LENGTH = 5, 60
COPY_SPLIT_SALT = 7919  # test sequences come from a different seed stream than training ones


def copy_sequences(rng: np.random.Generator, count: int, min_length: int = COPY_MIN_LENGTH,
                   max_length: int = COPY_MAX_LENGTH, length: int | None = None) -> list[tuple[str, str]]:
    """``count`` (source, target) pairs of the copy task: random symbols, copied verbatim.

    With 20**5 = 3.2 M sequences even at length 5, training and test sequences almost never coincide;
    the evaluation draws from a different seed (see :func:`copy_evaluation_set`).
    """
    lengths = np.full(count, length) if length is not None else rng.integers(min_length, max_length + 1, size=count)
    symbols = np.array(list(COPY_SYMBOLS))
    out = []
    for n in lengths:
        text = "".join(symbols[rng.integers(0, len(COPY_SYMBOLS), size=int(n))])
        out.append((text, text))
    return out


def copy_evaluation_set(per_length: int, lengths=range(COPY_MIN_LENGTH, COPY_MAX_LENGTH + 1), seed: int = 0):
    """``per_length`` held-out sequences for each length: [(length, source, target)]."""
    rng = np.random.default_rng([seed, COPY_SPLIT_SALT])
    return [(n, s, t) for n in lengths for s, t in copy_sequences(rng, per_length, length=n)]
