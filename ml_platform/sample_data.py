"""Deterministic synthetic OHLCV with planted chart patterns: the platform's sample data.

Why: a new user, the demo and the benchmarks need candles and annotations without
downloading anything, and the benchmarks need to know where the patterns *really* are.
So this module writes, for every configured pair x timeframe:

- ``{data.raw_path}/{PAIR}_{TF}.csv``: a random walk with slowly varying volatility
  regimes, realistic price levels, consistent OHLC and positive volume, in which chart
  patterns (``bull_flag``, ``double_top``, ``head_and_shoulders``) are planted about every
  120-200 candles, 20-45 candles long, their amplitude scaled to the local volatility;
- ``{data.annotations_path}/sample_annotations.json``: the web's export format (DESIGN.md,
  "Annotations"), imperfect the way human annotators are: about 10% of the patterns
  missed, a share of the boundaries one or two candles off, confidence varying (a few below
  0.5, so ``labeling.min_confidence`` filters them), and a couple of negative ("O")
  corrections per partition on stretches without a pattern;
- ``{data.ground_truth_path}``: every planted span, exactly; only benchmarks read it.

Patterns are drawn cleanly, so that a per-candle model with a few candles of context can
learn them (a benchmark asks span F1 >= 0.8 of one): the shape's moves are several times
the local volatility, its legs run at an even pace, the return noise inside a span is a
small fraction of the background's (a volatility contraction), and each shape has a
regular candle texture of its own (bull flag: lower wicks, double top: upper wicks, head
and shoulders: barely any) where the background's wicks are random. Each pattern
replaces the random walk's *returns* over its span, so the price joins the surrounding
walk without a jump at either seam. The log price slowly reverts to the pair's level, so
indicators in price units (SMA, Bollinger bands) stay in the range seen in training.

The same seed and options give byte-identical files (no wall-clock times are written).
Run it as ``ml-platform-sample-data`` or ``python -m ml_platform.sample_data``.
"""

from __future__ import annotations

import argparse
import sys
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
from scipy.signal import lfilter
from tqdm import tqdm

from ml_platform import storage
from ml_platform.config import PipelineConfig, load_config
from ml_platform.labeling.annotations import Annotation, AnnotationExport, ModelPrediction
from ml_platform.partitions import Partition

DEFAULT_SEED = 20240601
DEFAULT_CANDLES = 20_000
MIN_CANDLES = 300
START_TIME = 1_451_606_400  # 2016-01-01T00:00:00Z, the first candle of every partition
EXPORTED_AT = "2026-11-26T10:00:00Z"
CREATED_AT_BASE = 1_795_165_200  # 2026-11-20T09:00:00Z; annotation k was "created" k minutes later
PATTERN_LABELS: tuple[str, ...] = ("bull_flag", "double_top", "head_and_shoulders")
ANNOTATIONS_FILE = "sample_annotations.json"
NEGATIVE_MODEL_VERSION = "sample-model-0"

# Planting: pattern lengths, spacing between pattern starts, amplitude and cleanliness.
# Lengths per shape, within 20-45: each shape keeps its own tempo (a double top's legs are
# longer than a head and shoulders'), which helps tell them apart locally.
PATTERN_LENGTHS: dict[str, tuple[int, int]] = {
    "bull_flag": (20, 32),
    "double_top": (32, 45),
    "head_and_shoulders": (24, 38),
}
PATTERN_SPACING = (120, 200)
AMPLITUDE_K = (3.8, 4.4)  # amplitude = k * rolling std of returns * sqrt(length)
NOISE_FRACTION = (0.08, 0.18)  # in-pattern noise as a share of the background's
VOLATILITY_WINDOW = 50  # candles before a pattern whose return std sets its amplitude
REVERSION_HALF_LIFE = 300  # candles for a deviation from the pair's price level to halve
BACKGROUND_WICK = 0.4  # mean wick length outside patterns, in units of the volatility
# Mean (upper, lower) wick inside a pattern, in units of the local volatility: a candle
# texture per shape, as chart readers describe it (supported flag: lower wicks; tops:
# rejection upper wicks; head and shoulders: indecision both ways).
PATTERN_WICKS: dict[str, tuple[float, float]] = {
    "bull_flag": (0.08, 0.6),
    "double_top": (0.6, 0.08),
    "head_and_shoulders": (0.12, 0.12),
}

