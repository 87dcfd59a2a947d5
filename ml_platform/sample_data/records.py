"""The sample data's records: a planted span, the ground-truth file and the write summaries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec


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
