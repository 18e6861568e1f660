"""Reading a user's CSV and turning it into numbers an autoencoder can rebuild.

:func:`read_csv` refuses what is not a usable table with a message that names the problem and what is allowed.
:func:`prepare` decides, per column, what to use and how:

- numeric columns are standardised robustly, ``(x - median) / IQR``, with the median and IQR of the training
  rows (a few huge values cannot squash everyone else); strongly skewed non-negative columns (amounts, counts,
  times) are log-transformed first, so "ten times the usual" is as far from normal as "a tenth";
- categorical columns with at most :data:`MAX_LEVELS` values are one-hot encoded;
- missing values (and inf) are filled with the median, and a "<column> missing" 0/1 feature is added;
- ID-like, constant, mostly-missing and many-valued text columns are dropped, each with its reason.

The label column (when named) is never a feature.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.core.settings import LIMITS

MAX_BYTES = LIMITS.upload_bytes  # 25 MB
MAX_ROWS = 200_000
MAX_COLUMNS = 300
MIN_ROWS = 20
MAX_LEVELS = 20  # a text column with more distinct values is not one-hot encoded
MAX_SCALED = 1e6  # standardised values are capped here: far beyond any threshold, and finite in float32
MAX_MISSING = 0.5  # a column missing in more than this share of rows is dropped
NUMERIC_SHARE = 0.95  # a text column whose non-empty values parse as numbers this often is numeric
SKEW_FOR_LOG = 1.0  # non-negative columns more skewed than this are log-transformed before scaling
MISSING_TEXT = ["", "?", "-", "missing", "none", "None", "NONE", "MISSING", "n.a."]  # besides pandas' NA, NaN, null
FORMATS = "a text CSV with a header row, values separated by commas, semicolons or tabs"


@dataclass(frozen=True)
class Prepared:
    """A table as numbers: ``matrix`` (rows x features, float32), and what was used and dropped."""

    matrix: np.ndarray
    features: tuple[str, ...]  # one name per matrix column ("merchant_category=fuel", "amount")
    feature_column: np.ndarray  # for each feature, the index of its column in ``columns``
    columns: tuple[str, ...]  # the columns used, in file order
    columns_used: tuple[dict, ...]  # {"name", "kind", "transform"} per used column
    dropped_columns: tuple[dict, ...]  # {"name", "reason"}
    notes: tuple[str, ...]  # missing values filled, inf replaced, ...


def _quote(text, limit: int = 80) -> str:
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _looks_binary(raw: bytes) -> bool:
    head = raw[:8192]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in head:
        return True
    control = sum(1 for byte in head if byte < 9 or 13 < byte < 32)
    return control > 0.02 * max(len(head), 1)


def _delimiter(sample: str) -> str:
    """The delimiter by csv.Sniffer, else the one of , ; tab | that splits the first lines most evenly."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        lines = [line for line in sample.splitlines()[:20] if line.strip()]
        counts = {d: [line.count(d) for line in lines] for d in ",;\t|"}
        best = max(counts, key=lambda d: (min(counts[d] or [0]), sum(counts[d])))
        return best if min(counts[best] or [0]) > 0 else ","


