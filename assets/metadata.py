"""Materialization metadata the Dagster UI shows: schema, time range, preview table, plots."""

from __future__ import annotations

import base64
import io
from typing import Any

import pandas as pd
from dagster import MetadataValue, TableColumn, TableSchema

PREVIEW_ROWS = 10


def _iso(seconds: int) -> str:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").isoformat()


def frame_metadata(frame: pd.DataFrame, path: Any) -> dict[str, Any]:
    """Row count, column schema, time range, file path and a preview of the last rows."""
    schema = TableSchema(columns=[TableColumn(name=str(name), type=str(dtype)) for name, dtype in frame.dtypes.items()])
    metadata: dict[str, Any] = {
        "rows": MetadataValue.int(len(frame)),
        "columns": MetadataValue.int(frame.shape[1]),
        "dagster/column_schema": schema,
        "path": MetadataValue.path(str(path)),
        "preview": MetadataValue.md(markdown_table(frame.tail(PREVIEW_ROWS))),
    }
    if len(frame) and "time" in frame:
        metadata["first_time"] = MetadataValue.text(_iso(frame["time"].iloc[0]))
        metadata["last_time"] = MetadataValue.text(_iso(frame["time"].iloc[-1]))
    return metadata


def markdown_table(frame: pd.DataFrame, *, max_columns: int = 12) -> str:
    """A Markdown table of at most `max_columns` columns (wide frames are cut, and say so)."""
    shown = frame.iloc[:, :max_columns]
    text = shown.to_markdown(index=False, floatfmt=".6g")
    if frame.shape[1] > max_columns:
        text += f"\n\n… and {frame.shape[1] - max_columns} more columns"
    return text


def png_markdown(figure: Any) -> MetadataValue:
    """A matplotlib figure as an inline image the UI renders in a Markdown metadata entry."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return MetadataValue.md(f"![plot](data:image/png;base64,{encoded})")


def price_plot(candles: pd.DataFrame, title: str) -> MetadataValue:
    """A small close-price line chart (at most 2,000 points, evenly thinned)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    step = max(1, len(candles) // 2000)
    thinned = candles.iloc[::step]
    figure, axis = plt.subplots(figsize=(8, 2.5))
    axis.plot(pd.to_datetime(thinned["time"], unit="s"), thinned["close"], linewidth=0.8)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    try:
        return png_markdown(figure)
    finally:
        plt.close(figure)
