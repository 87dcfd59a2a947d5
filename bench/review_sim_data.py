"""The review-queue benchmark's data: series cut into a pool and a held-out test part (`bench_review_queue.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml_platform.review import ReviewedStretch
from ml_platform.sample_data import generate_partition
from ml_platform.sample_data.shapes import PATTERN_SPACING

POOL_SHARE = 0.7
GAP = 100
SAMPLE_PAIRS = ("EURUSD", "GBPUSD", "BTC-USDT")
SAMPLE_CANDLES = 10_000
REAL_POOL = ("SP500", "EURUSD")
COLUMNS = ["start", "end", "label"]


def _frame(rows: Sequence[tuple[int, int, str]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLUMNS).astype({"start": np.int64, "end": np.int64})


@dataclass(frozen=True)
class Series:
    """One series' candles and its true spans (positions into `candles`)."""

    name: str
    candles: pd.DataFrame
    spans: pd.DataFrame


def split(name: str, candles: pd.DataFrame, spans: pd.DataFrame) -> tuple[Series, Series]:
    """(pool: first 70%, test: after a gap), spans wholly inside each."""
    n = len(candles)
    cut, test_start = int(POOL_SHARE * n), int(POOL_SHARE * n) + GAP
    pool = spans[spans["end"] < cut]
    test = spans[spans["start"] >= test_start].copy()
    test[["start", "end"]] -= test_start
    return (
        Series(f"{name} pool", candles.iloc[:cut].reset_index(drop=True), pool.reset_index(drop=True)),
        Series(f"{name} test", candles.iloc[test_start:].reset_index(drop=True), test.reset_index(drop=True)),
    )


def sample_spacing(density: float) -> tuple[int, int]:
    """The generator's pattern spacing for `density` (1.0: the default 120-200 candles; 0.25: 480-800)."""
    if not 0 < density <= 1:
        raise ValueError(f"--density {density}: must be in (0, 1]")
    low, high = PATTERN_SPACING
    return round(low / density), round(high / density)


def sample_data(seed: int, density: float = 1.0, n_candles: int = SAMPLE_CANDLES) -> tuple[list[Series], list[Series]]:
    """Planted spans of the sample data; `density` < 1 plants fewer patterns in the same background walk.

    The generator's `spacing` only widens the gaps between patterns: the quiet candles are the
    generator's own walk (same process as the dense data, its returns drawn before any
    pattern), so there is no splice and nothing marks where a pattern was left out.
    """
    pools, tests = [], []
    spacing = sample_spacing(density)
    for pair in SAMPLE_PAIRS:
        candles, planted = generate_partition(pair, "1h", n_candles, seed, spacing=spacing)
        spans = _frame([(s.start_index, s.end_index, s.label) for s in planted])
        pool, test = split(f"{pair}|1h", candles, spans)
        pools.append(pool)
        tests.append(test)
    return pools, tests


def real_data() -> tuple[list[Series], list[Series]]:
    from real_data import load_series

    from ml_platform.shapes.rules import detect_shapes

    pools, tests = [], []
    for name in REAL_POOL:
        series = load_series(name)
        pool, test = split(series.key, series.candles, detect_shapes(series.candles))
        pools.append(pool)
        tests.append(test)
    return pools, tests


# --------------------------------------------------------------------------- annotator


@dataclass
class Labelled:
    """What the annotator has answered on one pool series."""

    n: int
    shown: np.ndarray  # bool per candle: fully labelled
    marks: dict[tuple[int, int], str] = field(default_factory=dict)  # true spans marked
    dismissed: set[tuple[int, int]] = field(default_factory=set)  # predictions said "no"
    records: list[ReviewedStretch] = field(default_factory=list)

    def human(self) -> pd.DataFrame:
        rows = [(s, e, lab) for (s, e), lab in self.marks.items()] + [(s, e, "O") for s, e in self.dismissed]
        return _frame(sorted(rows))


@dataclass
class Run:
    strategy: str
    curve: list[tuple[int, float]] = field(default_factory=list)  # (answers, span F1)
    candles_shown: list[int] = field(default_factory=list)
    spans_marked: list[int] = field(default_factory=list)
    reasons: dict[str, int] = field(default_factory=dict)
    reentered: int = 0
    seconds: float = 0.0
    scores: list[dict[str, float]] = field(default_factory=list)  # per checkpoint: span precision, recall, ...
    train_candles_per_span: list[float] = field(default_factory=list)  # labelled candles fitted on per marked span