def read_csv(source, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS):
    """A CSV file (a path, a gradio file dict or bytes) as a ``pandas.DataFrame`` of strings and numbers.

    Raises ``ValueError`` for a missing, too large, binary or unreadable file, a wrong delimiter, duplicate
    column names, fewer than :data:`MIN_ROWS` or more than ``max_rows`` data rows.
    """
    import pandas as pd

    if isinstance(source, dict):
        source = source.get("path")
    if isinstance(source, (bytes, bytearray)):
        raw = bytes(source)
    else:
        if not source:
            raise ValueError(f"No file given: upload {FORMATS}.")
        path = Path(str(source))
        if not path.is_file():
            raise ValueError("The uploaded file could not be found on the server; upload it again.")
        if path.stat().st_size > max_bytes:
            raise ValueError(f"The file is {path.stat().st_size / 2**20:.1f} MB; the limit is {max_bytes // 2**20} MB. "
                             "Upload fewer rows (a sample of the table).")
        raw = path.read_bytes()
    if len(raw) > max_bytes:
        raise ValueError(f"The file is larger than {max_bytes // 2**20} MB; upload fewer rows.")
    if not raw.strip():
        raise ValueError(f"The file is empty: upload {FORMATS}.")
    if _looks_binary(raw):
        raise ValueError(f"That file is binary (e.g. a spreadsheet, zip or image), not a CSV: upload {FORMATS} "
                         "(in a spreadsheet: File > Save as > CSV).")
    text = _decode(raw)
    delimiter = _delimiter(text[:16384])
    header = next(csv.reader(io.StringIO(text[:65536]), delimiter=delimiter), [])
    names = [name.strip() for name in header]
    if len(names) < 2:
        raise ValueError(f"Found only one column ({_quote(header[0] if header else '')}): the values must be separated by "
                         "commas, semicolons or tabs, with a header row naming the columns.")
    if len(names) > MAX_COLUMNS:
        raise ValueError(f"The file has {len(names)} columns; the limit is {MAX_COLUMNS}.")
    if any(not name for name in names):
        raise ValueError(f"Column {names.index('') + 1} has no name: every column needs a name in the header row.")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Duplicate column names: {', '.join(_quote(d, 40) for d in duplicates[:5])}. "
                         "Every column needs its own name; rename them and upload again.")
    data_lines = sum(1 for line in text.splitlines()[1:] if line.strip())
    if data_lines > max_rows:
        raise ValueError(f"The file has {data_lines:,} rows; the limit is {max_rows:,}. Upload a sample of the table.")
    try:
        table = pd.read_csv(io.StringIO(text), sep=delimiter, na_values=MISSING_TEXT, keep_default_na=True,
                            skipinitialspace=True, skip_blank_lines=True, engine="c", low_memory=False)
    except (pd.errors.ParserError, ValueError) as error:
        detail = " ".join(str(error).split())[:120]
        raise ValueError(f"The CSV could not be read ({detail}): every row needs the same number of values as the "
                         f"header ({len(names)}).") from None
    table.columns = names
    if len(table) < MIN_ROWS:
        raise ValueError(f"The table has {len(table)} data row{'s' if len(table) != 1 else ''}; an autoencoder needs at "
                         f"least {MIN_ROWS} rows to learn what is normal.")
    return table


# ------------------------------------------------------------------ preparation


