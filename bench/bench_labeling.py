"""Benchmark: BIO encoding and window encoding at scale, against plain numpy baselines.

Workload (as in the labeling issue):
- BIO: 1,000,000 candles, 20,000 spans of 5-45 candles, 10 % of them overlapping another
  span; `encode_bio` plus the tag strings of every track, against a plain numpy loop over
  spans that writes slices into one code array (no overlap handling: later spans overwrite).
- Windows: 20,000 windows of 48 candles over 1,000,000 rows x 32 float64 columns (the
  enriched frame's width); `encode_windows` and `build_windows` (the frame the asset
  writes), against `np.pad` + `sliding_window_view` + fancy indexing.

Times are the median of several runs (`time.perf_counter`); peak memory is measured in a
separate run with `tracemalloc` (numpy reports its buffers to it) and counts only what
the call allocates, not its inputs. Run: ``.venv/bin/python bench/bench_labeling.py``;
it prints a Markdown section and writes it to ``bench/labeling_results.md``.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml_platform.config import WindowConfig  # noqa: E402
from ml_platform.labeling import Spans, build_windows, encode_bio, encode_windows  # noqa: E402
from ml_platform.labeling.windows import window_starts  # noqa: E402

N_CANDLES = 1_000_000
N_SPANS = 20_000
OVERLAP_SHARE = 0.10
N_FEATURES = 32
WINDOW = 48
LABELS = ("bull_flag", "double_top", "head_and_shoulders", "bullish_engulfing", "bearish_harami")
RESULTS = Path(__file__).with_name("labeling_results.md")


def make_spans(rng: np.random.Generator) -> Spans:
    """20k spans: 90 % in disjoint slots, 10 % starting inside another span and running past it."""
    n_overlapping = int(N_SPANS * OVERLAP_SHARE)
    n_base = N_SPANS - n_overlapping
    slot = N_CANDLES // n_base
    length = rng.integers(5, 46, n_base)
    start = np.arange(n_base) * slot + rng.integers(0, slot - 45, n_base)
    end = start + length - 1
    host = rng.choice(n_base, n_overlapping, replace=False)
    extra_start = start[host] + (length[host] // 2)
    extra_end = np.minimum(extra_start + rng.integers(5, 46, n_overlapping) - 1, N_CANDLES - 1)
    starts, ends = np.concatenate([start, extra_start]), np.concatenate([end, extra_end])
    labels = np.array(LABELS, dtype=object)[rng.integers(0, len(LABELS), N_SPANS)]
    return Spans.build(starts, ends, labels, ["human"] * N_SPANS, [f"a{k}" for k in range(N_SPANS)])


def bio_ours(spans: Spans) -> list[np.ndarray]:
    codes = encode_bio(spans, N_CANDLES)
    return [codes.tags(track) for track in range(codes.n_tracks)]


def bio_baseline(spans: Spans) -> list[np.ndarray]:
    """Plain numpy: one code array, a Python loop over spans writing slices (overlaps overwrite)."""
    labels = sorted(set(spans.label.tolist()))
    vocabulary = np.array(["O"] + [f"{p}-{label}" for label in labels for p in ("B", "I")], dtype=object)
    index = {label: k for k, label in enumerate(labels)}
    codes = np.zeros(N_CANDLES, dtype=np.int32)
    for start, end, label in zip(spans.start.tolist(), spans.end.tolist(), spans.label.tolist(), strict=True):
        codes[start : end + 1] = 2 * index[label] + 2
        codes[start] = 2 * index[label] + 1
    return [vocabulary[codes]]


def windows_baseline(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Plain numpy with edge padding: pad the series, take sliding windows, gather, flatten."""
    padded = np.pad(values, ((WINDOW, WINDOW), (0, 0)), mode="edge")
    view = np.lib.stride_tricks.sliding_window_view(padded, WINDOW, axis=0)  # (n, F, WINDOW)
    return view[starts + WINDOW].reshape(len(starts), -1)


def timed(function: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        begin = time.perf_counter()
        function()
        times.append(time.perf_counter() - begin)
    return statistics.median(times)


def peak(function: Callable[[], Any]) -> tuple[int, Any]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = function()
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top, result


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 2**20:,.0f} MiB"