# Annotator imperfections (shares of the planted spans of one partition).
MISS_RATE = 0.10
SHIFT_RATE = 0.20
MAX_SHIFT = 2
SHIFT_PROBABILITIES = (0.1, 0.2, 0.4, 0.2, 0.1)  # of moving a boundary by -2, -1, 0, +1, +2 candles
LOW_CONFIDENCE_RATE = 0.025
NEGATIVES_PER_PARTITION = 2
NEGATIVE_WARMUP = 60  # no negative annotation before this candle (the indicators' warm-up)

_UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "ml-platform/sample-data")


@dataclass(frozen=True)
class PairProfile:
    """How one pair's prices look: level, hourly volatility, volume, decimals."""

    price: float
    hourly_vol: float
    volume: float
    decimals: int


PAIR_PROFILES: dict[str, PairProfile] = {
    "EURUSD": PairProfile(price=1.10, hourly_vol=0.0012, volume=2_500.0, decimals=5),
    "GBPUSD": PairProfile(price=1.27, hourly_vol=0.0014, volume=1_800.0, decimals=5),
    "BTC-USDT": PairProfile(price=30_000.0, hourly_vol=0.008, volume=900.0, decimals=2),
}
DEFAULT_PROFILE = PairProfile(price=100.0, hourly_vol=0.004, volume=10_000.0, decimals=4)


# --------------------------------------------------------------------------- JSON shapes


class PlantedSpan(msgspec.Struct, frozen=True, kw_only=True):
    """One planted pattern; times are epoch seconds of its first and last candle (inclusive)."""

    pair: str
    timeframe: str
    label: str
    start_time: int
    end_time: int
    start_index: int
    end_index: int


