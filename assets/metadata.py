"""Materialization metadata the Dagster UI shows inline: tables, column schemas, ISO times, a price chart.

The asset page renders a `MetadataValue.table` inline whatever its size, and a Markdown
entry inline only under 1,000 characters (longer ones hide behind "[Show Markdown]"). So
every tabular entry is a table with a schema (`frame_table`, `records_table`), and the one
picture here, the close-price chart, is a small SVG sparkline that stays under that limit
(`price_chart`). Time columns (``time``, ``start_time``, ``end_time``) read as ISO 8601 UTC.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from dagster import MetadataValue, TableColumn, TableRecord, TableSchema

from ml_platform.timestamps import iso_utc

PREVIEW_ROWS = 10
PREVIEW_COLUMNS = 7  # time and OHLCV, and one more: wider tables overflow the partition pane
TIME_COLUMNS = ("time", "start_time", "end_time")
INLINE_MARKDOWN_LIMIT = 1000  # the UI shows Markdown inline below this many characters


def escape_markdown(text: object) -> str:
    """`text` safe inside a Markdown table cell: ``|`` escaped, newlines as spaces."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _column_type(name: str, dtype: Any) -> str:
    if name in TIME_COLUMNS and pd.api.types.is_numeric_dtype(dtype):
        return "datetime (UTC)"
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int"
    if pd.api.types.is_float_dtype(dtype):
        return "float"
    return "string"


def column_schema(frame: pd.DataFrame, descriptions: Mapping[str, str | None] | None = None) -> TableSchema:
    """Every column with its type and, where known, its description (``dagster/column_schema``)."""
    descriptions = descriptions or {}
    return TableSchema(
        columns=[
            TableColumn(name=str(name), type=str(dtype), description=descriptions.get(str(name)))
            for name, dtype in frame.dtypes.items()
        ]
    )


def _cell(name: str, value: Any) -> str | int | float | bool | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if name in TIME_COLUMNS and isinstance(value, int | float) and not isinstance(value, bool):
        return iso_utc(value)
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, bool | int | str):
        return value
    return str(value)


def frame_table(frame: pd.DataFrame, *, max_columns: int = PREVIEW_COLUMNS) -> MetadataValue:
    """A frame as an inline table: at most `max_columns` columns, ISO times, floats to 6 significant digits."""
    shown = frame.iloc[:, :max_columns]
    schema = TableSchema(
        columns=[
            TableColumn(name=str(name), type=_column_type(str(name), dtype)) for name, dtype in shown.dtypes.items()
        ]
    )
    records = [
        TableRecord({str(name): _cell(str(name), value) for name, value in row.items()})
        for row in shown.to_dict(orient="records")
    ]
    return MetadataValue.table(records=records, schema=schema)


def records_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str, str | None]]) -> MetadataValue:
    """A table from dict rows; `columns` gives each column's name, type and description."""
    schema = TableSchema(columns=[TableColumn(name=name, type=kind, description=text) for name, kind, text in columns])
    records = [TableRecord({name: _cell(name, row.get(name)) for name, _, _ in columns}) for row in rows]
    return MetadataValue.table(records=records, schema=schema)


def frame_metadata(
    frame: pd.DataFrame, path: Any, *, descriptions: Mapping[str, str | None] | None = None
) -> dict[str, Any]:
    """Row count, column schema (with descriptions), time range, file path and the last rows as a table."""
    more = frame.shape[1] - PREVIEW_COLUMNS
    metadata: dict[str, Any] = {
        "rows": MetadataValue.int(len(frame)),
        "columns": MetadataValue.int(frame.shape[1]),
        "dagster/column_schema": column_schema(frame, descriptions),
        "path": MetadataValue.path(str(path)),
        f"preview_last_{PREVIEW_ROWS}_rows" + (f"_first_{PREVIEW_COLUMNS}_columns" if more > 0 else ""): frame_table(
            frame.tail(PREVIEW_ROWS)
        ),
    }
    if len(frame) and "time" in frame:
        metadata["first_time"] = MetadataValue.text(iso_utc(frame["time"].iloc[0]))
        metadata["last_time"] = MetadataValue.text(iso_utc(frame["time"].iloc[-1]))
    return metadata


def sparkline_svg(values: Sequence[float] | np.ndarray, *, width: int = 240, height: int = 40, points: int = 60) -> str:
    """A polyline of `values` (evenly thinned to `points`) as a compact SVG document."""
    series = np.asarray(values, dtype=float)
    series = series[np.isfinite(series)]
    if len(series) > points:
        series = series[np.linspace(0, len(series) - 1, points).round().astype(int)]
    low, high = (float(series.min()), float(series.max())) if len(series) else (0.0, 1.0)
    span = high - low or 1.0
    step = width / max(1, len(series) - 1)
    path = " ".join(f"{i * step:.0f},{height - 2 - (v - low) / span * (height - 4):.0f}" for i, v in enumerate(series))
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}'>"
        f"<polyline fill='none' stroke='#1f77b4' stroke-width='1.5' points='{path}'/></svg>"
    )


def price_chart(candles: pd.DataFrame, label: str) -> MetadataValue:
    """The close price as an inline sparkline with its range and dates (Markdown under the inline limit)."""
    svg = base64.b64encode(sparkline_svg(candles["close"].to_numpy()).encode()).decode("ascii")
    first, last = candles["time"].iloc[0], candles["time"].iloc[-1]
    caption = (
        f"{escape_markdown(label)}: {candles['close'].min():.6g} to {candles['close'].max():.6g}, "
        f"{iso_utc(first)[:10]} to {iso_utc(last)[:10]}"
    )
    text = f"![close price](data:image/svg+xml;base64,{svg})\n\n{caption}"
    if len(text) >= INLINE_MARKDOWN_LIMIT:  # never expected with 60 points; stay inline rather than hide
        text = caption
    return MetadataValue.md(text)
