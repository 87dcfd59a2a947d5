"""Stored candles (the ``raw_candles`` asset, ``{data.raw_store}/{PAIR}_{TF}.parquet``), read for the chart and batches.

Files are read only for a validated `Partition` (never a path built from raw input), and
kept in a small cache keyed by the file's modification time and size, so a re-materialized
partition is read again and an unchanged one is not.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml_platform.candles import read_candles
from ml_platform.config import DataConfig
from ml_platform.partitions import Partition
from serving.prediction_cache import SeriesCache

_CACHE_ENTRIES = 16  # partitions kept in memory (about 1 MB per 20,000 candles)


@dataclass(frozen=True)
class StoredSummary:
    candles: int
    first_time: int
    last_time: int


class CandleStore:
    """Read-only access to the stored candle files, with a modification-time cache."""

    def __init__(self, data: DataConfig) -> None:
        self.data = data
        self._cache: OrderedDict[Partition, tuple[tuple[int, int], pd.DataFrame]] = OrderedDict()
        self._lock = threading.Lock()
        self.predictions = SeriesCache()  # whole-series predictions, keyed by the same file key

    def path(self, partition: Partition) -> Path:
        return self.data.partition_file("candles", partition)

    def read(self, partition: Partition) -> pd.DataFrame | None:
        """The canonical candle frame of a partition (treat as read-only), or None when not stored."""
        keyed = self.read_keyed(partition)
        return None if keyed is None else keyed[1]

    def read_keyed(self, partition: Partition) -> tuple[tuple[int, int], pd.DataFrame] | None:
        """``(file key, frame)``: the file's (modification time ns, size) the frame was cached under, or None."""
        path = self.path(partition)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(partition)
            if cached is not None and cached[0] == key:
                self._cache.move_to_end(partition)
                return cached
        frame = read_candles(path)
        with self._lock:
            self._cache[partition] = (key, frame)
            self._cache.move_to_end(partition)
            while len(self._cache) > _CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return key, frame

    def summary(self, partition: Partition) -> StoredSummary | None:
        frame = self.read(partition)
        if frame is None or frame.empty:
            return None
        times = frame["time"].to_numpy()
        return StoredSummary(candles=len(frame), first_time=int(times[0]), last_time=int(times[-1]))


def select_range(times: np.ndarray, *, start: int | None, end: int | None, limit: int | None) -> slice:
    """The positions of candles with ``start <= time <= end`` (sorted `times`), limited to `limit`.

    With `limit` and no `start`, the LAST `limit` candles up to `end` (paging history
    backwards); with a `start`, the first `limit` from `start`.
    """
    lo = 0 if start is None else int(np.searchsorted(times, start, side="left"))
    hi = len(times) if end is None else int(np.searchsorted(times, end, side="right"))
    hi = max(lo, hi)
    if limit is not None and hi - lo > limit:
        if start is None:
            lo = hi - limit
        else:
            hi = lo + limit
    return slice(lo, hi)
