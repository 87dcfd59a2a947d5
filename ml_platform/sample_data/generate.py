"""One partition's synthetic candles with planted patterns (`generate_partition`).

The background is a random walk with slowly varying volatility regimes, fat-tailed
returns, realistic price levels, consistent OHLC and positive volume. Patterns are planted
about every 120-200 candles, 20-45 candles long, their amplitude scaled to the local
volatility. Each pattern *adds* its shape's returns to the walk's over its span, so the
price joins the surrounding walk without a jump at either seam, and (by default) the
noise, wicks and volume inside the span are the walk's own: only the price path marks the
pattern (see `ml_platform.sample_data.shapes` for the optional telltales). The log price
slowly reverts to the pair's level, so indicators in price units stay in a stable range.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from ml_platform.partitions import Partition
from ml_platform.sample_data.records import PlantedSpan
from ml_platform.sample_data.shapes import (
    AMPLITUDE_K,
    BACKGROUND_WICK,
    NOISE_FRACTION,
    PATTERN_LABELS,
    PATTERN_LENGTHS,
    PATTERN_SPACING,
    PATTERN_WICKS,
    VOLATILITY_WINDOW,
    VOLUME_PROFILES,
    parse_telltales,
    shape_path,
)

DEFAULT_SEED = 20240601
DEFAULT_CANDLES = 20_000
MIN_CANDLES = 300
START_TIME = 1_451_606_400  # 2016-01-01T00:00:00Z, the first candle of every partition
REVERSION_HALF_LIFE = 300  # candles for a deviation from the pair's price level to halve


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


def pair_profile(pair: str) -> PairProfile:
    """The known profile of `pair`, else a generic one (price 100)."""
    return PAIR_PROFILES.get(pair, DEFAULT_PROFILE)


def partition_rng(seed: int, pair: str, timeframe: str, stream: int) -> np.random.Generator:
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


def _plan_patterns(
    n: int, rng: np.random.Generator, spacing: tuple[int, int] = PATTERN_SPACING
) -> list[tuple[str, int, int]]:
    """Where patterns go: `(label, start_index, length)`, one start every `spacing` candles (120-200)."""
    plan: list[tuple[str, int, int]] = []
    start = int(rng.integers(VOLATILITY_WINDOW + 20, VOLATILITY_WINDOW + 120))
    while True:
        label = str(rng.choice(PATTERN_LABELS))
        low, high = PATTERN_LENGTHS[label]
        length = int(rng.integers(low, high + 1))
        if start + length + 10 > n:
            return plan
        plan.append((label, start, length))
        start += int(rng.integers(spacing[0], spacing[1] + 1))


def _student_t(n: int, rng: np.random.Generator, df: float = 6.0) -> np.ndarray:
    """Fat-tailed shocks with unit variance."""
    return rng.standard_t(df, n) / np.sqrt(df / (df - 2))


def generate_partition(
    pair: str,
    timeframe: str,
    n_candles: int = DEFAULT_CANDLES,
    seed: int = DEFAULT_SEED,
    *,
    telltales: str | Iterable[str] | None = None,
    spacing: tuple[int, int] = PATTERN_SPACING,
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
        Same seed, pair, timeframe and telltales give the same candles and spans.
    telltales : str or iterable of str, optional
        Cues besides the price path that mark a pattern, from ``noise wicks volume``
        (`shapes.TELLTALES`); none by default, so a pattern is its shape only. The spans
        and the background walk are the same whichever are chosen.
    spacing : (int, int), default=PATTERN_SPACING (120, 200)
        Candles from one pattern's start to the next, drawn uniformly in this range; wider
        gives sparser patterns (e.g. the review-queue benchmark's sparse variant). The
        background is drawn the same way (the same noise draws; only the drift that keeps
        the level flat differs), so the quiet stretches carry no sign of the spacing.

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
    if not 50 <= spacing[0] <= spacing[1]:
        raise ValueError(f"spacing={spacing} must be (low, high) with 50 <= low <= high, so patterns do not overlap")
    cues = parse_telltales(telltales)
    profile = pair_profile(pair)
    rng = partition_rng(seed, pair, timeframe, stream=0)
    sigma = profile.hourly_vol * np.sqrt(partition.seconds / 3600) * _volatility_regime(n_candles, rng)
    background = sigma * _student_t(n_candles, rng)
    layers = _plant(background, sigma, rng, cues, spacing)
    inside = layers.in_pattern
    drift = -layers.shape_returns.sum() / max(1, int((~inside).sum()))  # keeps the level from trending
    walk = np.where(inside, background, background + drift)  # the random walk alone, patterns left out
    noise = layers.noise * rng.normal(size=n_candles)  # drawn always: the streams stay aligned
    in_pattern_noise = noise if "noise" in cues else background
    returns = np.where(inside, layers.shape_returns + in_pattern_noise, walk)
    candles = _to_candles(returns, walk, sigma, layers, partition, profile, rng, cues)
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
    noise : std of the return noise inside patterns (telltale "noise" only)
    wick_up, wick_down : mean wick lengths in log units
    volume_factor : volume multiplier (1 outside patterns, and inside unless telltale "volume")
    spans : (label, start_index, end_index) of every pattern, in time order
    """

    shape_returns: np.ndarray
    in_pattern: np.ndarray
    noise: np.ndarray
    wick_up: np.ndarray
    wick_down: np.ndarray
    volume_factor: np.ndarray
    spans: list[tuple[str, int, int]]


