"""Predictions of whole stored series, so `/predict/batch` answers a range by slicing.

Stored candles change only when ``raw_candles`` is re-materialized (a new file: new
modification time or size) and a model only on reload (a new `LoadedModel`). So the
predictions of a partition's whole stored series are computed once per (partition, loaded
model, stored-file key) with `Predictor.predict_series`, and every range of it is
`Predictor.range_of_series`, equal field by field to `Predictor.predict_range` on the same
range (tests/serving/test_prediction_cache.py).

A small LRU of complete entries: an entry is inserted only once fully computed, so a
reader never sees a half-built one; concurrent first requests may both compute (the last
one in wins; both answers are the same). A reloaded model or a re-written candle file is a
miss, and replaces the partition's entry.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ml_platform.inference import SeriesPredictions
from ml_platform.partitions import Partition

if TYPE_CHECKING:
    from serving.registry import LoadedModel

CACHE_ENTRIES = 4  # partitions kept (about 0.7 MB per 20,000 stored candles)


@dataclass(frozen=True)
class _Entry:
    model: LoadedModel  # held, so identity comparison cannot match a new model at a reused address
    file_key: tuple[int, int]  # (st_mtime_ns, st_size) of the stored candle file
    series: SeriesPredictions


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class SeriesCache:
    """Per partition, the `SeriesPredictions` of the stored candles under the loaded model (thread-safe LRU)."""

    def __init__(self, entries: int = CACHE_ENTRIES) -> None:
        if entries < 1:
            raise ValueError(f"entries={entries} must be >= 1")
        self.entries = entries
        self.stats = CacheStats()
        self._cache: OrderedDict[Partition, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def series(
        self, model: LoadedModel, file_key: tuple[int, int], candles: pd.DataFrame, *, batch_size: int
    ) -> SeriesPredictions:
        """The cached series of `model` on `candles` (read from the file with `file_key`), computed on a miss.

        Raises NotEnoughCandlesError (nothing cached) when no stored candle can be labelled.
        """
        partition = model.partition
        with self._lock:
            entry = self._cache.get(partition)
            if (
                entry is not None
                and entry.model is model
                and entry.file_key == file_key
                and entry.series.n_candles == len(candles)
            ):
                self._cache.move_to_end(partition)
                self.stats.hits += 1
                return entry.series
            self.stats.misses += 1
        series = model.predictor.predict_series(candles, batch_size=batch_size)  # outside the lock
        with self._lock:
            self._cache[partition] = _Entry(model=model, file_key=file_key, series=series)
            self._cache.move_to_end(partition)
            while len(self._cache) > self.entries:
                self._cache.popitem(last=False)
        return series

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)
