"""Pure data-quality validators behind the Dagster asset checks.

Each returns a `CheckOutcome`; the `@asset_check` in `assets/checks.py` only calls one and
chooses the severity. Kept here so they are testable without Dagster and reusable by the
service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml_platform.timestamps import iso_utc

_EXAMPLES = 5


@dataclass(frozen=True)
class CheckOutcome:
    """Whether a check passed, a one-line description, and numbers worth showing."""

    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


def check_strictly_increasing(times: np.ndarray) -> CheckOutcome:
    """Every time is later than the one before it."""
    steps = np.diff(times)
    bad = np.flatnonzero(steps < 0)
    if bad.size:
        return CheckOutcome(
            False,
            f"{bad.size} rows go back in time, first at row {bad[0] + 1} ({iso_utc(times[bad[0] + 1])})",
            {"rows_out_of_order": int(bad.size)},
        )
    return CheckOutcome(True, "times are increasing", {"rows": int(len(times))})


def check_no_duplicates(times: np.ndarray) -> CheckOutcome:
    """No timestamp occurs twice."""
    unique, counts = np.unique(times, return_counts=True)
    duplicated = unique[counts > 1]
    if duplicated.size:
        examples = ", ".join(iso_utc(value) for value in duplicated[:_EXAMPLES])
        return CheckOutcome(
            False,
            f"{duplicated.size} duplicated timestamps, e.g. {examples}",
            {"duplicated_timestamps": int(duplicated.size)},
        )
    return CheckOutcome(True, "no duplicated timestamps", {"rows": int(len(times))})


def check_ohlc_consistency(candles: pd.DataFrame) -> CheckOutcome:
    """high >= max(open, close, low) and low <= min(open, close) on every row."""
    o, h, l, c = (candles[name].to_numpy() for name in ("open", "high", "low", "close"))
    bad = (h < np.maximum(np.maximum(o, c), l)) | (l > np.minimum(o, c))
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = ", ".join(iso_utc(candles["time"].iloc[row]) for row in rows[:_EXAMPLES])
        return CheckOutcome(
            False,
            f"{rows.size} candles with high/low outside open/close, e.g. {examples}",
            {"inconsistent_rows": int(rows.size)},
        )
    return CheckOutcome(True, "every candle's high and low enclose open and close", {"rows": int(len(candles))})


def check_gaps(times: np.ndarray, timeframe_seconds: int, max_multiple: float) -> CheckOutcome:
    """No jump between consecutive candles longer than `max_multiple` timeframes."""
    steps = np.diff(times)
    limit = timeframe_seconds * max_multiple
    bad = np.flatnonzero(steps > limit)
    largest = float(steps.max() / timeframe_seconds) if steps.size else 0.0
    metadata = {
        "gaps_over_limit": int(bad.size),
        "largest_gap_in_timeframes": round(largest, 2),
        "limit_in_timeframes": max_multiple,
    }
    if bad.size:
        examples = ", ".join(f"{iso_utc(times[i])} -> {iso_utc(times[i + 1])}" for i in bad[:_EXAMPLES])
        return CheckOutcome(
            False, f"{bad.size} gaps longer than {max_multiple:g} timeframes, e.g. {examples}", metadata
        )
    return CheckOutcome(True, f"no gap longer than {max_multiple:g} timeframes", metadata)


def check_all_finite(frame: pd.DataFrame, columns: list[str]) -> CheckOutcome:
    """No NaN or inf in the given columns."""
    values = frame.loc[:, columns].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        per_column = {columns[i]: int(n) for i, n in enumerate(bad.sum(axis=0)) if n}
        summary = ", ".join(f"{name}: {count}" for name, count in list(per_column.items())[:_EXAMPLES])
        return CheckOutcome(
            False,
            f"non-finite values in {len(per_column)} columns ({summary})",
            {"non_finite_values": int(bad.sum()), "columns_affected": len(per_column)},
        )
    return CheckOutcome(True, f"all {len(columns)} feature columns are finite", {"rows": int(len(frame))})