def _plant(
    background: np.ndarray,
    sigma: np.ndarray,
    rng: np.random.Generator,
    cues: frozenset[str],
    spacing: tuple[int, int] = PATTERN_SPACING,
) -> _Layers:
    """Draw every pattern over its span: its shape, and the telltales in `cues`.

    Every random number is drawn whatever `cues` holds, so the spans, amplitudes and
    shapes do not depend on the telltales chosen.
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
    for label, start, length in _plan_patterns(n, rng, spacing):
        local_std = float(np.std(background[start - VOLATILITY_WINDOW : start]))
        amplitude = rng.uniform(*AMPLITUDE_K) * local_std * np.sqrt(length)
        span = slice(start, start + length)
        layers.shape_returns[span] = np.diff(amplitude * shape_path(label, length, rng), prepend=0.0)
        layers.in_pattern[span] = True
        layers.noise[span] = rng.uniform(*NOISE_FRACTION, size=length) * local_std
        if "wicks" in cues:
            layers.wick_up[span] = PATTERN_WICKS[label][0] * local_std
            layers.wick_down[span] = PATTERN_WICKS[label][1] * local_std
        if "volume" in cues:
            knots_u, knots_v = VOLUME_PROFILES[label]
            layers.volume_factor[span] = np.interp(np.linspace(0.0, 1.0, length), knots_u, knots_v)
        layers.spans.append((label, start, start + length - 1))
    return layers


def _to_candles(
    returns: np.ndarray,
    walk: np.ndarray,
    sigma: np.ndarray,
    layers: _Layers,
    partition: Partition,
    profile: PairProfile,
    rng: np.random.Generator,
    cues: frozenset[str],
) -> pd.DataFrame:
    """Log returns to an OHLCV frame; the log price slowly reverts to the pair's level.

    Parameters
    ----------
    returns : ndarray of shape (n,)
        Log returns, patterns included.
    walk : ndarray of shape (n,)
        The random walk's own returns (patterns left out): what volume follows by default.
    sigma : ndarray of shape (n,)
        The background volatility (scales volume with the size of each move).
    cues : frozenset of str
        Telltales: "wicks" gives patterns a regular wick texture, "volume" lets volume
        follow the pattern's profile and the size of its moves.
    """
    n = len(returns)
    reversion = np.log(2) / REVERSION_HALF_LIFE
    deviation = lfilter([1.0], [1.0, -(1.0 - reversion)], returns)
    log_close = np.log(profile.price) + deviation
    log_open = np.concatenate([[np.log(profile.price)], log_close[:-1]])
    regular, wild = rng.uniform(0.8, 1.2, (n, 2)), rng.exponential(size=(n, 2))
    textured = layers.in_pattern if "wicks" in cues else np.zeros(n, dtype=bool)
    spread = np.where(textured[:, None], regular, wild)
    log_high = np.maximum(log_open, log_close) + layers.wick_up * spread[:, 0]
    log_low = np.minimum(log_open, log_close) - layers.wick_down * spread[:, 1]
    moves = returns if "volume" in cues else walk
    activity = np.minimum(0.6 + 0.5 * np.abs(moves) / sigma, 4.0)  # big moves trade more
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