def main() -> None:
    load = os.getloadavg()[0]
    rng = np.random.default_rng(20240601)
    spans = make_spans(rng)
    overlapping = int((np.maximum.accumulate(spans.sorted().end)[:-1] >= spans.sorted().start[1:]).sum())

    # correctness first: on the disjoint spans, both BIO encoders agree exactly
    disjoint = spans.take(np.arange(N_SPANS - int(N_SPANS * OVERLAP_SHARE)))
    assert np.array_equal(bio_ours(disjoint)[0], bio_baseline(disjoint)[0])

    bio_time = timed(lambda: bio_ours(spans), 7)
    bio_base_time = timed(lambda: bio_baseline(spans), 7)
    bio_peak, tags = peak(lambda: bio_ours(spans))
    bio_base_peak, _ = peak(lambda: bio_baseline(spans))
    tracks = len(tags)
    del tags

    values = rng.normal(size=(N_FEATURES, N_CANDLES)).T  # column-major, like a pandas float block
    frame = pd.DataFrame(values, columns=[f"f{k}" for k in range(N_FEATURES)], copy=False)
    frame.insert(0, "time", np.arange(N_CANDLES, dtype=np.int64) * 3600)
    columns = [frame[f"f{k}"].to_numpy() for k in range(N_FEATURES)]
    window_spans = make_spans(np.random.default_rng(1))
    starts = np.sort(window_starts(window_spans, WINDOW))
    starts[0], starts[-1] = -5, N_CANDLES - WINDOW + 5  # one window past each end: edge padding
    output_bytes = len(starts) * WINDOW * N_FEATURES * 8
    assert np.array_equal(encode_windows(columns, starts, WINDOW), windows_baseline(values, starts))

    config = WindowConfig(size=WINDOW, context_padding=0, pad_policy="edge", negative_ratio=0.0)
    blocked = np.zeros(N_CANDLES, dtype=bool)
    feature_names = [f"f{k}" for k in range(N_FEATURES)]

    def frame_windows() -> pd.DataFrame:
        return build_windows(
            frame, feature_names, window_spans, blocked, blocked, config, np.random.default_rng(0)
        ).frame

    win_time = timed(lambda: encode_windows(columns, starts, WINDOW), 5)
    win_frame_time = timed(frame_windows, 3)
    win_base_time = timed(lambda: windows_baseline(values, starts), 5)
    win_peak, _ = peak(lambda: encode_windows(columns, starts, WINDOW))
    win_frame_peak, _ = peak(frame_windows)
    win_base_peak, _ = peak(lambda: windows_baseline(values, starts))

    machine = (
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}"
    )
    text = f"""## Labeling (`bench/bench_labeling.py`)

{machine}; medians of 7 (BIO) / 5 (windows; 3 for the frame) runs, peak memory from `tracemalloc`
(allocations made by the call, inputs excluded). Load average at the start: {load:.1f} (other work shared
the machine, so times are upper bounds).

**BIO encoding**: {N_CANDLES:,} candles, {N_SPANS:,} spans of 5-45 candles, {overlapping:,} of them
overlapping the span before them ({tracks} tag columns), tag strings for every column included.

| implementation | median time | peak memory |
| --- | ---: | ---: |
| `encode_bio` + tags (numpy, per-span loop only for overlapping spans) | {bio_time:.3f} s | {mb(bio_peak)} |
| plain numpy baseline (Python loop over spans writing slices; one column, overlaps lost) | {bio_base_time:.3f} s | {mb(bio_base_peak)} |

Target: under 1 s with no per-candle Python loop: **{"met" if bio_time < 1 else "NOT met"}**.

**Window encoding**: {len(starts):,} windows x {WINDOW} candles x {N_FEATURES} float64 columns over
{N_CANDLES:,} rows, two windows edge-padded; the output array is {mb(output_bytes)}.

| implementation | median time | peak memory | peak / output |
| --- | ---: | ---: | ---: |
| `encode_windows` (column-major gather, edge clip) | {win_time:.3f} s | {mb(win_peak)} | {win_peak / output_bytes:.2f}x |
| `build_windows` (the DataFrame the asset writes) | {win_frame_time:.3f} s | {mb(win_frame_peak)} | {win_frame_peak / output_bytes:.2f}x |
| plain numpy baseline (`np.pad` + `sliding_window_view` + fancy index) | {win_base_time:.3f} s | {mb(win_base_peak)} | {win_base_peak / output_bytes:.2f}x |

Target: at most 1.5x the output array: **{"met" if max(win_peak, win_frame_peak) <= 1.5 * output_bytes else "NOT met"}**.
"""
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
