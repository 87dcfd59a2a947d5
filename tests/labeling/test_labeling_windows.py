"""Window mode: centring, padding at both ends, negatives, the flattened columns, memory layout."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from ml_platform.config import WindowConfig
from ml_platform.labeling import build_windows, encode_windows, label_partition, window_column_names
from ml_platform.labeling.windows import sample_negative_starts, window_starts
from ml_platform.partitions import Partition

EURUSD_1H = Partition("EURUSD", "1h")


def test_windows_are_centred_with_the_odd_candle_after_the_span(kit) -> None:
    spans = kit.spans((10, 13, "a"), (10, 12, "a"), (10, 10, "a"), (10, 19, "a"))
    assert window_starts(spans, 8).tolist() == [8, 8, 7, 11]  # 2+2, 2+3, 3+4, cropped by 1 each side


def test_encode_windows_repeats_the_edge_rows_and_never_reads_outside() -> None:
    first, second = np.arange(6) * 10.0, np.arange(6) + 0.5
    matrix = encode_windows([first, second], np.array([-2, 1, 4]), 4)
    assert matrix.shape == (3, 8) and matrix.flags.f_contiguous
    assert matrix[:, :4].tolist() == [[0, 0, 0, 10], [10, 20, 30, 40], [40, 50, 50, 50]]
    assert matrix[:, 4:].tolist() == [[0.5, 0.5, 0.5, 1.5], [1.5, 2.5, 3.5, 4.5], [4.5, 5.5, 5.5, 5.5]]
    assert window_column_names(["close", "rsi"], 2) == ["close_t0", "close_t1", "rsi_t0", "rsi_t1"]


def _windows(kit, spans, n=12, pad_policy="edge", ratio=0.0, blocked=None, centre=None, size=4, padding=1, seed=0):
    frame = kit.enriched(kit.candles(n))
    window = WindowConfig(size=size, context_padding=padding, pad_policy=pad_policy, negative_ratio=ratio)
    blocked = np.zeros(n, bool) if blocked is None else blocked
    centre = np.zeros(n, bool) if centre is None else centre
    return frame, build_windows(frame, ["feature"], spans, blocked, centre, window, np.random.default_rng(seed))


def test_padding_at_both_ends_edge_policy(kit) -> None:
    frame, result = _windows(kit, kit.spans((0, 0, "a"), (11, 11, "b"), (5, 6, "a")))
    windows = result.frame
    assert list(windows.columns) == [
        "label",
        "source",
        "start_time",
        "end_time",
        "feature_t0",
        "feature_t1",
        "feature_t2",
        "feature_t3",
    ]
    assert windows["label"].tolist() == ["a", "a", "b"]  # by start: -1, 4, 10
    assert windows.iloc[:, 4:].to_numpy().tolist() == [[0, 0, 10, 20], [40, 50, 60, 70], [100, 110, 110, 110]]
    times = frame["time"].tolist()
    assert windows["start_time"].tolist() == [times[0], times[4], times[10]]
    assert windows["end_time"].tolist() == [times[2], times[7], times[11]]
    assert result.padded_at_edges == 2 and result.dropped_at_edges == 0


def test_padding_at_both_ends_drop_policy(kit) -> None:
    _, result = _windows(kit, kit.spans((0, 0, "a"), (11, 11, "b"), (5, 6, "a")), pad_policy="drop")
    assert result.frame["feature_t0"].tolist() == [40.0]
    assert result.dropped_at_edges == 2 and len(result.spans) == 1


def test_negative_windows_avoid_labels_at_the_configured_ratio(kit) -> None:
    n = 40
    blocked = np.zeros(n, bool)
    blocked[10:20] = True  # a human span
    centre = np.zeros(n, bool)
    centre[30] = True  # a CDL pattern: no negative window centred on it
    spans = kit.spans((12, 13, "a"), (15, 16, "b"))
    _, result = _windows(kit, spans, n=n, ratio=2.0, blocked=blocked, centre=centre)
    negatives = result.frame[result.frame["source"] == "negative_sample"]
    assert len(negatives) == 4 and result.negatives_requested == 4 and (negatives["label"] == "O").all()
    starts = (negatives["feature_t0"] / 10).astype(int)
    for start in starts:
        assert not blocked[start : start + 4].any() and not centre[start + 1]
    _, again = _windows(kit, spans, n=n, ratio=2.0, blocked=blocked, centre=centre)
    assert again.frame.equals(result.frame)  # seeded


def test_negatives_fall_short_with_a_warning_when_nothing_is_free(kit, caplog) -> None:
    assert sample_negative_starts(np.ones(10, bool), np.zeros(10, bool), 4, 3, np.random.default_rng(0)).size == 0
    with caplog.at_level(logging.WARNING, logger="ml_platform.labeling"):
        _, result = _windows(kit, kit.spans((2, 3, "a")), n=6, ratio=5.0, blocked=np.ones(6, bool))
    assert result.negatives_sampled == 0 and "only 0 of 5 negative windows" in caplog.text


def test_a_span_longer_than_the_window_allows_is_kept_with_less_context(kit, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="ml_platform.labeling"):
        _, result = _windows(kit, kit.spans((3, 7, "a")), size=4, padding=1)
    assert result.reduced_padding == 1
    assert result.frame["feature_t0"].tolist() == [40.0]  # centred on the 5-candle span, cropped
    assert "window.size 7 would fit the longest, 5 candles" in caplog.text


def test_the_frame_uses_the_window_matrix_without_a_copy() -> None:
    matrix = encode_windows([np.arange(100.0), np.arange(100.0) * 2], np.arange(10), 5)
    frame = pd.DataFrame(matrix, columns=window_column_names(["a", "b"], 5), copy=False)
    frame.insert(0, "label", ["x"] * 10)  # as build_windows does
    column = frame["b_t4"].to_numpy()
    assert np.shares_memory(column, matrix)  # no second copy of the window matrix
    assert column.flags.c_contiguous  # each column contiguous: Parquet writes it without a gather


def test_window_mode_from_label_partition(kit) -> None:
    raw = kit.candles(30)
    annotations = [kit.ann("bull_flag", 5, 6), kit.ann("O", 20, 21), kit.ann("double_top", 0, 1)]
    config = kit.config(mode="window", window={"size": 6, "context_padding": 2, "negative_ratio": 1.0})
    result = label_partition(kit.enriched(raw, warmup=1), raw, annotations, EURUSD_1H, config)
    frame = result.frame
    assert frame.columns[:4].tolist() == ["label", "source", "start_time", "end_time"]
    assert "time_t0" not in frame and {"open_t0", "close_t5", "volume_t5", "feature_t5"} <= set(frame.columns)
    positives = frame[frame["source"] != "negative_sample"]
    assert positives[["label", "source"]].values.tolist() == [
        ["double_top", "human"],
        ["bull_flag", "human"],
        ["O", "human_correction"],
    ]
    # the double_top starts in the warm-up: clipped to row 0 (candle 1), window rows -2..3 edge-padded
    assert positives["feature_t0"].tolist() == [0.0, 20.0, 170.0]
    assert positives["start_time"].tolist() == [kit.t(1), kit.t(3), kit.t(18)]
    assert positives["end_time"].tolist() == [kit.t(4), kit.t(8), kit.t(23)]
    negatives = frame[frame["source"] == "negative_sample"]
    assert len(negatives) == 2 and result.statistics.negative_windows == 2
    statistics = result.statistics
    assert statistics.rows == 5 and statistics.samples_per_label() == {"O": 3, "bull_flag": 1, "double_top": 1}
    assert statistics.windows_padded_at_edges == 1


@pytest.mark.parametrize("policy", ["edge", "drop"])
def test_window_values_match_a_plain_slice(kit, policy) -> None:
    raw = kit.candles(50, seed=3)
    enriched = kit.enriched(raw)
    config = kit.config(
        mode="window", window={"size": 8, "context_padding": 1, "pad_policy": policy, "negative_ratio": 0.0}
    )
    result = label_partition(enriched, raw, [kit.ann("bull_flag", 20, 23)], EURUSD_1H, config)
    row = result.frame.iloc[0]
    assert [row[f"close_t{k}"] for k in range(8)] == enriched["close"].iloc[18:26].tolist()