def _as_numbers(column) -> tuple[np.ndarray | None, int]:
    """A column -> floats (missing -> NaN) when at least NUMERIC_SHARE of its present values are numbers (a
    few stray words become missing); and how many values were infinite. None for a text column."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        return None, 0
    if pd.api.types.is_numeric_dtype(column):
        array = column.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    else:
        present = int(column.notna().sum())
        numbers = pd.to_numeric(column, errors="coerce")
        if present == 0 or numbers.notna().sum() < NUMERIC_SHARE * present:
            return None, 0
        array = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    infinite = int(np.isinf(array).sum())
    array[np.isinf(array)] = np.nan
    return array, infinite


def _scale(values: np.ndarray, train: np.ndarray) -> tuple[float, float]:
    """Median and a robust spread of the training rows: IQR, else 1.4826 MAD, else the standard deviation."""
    fit = values[train]
    fit = fit[~np.isnan(fit)]
    if fit.size == 0:
        fit = values[~np.isnan(values)]
    median = float(np.median(fit))
    q1, q3 = np.percentile(fit, [25, 75])
    spread = float(q3 - q1) / 1.349  # the IQR of a normal distribution is 1.349 standard deviations
    if spread <= 1e-12:
        spread = 1.4826 * float(np.median(np.abs(fit - median)))
    if spread <= 1e-12:
        spread = float(fit.std())
    return median, spread if spread > 1e-12 else 1.0


def _skewness(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    with np.errstate(over="ignore", invalid="ignore"):  # 1e308 in a column: inf or nan, never above the cut
        std = values.std()
        return float(((values - values.mean()) ** 3).mean() / std**3) if std > 0 else 0.0


def _counter(values: np.ndarray) -> bool:
    """Whole numbers that only go up (or only down): a row counter, not a measurement."""
    steps = np.diff(values)
    return bool(np.all(np.mod(values, 1) == 0) and (np.all(steps > 0) or np.all(steps < 0)))


def prepare(table, *, exclude: dict[str, str] | None = None, train_rows: np.ndarray | None = None) -> Prepared:
    """Choose and encode the columns of ``table`` (a DataFrame); ``exclude`` maps columns that are never features
    (the label) to the reason shown (an empty reason: not listed as dropped).

    Scaling statistics come from ``train_rows`` (a boolean mask; all rows when None). Raises ``ValueError``
    when no column is usable, listing why each was dropped.
    """
    rows = len(table)
    train = np.ones(rows, dtype=bool) if train_rows is None else np.asarray(train_rows, dtype=bool)
    blocks, features, feature_column, used, dropped, notes, columns = [], [], [], [], [], [], []

    def drop(name: str, reason: str) -> None:
        dropped.append({"name": name, "reason": reason})

    for name in table.columns:
        if name in (exclude or {}):
            if exclude[name]:
                drop(name, exclude[name])
            continue
        column = table[name]
        numbers, infinite = _as_numbers(column)
        if numbers is None:
            raw = column.astype("string").str.strip()
            raw = raw.mask(raw == "")
            missing = raw.isna().to_numpy()
        else:
            missing = np.isnan(numbers)
        missing_share = float(missing.mean())
        if missing_share > MAX_MISSING:
            drop(name, f"mostly missing ({missing_share:.0%} of rows empty)")
            continue
        present = raw[~missing] if numbers is None else numbers[~missing]
        distinct = int(present.nunique()) if numbers is None else int(np.unique(present).size)
        if distinct <= 1:
            first = (present.iloc[0] if numbers is None else f"{present[0]:g}") if distinct else ""
            drop(name, f"constant: every row is {_quote(first, 30)}" if distinct else "always empty")
            continue
        lowered = name.lower()
        id_name = lowered == "id" or lowered.endswith(("_id", " id", "id_")) or lowered.startswith(("id_", "id "))
        if distinct == rows and (numbers is None or id_name or _counter(numbers)):
            drop(name, "ID-like: every row has a different value")
            continue
        if numbers is not None and distinct == 2:  # a yes / no column in numbers: its rare value is a level, not
            numbers = None                          # a huge number of standard deviations
            raw = column.astype("string").mask(column.isna())
        if numbers is None:
            if id_name and distinct > MAX_LEVELS:
                drop(name, f"ID-like: {distinct:,} different values")
                continue
            if distinct > MAX_LEVELS:
                drop(name, f"text with {distinct:,} different values (at most {MAX_LEVELS} can be one-hot encoded)")
                continue
            levels = sorted(raw[~missing].unique())
            codes = raw.to_numpy(dtype=object, na_value="")  # empty text was made missing above: never a level
            block = np.stack([(codes == level) for level in levels], axis=1).astype(np.float32)
            blocks.append(block)
            features.extend(f"{name}={level}" for level in levels)
            feature_column.extend([len(columns)] * len(levels))
            used.append({"name": name, "kind": "categorical", "transform": f"one-hot, {len(levels)} values"})
        else:
            transform = "robust scale (median / IQR)"
            values = numbers.copy()
            finite = values[~missing]
            if finite.min() >= 0 and _skewness(finite) > SKEW_FOR_LOG:
                values = np.log1p(values)
                transform = "log, then robust scale (median / IQR)"
            median, spread = _scale(values, train)
            values[missing] = median
            scaled = np.clip((values - median) / spread, -MAX_SCALED, MAX_SCALED)  # 1e308 stays finite in float32
            blocks.append(scaled[:, None].astype(np.float32))
            features.append(name)
            feature_column.append(len(columns))
            used.append({"name": name, "kind": "numeric", "transform": transform})
            if infinite:
                notes.append(f"{_quote(name, 40)}: {infinite} infinite value{'s' if infinite != 1 else ''} treated as missing.")
        if missing.any():
            blocks.append(missing[:, None].astype(np.float32))
            features.append(f"{name} missing")
            feature_column.append(len(columns))
            notes.append(f"{_quote(name, 40)}: {int(missing.sum())} missing value{'s' if missing.sum() != 1 else ''} "
                         f"({missing_share:.1%}) filled, with a '{name} missing' indicator.")
        columns.append(name)
    if not blocks:
        reasons = "; ".join(f"{d['name']}: {d['reason']}" for d in dropped[:6]) or "the table has only the label column"
        raise ValueError("No usable column: an autoencoder needs numeric columns, or text columns with at most "
                         f"{MAX_LEVELS} different values. Dropped: {reasons[:400]}.")
    return Prepared(
        matrix=np.concatenate(blocks, axis=1), features=tuple(features),
        feature_column=np.asarray(feature_column, dtype=np.int64), columns=tuple(columns),
        columns_used=tuple(used), dropped_columns=tuple(dropped), notes=tuple(notes),
    )