class GroundTruth(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    generator: dict[str, object]
    spans: list[PlantedSpan]


@dataclass(frozen=True)
class PartitionSummary:
    """What was written for one partition."""

    pair: str
    timeframe: str
    candles: int
    planted: int
    annotated: int
    csv_path: Path

    def line(self) -> str:
        return (
            f"{self.pair}|{self.timeframe}: {self.candles} candles, {self.planted} planted spans, "
            f"{self.annotated} annotated spans -> {self.csv_path}"
        )


@dataclass(frozen=True)
class SampleDataSummary:
    """What `write_sample_data` wrote: one summary per partition and the two JSON files."""

    partitions: list[PartitionSummary]
    annotations_path: Path
    ground_truth_path: Path


# --------------------------------------------------------------------------- shapes


def _bull_flag(rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """A sharp pole up (a fifth to a third of the span), then a long, gently falling flag."""
    pole = rng.uniform(0.22, 0.35)
    retrace = rng.uniform(0.25, 0.4)
    return [0.0, pole, 1.0], [0.0, 1.0, 1.0 - retrace]


def _double_top(rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """M: rise, first peak, dip, second peak at about the same level, fall below the dip."""
    trough = 1.0 - rng.uniform(0.35, 0.5)
    y = [0.0, 1.0, trough, 1.0 + rng.uniform(-0.04, 0.04), trough - rng.uniform(0.1, 0.25)]
    return _even_pace(y, rng), y


def _head_and_shoulders(rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """Three peaks, the middle (head) highest, on a neckline the price finally breaks."""
    shoulder = rng.uniform(0.6, 0.7)
    neck = rng.uniform(0.25, 0.35)
    y = [
        0.0,
        shoulder,
        neck,
        1.0,
        neck + rng.uniform(-0.04, 0.04),
        shoulder + rng.uniform(-0.06, 0.06),
        neck - rng.uniform(0.1, 0.2),
    ]
    return _even_pace(y, rng), y


def _even_pace(levels: list[float], rng: np.random.Generator) -> list[float]:
    """Knot positions in [0, 1] that give every leg about the same speed (a cleanly drawn shape).

    Parameters
    ----------
    levels : list of float
        The shape's turning points, in amplitude units.

    Returns
    -------
    knots : list of float, same length
        0 first, 1 last; each leg's share of the span is its height's share (+-10%).
    """
    heights = np.abs(np.diff(levels)) * rng.uniform(0.9, 1.1, len(levels) - 1)
    return [0.0, *(np.cumsum(heights) / heights.sum()).tolist()]


SHAPES: dict[str, Callable[[np.random.Generator], tuple[list[float], list[float]]]] = {
    "bull_flag": _bull_flag,
    "double_top": _double_top,
    "head_and_shoulders": _head_and_shoulders,
}

# Volume relative to the background over the pattern's span, at the shape's key points.
_VOLUME_PROFILES: dict[str, tuple[list[float], list[float]]] = {
    "bull_flag": ([0.0, 0.3, 0.35, 1.0], [1.8, 1.8, 0.6, 0.5]),  # heavy pole, drying flag
    "double_top": ([0.0, 0.3, 0.7, 1.0], [1.2, 1.1, 0.8, 1.3]),  # weaker second peak
    "head_and_shoulders": ([0.0, 0.5, 0.85, 1.0], [1.2, 1.0, 0.7, 1.4]),  # fading, break on volume
}


def _shape_path(label: str, length: int, rng: np.random.Generator) -> np.ndarray:
    """The pattern's close offsets in amplitude units.

    Returns
    -------
    path : ndarray of shape (length,)
        Offset of each candle's close from the close before the pattern (0 there).
    """
    knots_u, knots_y = SHAPES[label](rng)
    return np.interp(np.arange(1, length + 1) / length, knots_u, knots_y)


# --------------------------------------------------------------------------- generation


def pair_profile(pair: str) -> PairProfile:
    """The known profile of `pair`, else a generic one (price 100)."""
    return PAIR_PROFILES.get(pair, DEFAULT_PROFILE)


def _partition_rng(seed: int, pair: str, timeframe: str, stream: int) -> np.random.Generator:
    """An independent, platform-stable random stream per partition and purpose."""
    return np.random.default_rng([seed, zlib.crc32(f"{pair}|{timeframe}".encode()), stream])


def _volatility_regime(n: int, rng: np.random.Generator) -> np.ndarray:
    """A slowly varying volatility multiplier around 1 (log AR(1), half-life ~350 candles).

    Returns
    -------
    regime : ndarray of shape (n,)
        Values within 0.6-1.7, mostly 0.75-1.35.
    """
    phi, stationary_std = 0.998, 0.15
    shocks = rng.normal(0.0, stationary_std * np.sqrt(1 - phi**2), n)
    start = rng.normal(0.0, stationary_std)
    log_regime, _ = lfilter([1.0], [1.0, -phi], shocks, zi=[phi * start])
    return np.exp(log_regime).clip(0.6, 1.7)


def _plan_patterns(n: int, rng: np.random.Generator) -> list[tuple[str, int, int]]:
    """Where patterns go: `(label, start_index, length)`, one start every 120-200 candles."""
    plan: list[tuple[str, int, int]] = []
    start = int(rng.integers(VOLATILITY_WINDOW + 20, VOLATILITY_WINDOW + 120))
    while True:
        label = str(rng.choice(PATTERN_LABELS))
        low, high = PATTERN_LENGTHS[label]
        length = int(rng.integers(low, high + 1))
        if start + length + 10 > n:
            return plan
        plan.append((label, start, length))
        start += int(rng.integers(PATTERN_SPACING[0], PATTERN_SPACING[1] + 1))


def _student_t(n: int, rng: np.random.Generator, df: float = 6.0) -> np.ndarray:
    """Fat-tailed shocks with unit variance."""
    return rng.standard_t(df, n) / np.sqrt(df / (df - 2))


def generate_partition(
    pair: str, timeframe: str, n_candles: int = DEFAULT_CANDLES, seed: int = DEFAULT_SEED
) -> tuple[pd.DataFrame, list[PlantedSpan]]:
    """Synthetic candles for one partition, with the patterns planted in them.

    Parameters
    ----------
    pair : str
        E.g. ``EURUSD``; known pairs get a realistic price level, others price 100.
    timeframe : str
        One of ``1m 5m 15m 30m 1h 4h 1d 1w``; volatility scales with its square root.
    n_candles : int, default=20000
        At least 300.
    seed : int, default=DEFAULT_SEED
        Same seed, pair and timeframe give the same candles and spans.

    Returns
    -------
    candles : DataFrame of shape (n_candles, 6)
        ``time`` (int64 epoch seconds, spaced by the timeframe from 2016-01-01T00:00Z),
        ``open high low close volume`` (float64, rounded to the pair's decimals).
    spans : list of PlantedSpan
        Every planted pattern, in time order, with inclusive candle indices.
    """
    partition = Partition(pair, timeframe)
    if n_candles < MIN_CANDLES:
        raise ValueError(f"n_candles={n_candles} is too small: use at least {MIN_CANDLES} so patterns fit")
    profile = pair_profile(pair)
    rng = _partition_rng(seed, pair, timeframe, stream=0)
    sigma = profile.hourly_vol * np.sqrt(partition.seconds / 3600) * _volatility_regime(n_candles, rng)
    background = sigma * _student_t(n_candles, rng)
    layers = _plant(background, sigma, rng)
    inside = layers.in_pattern
    drift = -layers.shape_returns.sum() / max(1, int((~inside).sum()))  # keeps the level from trending
    noise = layers.noise * rng.normal(size=n_candles)
    returns = np.where(inside, layers.shape_returns + noise, background + drift)
    candles = _to_candles(returns, sigma, layers, partition, profile, rng)
    times = candles["time"].to_numpy()
    spans = [
        PlantedSpan(
            pair=pair,
            timeframe=timeframe,
            label=label,
            start_time=int(times[start]),
            end_time=int(times[end]),
            start_index=start,
            end_index=end,
        )
        for label, start, end in layers.spans
    ]
    return candles, spans


@dataclass
class _Layers:
    """Per-candle arrays, each of shape (n,), that turn a random walk into one with patterns.

    shape_returns : the shapes' log returns (0 outside patterns)
    in_pattern : bool, True inside a planted span
    noise : std of the return noise inside patterns (unused outside)
    wick_up, wick_down : mean wick lengths in log units
    volume_factor : volume multiplier (1 outside patterns)
    spans : (label, start_index, end_index) of every pattern, in time order
    """

    shape_returns: np.ndarray
    in_pattern: np.ndarray
    noise: np.ndarray
    wick_up: np.ndarray
    wick_down: np.ndarray
    volume_factor: np.ndarray
    spans: list[tuple[str, int, int]]


def _plant(background: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> _Layers:
    """Draw every pattern over its span: shape, reduced noise, its wick texture and volume.

    Parameters
    ----------
    background : ndarray of shape (n,)
        The random walk's log returns; the 50 before a pattern set its amplitude.
    sigma : ndarray of shape (n,)
        The background's volatility (sets its wicks).
    """
    n = len(background)
    layers = _Layers(
        shape_returns=np.zeros(n),
        in_pattern=np.zeros(n, dtype=bool),
        noise=np.zeros(n),
        wick_up=BACKGROUND_WICK * sigma,
        wick_down=BACKGROUND_WICK * sigma,
        volume_factor=np.ones(n),
        spans=[],
    )
    for label, start, length in _plan_patterns(n, rng):
        local_std = float(np.std(background[start - VOLATILITY_WINDOW : start]))
        amplitude = rng.uniform(*AMPLITUDE_K) * local_std * np.sqrt(length)
        span = slice(start, start + length)
        layers.shape_returns[span] = np.diff(amplitude * _shape_path(label, length, rng), prepend=0.0)
        layers.in_pattern[span] = True
        layers.noise[span] = rng.uniform(*NOISE_FRACTION, size=length) * local_std
        layers.wick_up[span] = PATTERN_WICKS[label][0] * local_std
        layers.wick_down[span] = PATTERN_WICKS[label][1] * local_std
        knots_u, knots_v = _VOLUME_PROFILES[label]
        layers.volume_factor[span] = np.interp(np.linspace(0.0, 1.0, length), knots_u, knots_v)
        layers.spans.append((label, start, start + length - 1))
    return layers


def _to_candles(
    returns: np.ndarray,
    sigma: np.ndarray,
    layers: _Layers,
    partition: Partition,
    profile: PairProfile,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Log returns to an OHLCV frame; the log price slowly reverts to the pair's level.

    Parameters
    ----------
    returns : ndarray of shape (n,)
        Log returns, patterns included.
    sigma : ndarray of shape (n,)
        The background volatility (scales volume with the size of each move).

    Returns
    -------
    candles : DataFrame of shape (n, 6)
    """
    n = len(returns)
    reversion = np.log(2) / REVERSION_HALF_LIFE
    deviation = lfilter([1.0], [1.0, -(1.0 - reversion)], returns)
    log_close = np.log(profile.price) + deviation
    log_open = np.concatenate([[np.log(profile.price)], log_close[:-1]])
    # Wild wicks outside patterns, regular ones inside (clean drawing keeps the texture visible).
    spread = np.where(layers.in_pattern[:, None], rng.uniform(0.8, 1.2, (n, 2)), rng.exponential(size=(n, 2)))
    log_high = np.maximum(log_open, log_close) + layers.wick_up * spread[:, 0]
    log_low = np.minimum(log_open, log_close) - layers.wick_down * spread[:, 1]
    activity = np.minimum(0.6 + 0.5 * np.abs(returns) / sigma, 4.0)  # big moves trade more
    volume = profile.volume * np.sqrt(partition.seconds / 3600) * layers.volume_factor * activity
    volume = volume * rng.lognormal(0.0, 0.3, n)
    decimals = profile.decimals
    return pd.DataFrame(
        {
            "time": START_TIME + np.arange(n, dtype=np.int64) * partition.seconds,
            "open": np.round(np.exp(log_open), decimals),
            "high": np.round(np.exp(log_high), decimals),
            "low": np.round(np.exp(log_low), decimals),
            "close": np.round(np.exp(log_close), decimals),
            "volume": np.maximum(np.round(volume, 2), 0.01),
        }
    )


# --------------------------------------------------------------------------- annotations


def annotate(
    spans: Sequence[PlantedSpan], times: np.ndarray, *, seed: int = DEFAULT_SEED, first_index: int = 0
) -> list[Annotation]:
    """What an imperfect human annotator would export for one partition's planted spans.

    Exact shares of the spans are missed (`MISS_RATE`), get a confidence below 0.5
    (`LOW_CONFIDENCE_RATE`) or have their boundaries moved by up to `MAX_SHIFT` candles
    (`SHIFT_RATE`); at least one of each when there are 3 spans or more. The rest have a
    confidence in 0.55-1.0. `NEGATIVES_PER_PARTITION` negative ("O") corrections are added
    on stretches at least 10 candles away from any pattern.

    Parameters
    ----------
    spans : sequence of PlantedSpan
        One partition's spans, as `generate_partition` returns them.
    times : ndarray of shape (n_candles,)
        The partition's candle times (epoch seconds); every annotated time is one of them.
    seed : int, default=DEFAULT_SEED
    first_index : int, default=0
        Offset of this partition's annotations in the export (sets `created_at`).

    Returns
    -------
    annotations : list of Annotation
        In time order.
    """
    if not spans:
        return []
    pair, timeframe = spans[0].pair, spans[0].timeframe
    rng = _partition_rng(seed, pair, timeframe, stream=1)
    order = rng.permutation(len(spans))
    n_missed, n_low = (_share(len(spans), rate) for rate in (MISS_RATE, LOW_CONFIDENCE_RATE))
    missed = set(order[:n_missed].tolist())
    low = set(order[n_missed : n_missed + n_low].tolist())
    kept = [i for i in range(len(spans)) if i not in missed]
    shifted = set(rng.choice(kept, size=_share(len(kept), SHIFT_RATE), replace=False).tolist())
    drafts: list[tuple[str, int, int, float, ModelPrediction | None]] = []
    for i in kept:
        start, end = spans[i].start_index, spans[i].end_index
        if i in shifted:
            start, end = _shift(start, end, len(times), rng)
        confidence = rng.uniform(0.3, 0.49) if i in low else rng.uniform(0.55, 1.0)
        drafts.append((spans[i].label, start, end, round(float(confidence), 2), None))
    for start, end in _negative_stretches(spans, len(times), rng):
        prediction = ModelPrediction(
            label=str(rng.choice(PATTERN_LABELS)),
            confidence=round(float(rng.uniform(0.5, 0.8)), 2),
            model_version=NEGATIVE_MODEL_VERSION,
        )
        drafts.append(("O", start, end, round(float(rng.uniform(0.8, 1.0)), 2), prediction))
    drafts.sort(key=lambda draft: draft[1])
    return [
        _annotation(pair, timeframe, seed, first_index + k, label, int(times[s]), int(times[e]), conf, pred)
        for k, (label, s, e, conf, pred) in enumerate(drafts)
    ]


def _share(count: int, rate: float) -> int:
    """round(count * rate), but at least 1 when there are 3 items or more."""
    return max(round(count * rate), 1 if count >= 3 else 0)


def _shift(start: int, end: int, n: int, rng: np.random.Generator) -> tuple[int, int]:
    """Move each boundary by -MAX_SHIFT..MAX_SHIFT candles (not both by 0), staying in the series."""
    while True:
        moves = rng.choice(np.arange(-MAX_SHIFT, MAX_SHIFT + 1), size=2, p=SHIFT_PROBABILITIES)
        if moves.any():
            return max(0, start + int(moves[0])), min(n - 1, end + int(moves[1]))


def _negative_stretches(spans: Sequence[PlantedSpan], n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A few `(start, end)` stretches with no pattern within 10 candles, in distinct gaps.

    None starts before candle `NEGATIVE_WARMUP`, where the features are still warming up.
    """
    margin = 10
    first = NEGATIVE_WARMUP - margin - 1
    bounds = [first] + [b for span in spans for b in (span.start_index, span.end_index)] + [n]
    gaps = [(bounds[i] + 1 + margin, bounds[i + 1] - 1 - margin) for i in range(0, len(bounds), 2)]
    gaps = [(lo, hi) for lo, hi in gaps if hi - lo >= 40]
    chosen = rng.choice(len(gaps), size=min(NEGATIVES_PER_PARTITION, len(gaps)), replace=False)
    stretches = []
    for index in sorted(chosen.tolist()):
        lo, hi = gaps[index]
        length = int(rng.integers(15, 31))
        start = int(rng.integers(lo, hi - length + 2))
        stretches.append((start, start + length - 1))
    return stretches


def _annotation(
    pair: str,
    timeframe: str,
    seed: int,
    index: int,
    label: str,
    start_time: int,
    end_time: int,
    confidence: float,
    prediction: ModelPrediction | None,
) -> Annotation:
    return Annotation(
        id=str(uuid.uuid5(_UUID_NAMESPACE, f"{seed}/{pair}/{timeframe}/{start_time}/{label}")),
        pair=pair,
        timeframe=timeframe,
        label=label,
        start_time=start_time,
        end_time=end_time,
        confidence=confidence,
        source="human" if prediction is None else "human_correction",
        model_prediction=prediction,
        note="",
        created_at=_iso(CREATED_AT_BASE + 60 * index),
    )


def _iso(epoch_seconds: int) -> str:
    return pd.Timestamp(epoch_seconds, unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- files


def csv_style(index: int) -> str:
    """The time/column style of the `index`-th partition's CSV (config order).

    ``"epoch_ms"`` for the 2nd file (a ``time`` column in epoch milliseconds),
    ``"iso_capitalised"`` for the 4th (``Timestamp,Open,...``), ``"iso"`` otherwise
    (``timestamp`` as ``2016-01-01T00:00:00Z``, lower-case columns). Exercises the reader.
    """
    return {1: "epoch_ms", 3: "iso_capitalised"}.get(index, "iso")


def candles_to_csv(candles: pd.DataFrame, style: str) -> str:
    """The CSV text of a candle frame in one of the `csv_style` styles."""
    frame = candles.copy()
    if style == "epoch_ms":
        frame["time"] = frame["time"] * 1000
    elif style in ("iso", "iso_capitalised"):
        stamps = pd.to_datetime(frame.pop("time"), unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        frame.insert(0, "timestamp", stamps)
        if style == "iso_capitalised":
            frame.columns = [name.capitalize() for name in frame.columns]
    else:
        raise ValueError(f"unknown CSV style {style!r}: use 'iso', 'iso_capitalised' or 'epoch_ms'")
    return frame.to_csv(index=False, lineterminator="\n")


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it into place."""
    storage.write_atomic(path, lambda temporary: temporary.write_bytes(data))


def _json_bytes(value: msgspec.Struct) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n"


def write_sample_data(
    config: PipelineConfig,
    *,
    n_candles: int = DEFAULT_CANDLES,
    seed: int = DEFAULT_SEED,
    progress: bool = False,
) -> SampleDataSummary:
    """Generate and write every configured partition's CSV, the annotations and the ground truth.

    Parameters
    ----------
    config : PipelineConfig
        Pairs and timeframes from `partitions`; file locations from `data`.
    n_candles : int, default=20000
        Candles per partition.
    seed : int, default=DEFAULT_SEED
    progress : bool, default=False
        Show a tqdm bar over the partitions.

    Returns
    -------
    summary : SampleDataSummary
    """
    raw_dir = config.data.raw_dir
    partitions = [(pair, tf) for pair in config.partitions.pairs for tf in config.partitions.timeframes]
    summaries: list[PartitionSummary] = []
    all_spans: list[PlantedSpan] = []
    annotations: list[Annotation] = []
    for index, (pair, timeframe) in enumerate(
        tqdm(partitions, desc="sample data", unit="partition", disable=not progress)
    ):
        candles, spans = generate_partition(pair, timeframe, n_candles, seed)
        times = candles["time"].to_numpy()
        partition_annotations = annotate(spans, times, seed=seed, first_index=len(annotations))
        csv_path = raw_dir / f"{Partition(pair, timeframe).stem}.csv"
        write_atomic(csv_path, candles_to_csv(candles, csv_style(index)).encode())
        all_spans.extend(spans)
        annotations.extend(partition_annotations)
        annotated = sum(1 for a in partition_annotations if a.label != "O")
        summaries.append(PartitionSummary(pair, timeframe, len(candles), len(spans), annotated, csv_path))
    annotations_path = config.data.annotations_dir / ANNOTATIONS_FILE
    write_atomic(
        annotations_path, _json_bytes(AnnotationExport(version=1, exported_at=EXPORTED_AT, annotations=annotations))
    )
    ground_truth_path = config.data.ground_truth_file
    generator = _generator_params(config, n_candles, seed)
    write_atomic(ground_truth_path, _json_bytes(GroundTruth(version=1, generator=generator, spans=all_spans)))
    return SampleDataSummary(summaries, annotations_path, ground_truth_path)


def _generator_params(config: PipelineConfig, n_candles: int, seed: int) -> dict[str, object]:
    """The options and constants that determine the sample data, for the ground truth file."""
    return {
        "name": "ml_platform.sample_data",
        "seed": seed,
        "n_candles": n_candles,
        "start_time": START_TIME,
        "pairs": list(config.partitions.pairs),
        "timeframes": list(config.partitions.timeframes),
        "labels": list(PATTERN_LABELS),
        "pattern_lengths": {label: list(bounds) for label, bounds in PATTERN_LENGTHS.items()},
        "pattern_spacing": list(PATTERN_SPACING),
        "amplitude_k": list(AMPLITUDE_K),
        "noise_fraction": list(NOISE_FRACTION),
        "pattern_wicks": {label: list(wicks) for label, wicks in PATTERN_WICKS.items()},
        "reversion_half_life": REVERSION_HALF_LIFE,
        "miss_rate": MISS_RATE,
        "shift_rate": SHIFT_RATE,
        "shift_probabilities": list(SHIFT_PROBABILITIES),
        "low_confidence_rate": LOW_CONFIDENCE_RATE,
        "negatives_per_partition": NEGATIVES_PER_PARTITION,
    }


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ml-platform-sample-data",
        description="Write deterministic synthetic OHLCV with planted chart patterns, "
        "their (imperfect) annotations and the exact ground truth, where the config says.",
    )
    parser.add_argument("--config", help="pipeline YAML (default: $ML_PLATFORM_CONFIG or config/pipeline.yaml)")
    parser.add_argument(
        "--candles", type=int, default=DEFAULT_CANDLES, help=f"candles per partition (default {DEFAULT_CANDLES})"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    if args.candles < MIN_CANDLES:
        parser.error(f"--candles {args.candles} is too small: use at least {MIN_CANDLES} so patterns fit")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    args = _parse_args(argv)
    config = load_config(args.config)
    summary = write_sample_data(config, n_candles=args.candles, seed=args.seed, progress=True)
    for partition in summary.partitions:
        print(partition.line())
    print(f"annotations -> {summary.annotations_path}")
    print(f"ground truth -> {summary.ground_truth_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
