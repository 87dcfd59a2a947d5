"""Raw OHLCV candles: read any supported file, normalise to the canonical frame, validate.

The canonical frame (what `raw_candles` stores and every later stage reads):

    time    int64    epoch seconds UTC, strictly increasing
    open high low close volume    float64

Raw files are CSV or Parquet with a time column named `timestamp`, `time`, `date` or
`datetime` (any case) holding ISO-8601 text, epoch seconds or epoch milliseconds (told
apart by magnitude), and `open high low close` plus an optional `volume` in any case.
Every problem is reported with the file, the row and the column, so the person who
exported the data can fix it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ml_platform.storage import write_parquet_atomic
from ml_platform.timestamps import iso_utc

logger = logging.getLogger(__name__)

TIME_COLUMN_NAMES = ("timestamp", "time", "date", "datetime")
PRICE_COLUMNS = ("open", "high", "low", "close")
CANONICAL_COLUMNS = ("time", *PRICE_COLUMNS, "volume")
RAW_SUFFIXES = (".csv", ".parquet")
# Epoch values at or above this are milliseconds: 1e11 seconds is the year 5138,
# while 1e11 milliseconds is 1973.
_MILLISECONDS_THRESHOLD = 1e11


class CandleDataError(ValueError):
    """A raw candle file that cannot be turned into valid candles; the message says where."""


def find_raw_file(raw_dir: str | os.PathLike[str], stem: str) -> Path:
    """The raw file for a partition stem (``EURUSD_1h``): CSV first, then Parquet."""
    for suffix in RAW_SUFFIXES:
        candidate = Path(raw_dir) / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    raise CandleDataError(f"{Path(raw_dir) / stem}.csv: no raw file for this partition (looked for .csv and .parquet)")


def read_raw_candles(
    path: str | os.PathLike[str],
    *,
    ohlc_inconsistency: Literal["error", "warn"] = "error",
) -> pd.DataFrame:
    """Read a raw CSV or Parquet file into the canonical, validated candle frame.

    Parameters
    ----------
    path : path-like
        A ``.csv`` or ``.parquet`` file.
    ohlc_inconsistency : {"error", "warn"}, default "error"
        What a high below open/close or a low above them does.

    Returns
    -------
    candles : DataFrame of shape (n_candles, 6)
        Columns ``time open high low close volume``, sorted by time (unsorted input is
        sorted with a logged warning).

    Raises
    ------
    CandleDataError
        Naming the file and the row and column at fault.
    """
    path = Path(path)
    raw = _read_table(path)
    return normalize_candles(
        raw, source=str(path), row_offset=2 if path.suffix == ".csv" else 1, ohlc_inconsistency=ohlc_inconsistency
    )


def normalize_candles(
    raw: pd.DataFrame,
    *,
    source: str = "<candles>",
    row_offset: int = 1,
    ohlc_inconsistency: Literal["error", "warn"] = "error",
) -> pd.DataFrame:
    """Normalise an already loaded table (see `read_raw_candles`).

    row_offset : int, default 1
        Added to a 0-based row position to report it: 2 for a CSV with a header (so the
        number is the file's line), 1 for a row count.
    """
    where = _RowNamer(source, row_offset)
    if raw.empty:
        raise CandleDataError(f"{source}: the file has no candle rows")
    columns = _map_columns(raw, source)
    times = _parse_times(raw[columns["time"]], where, columns["time"])
    values = {name: _parse_numbers(raw[columns[name]], where, columns[name]) for name in PRICE_COLUMNS}
    volume_column = columns.get("volume")
    values["volume"] = _parse_numbers(raw[volume_column], where, volume_column) if volume_column else np.zeros(len(raw))
    _check_finite_and_positive(values, where, columns)
    candles = pd.DataFrame({"time": times, **values})
    candles.index = pd.RangeIndex(len(candles))
    candles = _sorted(candles, source)
    _check_no_duplicates(candles, where)
    _check_ohlc(candles, where, ohlc_inconsistency)
    return candles.reset_index(drop=True)


def write_candles(candles: pd.DataFrame, destination: str | os.PathLike[str]) -> Path:
    """Write the canonical frame as Parquet atomically (temporary name, then rename)."""
    return write_parquet_atomic(candles.loc[:, list(CANONICAL_COLUMNS)], destination)


def read_candles(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a canonical candle Parquet written by `write_candles`."""
    return pd.read_parquet(path)


# --------------------------------------------------------------------------- reading


def _read_table(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise CandleDataError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise CandleDataError(f"{path}: the file is empty")
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        if path.suffix == ".csv":
            table = pd.read_csv(path, skipinitialspace=True)
            if table.isna().to_numpy().any():
                _check_field_counts(path)  # a short row reads as empty cells: say so, not "nan"
            return table
    except CandleDataError:
        raise
    except pd.errors.EmptyDataError:
        raise CandleDataError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise CandleDataError(f"{path}: cannot be read as {path.suffix[1:].upper()}: {exc}") from None
    raise CandleDataError(f"{path}: unsupported file type {path.suffix!r} (use .csv or .parquet)")


def _map_columns(raw: pd.DataFrame, source: str) -> dict[str, str]:
    """Map canonical names to the file's own column names, case-insensitively."""
    by_lower: dict[str, str] = {}
    for column in raw.columns:
        key = str(column).strip().lower()
        if key in by_lower:
            raise CandleDataError(f"{source}: columns {by_lower[key]!r} and {column!r} differ only in case")
        by_lower[key] = column
    mapping: dict[str, str] = {}
    time_names = [name for name in TIME_COLUMN_NAMES if name in by_lower]
    if not time_names:
        raise CandleDataError(
            f"{source}: missing column: a time column named one of {', '.join(TIME_COLUMN_NAMES)} "
            f"(found {', '.join(map(str, raw.columns))})"
        )
    if len(time_names) > 1:
        raise CandleDataError(f"{source}: more than one time column ({', '.join(time_names)}): keep one")
    mapping["time"] = by_lower[time_names[0]]
    missing = [name for name in PRICE_COLUMNS if name not in by_lower]
    if missing:
        raise CandleDataError(
            f"{source}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found {', '.join(map(str, raw.columns))})"
        )
    mapping.update({name: by_lower[name] for name in PRICE_COLUMNS})
    if "volume" in by_lower:
        mapping["volume"] = by_lower["volume"]
    return mapping


class _RowNamer:
    """Formats "file: row N, column 'x'" for the error messages."""

    def __init__(self, source: str, row_offset: int) -> None:
        self.source = source
        self.row_offset = row_offset

    def __call__(self, position: int, column: str) -> str:
        label = "line" if self.row_offset == 2 else "row"
        return f"{self.source}: {label} {position + self.row_offset}, column {column!r}"


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _parse_times(values: pd.Series, where: _RowNamer, column: str) -> np.ndarray:
    """Epoch seconds (int64) from ISO-8601 text or epoch seconds/milliseconds."""
    if values.isna().any():
        position = _first(values.isna().to_numpy())
        raise CandleDataError(f"{where(position, column)}: the timestamp is empty")
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values, utc=True)
        return (stamps.astype("int64") // 10**9).to_numpy(dtype=np.int64)
    numeric = pd.to_numeric(values, errors="coerce") if values.dtype == object else values
    if pd.api.types.is_numeric_dtype(numeric) and not numeric.isna().any():
        return _epoch_to_seconds(numeric.to_numpy(dtype=np.float64), where, column)
    parsed = pd.to_datetime(values.astype(str), utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        position = _first(bad)
        raise CandleDataError(
            f"{where(position, column)}: {values.iloc[position]!r} is not a timestamp "
            "(use ISO-8601 like 2024-01-01T00:00:00Z, or epoch seconds or milliseconds)"
        )
    return (parsed.astype("int64") // 10**9).to_numpy(dtype=np.int64)


def _epoch_to_seconds(values: np.ndarray, where: _RowNamer, column: str) -> np.ndarray:
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        position = _first(bad)
        raise CandleDataError(f"{where(position, column)}: {float(values[position])!r} is not a valid epoch time")
    milliseconds = values >= _MILLISECONDS_THRESHOLD
    if milliseconds.any() and not milliseconds.all():
        position = _first(milliseconds != milliseconds[0])
        raise CandleDataError(
            f"{where(position, column)}: {float(values[position])!r} mixes epoch milliseconds and seconds in one column"
        )
    seconds = values / 1000.0 if milliseconds.all() else values
    return np.floor(seconds).astype(np.int64)


def _check_field_counts(path: Path) -> None:
    """CandleDataError for the first CSV line with fewer fields than the header (pandas pads it with NaN)."""
    import csv

    with path.open(newline="", encoding="utf-8", errors="replace") as stream:
        reader = csv.reader(stream, skipinitialspace=True)
        header = next(reader, [])
        for fields in reader:
            if fields and len(fields) < len(header):
                raise CandleDataError(
                    f"{path}: line {reader.line_num}: {len(fields)} fields, but the header has {len(header)} "
                    f"({', '.join(header)}): write a value for every column on every line"
                )


def _parse_numbers(values: pd.Series, where: _RowNamer, column: str) -> np.ndarray:
    empty = values.isna().to_numpy()
    if empty.any():
        position = _first(empty)
        raise CandleDataError(
            f"{where(position, column)}: no value (an empty cell or NaN): every candle needs a finite number here"
        )
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float64)
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna().to_numpy()
    if bad.any():
        position = _first(bad)
        raise CandleDataError(f"{where(position, column)}: {values.iloc[position]!r} is not a number")
    return numeric.to_numpy(dtype=np.float64)


# --------------------------------------------------------------------------- validation


def _check_finite_and_positive(values: dict[str, np.ndarray], where: _RowNamer, columns: dict[str, str]) -> None:
    for name, array in values.items():
        column = columns.get(name, name)
        not_finite = ~np.isfinite(array)
        if not_finite.any():
            position = _first(not_finite)
            raise CandleDataError(f"{where(position, column)}: {float(array[position])!r} is not a finite number")
        not_allowed = array < 0 if name == "volume" else array <= 0
        if not_allowed.any():
            position = _first(not_allowed)
            kind = "negative" if name == "volume" else "not a positive price"
            raise CandleDataError(f"{where(position, column)}: {float(array[position])!r} is {kind}")


def _sorted(candles: pd.DataFrame, source: str) -> pd.DataFrame:
    times = candles["time"].to_numpy()
    if np.all(times[1:] >= times[:-1]):
        return candles
    logger.warning("%s: rows are not in time order; sorting them", source)
    return candles.sort_values("time", kind="stable")


def _check_no_duplicates(candles: pd.DataFrame, where: _RowNamer) -> None:
    times = candles["time"].to_numpy()
    duplicated = np.flatnonzero(times[1:] == times[:-1])
    if duplicated.size:
        first, second = candles.index[duplicated[0]], candles.index[duplicated[0] + 1]
        stamp = iso_utc(times[duplicated[0]])
        raise CandleDataError(
            f"{where(int(second), 'time')}: duplicate timestamp {stamp} "
            f"(also at {where(int(first), 'time').rsplit(': ', 1)[-1].split(',')[0]})"
        )


def _check_ohlc(candles: pd.DataFrame, where: _RowNamer, mode: str) -> None:
    o, h, l, c = (candles[name].to_numpy() for name in PRICE_COLUMNS)
    high_low = h < np.maximum(np.maximum(o, c), l)
    low_high = l > np.minimum(o, c)
    for mask, column, problem in (
        (high_low, "high", "is below open, close or low"),
        (low_high, "low", "is above open or close"),
    ):
        if not mask.any():
            continue
        position = _first(mask)
        row = int(candles.index[position])
        message = (
            f"{where(row, column)}: {float(candles[column].iloc[position])!r} {problem} ({int(mask.sum())} such rows)"
        )
        if mode == "error":
            raise CandleDataError(message + "; set data.validation.ohlc_inconsistency: warn to accept them")
        logger.warning(message)
