"""Benchmark: `build_features` on 1M candles against the bare TA-Lib calls + numpy geometry.

Both sides compute the same default feature set in the same process; the baseline is
what a hand-written script would do (call each TA-Lib function, compute the geometry in
numpy, no DataFrame). Target: build_features at most 2x the baseline. Prints a Markdown
table for docs/BENCHMARKS.md.

    python bench/bench_features.py [--candles 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np
import pandas as pd
import talib

from ml_platform.config import PipelineConfig
from ml_platform.features import build_features


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.003, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.003, n))
    return pd.DataFrame(
        {
            "time": np.arange(n, dtype=np.int64) * 3600,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.uniform(1, 100, n),
        }
    )


def bare_calls(candles: pd.DataFrame) -> dict[str, np.ndarray]:
    """The default feature set as direct TA-Lib calls and plain numpy."""
    o, h, l, c = (candles[k].to_numpy() for k in ("open", "high", "low", "close"))
    out = {"rsi": talib.RSI(c, 14), "sma": talib.SMA(c, 20), "ema": talib.EMA(c, 50)}
    out["macd"], out["macds"], out["macdh"] = talib.MACD(c, 12, 26, 9)
    out["bbu"], out["bbm"], out["bbl"] = talib.BBANDS(c, 20)
    out.update(
        atr=talib.ATR(h, l, c, 14),
        adx=talib.ADX(h, l, c, 14),
        cci=talib.CCI(h, l, c, 20),
        willr=talib.WILLR(h, l, c, 14),
        roc=talib.ROC(c, 10),
    )
    body = np.abs(c - o)
    upper = (h - np.maximum(o, c)) / o
    lower = (np.minimum(o, c) - l) / o
    rng = h - l
    with np.errstate(divide="ignore", invalid="ignore"):
        out.update(
            body_size=body / o,
            body_direction=np.sign(c - o),
            upper=upper,
            lower=lower,
            wick_ratio=np.where(upper + lower > 0, upper / (upper + lower), 0.5),
            body_to_range=np.where(rng > 0, body / rng, 0.0),
            gap=np.concatenate(([0.0], o[1:] / c[:-1] - 1)),
            range=rng / o,
        )
    out.update(_bare_averages(o, h, l, c))
    return out


def _previous_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the `window` values before each position, by a cumulative sum."""
    sums = np.concatenate(([0.0], np.cumsum(values)))
    out = np.full(len(values), np.nan)
    out[window:] = (sums[window:-1] - sums[: -window - 1]) / window
    return out


def _bare_averages(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """The rolling candle averages (15 columns) as a hand-written numpy script would compute them."""
    body, rng = np.abs(c - o), h - l
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    upper, lower = h - top, bottom - l
    floor = 1e-12 * c
    avg_body, avg_range = np.maximum(_previous_mean(body, 10), floor), np.maximum(_previous_mean(rng, 10), floor)
    avg_shadow = np.maximum(_previous_mean((upper + lower) / 2, 10), floor)
    near = np.maximum(_previous_mean(rng, 5), floor)
    safe_body = np.maximum(body, floor)

    def prev(x: np.ndarray) -> np.ndarray:
        return np.concatenate(([np.nan], x[:-1]))

    out = {
        "body_avg": body / avg_body,
        "body_avgrange": body / avg_range,
        "range_avg": rng / avg_range,
        "upper_avgrange": upper / avg_range,
        "lower_avgrange": lower / avg_range,
        "upper_avgshadow": upper / avg_shadow,
        "lower_avgshadow": lower / avg_shadow,
        "upper_body": upper / safe_body,
        "lower_body": lower / safe_body,
        "top_prevtop": (top - prev(top)) / near,
        "bottom_prevbottom": (bottom - prev(bottom)) / near,
        "bottom_prevtop": (bottom - prev(top)) / near,
        "top_prevbottom": (top - prev(bottom)) / near,
        "bottom_prevlow": (bottom - prev(l)) / near,
        "top_prevhigh": (top - prev(h)) / near,
    }
    return {k: np.clip(v, -1e3, 1e3) for k, v in out.items()}


def timed(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median seconds over `repeats` runs, and peak traced memory (MiB) of one more run."""
    durations = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        durations.append(time.perf_counter() - start)
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(durations), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candles", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    candles = synthetic(args.candles)
    config = PipelineConfig()
    base_t, base_mem = timed(lambda: bare_calls(candles), args.repeats)
    ours_t, ours_mem = timed(lambda: build_features(candles, config), args.repeats)
    output_mib = build_features(candles, config).frame.memory_usage(index=False).sum() / 2**20
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, TA-Lib {talib.__version__}"
    )
    print(f"{args.candles:,} candles, median of {args.repeats} runs\n")
    print("| path | median time | peak traced memory |")
    print("| --- | ---: | ---: |")
    print(f"| bare TA-Lib + numpy geometry and averages (baseline) | {base_t * 1000:.0f} ms | {base_mem:.0f} MiB |")
    print(f"| `build_features` (DataFrame out, warm-up dropped) | {ours_t * 1000:.0f} ms | {ours_mem:.0f} MiB |")
    print(f"\nratio: {ours_t / base_t:.2f}x the baseline (target <= 2x); output frame {output_mib:.0f} MiB")


if __name__ == "__main__":
    main()
