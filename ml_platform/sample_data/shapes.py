"""The planted shapes (close-price paths) and the optional telltales a pattern may carry.

A shape is a list of turning points (``levels``, in amplitude units) at knot positions in
[0, 1]; `shape_path` interpolates it over a pattern's candles. By default that path is
*all* that marks a pattern: the noise, wicks and volume inside a span are drawn exactly as
outside it (as on a real chart, where nothing but the price path tells a double top).

`TELLTALES` are the three cues the earlier sample data planted with every pattern, each
now a knob that is off unless asked for (``--telltales noise,wicks,volume``):

- ``noise``: the return noise inside a span shrinks to `NOISE_FRACTION` of the local
  volatility (a volatility contraction), which makes the shape draw cleanly;
- ``wicks``: each shape gets a regular candle texture of its own (`PATTERN_WICKS`: bull
  flag lower wicks, double top upper wicks, head and shoulders barely any) where the
  background's wicks are random;
- ``volume``: volume follows a per-shape profile (`VOLUME_PROFILES`: heavy pole and drying
  flag, weaker second top, break on volume) and the size of the shape's moves.

With all three the generator writes byte for byte what it wrote before they became knobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

PATTERN_LABELS: tuple[str, ...] = ("bull_flag", "double_top", "head_and_shoulders")

TELLTALES: tuple[str, ...] = ("noise", "wicks", "volume")
"""The cues besides the price path a pattern can carry; none by default (shape only)."""

# Lengths per shape, within 20-45: each shape keeps its own tempo (a double top's legs are
# longer than a head and shoulders'), which is part of the shape.
PATTERN_LENGTHS: dict[str, tuple[int, int]] = {
    "bull_flag": (20, 32),
    "double_top": (32, 45),
    "head_and_shoulders": (24, 38),
}
PATTERN_SPACING = (120, 200)
AMPLITUDE_K = (3.8, 4.4)  # amplitude = k * rolling std of returns * sqrt(length)
NOISE_FRACTION = (0.08, 0.18)  # telltale "noise": in-pattern noise as a share of the background's
VOLATILITY_WINDOW = 50  # candles before a pattern whose return std sets its amplitude
BACKGROUND_WICK = 0.4  # mean wick length, in units of the volatility (inside patterns too by default)
# Telltale "wicks": mean (upper, lower) wick inside a pattern, in units of the local volatility.
PATTERN_WICKS: dict[str, tuple[float, float]] = {
    "bull_flag": (0.08, 0.6),
    "double_top": (0.6, 0.08),
    "head_and_shoulders": (0.12, 0.12),
}
# Telltale "volume": volume relative to the background over the span, at the shape's key points.
VOLUME_PROFILES: dict[str, tuple[list[float], list[float]]] = {
    "bull_flag": ([0.0, 0.3, 0.35, 1.0], [1.8, 1.8, 0.6, 0.5]),  # heavy pole, drying flag
    "double_top": ([0.0, 0.3, 0.7, 1.0], [1.2, 1.1, 0.8, 1.3]),  # weaker second peak
    "head_and_shoulders": ([0.0, 0.5, 0.85, 1.0], [1.2, 1.0, 0.7, 1.4]),  # fading, break on volume
}


def parse_telltales(value: str | Iterable[str] | None) -> frozenset[str]:
    """A set of telltale names from ``"noise,wicks"``, a list, ``""``/``"none"`` or None (empty).

    Raises
    ------
    ValueError
        On a name that is not one of `TELLTALES` (the message lists them).
    """
    if value is None:
        return frozenset()
    names = value.split(",") if isinstance(value, str) else list(value)
    chosen = frozenset(n.strip() for n in names if n.strip() and n.strip() != "none")
    unknown = sorted(chosen - set(TELLTALES))
    if unknown:
        raise ValueError(f"unknown telltale(s) {', '.join(unknown)}: choose from {', '.join(TELLTALES)} (or none)")
    return chosen


def _bull_flag(rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """A sharp pole up (a fifth to a third of the span), then a long, gently falling flag."""
    pole = rng.uniform(0.22, 0.35)
    retrace = rng.uniform(0.25, 0.4)
    return [0.0, pole, 1.0], [0.0, 1.0, 1.0 - retrace]


def _double_top(rng: np.random.Generator) -> tuple[list[float], list[float]]:
    """M: rise, first peak, dip, second peak at about the same level, fall below the dip."""
    trough = 1.0 - rng.uniform(0.35, 0.5)
    y = [0.0, 1.0, trough, 1.0 + rng.uniform(-0.04, 0.04), trough - rng.uniform(0.1, 0.25)]
    return even_pace(y, rng), y


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
    return even_pace(y, rng), y


def even_pace(levels: list[float], rng: np.random.Generator) -> list[float]:
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


def shape_path(label: str, length: int, rng: np.random.Generator) -> np.ndarray:
    """The pattern's close offsets in amplitude units.

    Returns
    -------
    path : ndarray of shape (length,)
        Offset of each candle's close from the close before the pattern (0 there).
    """
    knots_u, knots_y = SHAPES[label](rng)
    return np.interp(np.arange(1, length + 1) / length, knots_u, knots_y)
