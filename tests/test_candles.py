"""Raw candle files: every supported form loads to the canonical frame; bad input names file, row and column."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml_platform.candles import CandleDataError, find_raw_file, read_candles, read_raw_candles, write_candles
from tests.conftest import synthetic_candles

CSV_HEADER = "timestamp,open,high,low,close,volume\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _csv_rows(frame: pd.DataFrame) -> str:
    return "".join(f"{t},{o},{h},{l},{c},{v}\n" for t, o, h, l, c, v in frame.itertuples(index=False))


def test_iso_timestamps_any_case_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "EURUSD_1h.csv",
        "Timestamp,OPEN,High,low,Close,Volume\n"
        "2024-01-01T00:00:00Z,1.1,1.2,1.0,1.15,10\n"
        "2024-01-01T01:00:00+00:00,1.15,1.2,1.1,1.12,11\n"
        "2024-01-01 03:00:00+01:00,1.12,1.13,1.1,1.11,12\n",
    )
    candles = read_raw_candles(path)
    assert list(candles.columns) == ["time", "open", "high", "low", "close", "volume"]
    assert candles["time"].tolist() == [1704067200, 1704070800, 1704074400]
    assert candles["time"].dtype == np.int64
    assert (candles.dtypes.iloc[1:] == np.float64).all()


@pytest.mark.parametrize(("column", "scale"), [("time", 1), ("date", 1000), ("DateTime", 1)])
def test_epoch_seconds_and_milliseconds_by_magnitude(tmp_path: Path, column: str, scale: int) -> None:
    frame = synthetic_candles(5)
    text = f"{column},open,high,low,close\n" + "".join(
        f"{t * scale},{o},{h},{l},{c}\n" for t, o, h, l, c, _ in frame.itertuples(index=False)
    )
    candles = read_raw_candles(_write(tmp_path / "x.csv", text))
    assert candles["time"].tolist() == frame["time"].tolist()
    assert (candles["volume"] == 0).all()  # volume is optional


def test_parquet_input_and_round_trip(tmp_path: Path) -> None:
    frame = synthetic_candles(50)
    frame.rename(columns={"time": "Datetime"}).assign(
        Datetime=pd.to_datetime(frame["time"], unit="s", utc=True)
    ).to_parquet(tmp_path / "in.parquet")
    candles = read_raw_candles(tmp_path / "in.parquet")
    pd.testing.assert_frame_equal(candles, frame)
    written = write_candles(candles, tmp_path / "out" / "EURUSD_1h.parquet")
    pd.testing.assert_frame_equal(read_candles(written), frame)
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_unsorted_rows_are_sorted_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    frame = synthetic_candles(6)
    shuffled = frame.iloc[[3, 0, 5, 1, 4, 2]]
    with caplog.at_level(logging.WARNING):
        candles = read_raw_candles(_write(tmp_path / "u.csv", CSV_HEADER + _csv_rows(shuffled)))
    assert candles["time"].tolist() == frame["time"].tolist()
    assert "not in time order" in caplog.text


def test_find_raw_file_prefers_csv_and_names_what_it_looked_for(tmp_path: Path) -> None:
    _write(tmp_path / "EURUSD_1h.csv", "x")
    assert find_raw_file(tmp_path, "EURUSD_1h").suffix == ".csv"
    with pytest.raises(CandleDataError, match="GBPUSD_1h.csv: no raw file"):
        find_raw_file(tmp_path, "GBPUSD_1h")


GOOD = "2024-01-01T00:00:00Z,1.1,1.2,1.0,1.15,10\n"
SECOND = "2024-01-01T01:00:00Z,1.15,1.2,1.1,1.12,11\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        (CSV_HEADER, "the file has no candle rows"),
        ("timestamp,open,high,low,volume\n" + "2024-01-01T00:00:00Z,1,1,1,1\n", "missing column close"),
        (
            "open,high,low,close\n1,1,1,1\n",
            "missing column: a time column named one of timestamp, time, date, datetime",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,abc,1.1,1.12,11\n",
            "line 3, column 'high': 'abc' is not a number",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,1.2,1.1,nan,11\n",
            "line 3, column 'close': no value (an empty cell or NaN): every candle needs a finite number here",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,,1.1,1.12,11\n",
            "line 3, column 'high': no value (an empty cell or NaN)",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,1.2\n",
            "line 3: 3 fields, but the header has 6 (timestamp, open, high, low, close, volume): write a value",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,inf,1.1,1.12,11\n",
            "line 3, column 'high': inf is not a finite number",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T00:00:00Z,1.15,1.2,1.1,1.12,11\n",
            "line 3, column 'time': duplicate timestamp 2024-01-01T00:00:00Z (also at line 2)",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,1.13,1.1,1.14,11\n",
            "line 3, column 'high': 1.13 is below open, close or low",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,1.2,1.16,1.17,11\n",
            "line 3, column 'low': 1.16 is above open or close",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,-1.15,1.2,1.1,1.12,11\n",
            "line 3, column 'open': -1.15 is not a positive price",
        ),
        (
            CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,1.2,1.1,1.12,-5\n",
            "line 3, column 'volume': -5.0 is negative",
        ),
        (
            CSV_HEADER + GOOD + "yesterday,1.15,1.2,1.1,1.12,11\n",
            "line 3, column 'timestamp': 'yesterday' is not a timestamp",
        ),
        (CSV_HEADER + GOOD + ",1.15,1.2,1.1,1.12,11\n", "line 3, column 'timestamp': the timestamp is empty"),
    ],
)
def test_bad_input_names_file_row_and_column(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "EURUSD_1h.csv", text)
    with pytest.raises(CandleDataError) as error:
        read_raw_candles(path)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)


def test_ohlc_inconsistency_can_be_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path / "w.csv", CSV_HEADER + GOOD + "2024-01-01T01:00:00Z,1.15,1.13,1.1,1.14,11\n")
    with caplog.at_level(logging.WARNING):
        candles = read_raw_candles(path, ohlc_inconsistency="warn")
    assert len(candles) == 2
    assert "1.13 is below open, close or low" in caplog.text


def test_failed_write_leaves_previous_file(tmp_path: Path) -> None:
    destination = tmp_path / "EURUSD_1h.parquet"
    previous = synthetic_candles(10)
    write_candles(previous, destination)
    with pytest.raises(KeyError):
        write_candles(previous.drop(columns=["close"]), destination)
    pd.testing.assert_frame_equal(read_candles(destination), previous)
    assert [p.name for p in tmp_path.iterdir()] == ["EURUSD_1h.parquet"]
